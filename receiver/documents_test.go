package receiver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hirebell/store"
)

// docDeadline bounds every wait for background downloads.
const docDeadline = 10 * time.Second

func openDocStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	st, err := store.Open(dir, store.Options{LockTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, dir
}

// newTestFetcher returns a fetcher with short timings, closed before the
// store at the end of the test.
func newTestFetcher(t *testing.T, st *store.Store, opts FetchOptions) *Fetcher {
	t.Helper()
	if opts.Backoff == 0 {
		opts.Backoff = 10 * time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	f := NewFetcher(st, opts, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { f.Close() })
	return f
}

type docFile struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Type string `json:"type,omitempty"`
}

// hirePayload builds a raw payload linking a resume (if resumeURL is set),
// a picture (if pictureURL is set) and files.
func hirePayload(t testing.TB, id, resumeURL, pictureURL string, files ...docFile) []byte {
	t.Helper()
	p := map[string]any{"comeet_id": id, "first_name": "Test", "position": map[string]any{"name": "Engineer"}}
	if resumeURL != "" {
		p["resume"] = map[string]string{"name": "cv.pdf", "url": resumeURL}
	}
	if pictureURL != "" {
		p["picture"] = map[string]string{"url": pictureURL}
	}
	if len(files) > 0 {
		p["files"] = files
	}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func saveHire(t testing.TB, st *store.Store, raw []byte) store.Hire {
	t.Helper()
	h, err := store.DecodeHire(raw)
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.SaveHire(h, store.Delivery{Remote: "127.0.0.1:1", Status: 200})
	if err != nil {
		t.Fatal(err)
	}
	return res.Hire
}

// waitDocs waits until the hire has n documents and none is pending.
func waitDocs(t *testing.T, st *store.Store, comeetID string, n int) []store.Document {
	t.Helper()
	deadline := time.After(docDeadline)
	for {
		changed := st.DocumentsChanged()
		docs, err := st.Documents(comeetID)
		if err != nil {
			t.Fatal(err)
		}
		done := len(docs) == n
		for _, d := range docs {
			if d.Status == store.DocPending {
				done = false
			}
		}
		if done {
			return docs
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("documents of %s not settled within %v: %+v", comeetID, docDeadline, docs)
		}
	}
}

// content is what the test servers serve for a path: distinct per path,
// so that an overwrite would show.
func content(path string) []byte {
	return bytes.Repeat([]byte("content of "+path+"\n"), 10)
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// counter counts requests per path.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) hit(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[path]++
	return c.n[path]
}

func (c *counter) get(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

func checkSaved(t *testing.T, st *store.Store, d store.Document, want []byte) {
	t.Helper()
	if d.Status != store.DocSaved {
		t.Errorf("%s: status %s (%s), want saved", d.File, d.Status, d.Reason)
		return
	}
	p, err := st.DocumentPath(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%s: %v", d.File, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: content %q, want %q", d.File, got, want)
	}
	if d.SHA256 != sum(want) || d.Size != int64(len(want)) || d.SavedAt.IsZero() {
		t.Errorf("%s: recorded size %d sha %s saved %v; want %d %s", d.File, d.Size, d.SHA256, d.SavedAt, len(want), sum(want))
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, %v; want 0600", d.File, fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Dir(p)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v, %v; want 0700", fi.Mode(), err)
	}
}

// noPartials fails if a partial download is left anywhere under root.
func noPartials(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(e.Name(), partialPrefix) {
			t.Errorf("partial file left: %s", p)
		}
		return nil
	})
}

func TestFetchSavesEveryDocument(t *testing.T) {
	st, _ := openDocStore(t)
	var hits counter
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.hit(r.URL.Path)
		w.Write(content(r.URL.Path))
	}))
	defer srv.Close()
	f := newTestFetcher(t, st, FetchOptions{AllowHTTP: true})

	raw := hirePayload(t, "1.A", srv.URL+"/cv?token=secret", srv.URL+"/pic.jpg?token=secret",
		docFile{Name: "Offer letter.pdf", URL: srv.URL + "/offer", Type: "offer_letter"})
	f.Enqueue(saveHire(t, st, raw))
	docs := waitDocs(t, st, "1.A", 3)
	for i, path := range []string{"/cv", "/pic.jpg", "/offer"} {
		checkSaved(t, st, docs[i], content(path))
		if docs[i].Host != "127.0.0.1" {
			t.Errorf("%s: host %q", docs[i].File, docs[i].Host)
		}
	}
	if got := []string{docs[0].File, docs[1].File, docs[2].File}; fmt.Sprint(got) != "[cv.pdf picture.jpg Offer letter.pdf]" {
		t.Errorf("files %q", got)
	}
	if docs[2].Kind != "offer_letter" {
		t.Errorf("kind %q", docs[2].Kind)
	}

	// A redelivery downloads nothing again.
	f.Enqueue(saveHire(t, st, raw))
	f.Close() // waits for anything the redelivery started
	for _, path := range []string{"/cv", "/pic.jpg", "/offer"} {
		if n := hits.get(path); n != 1 {
			t.Errorf("%s fetched %d times, want 1", path, n)
		}
	}
}

func TestFetchHTTPS(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(content(r.URL.Path))
	}))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-http":
			http.Redirect(w, r, plain.URL+"/x", http.StatusFound)
		case "/to-https":
			http.Redirect(w, r, "/final", http.StatusFound)
		default:
			w.Write(content(r.URL.Path))
		}
	}))
	defer tlsSrv.Close()

	tests := []struct {
		name      string
		allowHTTP bool
		url       string
		reason    string // "" means saved, with the content of path
		path      string
	}{
		{"https saved", false, tlsSrv.URL + "/doc", "", "/doc"},
		{"redirect to https followed", false, tlsSrv.URL + "/to-https", "", "/final"},
		{"redirect to http refused", false, tlsSrv.URL + "/to-http", ReasonRedirect, ""},
		{"http link refused by default", false, plain.URL + "/doc", ReasonNotHTTPS, ""},
		{"http allowed only to loopback", true, "http://example.invalid/doc", ReasonNotHTTPS, ""},
		{"other scheme refused", true, "file:///etc/passwd", ReasonNotHTTPS, ""},
		{"not a link", false, "::nonsense", ReasonBadLink, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := openDocStore(t)
			f := newTestFetcher(t, st, FetchOptions{AllowHTTP: tt.allowHTTP, Transport: tlsSrv.Client().Transport})
			id := fmt.Sprintf("H.%d", i)
			f.Enqueue(saveHire(t, st, hirePayload(t, id, tt.url, "")))
			docs := waitDocs(t, st, id, 1)
			if tt.reason == "" {
				checkSaved(t, st, docs[0], content(tt.path))
				return
			}
			if docs[0].Status != store.DocFailed || docs[0].Reason != tt.reason {
				t.Errorf("status %s reason %q, want failed %q", docs[0].Status, docs[0].Reason, tt.reason)
			}
		})
	}
}

func TestFetchFailures(t *testing.T) {
	var hits counter
	release := make(chan struct{})
	defer close(release)
	big := bytes.Repeat([]byte("x"), 5000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.hit(r.URL.Path)
		switch r.URL.Path {
		case "/expires":
			// Works for a moment (here: a transient error), then expired.
			if n == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusForbidden)
		case "/gone":
			w.WriteHeader(http.StatusGone)
		case "/big-declared":
			w.Write(big)
		case "/big-chunked":
			for i := 0; i < 5; i++ {
				w.Write(big[:1000])
				w.(http.Flusher).Flush()
			}
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		case "/always-503":
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	// Nothing listens on a closed server's port: connection refused.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()

	tests := []struct {
		name     string
		path     string
		base     string
		reason   string
		attempts int // 0: don't check
	}{
		{"link expires after a moment", "/expires", "", ReasonExpired + " (HTTP 403)", 2},
		{"gone", "/gone", "", ReasonExpired + " (HTTP 410)", 1},
		{"too large by Content-Length", "/big-declared", "", ReasonTooLarge + ": over 4 KB", 1},
		{"too large while reading", "/big-chunked", "", ReasonTooLarge + ": over 4 KB", 1},
		{"slow server times out", "/slow", "", ReasonTimedOut, 2},
		{"other status not retried", "/teapot", "", "HTTP status 418", 1},
		{"server error retried within the window", "/always-503", "", "HTTP status 503", 0},
		{"connection refused", "/x", dead.URL, ReasonNetwork + ": connection refused", 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := openDocStore(t)
			opts := FetchOptions{
				AllowHTTP: true, MaxSize: 4096, Timeout: 100 * time.Millisecond,
				MaxAttempts: 2, Validity: 2 * time.Second,
			}
			if tt.path == "/always-503" {
				opts.MaxAttempts = 1000 // bounded by the window alone
				opts.Validity = 300 * time.Millisecond
			}
			f := newTestFetcher(t, st, opts)
			base := srv.URL
			if tt.base != "" {
				base = tt.base
			}
			id := fmt.Sprintf("F.%d", i)
			start := time.Now()
			f.Enqueue(saveHire(t, st, hirePayload(t, id, base+tt.path, "")))
			docs := waitDocs(t, st, id, 1)
			d := docs[0]
			if d.Status != store.DocFailed || d.Reason != tt.reason {
				t.Errorf("status %s reason %q, want failed %q", d.Status, d.Reason, tt.reason)
			}
			if tt.attempts > 0 && d.Attempts != tt.attempts {
				t.Errorf("attempts %d, want %d", d.Attempts, tt.attempts)
			}
			if tt.path == "/always-503" {
				if d.Attempts < 2 {
					t.Errorf("attempts %d: want retries inside the window", d.Attempts)
				}
				if d.Attempts >= 1000 || time.Since(start) > 2*time.Second {
					t.Errorf("retries not bounded by the window: %d attempts in %v", d.Attempts, time.Since(start))
				}
			}
			p, _ := st.DocumentPath(d)
			if _, err := os.Stat(p); err == nil {
				t.Errorf("a failed document left a file")
			}
			noPartials(t, st.DocumentsDir())
		})
	}
}

func TestHostileNamesStayInside(t *testing.T) {
	st, dir := openDocStore(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(content(r.URL.Path))
	}))
	defer srv.Close()
	f := newTestFetcher(t, st, FetchOptions{AllowHTTP: true})

	// A file outside that a traversal would hit.
	victim := filepath.Join(dir, "x")
	if err := os.WriteFile(victim, []byte("victim"), 0o600); err != nil {
		t.Fatal(err)
	}
	names := []string{
		"../../x", "../x", "/etc/passwd", `..\..\x`, `C:\x`, "x\x00y", "a\nb\r\x1b.pdf",
		strings.Repeat("long", 100) + ".pdf", "CON", "nul.txt", "Same.pdf", "same.PDF", "SAME.pdf",
		".", "..", "", "cv.pdf", // same as the resume's name
		"\u202Efdp.exe",
	}
	var files []docFile
	for i, n := range names {
		files = append(files, docFile{Name: n, URL: fmt.Sprintf("%s/f%d", srv.URL, i)})
	}
	f.Enqueue(saveHire(t, st, hirePayload(t, "../../H", srv.URL+"/cv", "", files...)))
	docs := waitDocs(t, st, "../../H", len(names)+1)

	if b, _ := os.ReadFile(victim); string(b) != "victim" {
		t.Errorf("file outside the documents folder was changed: %q", b)
	}
	folder := ""
	for i, d := range docs {
		path := "/cv"
		if i > 0 {
			path = fmt.Sprintf("/f%d", i-1)
		}
		checkSaved(t, st, d, content(path)) // its own content: nothing overwritten
		p, _ := st.DocumentPath(d)
		rel, err := filepath.Rel(st.DocumentsDir(), p)
		if err != nil || !filepath.IsLocal(rel) || strings.Count(rel, string(filepath.Separator)) != 1 {
			t.Errorf("%q saved at %q: not inside one hire folder", d.Name, p)
		}
		if folder == "" {
			folder = filepath.Dir(p)
		} else if filepath.Dir(p) != folder {
			t.Errorf("%q saved in %q, others in %q", d.Name, filepath.Dir(p), folder)
		}
	}
	// Exactly one file per document on disk, all in the hire's folder.
	var onDisk int
	filepath.WalkDir(st.DocumentsDir(), func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			onDisk++
			if filepath.Dir(p) != folder {
				t.Errorf("unexpected file %s", p)
			}
		}
		return nil
	})
	if onDisk != len(docs) {
		t.Errorf("%d files on disk for %d documents", onDisk, len(docs))
	}
}

// answerRecorder notes when the receiver has written its status line.
type answerRecorder struct {
	http.ResponseWriter
	answered *atomic.Bool
}

func (a answerRecorder) WriteHeader(code int) {
	a.answered.Store(true)
	a.ResponseWriter.WriteHeader(code)
}

func (a answerRecorder) Flush() { a.ResponseWriter.(http.Flusher).Flush() }

func TestAnswerBeforeDownloads(t *testing.T) {
	st, _ := openDocStore(t)
	var answered atomic.Bool
	started := make(chan bool, 3)
	release := make(chan struct{})
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- answered.Load()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write(content(r.URL.Path))
	}))
	defer files.Close()
	f := newTestFetcher(t, st, FetchOptions{AllowHTTP: true})
	rcv := New(Config{
		Store:  st,
		Secret: func() []byte { return []byte(testSecret) },
		OnHire: func(res store.SaveResult) { f.Enqueue(res.Hire) },
	})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rcv.ServeHTTP(answerRecorder{w, &answered}, r)
	}))
	defer hook.Close()

	body := hirePayload(t, "A.1", files.URL+"/cv", files.URL+"/pic", docFile{Name: "offer.pdf", URL: files.URL + "/offer"})
	req, _ := http.NewRequest(http.MethodPost, hook.URL+HookPath, bytes.NewReader(body))
	req.Header.Set(SignatureHeader, Sign(body, []byte(testSecret)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// The 200 came back while no download can have finished (all are held).
	for range 3 {
		select {
		case wasAnswered := <-started:
			if !wasAnswered {
				t.Error("a download started before the 200 was written")
			}
		case <-time.After(docDeadline):
			t.Fatal("downloads did not start")
		}
	}
	close(release)
	for _, d := range waitDocs(t, st, "A.1", 3) {
		if d.Status != store.DocSaved {
			t.Errorf("%s: %s %s", d.File, d.Status, d.Reason)
		}
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	st, _ := openDocStore(t)
	var running, peak atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write(content(r.URL.Path))
	}))
	defer srv.Close()
	f := newTestFetcher(t, st, FetchOptions{AllowHTTP: true, Concurrency: 2})
	var files []docFile
	for i := range 6 {
		files = append(files, docFile{Name: fmt.Sprintf("f%d", i), URL: fmt.Sprintf("%s/f%d", srv.URL, i)})
	}
	f.Enqueue(saveHire(t, st, hirePayload(t, "C.1", "", "", files...)))
	deadline := time.Now().Add(docDeadline)
	for running.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("downloads did not start")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	docs := waitDocs(t, st, "C.1", 6)
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrent downloads %d, want 2", p)
	}
	for _, d := range docs {
		if d.Status != store.DocSaved {
			t.Errorf("%s: %s", d.File, d.Status)
		}
	}
}

func TestCrashAndResume(t *testing.T) {
	st, dir := openDocStore(t)
	started := make(chan struct{}, 10)
	var hold atomic.Bool
	hold.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold.Load() {
			started <- struct{}{}
			<-r.Context().Done() // the "crash" cuts it off
			return
		}
		w.Write(content(r.URL.Path))
	}))
	defer srv.Close()
	opts := FetchOptions{AllowHTTP: true}
	f := NewFetcher(st, opts, slog.New(slog.DiscardHandler))

	// Hire A: its resume is downloading when Hirebell stops.
	f.Enqueue(saveHire(t, st, hirePayload(t, "A", srv.URL+"/a-cv", "")))
	select {
	case <-started:
	case <-time.After(docDeadline):
		t.Fatal("download did not start")
	}
	// Hire B: its file was renamed into place but the record not yet
	// updated (a kill -9 between the two), with a partial file beside it.
	b := saveHire(t, st, hirePayload(t, "B", srv.URL+"/b-cv", ""))
	bdocs, err := st.PlanDocuments("B", store.DocumentLinks(b.Raw), time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bpath, _ := st.DocumentPath(bdocs[0])
	os.MkdirAll(filepath.Dir(bpath), 0o700)
	os.WriteFile(bpath, content("/b-cv"), 0o600)
	os.WriteFile(filepath.Join(filepath.Dir(bpath), partialPrefix+"123"), []byte("half"), 0o600)
	// Hire C: pending, but its links expired while Hirebell was down.
	c := saveHire(t, st, hirePayload(t, "C", srv.URL+"/c-cv", ""))
	if _, err := st.PlanDocuments("C", store.DocumentLinks(c.Raw), time.Now().Add(-time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	// Hire D: stored and answered, but the crash came before its
	// documents were planned.
	saveHire(t, st, hirePayload(t, "D", srv.URL+"/d-cv", ""))

	f.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(dir, store.Options{LockTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if docs, _ := st.Documents("A"); len(docs) != 1 || docs[0].Status != store.DocPending {
		t.Fatalf("after the crash A's resume is %+v, want pending", docs)
	}

	hold.Store(false)
	f = newTestFetcher(t, st, opts)
	if err := f.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkSaved(t, st, waitDocs(t, st, "A", 1)[0], content("/a-cv"))
	checkSaved(t, st, waitDocs(t, st, "B", 1)[0], content("/b-cv"))
	checkSaved(t, st, waitDocs(t, st, "D", 1)[0], content("/d-cv"))
	if d := waitDocs(t, st, "C", 1)[0]; d.Status != store.DocFailed || d.Reason != ReasonInterrupted {
		t.Errorf("C: %s %q, want failed %q", d.Status, d.Reason, ReasonInterrupted)
	}
	noPartials(t, st.DocumentsDir())
	if p, err := st.PendingDocuments(); err != nil || len(p) != 0 {
		t.Errorf("still pending after resume: %+v, %v", p, err)
	}
}

func TestDeleteDuringDownload(t *testing.T) {
	st, _ := openDocStore(t)
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		w.Write(content(r.URL.Path))
	}))
	defer srv.Close()
	f := newTestFetcher(t, st, FetchOptions{AllowHTTP: true})
	f.Enqueue(saveHire(t, st, hirePayload(t, "Z", srv.URL+"/cv", "")))
	<-started
	if err := st.Delete("Z"); err != nil {
		t.Fatal(err)
	}
	close(release)
	f.Close()
	var left []string
	filepath.WalkDir(st.DocumentsDir(), func(p string, e fs.DirEntry, err error) error {
		if err == nil && p != st.DocumentsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("a deleted hire's download left %q", left)
	}
}

// A redelivery while a download is failing brings a fresh link; the
// download goes on with it instead of recording the old link's failure.
func TestRedeliveryDuringDownloadUsesFreshLink(t *testing.T) {
	st, _ := openDocStore(t)
	oldStarted := make(chan struct{})
	failOld := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			close(oldStarted)
			<-failOld
			w.WriteHeader(http.StatusForbidden) // the old link expired
			return
		}
		w.Write(content(r.URL.Path))
	}))
	defer srv.Close()
	f := newTestFetcher(t, st, FetchOptions{AllowHTTP: true})
	first := saveHire(t, st, hirePayload(t, "R.1", srv.URL+"/old", ""))
	f.Enqueue(first)
	<-oldStarted
	// Comeet sends the hire again, with a fresh link, planned at once.
	second := saveHire(t, st, hirePayload(t, "R.1", srv.URL+"/fresh", ""))
	if _, err := st.PlanDocuments("R.1", store.DocumentLinks(second.Raw), second.UpdatedAt.Add(time.Second), nil); err != nil {
		t.Fatal(err)
	}
	close(failOld)
	d := waitDocs(t, st, "R.1", 1)[0]
	checkSaved(t, st, d, content("/fresh"))
}

// BenchmarkFetchDocument measures one hire with one 1 MB document, from
// Enqueue to the recorded checksum, over loopback.
func BenchmarkFetchDocument(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "data")
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	f := NewFetcher(st, FetchOptions{AllowHTTP: true}, slog.New(slog.DiscardHandler))
	defer f.Close()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprintf("B.%d", i)
		h, _ := store.DecodeHire(hirePayload(b, id, srv.URL+"/cv", ""))
		res, err := st.SaveHire(h, store.Delivery{Status: 200})
		if err != nil {
			b.Fatal(err)
		}
		changed := st.DocumentsChanged()
		f.Enqueue(res.Hire)
		for {
			docs, _ := st.Documents(id)
			if len(docs) == 1 && docs[0].Status == store.DocSaved {
				break
			}
			<-changed
			changed = st.DocumentsChanged()
		}
	}
}

// Resume called while downloads run (say, a hire came in before it) leaves
// their partial files alone.
func TestResumeSparesRunningDownloads(t *testing.T) {
	st, _ := openDocStore(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(content("/half"))
		w.(http.Flusher).Flush()
		<-release
		w.Write(content("/rest"))
	}))
	defer srv.Close()
	f := newTestFetcher(t, st, FetchOptions{AllowHTTP: true})
	f.Enqueue(saveHire(t, st, hirePayload(t, "S.1", srv.URL+"/cv", "")))
	deadline := time.Now().Add(docDeadline)
	for {
		m, _ := filepath.Glob(filepath.Join(st.DocumentsDir(), "*", partialPrefix+"*"))
		if len(m) == 1 {
			if fi, err := os.Stat(m[0]); err == nil && fi.Size() > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the download did not start writing")
		}
		time.Sleep(time.Millisecond)
	}
	if err := f.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(release)
	checkSaved(t, st, waitDocs(t, st, "S.1", 1)[0], append(content("/half"), content("/rest")...))
}
