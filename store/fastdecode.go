package store

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// decodeFast fills p from a Comeet payload in one pass over the bytes,
// checking that the whole body is valid JSON on the way, and reports
// whether it could. It reads every hire the receiver stores, and
// encoding/json (which validates the body, then decodes it, calling a
// method per field) was the largest item of the receiver's CPU profile
// under load, at about 45 µs per 2.5 KB hire.
//
// It gives up (false) on anything where encoding/json's rules are subtle
// rather than reproduce them: invalid JSON (so that the error is
// encoding/json's own), a key of an object it reads that is escaped,
// non-ASCII or matches a field only ignoring case, and deep nesting. The
// caller then decodes with encoding/json. FuzzDecodeFast checks that both
// give the same payload whenever decodeFast answers.
func decodeFast(b []byte, p *payload) bool {
	d := fastDecoder{b: b}
	d.ws()
	if !d.object(d.topField(p), true) {
		return false
	}
	d.ws()
	return d.i == len(d.b)
}

type fastDecoder struct {
	b     []byte
	i     int
	depth int
}

// maxFastDepth bounds nesting; deeper payloads go to encoding/json.
const maxFastDepth = 200

func (d *fastDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// field handles one member of an object: key is the raw key (plain ASCII,
// no escapes) and the decoder is at its value. It returns false to give up.
type field func(key []byte) bool

// object reads an object, calling fn for each member; fn skips (d.skip) the
// members it does not read. decodes says fn reads some members: keys must
// then be plain ASCII.
func (d *fastDecoder) object(fn field, decodes bool) bool {
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return false
	}
	d.depth++
	if d.depth > maxFastDepth {
		return false
	}
	d.i++
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		d.depth--
		return true
	}
	for {
		d.ws()
		start := d.i
		esc, ok := d.str()
		if !ok {
			return false
		}
		key := d.b[start+1 : d.i-1]
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return false
		}
		d.i++
		d.ws()
		if decodes && (esc || !isASCII(key)) {
			// encoding/json unescapes keys and folds case with Unicode
			// rules; leave such keys to it.
			return false
		}
		if !fn(key) {
			return false
		}
		d.ws()
		if d.i >= len(d.b) {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			d.depth--
			return true
		default:
			return false
		}
	}
}

// folded reports whether key, not one of an object's field names, would
// still match one ignoring case, as encoding/json allows: the fields'
// names are lower case, so only a key with an upper-case letter can.
func folded(key []byte, names ...string) bool {
	upper := false
	for _, c := range key {
		upper = upper || ('A' <= c && c <= 'Z')
	}
	if !upper {
		return false
	}
	for _, n := range names {
		if strings.EqualFold(string(key), n) {
			return true
		}
	}
	return false
}

var (
	topNames = []string{"comeet_id", "recruit_id", "person_uid", "first_name",
		"middle_name", "last_name", "email", "phone", "mobile_phone", "linkedin_url",
		"hired_date", "start_date", "hirebell_test", "source", "position"}
	sourceNames   = []string{"name", "type"}
	positionNames = []string{"name", "department", "location", "employment",
		"employee_type", "seniority", "hiring_manager", "leading_recruiter"}
	personNames = []string{"first_name", "last_name", "email"}
)

func (d *fastDecoder) topField(p *payload) field {
	return func(key []byte) bool {
		switch string(key) {
		case "comeet_id":
			return d.text(&p.ComeetID)
		case "recruit_id":
			return d.text(&p.RecruitID)
		case "person_uid":
			return d.text(&p.PersonUID)
		case "first_name":
			return d.text(&p.FirstName)
		case "middle_name":
			return d.text(&p.MiddleName)
		case "last_name":
			return d.text(&p.LastName)
		case "email":
			return d.text(&p.Email)
		case "phone":
			return d.text(&p.Phone)
		case "mobile_phone":
			return d.text(&p.MobilePhone)
		case "linkedin_url":
			return d.text(&p.LinkedIn)
		case "hired_date":
			return d.text(&p.HiredDate)
		case "start_date":
			return d.text(&p.StartDate)
		case "hirebell_test":
			return d.text(&p.TestNonce)
		case "source":
			return structField(d, &p.Source, d.sourceField)
		case "position":
			return structField(d, &p.Position, d.positionField)
		}
		return !folded(key, topNames...) && d.skip()
	}
}

func (d *fastDecoder) sourceField(s *payloadSource) field {
	return func(key []byte) bool {
		switch string(key) {
		case "name":
			return d.text(&s.Name)
		case "type":
			return d.text(&s.Type)
		}
		return !folded(key, sourceNames...) && d.skip()
	}
}

func (d *fastDecoder) positionField(pos *payloadPosition) field {
	return func(key []byte) bool {
		switch string(key) {
		case "name":
			return d.text(&pos.Name)
		case "department":
			return d.text(&pos.Department)
		case "location":
			return d.text(&pos.Location)
		case "employment":
			return d.text(&pos.Employment)
		case "employee_type":
			return d.text(&pos.EmployeeType)
		case "seniority":
			return d.text(&pos.Seniority)
		case "hiring_manager":
			return structField(d, &pos.HiringManager, d.personField)
		case "leading_recruiter":
			return structField(d, &pos.LeadingRecruiter, d.personField)
		}
		return !folded(key, positionNames...) && d.skip()
	}
}

func (d *fastDecoder) personField(p *person) field {
	return func(key []byte) bool {
		switch string(key) {
		case "first_name":
			return d.text(&p.FirstName)
		case "last_name":
			return d.text(&p.LastName)
		case "email":
			return d.text(&p.Email)
		}
		return !folded(key, personNames...) && d.skip()
	}
}

// structField reads a value into a pointer-to-struct field as encoding/json
// does: null sets it to nil, an object is decoded into it (into the one
// already there, for a repeated key), any other value leaves it as it was.
func structField[T any](d *fastDecoder, ptr **T, fields func(*T) field) bool {
	if d.i >= len(d.b) {
		return false
	}
	switch d.b[d.i] {
	case 'n':
		*ptr = nil
		return d.literal("null")
	case '{':
		if *ptr == nil {
			*ptr = new(T)
		}
		return d.object(fields(*ptr), true)
	}
	return d.skip()
}

// text reads any value as text.UnmarshalJSON does: a string unquoted and
// trimmed, a number or boolean as written, null, objects and arrays as "".
func (d *fastDecoder) text(t *text) bool {
	if d.i >= len(d.b) {
		return false
	}
	start := d.i
	switch c := d.b[d.i]; {
	case c == '"':
		esc, ok := d.str()
		if !ok {
			return false
		}
		content := d.b[start+1 : d.i-1]
		if esc || !utf8.Valid(content) {
			// Escapes and invalid UTF-8: let encoding/json unquote it,
			// exactly as text.UnmarshalJSON does.
			var s string
			if json.Unmarshal(d.b[start:d.i], &s) != nil {
				return false
			}
			*t = text(strings.TrimSpace(s))
			return true
		}
		*t = text(strings.TrimSpace(string(content)))
		return true
	case c == '-' || (c >= '0' && c <= '9'), c == 't', c == 'f':
		if !d.skip() {
			return false
		}
		*t = text(d.b[start:d.i])
		return true
	}
	if !d.skip() {
		return false
	}
	*t = ""
	return true
}

// skip checks and passes over one value.
func (d *fastDecoder) skip() bool {
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, ok := d.str()
		return ok
	case c == '{':
		return d.object(func([]byte) bool { return d.skip() }, false)
	case c == '[':
		return d.array()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return false
}

func (d *fastDecoder) array() bool {
	d.depth++
	if d.depth > maxFastDepth {
		return false
	}
	d.i++ // '['
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		d.depth--
		return true
	}
	for {
		d.ws()
		if !d.skip() {
			return false
		}
		d.ws()
		if d.i >= len(d.b) {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			d.depth--
			return true
		default:
			return false
		}
	}
}

func (d *fastDecoder) literal(lit string) bool {
	if len(d.b)-d.i < len(lit) || string(d.b[d.i:d.i+len(lit)]) != lit {
		return false
	}
	d.i += len(lit)
	return true
}

// number passes over a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *fastDecoder) number() bool {
	b, i := d.b, d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	d.i = i
	return true
}

// plainByte marks the bytes that need no attention inside a string: not
// the quote, the backslash or a control character.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str passes over a string at d.i, checking its escapes and that it has no
// control characters, and reports whether it holds any escape.
func (d *fastDecoder) str() (esc, ok bool) {
	b, i := d.b, d.i
	if i >= len(b) || b[i] != '"' {
		return false, false
	}
	i++
	for i < len(b) {
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		if i >= len(b) {
			break
		}
		switch b[i] {
		case '"':
			d.i = i + 1
			return esc, true
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return false, false
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return false, false
					}
				}
				i += 6
			default:
				return false, false
			}
		default: // a control character
			return false, false
		}
	}
	return false, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
