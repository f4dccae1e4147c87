package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// checkSafe fails the test if name could leave its folder or misbehave on
// a desktop file system.
func checkSafe(t testing.TB, in, name string) {
	t.Helper()
	switch {
	case name == "" || name == "." || name == "..":
		t.Errorf("SafeFileName(%q) = %q: empty or a dot name", in, name)
	case !filepath.IsLocal(name) || filepath.Base(name) != name || strings.ContainsAny(name, `/\:`):
		t.Errorf("SafeFileName(%q) = %q: not a single local name", in, name)
	case len(name) > maxFileName:
		t.Errorf("SafeFileName(%q) = %q: %d bytes, over %d", in, name, len(name), maxFileName)
	case !utf8.ValidString(name):
		t.Errorf("SafeFileName(%q) = %q: invalid UTF-8", in, name)
	case strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.HasSuffix(name, " "):
		t.Errorf("SafeFileName(%q) = %q: leading dot or trailing dot/space", in, name)
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		t.Errorf("SafeFileName(%q) = %q: control character", in, name)
	case isReservedDevice(strings.SplitN(name, ".", 2)[0]):
		t.Errorf("SafeFileName(%q) = %q: reserved device name", in, name)
	}
}

func TestSafeFileName(t *testing.T) {
	long := strings.Repeat("é", 200) + ".pdf"
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Offer letter.pdf", "Offer letter.pdf"},
		{"parent traversal", "../../x", "x"},
		{"windows traversal", `..\..\Windows\win.ini`, "win.ini"},
		{"absolute", "/etc/passwd", "passwd"},
		{"drive letter", `C:\boot.ini`, "boot.ini"},
		{"only dots", "..", "document"},
		{"empty", "", "document"},
		{"slash only", "/", "document"},
		{"control chars", "cv\x00\n\r\x1b[31m.pdf", "cv[31m.pdf"},
		{"rtl override", "cv\u202Efdp.exe", "cvfdp.exe"},
		{"reserved device", "CON", "_CON"},
		{"reserved device with ext", "nul.txt", "_nul.txt"},
		{"reserved com port", "com1.pdf", "_com1.pdf"},
		{"not reserved", "console.pdf", "console.pdf"},
		{"hidden file", ".bashrc", "bashrc"},
		{"trailing dots and spaces", "cv.pdf. . ", "cv.pdf"},
		{"windows reserved chars", `a<b>c:d"e|f?g*.pdf`, "a_b_c_d_e_f_g_.pdf"},
		{"invalid utf8", "cv\xff\xfe.pdf", "cv_.pdf"},
		{"very long keeps extension", long, strings.Repeat("é", 58) + ".pdf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SafeFileName(tt.in)
			if got != tt.want {
				t.Errorf("SafeFileName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkSafe(t, tt.in, got)
		})
	}
}

func FuzzSafeFileName(f *testing.F) {
	for _, s := range []string{"../../x", "/abs", "CON", "a\x00b", strings.Repeat("x", 300), "..", ". .", "é.pdf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkSafe(t, in, SafeFileName(in))
		taken := map[string]bool{strings.ToLower(SafeFileName(in)): true}
		u := uniqueName(SafeFileName(in), taken)
		checkSafe(t, in, u)
		if taken[strings.ToLower(u)] {
			t.Errorf("uniqueName gave a taken name %q", u)
		}
	})
}

func TestDocumentLinks(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []DocumentLink
	}{
		{"sample full", string(readTestdata(t, "sample-full.json")), []DocumentLink{
			{Key: "resume:maya_okafor_cv.pdf", Kind: KindResume, Name: "maya_okafor_cv.pdf", URL: "https://files.example/cv/a15c?expires=180"},
			{Key: "picture", Kind: KindPicture, URL: "https://files.example/pic/a15c?expires=200"},
			{Key: "file:offer_letter:Offer letter.pdf", Kind: "offer_letter", Name: "Offer letter.pdf", URL: "https://files.example/offer/a15c"},
		}},
		{"nulls", `{"comeet_id":"1","resume":null,"picture":{"url":null},"files":null}`, nil},
		{"wrong types", `{"comeet_id":"1","resume":"x","picture":[1],"files":{"a":1}}`, nil},
		{"repeated files and a bad entry", `{"files":[{"name":"a","url":"https://h/1"},7,{"name":"a","url":"https://h/2"},{"name":"b"}]}`, []DocumentLink{
			{Key: "file::a", Kind: KindFile, Name: "a", URL: "https://h/1"},
			{Key: "file::a#2", Kind: KindFile, Name: "a", URL: "https://h/2"},
		}},
		{"not json", `nope`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DocumentLinks([]byte(tt.raw))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("DocumentLinks =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// saveRaw stores a hire from a raw payload.
func saveRaw(t testing.TB, s *Store, raw string) Hire {
	t.Helper()
	h, err := DecodeHire([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return mustSave(t, s, h).Hire
}

func TestPlanDocumentsNamesAreUniqueAndSafe(t *testing.T) {
	s, _ := openTemp(t)
	raw := `{"comeet_id":"7.A","files":[
		{"name":"Report.pdf","url":"https://h/1","type":"offer_letter"},
		{"name":"report.PDF","url":"https://h/2","type":"contract"},
		{"name":"../../report.pdf","url":"https://h/3"},
		{"name":"/etc/passwd","url":"https://h/4"},
		{"name":"","url":"https://h/5.docx"}],
		"resume":{"name":"REPORT.pdf","url":"https://h/6"},
		"picture":{"url":"https://cdn.example:8443/p/pic.JPG?sig=secret"}}`
	h := saveRaw(t, s, raw)
	links := DocumentLinks(h.Raw)
	todo, err := s.PlanDocuments(h.ComeetID, links, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(todo) != 7 {
		t.Fatalf("planned %d documents, want 7", len(todo))
	}
	seen := map[string]string{}
	for _, d := range todo {
		checkSafe(t, d.Name, d.File)
		if other, ok := seen[strings.ToLower(d.File)]; ok {
			t.Errorf("%q and %q share the file name %q (ignoring case)", other, d.Name, d.File)
		}
		seen[strings.ToLower(d.File)] = d.Name
		p, err := s.DocumentPath(d)
		if err != nil {
			t.Fatal(err)
		}
		if rel, err := filepath.Rel(s.DocumentsDir(), p); err != nil || !filepath.IsLocal(rel) || strings.Count(rel, string(filepath.Separator)) != 1 {
			t.Errorf("path %q is not one level inside %q", p, s.DocumentsDir())
		}
		if d.Status != DocPending {
			t.Errorf("%s: status %q", d.File, d.Status)
		}
	}
	// Payload order: the resume, the picture, then files[].
	want := []string{"REPORT.pdf", "picture.JPG", "Report (2).pdf", "report (3).PDF", "report (4).pdf", "passwd", "file.docx"}
	for i, d := range todo {
		if d.File != want[i] {
			t.Errorf("document %d: file %q, want %q", i, d.File, want[i])
		}
	}
	if pic := todo[1]; pic.Host != "cdn.example" || pic.Kind != KindPicture {
		t.Errorf("picture host %q kind %q", pic.Host, pic.Kind)
	}
	if got := todo[0].ValidUntil.Sub(todo[1].ValidUntil); got != ResumeValidity-PictureValidity {
		t.Errorf("resume outlives picture by %v, want %v", got, ResumeValidity-PictureValidity)
	}
}

func TestPlanDocumentsRedelivery(t *testing.T) {
	s, dir := openTemp(t)
	raw := `{"comeet_id":"8.B","resume":{"name":"cv.pdf","url":"https://h/cv"},"files":[{"name":"offer.pdf","url":"https://h/o"}]}`
	h := saveRaw(t, s, raw)
	t0 := time.Now()
	todo, err := s.PlanDocuments(h.ComeetID, DocumentLinks(h.Raw), t0, nil)
	if err != nil || len(todo) != 2 {
		t.Fatalf("first plan: %d, %v", len(todo), err)
	}
	saved := todo[0]
	saved.Status, saved.Size, saved.SHA256, saved.SavedAt = DocSaved, 3, "abc", t0
	if err := s.UpdateDocument(saved); err != nil {
		t.Fatal(err)
	}
	failed := todo[1]
	failed.Status, failed.Reason = DocFailed, "expired"
	if err := s.UpdateDocument(failed); err != nil {
		t.Fatal(err)
	}

	s = reopen(t, s, dir)
	t1 := t0.Add(time.Hour)
	h = saveRaw(t, s, raw)
	todo, err = s.PlanDocuments(h.ComeetID, DocumentLinks(h.Raw), t1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(todo) != 1 || todo[0].Key != failed.Key || todo[0].File != failed.File || todo[0].Index != failed.Index {
		t.Fatalf("redelivery planned %+v, want only the failed offer again under its old name", todo)
	}
	if todo[0].Reason != "" || !todo[0].ValidUntil.Equal(t1.UTC().Add(FileValidity)) {
		t.Errorf("replanned %+v: want reason cleared and a fresh window", todo[0])
	}
	all, err := s.Documents(h.ComeetID)
	if err != nil || len(all) != 2 {
		t.Fatalf("Documents = %d, %v", len(all), err)
	}
	if all[0].Status != DocSaved || all[0].SHA256 != "abc" || all[0].Size != 3 {
		t.Errorf("saved record changed: %+v", all[0])
	}
	pending, err := s.PendingDocuments()
	if err != nil || len(pending) != 1 || pending[0].Key != failed.Key {
		t.Errorf("PendingDocuments = %+v, %v", pending, err)
	}
}

func TestDeleteRemovesDocuments(t *testing.T) {
	s, _ := openTemp(t)
	keep := saveRaw(t, s, `{"comeet_id":"K","resume":{"name":"cv.pdf","url":"https://h/k"}}`)
	gone := saveRaw(t, s, `{"comeet_id":"G","resume":{"name":"cv.pdf","url":"https://h/g"}}`)
	var goneDoc, keepDoc Document
	for _, h := range []Hire{keep, gone} {
		todo, err := s.PlanDocuments(h.ComeetID, DocumentLinks(h.Raw), time.Now(), nil)
		if err != nil || len(todo) != 1 {
			t.Fatalf("plan %s: %v", h.ComeetID, err)
		}
		p, _ := s.DocumentPath(todo[0])
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(h.ComeetID), 0o600); err != nil {
			t.Fatal(err)
		}
		if h.ComeetID == "G" {
			goneDoc = todo[0]
		} else {
			keepDoc = todo[0]
		}
	}
	changed := s.DocumentsChanged()
	if err := s.Delete("G"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Error("Delete did not signal DocumentsChanged")
	}
	if _, err := s.Documents("G"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Documents(G) after delete: %v", err)
	}
	if _, err := s.Document(goneDoc.HireSeq, goneDoc.Index); !errors.Is(err, ErrNoDocument) {
		t.Errorf("record of deleted hire still there: %v", err)
	}
	p, _ := s.DocumentPath(goneDoc)
	if _, err := os.Stat(filepath.Dir(p)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("folder of deleted hire still there: %v", err)
	}
	goneDoc.Status = DocSaved
	if err := s.UpdateDocument(goneDoc); !errors.Is(err, ErrNoDocument) {
		t.Errorf("UpdateDocument after delete: %v, want ErrNoDocument", err)
	}
	kp, _ := s.DocumentPath(keepDoc)
	if b, err := os.ReadFile(kp); err != nil || string(b) != "K" {
		t.Errorf("other hire's document: %q, %v", b, err)
	}
	if docs, err := s.Documents("K"); err != nil || len(docs) != 1 {
		t.Errorf("other hire's records: %d, %v", len(docs), err)
	}
}

func TestDocumentPathRejectsUnsafeRecords(t *testing.T) {
	s, _ := openTemp(t)
	for _, d := range []Document{
		{Folder: "1-A", File: "../x"},
		{Folder: "..", File: "x"},
		{Folder: "1-A", File: ""},
		{Folder: "/abs", File: "x"},
		{Folder: "1-A", File: `a\b`},
	} {
		if p, err := s.DocumentPath(d); err == nil {
			t.Errorf("DocumentPath(%q, %q) = %q, want an error", d.Folder, d.File, p)
		}
	}
}

func TestPlanDocumentsUnknownHire(t *testing.T) {
	s, _ := openTemp(t)
	if _, err := s.PlanDocuments("nobody", []DocumentLink{{Key: "picture", Kind: KindPicture, URL: "https://h/p"}}, time.Now(), nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func BenchmarkSafeFileName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		SafeFileName(`..\..\Offer letter – Maya Okafor (final)\u202E.pdf`)
	}
}
