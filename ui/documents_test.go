package ui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"hirebell/store"
)

func dsLabels(o fyne.CanvasObject) []string {
	var out []string
	walkVisible(o, func(obj fyne.CanvasObject) {
		if l, ok := obj.(*widget.Label); ok {
			out = append(out, l.Text)
		}
	})
	return out
}

func dsButtons(o fyne.CanvasObject, text string) []*widget.Button {
	var out []*widget.Button
	walkVisible(o, func(obj fyne.CanvasObject) {
		if b, ok := obj.(*widget.Button); ok && b.Text == text {
			out = append(out, b)
		}
	})
	return out
}

func dsHasLabel(o fyne.CanvasObject, sub string) bool {
	for _, l := range dsLabels(o) {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func dsOpenStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "data"), store.Options{LockTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// dsFixture stores a hire linking a resume (saved), a picture (failed) and
// an offer letter (still downloading).
func dsFixture(t *testing.T) (*store.Store, store.Hire, []store.Document) {
	t.Helper()
	st := dsOpenStore(t)
	raw := []byte(`{"comeet_id":"D.1","first_name":"Maya","resume":{"name":"maya_cv.pdf","url":"https://f.example/cv"},
		"picture":{"url":"https://f.example/p.jpg"},
		"files":[{"name":"Offer letter.pdf","url":"https://f.example/o","type":"offer_letter"}]}`)
	h, err := store.DecodeHire(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveHire(h, store.Delivery{Status: 200}); err != nil {
		t.Fatal(err)
	}
	h, err = st.Get("D.1")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := st.PlanDocuments("D.1", store.DocumentLinks(h.Raw), time.Now(), nil)
	if err != nil || len(docs) != 3 {
		t.Fatalf("plan: %d, %v", len(docs), err)
	}
	dsSave(t, st, docs[0], []byte("%PDF-1.4 resume"))
	docs[1].Status, docs[1].Reason = store.DocFailed, "expired: the link no longer works (HTTP 403)"
	if err := st.UpdateDocument(docs[1]); err != nil {
		t.Fatal(err)
	}
	return st, h, docs
}

// dsSave writes content as d's file and records it saved.
func dsSave(t *testing.T, st *store.Store, d store.Document, content []byte) {
	t.Helper()
	p, err := st.DocumentPath(d)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(p), 0o700)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	d.Status, d.Size, d.SHA256, d.SavedAt = store.DocSaved, int64(len(content)), hex.EncodeToString(sum[:]), time.Now()
	if err := st.UpdateDocument(d); err != nil {
		t.Fatal(err)
	}
}

// dsSection builds a section whose redraws are reported on a channel.
func dsSection(t *testing.T, st *store.Store, h store.Hire) (*documentsSection, fyne.Window, chan struct{}, *[]*url.URL) {
	t.Helper()
	test.NewTempApp(t)
	w := test.NewTempWindow(t, container.NewStack())
	w.Resize(fyne.NewSize(700, 400))
	reloaded := make(chan struct{}, 16)
	var opened []*url.URL
	s := &documentsSection{st: st, win: w, hire: h,
		openURL:  func(u *url.URL) error { opened = append(opened, u); return nil },
		onReload: func() { reloaded <- struct{}{} },
	}
	s.start()
	<-reloaded
	w.SetContent(s.box)
	return s, w, reloaded, &opened
}

func TestDocumentsSectionStatuses(t *testing.T) {
	st, h, docs := dsFixture(t)
	s, _, _, _ := dsSection(t, st, h)
	for _, want := range []string{
		"Documents", "maya_cv.pdf", "Resume · 15 bytes · saved", "SHA-256 ",
		"picture.jpg", "Profile picture · Not saved: expired: the link no longer works (HTTP 403)",
		"Offer letter.pdf", "Offer letter · Downloading...",
	} {
		if !dsHasLabel(s.box, want) {
			t.Errorf("no label with %q in %q", want, dsLabels(s.box))
		}
	}
	opens, saves := dsButtons(s.box, "Open"), dsButtons(s.box, "Save as...")
	if len(opens) != 3 || len(saves) != 3 {
		t.Fatalf("%d Open and %d Save as buttons, want 3 each", len(opens), len(saves))
	}
	for i, d := range docs {
		wantEnabled := i == 0
		if opens[i].Disabled() == wantEnabled || saves[i].Disabled() == wantEnabled {
			t.Errorf("%s: Open disabled %v, Save disabled %v; want enabled %v", d.File, opens[i].Disabled(), saves[i].Disabled(), wantEnabled)
		}
	}
}

func TestDocumentsSectionRefreshesWhenDownloadsFinish(t *testing.T) {
	st, h, docs := dsFixture(t)
	s, _, reloaded, _ := dsSection(t, st, h)
	dsSave(t, st, docs[2], []byte("offer"))
	select {
	case <-reloaded:
	case <-time.After(5 * time.Second):
		t.Fatal("the section did not redraw after the download finished")
	}
	if !dsHasLabel(s.box, "Offer letter · 5 bytes · saved") || dsHasLabel(s.box, "Downloading") {
		t.Errorf("after the download: %q", dsLabels(s.box))
	}
	if b := dsButtons(s.box, "Open"); len(b) != 3 || b[2].Disabled() {
		t.Errorf("Open of the finished download is not enabled")
	}
}

func TestDocumentsSectionOpen(t *testing.T) {
	st, h, docs := dsFixture(t)
	s, w, _, opened := dsSection(t, st, h)
	test.Tap(dsButtons(s.box, "Open")[0])
	if len(*opened) != 1 {
		t.Fatalf("opened %v, want one URL", *opened)
	}
	want, _ := st.DocumentPath(docs[0])
	if u := (*opened)[0]; u.Scheme != "file" || filepath.Clean(u.Path) != want {
		t.Errorf("opened %v, want file://%s", u, want)
	}
	if w.Canvas().Overlays().Top() != nil {
		t.Errorf("a dialog appeared on a successful open")
	}
}

func TestDocumentsSectionRefusesToOpenPrograms(t *testing.T) {
	st := dsOpenStore(t)
	raw := []byte(`{"comeet_id":"X.1","files":[{"name":"offer.pdf.exe","url":"https://f.example/x"}]}`)
	h, _ := store.DecodeHire(raw)
	st.SaveHire(h, store.Delivery{Status: 200})
	h, _ = st.Get("X.1")
	docs, err := st.PlanDocuments("X.1", store.DocumentLinks(h.Raw), time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dsSave(t, st, docs[0], []byte("MZ"))
	s, w, _, opened := dsSection(t, st, h)
	test.Tap(dsButtons(s.box, "Open")[0])
	if len(*opened) != 0 {
		t.Errorf("a program was handed to the system: %v", *opened)
	}
	if top := w.Canvas().Overlays().Top(); top == nil || !dsHasLabel(top, "could run a program") {
		t.Errorf("no explanation shown")
	}
}

func TestDocumentsSectionSaveAs(t *testing.T) {
	st, h, docs := dsFixture(t)
	s, w, _, _ := dsSection(t, st, h)
	test.Tap(dsButtons(s.box, "Save as...")[0])
	if w.Canvas().Overlays().Top() == nil {
		t.Error("Save as did not show a file dialog")
	}
	var out closeBuffer
	if err := copyDocument(st, docs[0], &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "%PDF-1.4 resume" || !out.closed {
		t.Errorf("copied %q (closed %v)", out.String(), out.closed)
	}
	// The pending one has no file yet: an error that names no path.
	var none closeBuffer
	err := copyDocument(st, docs[2], &none)
	if err == nil || strings.Contains(err.Error(), "Offer") || !none.closed {
		t.Errorf("copy of a missing file: %v (closed %v)", err, none.closed)
	}
}

type closeBuffer struct {
	bytes.Buffer
	closed bool
}

func (c *closeBuffer) Close() error { c.closed = true; return nil }

func TestDocumentsSectionEmptyAndDeleted(t *testing.T) {
	st := dsOpenStore(t)
	h, _ := store.DecodeHire([]byte(`{"comeet_id":"E.1"}`))
	st.SaveHire(h, store.Delivery{Status: 200})
	h, _ = st.Get("E.1")
	s, _, _, _ := dsSection(t, st, h)
	if !dsHasLabel(s.box, "Comeet linked no documents") {
		t.Errorf("empty hire: %q", dsLabels(s.box))
	}
	st.Delete("E.1")
	s.reload()
	if !dsHasLabel(s.box, "deleted") {
		t.Errorf("deleted hire: %q", dsLabels(s.box))
	}
}

func TestFormatSizeAndKind(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{formatSize(999), "999 bytes"},
		{formatSize(1500), "1.5 KB"},
		{formatSize(25_000_000), "25.0 MB"},
		{kindLabel("offer_letter"), "Offer letter"},
		{kindLabel(store.KindPicture), "Profile picture"},
		{kindLabel(""), "File"},
		{kindLabel("_"), "File"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
