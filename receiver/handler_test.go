package receiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

const testSecret = "test-secret-0123456789abcdef"

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is a Receiver on a real store in a temporary folder, served by
// a real HTTP server.
type harness struct {
	t      *testing.T
	dir    string
	st     *store.Store
	rcv    *Receiver
	srv    *httptest.Server
	hires  chan store.SaveResult
	logs   *syncBuffer
	secret []byte
	// contentLength is the request's ContentLength as the handler saw it.
	contentLength chan int64
}

func newHarness(t *testing.T, tweak func(*Config)) *harness {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	st, err := store.Open(dir, store.Options{LockTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		t: t, dir: dir, st: st,
		hires:         make(chan store.SaveResult, 64),
		logs:          &syncBuffer{},
		secret:        []byte(testSecret),
		contentLength: make(chan int64, 64),
	}
	cfg := Config{
		Store:  st,
		Secret: func() []byte { return h.secret },
		OnHire: func(r store.SaveResult) { h.hires <- r },
		Logger: slog.New(slog.NewTextHandler(h.logs, nil)),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	h.rcv = New(cfg)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case h.contentLength <- r.ContentLength:
		default:
		}
		h.rcv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		h.srv.Close()
		h.st.Close()
	})
	return h
}

// response is what came back from one request.
type response struct {
	status int
	header http.Header
	body   []byte
	reply  map[string]any
}

// do sends one request. A nil signature sends no Signature header.
func (h *harness) do(method, path string, body io.Reader, signature *string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if signature != nil {
		req.Header.Set(SignatureHeader, *signature)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode, header: resp.Header}
	out.body, err = io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(out.body) > 0 {
		if err := json.Unmarshal(out.body, &out.reply); err != nil {
			h.t.Errorf("answer %d body is not JSON: %q", out.status, out.body)
		}
	}
	return out
}

// post sends body to the hook path signed with the harness secret.
func (h *harness) post(body []byte) response {
	h.t.Helper()
	sig := Sign(body, h.secret)
	return h.do(http.MethodPost, HookPath, bytes.NewReader(body), &sig)
}

// reopen stops the server (waiting for in-flight handlers), closes the
// store so every pending log entry is written, and opens it again: what
// it finds is what is on disk.
func (h *harness) reopen() *store.Store {
	h.t.Helper()
	h.srv.Close()
	if err := h.st.Close(); err != nil {
		h.t.Fatal(err)
	}
	st, err := store.Open(h.dir, store.Options{LockTimeout: 200 * time.Millisecond})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { st.Close() })
	return st
}

// pollDeliveries waits (LogRejected writes in the background) until the
// log holds at least n entries or the deadline passes.
func pollDeliveries(t *testing.T, st *store.Store, n int) []store.Delivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := st.Deliveries(false, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(d) >= n || time.Now().After(deadline) {
			return d
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "store", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptr(s string) *string { return &s }

// TestContract walks the HTTP contract table of DESIGN.md, one row at a
// time, each on a fresh store, and checks the disk after reopening.
func TestContract(t *testing.T) {
	full := readSample(t, "sample-full.json")
	signed := func(b []byte) *string { return ptr(Sign(b, []byte(testSecret))) }
	// Over bbolt's key limit: refused before the journal, where it would
	// be acknowledged and then never fit the database.
	longID := []byte(`{"comeet_id":"` + strings.Repeat("7", 40<<10) + `"}`)
	tests := []struct {
		name      string
		maxBody   int64
		method    string
		path      string
		body      []byte
		signature *string

		wantStatus   int
		wantAllow    string
		wantReply    string // the reply's "status"
		wantHires    []string
		wantOutcome  store.Outcome // "" when nothing is logged
		wantBodyKept bool
	}{
		{name: "new hire", method: "POST", path: HookPath, body: full, signature: signed(full),
			wantStatus: 200, wantReply: "stored", wantHires: []string{"A1.5C"}, wantOutcome: store.OutcomeStored},
		{name: "recruit_id in place of comeet_id", method: "POST", path: HookPath,
			body: readSample(t, "tricky-recruit-id.json"), signature: signed(readSample(t, "tricky-recruit-id.json")),
			wantStatus: 200, wantReply: "stored", wantHires: []string{"J9.10"}, wantOutcome: store.OutcomeStored},
		{name: "missing signature", method: "POST", path: HookPath, body: full,
			wantStatus: 401, wantReply: "missing_signature", wantOutcome: store.OutcomeMissingSignature},
		{name: "empty signature", method: "POST", path: HookPath, body: full, signature: ptr(""),
			wantStatus: 401, wantReply: "missing_signature", wantOutcome: store.OutcomeMissingSignature},
		{name: "wrong signature", method: "POST", path: HookPath, body: full, signature: ptr(Sign(full, []byte("other"))),
			wantStatus: 401, wantReply: "bad_signature", wantOutcome: store.OutcomeBadSignature},
		{name: "malformed signature", method: "POST", path: HookPath, body: full, signature: ptr("sha256=abc"),
			wantStatus: 401, wantReply: "bad_signature", wantOutcome: store.OutcomeBadSignature},
		{name: "GET on the hook", method: "GET", path: HookPath,
			wantStatus: 405, wantAllow: "POST", wantReply: "method_not_allowed"},
		{name: "PUT on the hook", method: "PUT", path: HookPath, body: full, signature: signed(full),
			wantStatus: 405, wantAllow: "POST", wantReply: "method_not_allowed"},
		{name: "DELETE on the hook", method: "DELETE", path: HookPath,
			wantStatus: 405, wantAllow: "POST", wantReply: "method_not_allowed"},
		{name: "other path", method: "POST", path: "/hooks/other", body: full, signature: signed(full),
			wantStatus: 404, wantReply: "not_found"},
		{name: "root", method: "GET", path: "/",
			wantStatus: 404, wantReply: "not_found"},
		{name: "hook path with trailing slash", method: "POST", path: HookPath + "/", body: full, signature: signed(full),
			wantStatus: 404, wantReply: "not_found"},
		{name: "over the limit by Content-Length", maxBody: 1024, method: "POST", path: HookPath, body: full, signature: signed(full),
			wantStatus: 413, wantReply: "too_large", wantOutcome: store.OutcomeTooLarge},
		{name: "exactly at the limit", maxBody: int64(len(full)), method: "POST", path: HookPath, body: full, signature: signed(full),
			wantStatus: 200, wantReply: "stored", wantHires: []string{"A1.5C"}, wantOutcome: store.OutcomeStored},
		{name: "signed array", method: "POST", path: HookPath, body: []byte(`[{"comeet_id":"A"}]`), signature: signed([]byte(`[{"comeet_id":"A"}]`)),
			wantStatus: 400, wantReply: "not_a_hire", wantOutcome: store.OutcomeNotAHire, wantBodyKept: true},
		{name: "signed invalid JSON", method: "POST", path: HookPath, body: []byte(`{"comeet_id":`), signature: signed([]byte(`{"comeet_id":`)),
			wantStatus: 400, wantReply: "not_a_hire", wantOutcome: store.OutcomeNotAHire, wantBodyKept: true},
		{name: "signed object without comeet_id", method: "POST", path: HookPath, body: []byte(`{"first_name":"Tom"}`), signature: signed([]byte(`{"first_name":"Tom"}`)),
			wantStatus: 400, wantReply: "not_a_hire", wantOutcome: store.OutcomeNotAHire, wantBodyKept: true},
		{name: "signed comeet_id too long to be an id", method: "POST", path: HookPath, body: longID, signature: signed(longID),
			wantStatus: 400, wantReply: "not_a_hire", wantOutcome: store.OutcomeNotAHire, wantBodyKept: true},
		{name: "signed empty body", method: "POST", path: HookPath, body: []byte{}, signature: signed(nil),
			wantStatus: 400, wantReply: "not_a_hire", wantOutcome: store.OutcomeNotAHire},
		{name: "unsigned non-hire", method: "POST", path: HookPath, body: []byte(`[1]`),
			wantStatus: 401, wantReply: "missing_signature", wantOutcome: store.OutcomeMissingSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.MaxBody = tt.maxBody })
			var body io.Reader
			if tt.body != nil {
				body = bytes.NewReader(tt.body)
			}
			resp := h.do(tt.method, tt.path, body, tt.signature)
			if resp.status != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %s)", resp.status, tt.wantStatus, resp.body)
			}
			if ct := resp.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := resp.header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow %q, want %q", got, tt.wantAllow)
			}
			if resp.reply["status"] != tt.wantReply {
				t.Errorf("reply status %v, want %q", resp.reply["status"], tt.wantReply)
			}
			if msg, _ := resp.reply["display_message"].(string); tt.wantStatus >= 400 && msg == "" {
				t.Errorf("error answer without display_message: %s", resp.body)
			}
			if tt.wantStatus == 200 && resp.reply["comeet_id"] != tt.wantHires[0] {
				t.Errorf("200 reply comeet_id %v, want %s", resp.reply["comeet_id"], tt.wantHires[0])
			}
			if tt.wantOutcome != "" {
				// Rejected attempts are logged in the background: wait.
				if d := pollDeliveries(t, h.st, 1); len(d) != 1 || d[0].Outcome != tt.wantOutcome {
					t.Errorf("delivery log while running: %+v, want one %s", d, tt.wantOutcome)
				}
			}

			st := h.reopen()
			list, err := st.List()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, hire := range list {
				got = append(got, hire.ComeetID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantHires) {
				t.Errorf("stored hires %v, want %v", got, tt.wantHires)
			}
			d, err := st.Deliveries(false, 0)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantOutcome == "" {
				if len(d) != 0 {
					t.Errorf("delivery log %+v, want empty", d)
				}
				return
			}
			if len(d) != 1 || d[0].Outcome != tt.wantOutcome || d[0].Status != tt.wantStatus {
				t.Fatalf("delivery log %+v, want one %s/%d", d, tt.wantOutcome, tt.wantStatus)
			}
			if d[0].Remote == "" || d[0].Time.IsZero() {
				t.Errorf("delivery lacks remote or time: %+v", d[0])
			}
			if tt.wantBodyKept && !bytes.Equal(d[0].Body, tt.body) {
				t.Errorf("kept body %q, want %q", d[0].Body, tt.body)
			}
			if !tt.wantBodyKept && len(d[0].Body) != 0 {
				t.Errorf("body kept for a %s attempt: %q", tt.wantOutcome, d[0].Body)
			}
			if tt.wantStatus == 200 {
				stored, err := st.Get(tt.wantHires[0])
				if err != nil || !bytes.Equal(stored.Raw, tt.body) {
					t.Errorf("stored payload %q, %v; want the body byte for byte", stored.Raw, err)
				}
			}
		})
	}
}

func TestRedelivery(t *testing.T) {
	h := newHarness(t, nil)
	first := []byte(`{"comeet_id":"R.1","first_name":"Ada","position":{"name":"Engineer"}}`)
	second := []byte(`{"comeet_id":"R.1","first_name":"Ada","start_date":"2027-01-04","position":{"name":"Senior Engineer"}}`)
	if r := h.post(first); r.status != 200 || r.reply["status"] != "stored" {
		t.Fatalf("first delivery: %d %s", r.status, r.body)
	}
	if r := h.post(second); r.status != 200 || r.reply["status"] != "already_stored" || r.reply["comeet_id"] != "R.1" {
		t.Fatalf("redelivery: %d %s", r.status, r.body)
	}
	st := h.reopen() // waits for the handlers, so every OnHire call has happened
	close(h.hires)
	var calls []store.SaveResult
	for r := range h.hires {
		calls = append(calls, r)
	}
	if len(calls) != 2 {
		t.Fatalf("OnHire called %d times, want once per delivery (2)", len(calls))
	}
	if !calls[0].New || calls[1].New {
		t.Errorf("OnHire New = %v, %v; want true, false", calls[0].New, calls[1].New)
	}
	if calls[1].Hire.Position != "Senior Engineer" || calls[1].Hire.Deliveries != 2 {
		t.Errorf("OnHire for the redelivery got %+v", calls[1].Hire)
	}

	list, err := st.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %d hires, %v; want 1", len(list), err)
	}
	got, err := st.Get("R.1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Position != "Senior Engineer" || got.StartDate != "2027-01-04" || !bytes.Equal(got.Raw, second) {
		t.Errorf("record not updated to the latest payload: %+v raw %s", got, got.Raw)
	}
	if got.Deliveries != 2 || !got.ReceivedAt.Equal(calls[0].Hire.ReceivedAt) {
		t.Errorf("Deliveries %d ReceivedAt %v; want 2 and the first receipt %v", got.Deliveries, got.ReceivedAt, calls[0].Hire.ReceivedAt)
	}
	d, _ := st.Deliveries(false, 0)
	if len(d) != 2 || d[0].Outcome != store.OutcomeRedelivery || d[1].Outcome != store.OutcomeStored {
		t.Errorf("delivery log %+v, want redelivery then stored", d)
	}
}

func TestOnHireAfterAnswer(t *testing.T) {
	// OnHire must come after the 200 has left: a blocked OnHire must not
	// hold the answer back.
	release := make(chan struct{})
	called := make(chan struct{}, 1)
	h := newHarness(t, func(c *Config) {
		c.OnHire = func(store.SaveResult) {
			called <- struct{}{}
			<-release
		}
	})
	defer close(release)
	r := h.post([]byte(`{"comeet_id":"O.1"}`))
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("OnHire not called")
	}
}

func TestTooLargeChunked(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxBody = 1024 })
	// A correctly signed hire, padded past the limit, sent without a
	// Content-Length (chunked), so only the read can catch it.
	body := []byte(`{"comeet_id":"BIG.1","pad":"` + strings.Repeat("x", 4000) + `"}`)
	sig := Sign(body, h.secret)
	r := h.do(http.MethodPost, HookPath, io.MultiReader(bytes.NewReader(body)), &sig)
	if cl := <-h.contentLength; cl != -1 {
		t.Fatalf("request had Content-Length %d; the test wants a chunked body", cl)
	}
	if r.status != 413 || r.reply["display_message"] == "" {
		t.Fatalf("chunked over-limit: %d %s, want 413 with display_message", r.status, r.body)
	}
	// The same body at a size within the limit is fine chunked.
	small := []byte(`{"comeet_id":"SMALL.1"}`)
	sig = Sign(small, h.secret)
	if r := h.do(http.MethodPost, HookPath, io.MultiReader(bytes.NewReader(small)), &sig); r.status != 200 {
		t.Fatalf("chunked within limit: %d %s", r.status, r.body)
	}
	st := h.reopen()
	if _, err := st.Get("BIG.1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("over-limit hire stored: %v", err)
	}
	d, _ := st.Deliveries(false, 0)
	if len(d) != 2 || d[1].Outcome != store.OutcomeTooLarge || d[1].Body != nil {
		t.Errorf("delivery log %+v, want too_large (no body) then stored", d)
	}
}

func TestDefaultBodyLimit(t *testing.T) {
	h := newHarness(t, nil)
	if h.rcv.cfg.MaxBody != DefaultMaxBody || DefaultMaxBody != 4<<20 {
		t.Fatalf("default limit %d, want 4 MiB", h.rcv.cfg.MaxBody)
	}
	over := bytes.Repeat([]byte(" "), DefaultMaxBody+1)
	tests := []struct {
		name   string
		length int64
	}{
		{"by Content-Length", int64(len(over))},
		{"unknown length", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, HookPath, bytes.NewReader(over))
			req.ContentLength = tt.length
			req.Header.Set(SignatureHeader, Sign(over, h.secret))
			w := httptest.NewRecorder()
			h.rcv.ServeHTTP(w, req)
			if w.Code != 413 {
				t.Errorf("status %d, want 413", w.Code)
			}
		})
	}
}

func TestStoreFailure(t *testing.T) {
	h := newHarness(t, nil)
	if err := h.st.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body string
	}{
		{"hire", `{"comeet_id":"F.1"}`},
		{"signed non-hire", `[1]`},
		{"self-test", `{"comeet_id":"T.1","hirebell_test":"n"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.post([]byte(tt.body))
			if r.status != 503 {
				t.Fatalf("status %d (%s), want 503", r.status, r.body)
			}
			if r.header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if msg, _ := r.reply["display_message"].(string); msg == "" {
				t.Errorf("503 without display_message: %s", r.body)
			}
		})
	}
	if len(h.hires) != 0 {
		t.Error("OnHire called for a hire that was not stored")
	}
	if !strings.Contains(h.logs.String(), "store write failed") {
		t.Errorf("store failure not logged: %s", h.logs)
	}
	st := h.reopen()
	if n, _ := st.Count(); n != 0 {
		t.Errorf("%d hires stored by a closed store", n)
	}
}

// errReader fails like a connection that dropped mid-body.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestUnreadableBodyIsNotAcknowledged(t *testing.T) {
	h := newHarness(t, nil)
	req := httptest.NewRequest(http.MethodPost, HookPath, io.MultiReader(strings.NewReader(`{"comeet_id":"U.1"`), errReader{}))
	req.ContentLength = 100
	w := httptest.NewRecorder()
	h.rcv.ServeHTTP(w, req)
	if w.Code == http.StatusOK {
		t.Fatalf("a body that could not be read was answered 200: Comeet would take the hire as made")
	}
	var rep map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil || w.Code != 400 || rep["display_message"] == "" {
		t.Errorf("answer %d %q, want 400 with a display_message", w.Code, w.Body)
	}
	if d := pollDeliveries(t, h.st, 1); len(d) != 1 || d[0].Outcome != store.OutcomeNotAHire || d[0].Body != nil {
		t.Errorf("delivery log %+v, want one not_a_hire without body", d)
	}
	if n, _ := h.st.Count(); n != 0 {
		t.Errorf("%d hires stored", n)
	}
}

func TestSecretIsReadPerRequest(t *testing.T) {
	h := newHarness(t, nil)
	body := []byte(`{"comeet_id":"S.1"}`)
	oldSig := Sign(body, h.secret)
	h.secret = []byte("rotated-secret")
	if r := h.do(http.MethodPost, HookPath, bytes.NewReader(body), &oldSig); r.status != 401 {
		t.Errorf("old secret after rotation: %d, want 401", r.status)
	}
	if r := h.post(body); r.status != 200 {
		t.Errorf("new secret: %d, want 200", r.status)
	}
}

func TestNoSecretConfigured(t *testing.T) {
	h := newHarness(t, nil)
	h.secret = nil
	body := []byte(`{"comeet_id":"N.1"}`)
	for _, sig := range []*string{nil, ptr(Sign(body, nil))} {
		if r := h.do(http.MethodPost, HookPath, bytes.NewReader(body), sig); r.status != 401 {
			t.Errorf("no secret configured, signature %v: %d, want 401", sig != nil, r.status)
		}
	}
	if n, _ := h.st.Count(); n != 0 {
		t.Errorf("%d hires stored without a secret", n)
	}
}

// TestNothingLeaks sends wrongly signed requests and checks that no answer,
// header, log line or delivery log entry contains the expected signature
// or the secret.
func TestNothingLeaks(t *testing.T) {
	h := newHarness(t, nil)
	body := readSample(t, "sample-full.json")
	want := strings.TrimPrefix(Sign(body, h.secret), signaturePrefix)
	headers := []string{
		"",
		"sha256 " + strings.Repeat("0", 64),
		"sha256 " + flipHex(want, 0),
		"sha256 " + strings.ToUpper(want),
		"sha256=" + want,
		"sha256 " + want[:40],
		Sign(body, []byte("other")),
		testSecret,
	}
	var seen strings.Builder
	for _, hd := range headers {
		r := h.do(http.MethodPost, HookPath, bytes.NewReader(body), ptr(hd))
		if r.status != 401 {
			t.Errorf("header %q: %d, want 401", hd, r.status)
		}
		seen.Write(r.body)
		for k, v := range r.header {
			fmt.Fprintf(&seen, "%s: %s\n", k, v)
		}
	}
	// A signed non-hire and the 503 carry error details too.
	h.post([]byte(`{"no":"id"}`))
	d := pollDeliveries(t, h.st, len(headers)+1)
	for _, e := range d {
		fmt.Fprintf(&seen, "%s %s %s\n", e.Outcome, e.Detail, e.Body)
	}
	h.st.Close()
	h.post(body)

	h.srv.Close()
	seen.WriteString(h.logs.String())
	if !strings.Contains(h.logs.String(), "bad_signature") {
		t.Fatalf("the check looked at no log output: %q", h.logs)
	}
	text := seen.String()
	if strings.Contains(strings.ToLower(text), want) {
		t.Error("an answer, log line or log entry contains the expected signature")
	}
	// Not even the secret sent as a header is echoed back.
	if strings.Contains(text, testSecret) {
		t.Errorf("output contains the secret: %q", text)
	}
}

func TestSelfTest(t *testing.T) {
	h := newHarness(t, nil)
	arrived, cancel := h.rcv.ExpectTest("n0nce-1")
	defer cancel()
	other, cancelOther := h.rcv.ExpectTest("n0nce-2")
	defer cancelOther()
	test := []byte(`{"comeet_id":"TEST.1","first_name":"Test","hirebell_test":"n0nce-1"}`)

	// Unsigned, it is just a rejected request.
	if r := h.do(http.MethodPost, HookPath, bytes.NewReader(test), nil); r.status != 401 {
		t.Fatalf("unsigned self-test: %d", r.status)
	}
	select {
	case <-arrived:
		t.Fatal("an unsigned self-test counted as arrived")
	default:
	}

	r := h.post(test)
	if r.status != 200 || r.reply["status"] != "test_received" {
		t.Fatalf("self-test: %d %s", r.status, r.body)
	}
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("self-test not reported as arrived")
	}
	select {
	case <-other:
		t.Error("another nonce's channel closed")
	default:
	}
	// A repeat of a nonce already seen is answered but reports nothing.
	if r := h.post(test); r.status != 200 {
		t.Errorf("repeated self-test: %d", r.status)
	}

	st := h.reopen()
	if n, _ := st.Count(); n != 0 {
		t.Errorf("self-test stored as %d hire(s)", n)
	}
	if len(h.hires) != 0 {
		t.Error("OnHire called for a self-test")
	}
	d, _ := st.Deliveries(false, 0)
	var tests int
	for _, e := range d {
		if e.Outcome == store.OutcomeTest {
			tests++
		}
	}
	if tests != 2 {
		t.Errorf("delivery log has %d test entries, want 2: %+v", tests, d)
	}
}

func TestSelfTestCancel(t *testing.T) {
	h := newHarness(t, nil)
	arrived, cancel := h.rcv.ExpectTest("late")
	cancel()
	if r := h.post([]byte(`{"comeet_id":"TEST.2","hirebell_test":"late"}`)); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	select {
	case <-arrived:
		t.Error("a cancelled nonce was reported")
	default:
	}
}

func TestConcurrentDeliveries(t *testing.T) {
	var calls atomic.Int64
	h := newHarness(t, func(c *Config) { c.OnHire = func(store.SaveResult) { calls.Add(1) } })
	const senders, each = 16, 8
	var wg sync.WaitGroup
	statuses := make(chan int, senders*each)
	bodies := make([][]byte, 0, senders*each)
	for i := range senders * each {
		bodies = append(bodies, []byte(fmt.Sprintf(`{"comeet_id":"C.%d"}`, i)))
	}
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s; i < len(bodies); i += senders {
				sig := Sign(bodies[i], h.secret)
				req, _ := http.NewRequest(http.MethodPost, h.srv.URL+HookPath, bytes.NewReader(bodies[i]))
				req.Header.Set(SignatureHeader, sig)
				resp, err := h.srv.Client().Do(req)
				if err != nil {
					statuses <- 0
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses <- resp.StatusCode
			}
		}()
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Errorf("status %d", s)
		}
	}
	st := h.reopen()
	if n, _ := st.Count(); n != senders*each {
		t.Errorf("%d hires on disk, want %d", n, senders*each)
	}
	if n := calls.Load(); n != senders*each {
		t.Errorf("OnHire called %d times, want %d", n, senders*each)
	}
}

// BenchmarkIntake measures one signed hire through the handler into a
// durable store, 16 concurrent senders per CPU as under load.
func BenchmarkIntake(b *testing.B) {
	dir := b.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	secret := []byte(testSecret)
	rcv := New(Config{Store: st, Secret: func() []byte { return secret }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	base := readSample(b, "sample-full.json")
	var mu sync.Mutex
	n := 0
	nextBody := func() []byte {
		mu.Lock()
		n++
		id := n
		mu.Unlock()
		return bytes.Replace(base, []byte(`"A1.5C"`), []byte(fmt.Sprintf(`"BI.%d"`, id)), 1)
	}
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := nextBody()
			req := httptest.NewRequest(http.MethodPost, HookPath, bytes.NewReader(body))
			req.Header.Set(SignatureHeader, Sign(body, secret))
			w := httptest.NewRecorder()
			rcv.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Errorf("status %d", w.Code)
				return
			}
		}
	})
}

// BenchmarkRejectForged measures a forged delivery: it must cost a MAC,
// not a transaction (the attempt is logged in the background).
func BenchmarkRejectForged(b *testing.B) {
	st, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	secret := []byte(testSecret)
	rcv := New(Config{Store: st, Secret: func() []byte { return secret }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	body := readSample(b, "sample-full.json")
	forged := Sign(body, []byte("not the secret"))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, HookPath, bytes.NewReader(body))
		req.Header.Set(SignatureHeader, forged)
		w := httptest.NewRecorder()
		rcv.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			b.Fatalf("status %d", w.Code)
		}
	}
}
