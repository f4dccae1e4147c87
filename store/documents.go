package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// DocumentsFolder is the folder inside the data directory that holds the
// documents Comeet linked in hires, one sub-folder per hire.
const DocumentsFolder = "documents"

// How long Comeet's links stay valid after a delivery (CONTRACT.md). Comeet
// documents no window for files[]; they are given the resume's.
const (
	ResumeValidity  = 3 * time.Minute
	PictureValidity = 200 * time.Second
	FileValidity    = 3 * time.Minute
)

// Document kinds that are not a file type from Comeet's files[].
const (
	KindResume  = "resume"
	KindPicture = "picture"
	KindFile    = "file" // a files[] entry without a type
)

// DocStatus is where a document stands.
type DocStatus string

// The states of a document record.
const (
	// DocPending means the document is to be downloaded (or is downloading).
	DocPending DocStatus = "pending"
	// DocSaved means the file is on disk with the recorded size and SHA-256.
	DocSaved DocStatus = "saved"
	// DocFailed means it could not be saved; Reason says why.
	DocFailed DocStatus = "failed"
)

// ErrNoDocument is returned when a document record does not exist (for
// example because its hire was deleted meanwhile).
var ErrNoDocument = errors.New("document not found")

// Document is one file linked in a hire's payload, as Hirebell keeps it.
// The link itself is not stored (its query string is a credential); it is
// read again from the hire's raw payload when needed.
type Document struct {
	// HireSeq and Index identify the record; the store assigns them.
	HireSeq uint64 `json:"-"`
	Index   uint32 `json:"-"`
	// ComeetID is the hire's comeet_id.
	ComeetID string `json:"comeet_id"`
	// Key identifies the document inside the payload across deliveries
	// (see DocumentLink.Key).
	Key string `json:"key"`
	// Kind is KindResume, KindPicture, or the files[] type ("offer_letter").
	Kind string `json:"kind"`
	// Name is the file name as Comeet gave it (possibly hostile; never
	// used as a path).
	Name string `json:"name,omitempty"`
	// Folder and File are the safe names on disk: the file lives at
	// <data dir>/documents/<Folder>/<File>.
	Folder string `json:"folder"`
	File   string `json:"file"`
	// Host is the host name the document came from (no path, no query).
	Host string `json:"host,omitempty"`
	// Status, and Reason in plain words when Status is DocFailed.
	Status DocStatus `json:"status"`
	Reason string    `json:"reason,omitempty"`
	// Size, SHA256 (lowercase hex) and SavedAt are set once saved.
	Size    int64     `json:"size,omitempty"`
	SHA256  string    `json:"sha256,omitempty"`
	SavedAt time.Time `json:"saved_at,omitzero"`
	// ValidUntil is when the link stops working: the latest delivery time
	// plus the kind's validity. Downloads are not retried after it.
	ValidUntil time.Time `json:"valid_until"`
	// Attempts counts download attempts.
	Attempts int `json:"attempts,omitempty"`
}

// Label is the name to show a person: Comeet's name, else the file's.
func (d *Document) Label() string {
	if n := strings.TrimSpace(strings.Map(dropControl, d.Name)); n != "" {
		return n
	}
	return d.File
}

// DocumentLink is one document linked in a payload.
type DocumentLink struct {
	// Key identifies the document within the hire: "resume:<name>",
	// "picture", or "file:<type>:<name>", with "#n" added for repeats.
	Key  string
	Kind string
	Name string
	URL  string
}

// Validity is how long Comeet's link for a document of this kind works.
func Validity(kind string) time.Duration {
	if kind == KindPicture {
		return PictureValidity
	}
	if kind == KindResume {
		return ResumeValidity
	}
	return FileValidity
}

// DocumentLinks lists the documents linked in a raw hire payload: the
// resume, the picture and every files[] entry that has a URL. Malformed
// entries are skipped, never an error.
func DocumentLinks(raw []byte) []DocumentLink {
	var p struct {
		Resume *struct {
			Name text `json:"name"`
			URL  text `json:"url"`
		} `json:"resume"`
		Picture *struct {
			URL text `json:"url"`
		} `json:"picture"`
		Files []json.RawMessage `json:"files"`
	}
	// Type errors leave the other fields decoded; anything worse: no links.
	if err := json.Unmarshal(raw, &p); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return nil
		}
	}
	var out []DocumentLink
	seen := map[string]int{}
	add := func(l DocumentLink) {
		if l.URL == "" {
			return
		}
		seen[l.Key]++
		if n := seen[l.Key]; n > 1 {
			l.Key += "#" + strconv.Itoa(n)
		}
		out = append(out, l)
	}
	if r := p.Resume; r != nil {
		add(DocumentLink{Key: "resume:" + string(r.Name), Kind: KindResume, Name: string(r.Name), URL: string(r.URL)})
	}
	if pic := p.Picture; pic != nil {
		add(DocumentLink{Key: "picture", Kind: KindPicture, URL: string(pic.URL)})
	}
	for _, f := range p.Files {
		var e struct {
			Name text `json:"name"`
			URL  text `json:"url"`
			Type text `json:"type"`
		}
		if json.Unmarshal(f, &e) != nil {
			continue
		}
		kind := strings.Map(dropControl, string(e.Type))
		if kind == "" {
			kind = KindFile
		}
		add(DocumentLink{Key: "file:" + string(e.Type) + ":" + string(e.Name), Kind: kind, Name: string(e.Name), URL: string(e.URL)})
	}
	return out
}

// maxFileName bounds a safe file name in bytes; most file systems allow 255.
const maxFileName = 120

// SafeFileName turns a name from a payload into one file name that is safe
// on every desktop system: no directories, no control or reserved
// characters, no leading dot, no reserved Windows device name, valid
// UTF-8, at most 120 bytes with its extension kept. It never returns "".
func SafeFileName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base(name) // "../../x" -> "x"; "/" and "" -> "/" and "."
	name = strings.Map(func(r rune) rune {
		switch r {
		case '<', '>', ':', '"', '/', '|', '?', '*':
			return '_'
		}
		return dropControl(r)
	}, name)
	name = strings.Trim(name, " .")
	if name == "" || name == "_" {
		name = "document"
	}
	stem, ext := splitExt(name)
	if isReservedDevice(stem) {
		stem = "_" + stem
	}
	if len(stem)+len(ext) > maxFileName {
		stem = truncateUTF8(stem, maxFileName-len(ext))
		stem = strings.TrimRight(stem, " .")
		if stem == "" {
			stem = "document"
		}
	}
	return stem + ext
}

// dropControl removes control and invisible formatting characters (such as
// the right-to-left override that disguises an extension).
func dropControl(r rune) rune {
	if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
		return -1
	}
	return r
}

// splitExt splits "a.tar.pdf" into "a.tar" and ".pdf"; an extension is at
// most 16 bytes and not the whole name.
func splitExt(name string) (stem, ext string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || len(name)-i > 16 {
		return name, ""
	}
	return name[:i], name[i:]
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isReservedDevice(stem string) bool {
	s := strings.ToUpper(strings.TrimRight(stem, " "))
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i] // "con.tar" is as reserved as "con"
	}
	switch s {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(s) == 4 && (strings.HasPrefix(s, "COM") || strings.HasPrefix(s, "LPT")) {
		return s[3] >= '0' && s[3] <= '9'
	}
	return false
}

// uniqueName returns name, or name with " (n)" before its extension, so that
// it differs case-insensitively from every name in taken.
func uniqueName(name string, taken map[string]bool) string {
	if !taken[strings.ToLower(name)] {
		return name
	}
	stem, ext := splitExt(name)
	stem = truncateUTF8(stem, maxFileName-len(ext)-8)
	for n := 2; ; n++ {
		c := fmt.Sprintf("%s (%d)%s", stem, n, ext)
		if !taken[strings.ToLower(c)] {
			return c
		}
	}
}

// defaultFileName names a document Comeet gave no name: its kind, with the
// link's extension when that looks like one.
func defaultFileName(l DocumentLink) string {
	base := l.Kind
	if l.Kind == KindPicture {
		base = "picture"
	}
	if u, err := url.Parse(l.URL); err == nil {
		ext := path.Ext(u.Path)
		if len(ext) >= 2 && len(ext) <= 9 && strings.IndexFunc(ext[1:], func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) < 0 {
			return base + ext
		}
	}
	return base
}

// hireFolder is the folder name of a hire's documents: its sequence number
// (unique) and its comeet_id made safe (for people browsing the folder).
func hireFolder(seq uint64, comeetID string) string {
	id := SafeFileName(comeetID)
	return strconv.FormatUint(seq, 10) + "-" + truncateUTF8(id, 40)
}

// DocumentsDir is the folder that holds every hire's documents.
func (s *Store) DocumentsDir() string { return filepath.Join(s.dir, DocumentsFolder) }

// DocumentPath is where a document's file lives. It fails if the recorded
// names would lead outside the hire's folder.
func (s *Store) DocumentPath(d Document) (string, error) {
	if !safeComponent(d.Folder) || !safeComponent(d.File) {
		return "", fmt.Errorf("document %d/%d: unsafe file name", d.HireSeq, d.Index)
	}
	return filepath.Join(s.DocumentsDir(), d.Folder, d.File), nil
}

func safeComponent(name string) bool {
	return name != "" && filepath.IsLocal(name) && filepath.Base(name) == name && !strings.ContainsAny(name, `/\`)
}

func docKey(seq uint64, index uint32) []byte {
	k := make([]byte, 12)
	binary.BigEndian.PutUint64(k, seq)
	binary.BigEndian.PutUint32(k[8:], index)
	return k
}

// eachDocument calls fn for every document of the hire seq, in index order.
func eachDocument(tx *bolt.Tx, seq uint64, fn func(d Document) error) error {
	prefix := seqKey(seq)
	c := tx.Bucket(bucketDocuments).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		d, err := decodeDocument(k, v)
		if err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

func decodeDocument(k, v []byte) (Document, error) {
	var d Document
	if len(k) != 12 {
		return d, fmt.Errorf("document key %x: bad length", k)
	}
	if err := json.Unmarshal(v, &d); err != nil {
		return d, fmt.Errorf("read document %x: %w", k, err)
	}
	d.HireSeq = binary.BigEndian.Uint64(k)
	d.Index = binary.BigEndian.Uint32(k[8:])
	return d, nil
}

func putDocument(tx *bolt.Tx, d Document) error {
	val, err := json.Marshal(&d)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketDocuments).Put(docKey(d.HireSeq, d.Index), val)
}

// PlanDocuments records the documents linked in the hire's latest payload
// and returns those that are to be downloaded now: new ones, and ones not
// yet saved (a redelivery brings fresh links, so a failed document is tried
// again). A document already saved is never planned again. Each new
// document gets a safe file name unique (ignoring case) within its hire.
// deliveredAt starts the links' validity windows, whose length validity
// gives per kind (nil: Validity).
func (s *Store) PlanDocuments(comeetID string, links []DocumentLink, deliveredAt time.Time, validity func(kind string) time.Duration) ([]Document, error) {
	if validity == nil {
		validity = Validity
	}
	var todo []Document
	err := s.update(func(tx *bolt.Tx) error {
		todo = nil
		key := tx.Bucket(bucketIDs).Get([]byte(comeetID))
		if key == nil {
			return ErrNotFound
		}
		seq := binary.BigEndian.Uint64(key)
		byKey := map[string]Document{}
		taken := map[string]bool{}
		var next uint32
		err := eachDocument(tx, seq, func(d Document) error {
			byKey[d.Key] = d
			taken[strings.ToLower(d.File)] = true
			next = d.Index + 1
			return nil
		})
		if err != nil {
			return err
		}
		for _, l := range links {
			d, ok := byKey[l.Key]
			if ok && d.Status == DocSaved {
				continue
			}
			if !ok {
				name := l.Name
				if strings.TrimSpace(strings.Map(dropControl, name)) == "" {
					name = defaultFileName(l)
				}
				file := uniqueName(SafeFileName(name), taken)
				taken[strings.ToLower(file)] = true
				d = Document{
					HireSeq: seq, Index: next, ComeetID: comeetID,
					Key: l.Key, Kind: l.Kind, Name: l.Name,
					Folder: hireFolder(seq, comeetID), File: file,
				}
				next++
			}
			d.Host = linkHost(l.URL)
			d.Status, d.Reason = DocPending, ""
			d.ValidUntil = deliveredAt.UTC().Add(validity(l.Kind))
			if err := putDocument(tx, d); err != nil {
				return err
			}
			todo = append(todo, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("plan documents: %w", err)
	}
	if len(todo) > 0 {
		s.docs.changed()
	}
	return todo, nil
}

// linkHost is the host of a link, lowercased, without port, user or query.
func linkHost(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// Documents returns the documents of the hire with the given comeet_id, in
// the order they were first seen.
func (s *Store) Documents(comeetID string) ([]Document, error) {
	var out []Document
	err := s.view(func(tx *bolt.Tx) error {
		key := tx.Bucket(bucketIDs).Get([]byte(comeetID))
		if key == nil {
			return ErrNotFound
		}
		return eachDocument(tx, binary.BigEndian.Uint64(key), func(d Document) error {
			out = append(out, d)
			return nil
		})
	})
	return out, err
}

// Document returns one document record.
func (s *Store) Document(seq uint64, index uint32) (Document, error) {
	var d Document
	err := s.view(func(tx *bolt.Tx) error {
		k := docKey(seq, index)
		v := tx.Bucket(bucketDocuments).Get(k)
		if v == nil {
			return ErrNoDocument
		}
		var err error
		d, err = decodeDocument(k, v)
		return err
	})
	return d, err
}

// PendingDocuments returns every document still waiting to be downloaded,
// across all hires (after a crash, these are what was interrupted).
func (s *Store) PendingDocuments() ([]Document, error) {
	var out []Document
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDocuments).ForEach(func(k, v []byte) error {
			d, err := decodeDocument(k, v)
			if err != nil {
				return err
			}
			if d.Status == DocPending {
				out = append(out, d)
			}
			return nil
		})
	})
	return out, err
}

// UpdateDocument stores the outcome of a download: d's Status, Reason,
// Size, SHA256, SavedAt, Host and Attempts replace the record's. Names and
// keys are not changed. It returns ErrNoDocument when the record (or its
// hire) is gone, so the caller can remove a file nobody owns any more.
func (s *Store) UpdateDocument(d Document) error {
	err := s.update(func(tx *bolt.Tx) error {
		k := docKey(d.HireSeq, d.Index)
		v := tx.Bucket(bucketDocuments).Get(k)
		if v == nil || tx.Bucket(bucketHires).Get(seqKey(d.HireSeq)) == nil {
			return ErrNoDocument
		}
		cur, err := decodeDocument(k, v)
		if err != nil {
			return err
		}
		cur.Status, cur.Reason = d.Status, d.Reason
		cur.Size, cur.SHA256, cur.SavedAt = d.Size, d.SHA256, d.SavedAt.UTC()
		cur.Attempts = d.Attempts
		if d.Host != "" {
			cur.Host = d.Host
		}
		return putDocument(tx, cur)
	})
	if err != nil {
		return fmt.Errorf("update document: %w", err)
	}
	s.docs.changed()
	return nil
}

// deleteDocuments removes the document records of hire seq inside tx.
func deleteDocuments(tx *bolt.Tx, seq uint64) error {
	prefix := seqKey(seq)
	c := tx.Bucket(bucketDocuments).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// removeHireFolder deletes a hire's documents folder from disk.
func (s *Store) removeHireFolder(seq uint64, comeetID string) error {
	dir := filepath.Join(s.DocumentsDir(), hireFolder(seq, comeetID))
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove documents: %w", err)
	}
	return nil
}

// DocumentsChanged returns a channel that is closed the next time a document
// record is planned or updated, so a view can refresh and ask again.
func (s *Store) DocumentsChanged() <-chan struct{} { return s.docs.wait() }

// docNotifier broadcasts "documents changed" by closing a channel.
type docNotifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *docNotifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *docNotifier) changed() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}

// mayLinkDocuments is a cheap test that spares decoding payloads that
// name none of the fields documents come from.
func mayLinkDocuments(raw []byte) bool {
	return bytes.Contains(raw, []byte(`"resume"`)) || bytes.Contains(raw, []byte(`"picture"`)) ||
		bytes.Contains(raw, []byte(`"files"`))
}

// UnplannedHires returns, newest first and with their raw payloads, the
// hires first received at or after since that link documents but have no
// document records yet: those a crash caught between the 200 and the
// planning of their downloads. It walks only the hires received since
// (they are kept in order of first receipt) and copies only the ones it
// returns. (A hire first received earlier and delivered again since is not
// included.)
func (s *Store) UnplannedHires(since time.Time) ([]Hire, error) {
	var out []Hire
	err := s.view(func(tx *bolt.Tx) error {
		payloads, docs := tx.Bucket(bucketPayloads), tx.Bucket(bucketDocuments).Cursor()
		c := tx.Bucket(bucketHires).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var h Hire
			if err := decodeRecord(v, &h); err != nil {
				return fmt.Errorf("read hire %x: %w", k, err)
			}
			if h.ReceivedAt.Before(since) {
				return nil
			}
			if dk, _ := docs.Seek(k); dk != nil && bytes.HasPrefix(dk, k) {
				continue // planned
			}
			raw := payloads.Get(k)
			if !mayLinkDocuments(raw) || len(DocumentLinks(raw)) == 0 {
				continue
			}
			h.Seq = binary.BigEndian.Uint64(k)
			h.Raw = append([]byte(nil), raw...)
			out = append(out, h)
		}
		return nil
	})
	return out, err
}
