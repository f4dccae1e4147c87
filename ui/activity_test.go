package ui

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"hirebell/receiver"
	"hirebell/store"
)

// avPost sends one request to the receiver and waits until the log holds
// want entries (rejected attempts are logged in the background).
func avPost(t *testing.T, st *store.Store, url string, body []byte, sig string, want int) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+receiver.HookPath, bytes.NewReader(body))
	if sig != "" {
		req.Header.Set(receiver.SignatureHeader, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ds, err := st.Deliveries(false, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) >= want {
			return resp.StatusCode
		}
		if time.Now().After(deadline) {
			t.Fatalf("log has %d entries, want %d", len(ds), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// avDeliverEveryOutcome drives the real receiver through every outcome of
// its contract (the store error is recorded directly: a failing disk is
// not something a test can ask the receiver for).
func avDeliverEveryOutcome(t *testing.T, st *store.Store) {
	t.Helper()
	secret, err := st.Secret()
	if err != nil {
		t.Fatal(err)
	}
	rcv := receiver.New(receiver.Config{
		Store: st, Secret: func() []byte { return []byte(secret) }, MaxBody: 1 << 10,
	})
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	sign := func(b []byte) string { return receiver.Sign(b, []byte(secret)) }

	if err := st.RecordDelivery(store.Delivery{Time: time.Now().Add(-time.Hour), Remote: "127.0.0.1:9", Outcome: store.OutcomeStoreError, Status: 503, Detail: "disk full"}); err != nil {
		t.Fatal(err)
	}
	hire := []byte(`{"comeet_id":"A1","first_name":"Maya","last_name":"Okafor"}`)
	avPost(t, st, srv.URL, hire, sign(hire), 2)
	avPost(t, st, srv.URL, hire, sign(hire), 3)
	arrived, cancel := rcv.ExpectTest("n1")
	defer cancel()
	selfTest := []byte(`{"comeet_id":"TEST","hirebell_test":"n1"}`)
	avPost(t, st, srv.URL, selfTest, sign(selfTest), 4)
	<-arrived
	notHire := []byte(`{"hello":"world"}`)
	avPost(t, st, srv.URL, notHire, sign(notHire), 5)
	big := bytes.Repeat([]byte("x"), 2<<10)
	avPost(t, st, srv.URL, big, sign(big), 6)
	avPost(t, st, srv.URL, hire, "", 7)
	for i := range 3 {
		avPost(t, st, srv.URL, hire, "sha256 "+strings.Repeat("0", 64), 8+i)
	}
}

func avNewView(t *testing.T, st *store.Store) (*activityView, fyne.Window) {
	t.Helper()
	test.NewTempApp(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	v := newActivityView(st, w)
	w.SetContent(v.content())
	w.Resize(fyne.NewSize(1000, 800))
	v.reload()
	return v, w
}

func avColumn(v *activityView, col int) []string {
	var out []string
	for _, d := range v.rows {
		out = append(out, v.cellText(d, col))
	}
	return out
}

func TestActivityEveryOutcome(t *testing.T) {
	st := dsOpenStore(t)
	avDeliverEveryOutcome(t, st)
	v, w := avNewView(t, st)

	checks := []struct {
		name string
		col  int
		want string
	}{
		{"outcome in words", actColOutcome, "[Bad signature Bad signature Bad signature No signature Too large Not a hire Test hire Redelivery Stored Could not save]"},
		{"HTTP status", actColStatus, "[401 401 401 401 413 400 200 200 200 503]"},
		{"hire name", actColHire, "[    " + "  TEST Maya Okafor Maya Okafor ]"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if got := fmt.Sprint(avColumn(v, c.col)); got != c.want {
				t.Errorf("column %d = %s, want %s", c.col, got, c.want)
			}
		})
	}
	for _, from := range avColumn(v, actColFrom) {
		if !strings.HasPrefix(from, "127.0.0.1:") {
			t.Errorf("source address %q", from)
		}
	}
	for _, ti := range avColumn(v, actColTime) {
		if _, err := time.ParseInLocation("2006-01-02 15:04:05", ti, time.Local); err != nil {
			t.Errorf("time %q: %v", ti, err)
		}
	}

	// The banner explains the run of bad signatures and how to fix it.
	banner := strings.Join(dsLabels(v.banner), "\n")
	if !strings.Contains(banner, "3 deliveries were refused because the signature did not match") ||
		!strings.Contains(banner, "copy it again from Setup") {
		t.Errorf("banner:\n%s", banner)
	}
	if strings.Contains(banner, "could not be saved") {
		t.Errorf("the store error before the last success is shown as current:\n%s", banner)
	}

	// What is on screen.
	shown := strings.Join(dsLabels(w.Content()), "|")
	for _, want := range []string{"Time", "Outcome", "Bad signature", "Maya Okafor", "10 deliveries"} {
		if !strings.Contains(shown, want) {
			t.Errorf("window lacks %q", want)
		}
	}

	// Selecting a row explains it.
	v.table.Select(widget.TableCellID{Row: 0, Col: actColOutcome})
	if !strings.Contains(v.detail.Text, "did not match Hirebell's secret") {
		t.Errorf("detail = %q", v.detail.Text)
	}
}

func TestActivityProblemsOnly(t *testing.T) {
	st := dsOpenStore(t)
	avDeliverEveryOutcome(t, st)
	v, _ := avNewView(t, st)
	test.Tap(v.problems)
	want := "[Bad signature Bad signature Bad signature No signature Too large Not a hire Could not save]"
	if got := fmt.Sprint(avColumn(v, actColOutcome)); got != want {
		t.Errorf("problems only = %s, want %s", got, want)
	}
	if v.count.Text != "7 of 10 deliveries had a problem" {
		t.Errorf("count = %q", v.count.Text)
	}
	test.Tap(v.problems)
	if len(v.rows) != 10 {
		t.Errorf("unchecked: %d rows, want 10", len(v.rows))
	}
}

func TestActivityViewRaw(t *testing.T) {
	st := dsOpenStore(t)
	avDeliverEveryOutcome(t, st)
	v, w := avNewView(t, st)
	buttons := dsButtons(w.Content(), "View raw")
	if len(buttons) != 1 {
		t.Fatalf("%d View raw buttons, want 1 (the not-a-hire entry)", len(buttons))
	}
	test.Tap(buttons[0])
	top := w.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no dialog")
	}
	var entries []*widget.Entry
	walkVisible(top, func(o fyne.CanvasObject) {
		if e, ok := o.(*widget.Entry); ok {
			entries = append(entries, e)
		}
	})
	if len(entries) != 1 {
		t.Fatalf("%d entries in the dialog", len(entries))
	}
	e := entries[0]
	if e.Text != `{"hello":"world"}` || !e.TextStyle.Monospace || !e.MultiLine {
		t.Errorf("raw view: text %q monospace %v multiline %v", e.Text, e.TextStyle.Monospace, e.MultiLine)
	}
	test.Type(e, "edit")
	if e.Text != `{"hello":"world"}` {
		t.Errorf("the raw view was edited: %q", e.Text)
	}
	test.Tap(dsButtons(top, "Copy")[0])
	if got := fyne.CurrentApp().Clipboard().Content(); got != `{"hello":"world"}` {
		t.Errorf("clipboard = %q", got)
	}
	_ = v
}

func TestActivityRawIsBounded(t *testing.T) {
	st := dsOpenStore(t)
	body := bytes.Repeat([]byte("y"), maxRawShown+10)
	body[0] = 0xff // not UTF-8
	if err := st.RecordDelivery(store.Delivery{Remote: "127.0.0.1:1", Outcome: store.OutcomeNotAHire, Status: 400, Body: body}); err != nil {
		t.Fatal(err)
	}
	v, w := avNewView(t, st)
	v.showRaw(v.rows[0])
	var e *widget.Entry
	walkVisible(w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) {
		if x, ok := o.(*widget.Entry); ok {
			e = x
		}
	})
	if e == nil || len(e.Text) > maxRawShown+maxRawShown/rawLine+3 || !strings.HasPrefix(e.Text, "\uFFFD") {
		t.Fatalf("entry text of %d bytes", len(e.Text))
	}
	for _, line := range strings.Split(e.Text, "\n") {
		if utf8.RuneCountInString(line) > rawLine {
			t.Fatalf("a line of %d runes", utf8.RuneCountInString(line))
		}
	}
	if !dsHasLabel(w.Canvas().Overlays().Top(), "Only the first 64 KB are shown") {
		t.Error("no note that the view is cut")
	}
}

func TestActivityEmpty(t *testing.T) {
	st := dsOpenStore(t)
	v, _ := avNewView(t, st)
	if !strings.HasPrefix(v.count.Text, "No deliveries yet") || len(v.banner.Objects) != 0 || len(v.rows) != 0 {
		t.Errorf("empty: count %q, banner %d, rows %d", v.count.Text, len(v.banner.Objects), len(v.rows))
	}
}

func TestActivityHireDeletedStillNamed(t *testing.T) {
	st := dsOpenStore(t)
	if err := st.RecordDelivery(store.Delivery{Remote: "127.0.0.1:1", Outcome: store.OutcomeStored, Status: 200, ComeetID: "GONE"}); err != nil {
		t.Fatal(err)
	}
	v, _ := avNewView(t, st)
	if got := v.cellText(v.rows[0], actColHire); got != "GONE (deleted)" {
		t.Errorf("hire column %q", got)
	}
}

func TestBreakLines(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"abcd", "abc\nd"},
		{"abcdef", "abc\ndef"},
		{"ab\ncdefg", "ab\ncde\nfg"},
		{"ééééé", "ééé\néé"},
	} {
		if got := breakLines(tt.in, 3); got != tt.want {
			t.Errorf("breakLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
