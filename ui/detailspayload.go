package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strings"
)

// payloadKind is the JSON type of a payloadNode.
type payloadKind uint8

const (
	payloadNull payloadKind = iota
	payloadString
	payloadNumber
	payloadBool
	payloadObject
	payloadArray
)

// payloadNode is a JSON value that, unlike map[string]any, keeps the
// order of object keys, so that the details read in the order Comeet wrote
// them.
type payloadNode struct {
	kind  payloadKind
	value string         // strings as they are, numbers as written, "true"/"false"
	keys  []string       // object keys, in order
	kids  []*payloadNode // object values (parallel to keys) or array items
}

// parsePayload reads raw JSON into a tree. Anything but an object at the
// top (which the store never keeps) gives an empty object and an error.
func parsePayload(raw []byte) (*payloadNode, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	n, err := decodePayloadNode(dec)
	if err != nil {
		return nil, fmt.Errorf("parse payload: %w", err)
	}
	if n.kind != payloadObject {
		return nil, errors.New("parse payload: not a JSON object")
	}
	return n, nil
}

func decodePayloadNode(dec *json.Decoder) (*payloadNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return decodePayloadObject(dec)
		}
		return decodePayloadArray(dec)
	case string:
		return &payloadNode{kind: payloadString, value: t}, nil
	case json.Number:
		return &payloadNode{kind: payloadNumber, value: t.String()}, nil
	case bool:
		return &payloadNode{kind: payloadBool, value: fmt.Sprint(t)}, nil
	}
	return &payloadNode{kind: payloadNull}, nil
}

func decodePayloadObject(dec *json.Decoder) (*payloadNode, error) {
	n := &payloadNode{kind: payloadObject}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		kid, err := decodePayloadNode(dec)
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, tok.(string))
		n.kids = append(n.kids, kid)
	}
	_, err := dec.Token() // '}'
	return n, err
}

func decodePayloadArray(dec *json.Decoder) (*payloadNode, error) {
	n := &payloadNode{kind: payloadArray}
	for dec.More() {
		kid, err := decodePayloadNode(dec)
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, kid)
	}
	_, err := dec.Token() // ']'
	return n, err
}

// get follows object keys; the last of duplicate keys wins, as in
// encoding/json. It returns nil when the path does not exist.
func (n *payloadNode) get(path ...string) *payloadNode {
	for _, key := range path {
		if n == nil || n.kind != payloadObject {
			return nil
		}
		var next *payloadNode
		for i, k := range n.keys {
			if k == key {
				next = n.kids[i]
			}
		}
		n = next
	}
	return n
}

// text is the plain value at path, "" for objects, lists, null or missing.
func (n *payloadNode) text(path ...string) string {
	v := n.get(path...)
	if v == nil || !v.isLeaf() {
		return ""
	}
	return strings.TrimSpace(v.display())
}

func (n *payloadNode) isLeaf() bool {
	return n.kind != payloadObject && n.kind != payloadArray
}

// display is a leaf as people read it.
func (n *payloadNode) display() string {
	switch n.kind {
	case payloadBool:
		if n.value == "true" {
			return "Yes"
		}
		return "No"
	case payloadNull, payloadObject, payloadArray:
		return ""
	}
	return n.value
}

// allPlainWords is true for a list of short plain values ("SQL", "Go")
// that read best on one line.
func (n *payloadNode) allPlainWords() bool {
	if len(n.kids) == 0 {
		return false
	}
	for _, k := range n.kids {
		if !k.isLeaf() || len(k.value) > 60 || webURL(k.value) != nil || looksLikeHTML(k.value) {
			return false
		}
	}
	return true
}

// webURL returns s as a URL when it is an absolute http(s) address, the
// only kind worth a clickable link.
func webURL(s string) *url.URL {
	if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
		return nil
	}
	if strings.ContainsAny(s, " \n\t") {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil
	}
	return u
}

// looksLikeHTML is true when s has a tag such as <p>, </b> or <br/>.
func looksLikeHTML(s string) bool {
	for i := strings.IndexByte(s, '<'); i >= 0 && i+1 < len(s); {
		c := s[i+1]
		if c == '/' || c == '!' || (c|0x20 >= 'a' && c|0x20 <= 'z') {
			if strings.IndexByte(s[i:], '>') > 0 {
				return true
			}
		}
		j := strings.IndexByte(s[i+1:], '<')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// blockTags end a line when they close (or, for br, anywhere).
var blockTags = map[string]bool{
	"p": true, "div": true, "br": true, "li": true, "ul": true, "ol": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"tr": true, "table": true, "section": true, "article": true, "blockquote": true,
}

// htmlSpace: in HTML a line break in the text is only a space.
var htmlSpace = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ")

// plainFromHTML turns an HTML fragment (a job description) into plain
// text: tags dropped, block ends as line breaks, list items as bullets,
// entities decoded, runs of blank space collapsed. It is for reading, not
// a sanitiser: the result is only ever shown as text.
func plainFromHTML(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(htmlSpace.Replace(s))
			break
		}
		b.WriteString(htmlSpace.Replace(s[:i]))
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			b.WriteString(htmlSpace.Replace(s[i:]))
			break
		}
		writeTagBreak(&b, s[i+1:i+j])
		s = s[i+j+1:]
	}
	return tidyText(html.UnescapeString(b.String()))
}

func writeTagBreak(b *strings.Builder, tag string) {
	closing := strings.HasPrefix(tag, "/")
	fields := strings.Fields(strings.TrimPrefix(tag, "/"))
	if len(fields) == 0 {
		return
	}
	name := strings.ToLower(strings.TrimSuffix(fields[0], "/"))
	switch {
	case name == "li" && !closing:
		b.WriteString("\n• ")
	case blockTags[name] && (closing || name == "br"):
		b.WriteString("\n")
	}
}

// tidyText collapses spaces within lines and drops empty lines.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
