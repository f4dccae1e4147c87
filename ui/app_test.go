package ui

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"hirebell/receiver"
	"hirebell/store"
)

// The helpers of the shell's tests are prefixed "shell" so that they do
// not collide with those of the views' tests in the same package.

// shellQueue stands in for the Fyne goroutine: functions handed to do from
// other goroutines wait here until the test goroutine runs them, so that
// widgets are only ever touched by the test goroutine.
type shellQueue chan func()

func (q shellQueue) do(f func()) { q <- f }

// runOne runs the next queued function, failing if none comes in time.
func (q shellQueue) runOne(t *testing.T) {
	t.Helper()
	select {
	case f := <-q:
		f()
	case <-time.After(5 * time.Second):
		t.Fatal("nothing was handed to the Fyne goroutine")
	}
}

// shellTimers records time.AfterFunc calls; the test fires them.
type shellTimers struct {
	mu    sync.Mutex
	funcs []func()
	delay []time.Duration
}

func (tm *shellTimers) after(d time.Duration, f func()) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.funcs = append(tm.funcs, f)
	tm.delay = append(tm.delay, d)
}

func (tm *shellTimers) count() int {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return len(tm.funcs)
}

// fire runs every pending timer function and forgets it.
func (tm *shellTimers) fire() {
	tm.mu.Lock()
	fs := tm.funcs
	tm.funcs, tm.delay = nil, nil
	tm.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// shellPublisher is a fake receiver.Publisher.
type shellPublisher struct {
	mu      sync.Mutex
	cur     receiver.TunnelStatus
	subs    []chan receiver.TunnelStatus
	configs [][2]string
	retries int
}

func (p *shellPublisher) Reconfigure(token, domain string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.configs = append(p.configs, [2]string{token, domain})
}

func (p *shellPublisher) Retry() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retries++
}

func (p *shellPublisher) Current() receiver.TunnelStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

func (p *shellPublisher) Subscribe() (<-chan receiver.TunnelStatus, func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := make(chan receiver.TunnelStatus, 8)
	ch <- p.cur
	p.subs = append(p.subs, ch)
	var once sync.Once
	return ch, func() { once.Do(func() { close(ch) }) }
}

// publish sends s to every subscriber.
func (p *shellPublisher) publish(s receiver.TunnelStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cur = s
	for _, ch := range p.subs {
		ch <- s
	}
}

func (p *shellPublisher) lastConfig() ([2]string, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.configs) == 0 {
		return [2]string{}, 0
	}
	return p.configs[len(p.configs)-1], len(p.configs)
}

func shellStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// shellHire stores a hire and returns what SaveHire said.
func shellHire(t *testing.T, st *store.Store, id, first, last, position, start string) store.SaveResult {
	t.Helper()
	raw := fmt.Sprintf(`{"comeet_id":%q,"first_name":%q,"last_name":%q,"position":{"name":%q},"start_date":%q}`,
		id, first, last, position, start)
	h, err := store.DecodeHire([]byte(raw))
	if err != nil {
		t.Fatalf("decode hire: %v", err)
	}
	res, err := st.SaveHire(h, store.Delivery{})
	if err != nil {
		t.Fatalf("save hire: %v", err)
	}
	return res
}

// shellEnv is a UI on the test driver with its goroutines tamed.
type shellEnv struct {
	app   fyne.App
	st    *store.Store
	pub   *shellPublisher
	ui    *UI
	queue shellQueue
	tm    *shellTimers
	notes chan *fyne.Notification
}

const shellLocalURL = "http://127.0.0.1:8725"

// newShellEnv builds a UI; withPub false means no tunnel (--no-tunnel).
func newShellEnv(t *testing.T, withPub bool) *shellEnv {
	t.Helper()
	e := &shellEnv{
		app:   test.NewTempApp(t),
		st:    shellStore(t),
		queue: make(shellQueue, 64),
		tm:    &shellTimers{},
		notes: make(chan *fyne.Notification, 64),
	}
	d := Deps{
		App:      e.app,
		Store:    e.st,
		LocalURL: shellLocalURL,
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if withPub {
		e.pub = &shellPublisher{cur: receiver.TunnelStatus{State: receiver.TunnelOff, Reason: receiver.ReasonNoToken}}
		d.Publisher = e.pub
	}
	e.ui = New(d)
	e.ui.do = e.queue.do
	e.ui.after = e.tm.after
	e.ui.notify = func(n *fyne.Notification) { e.notes <- n }
	t.Cleanup(e.ui.stop)
	return e
}

// nextNote waits for the next notification.
func (e *shellEnv) nextNote(t *testing.T) *fyne.Notification {
	t.Helper()
	select {
	case n := <-e.notes:
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no notification was sent")
		return nil
	}
}

// noNote fails if a notification is waiting or comes within a short grace.
// The notifier sends at once, so its absence after a hire was handled
// (the coalesced refresh already ran) means none is coming.
func (e *shellEnv) noNote(t *testing.T) {
	t.Helper()
	select {
	case n := <-e.notes:
		t.Fatalf("unexpected notification %q: %q", n.Title, n.Content)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestNewBuildsWindow(t *testing.T) {
	e := newShellEnv(t, false)
	if got := e.ui.w.Title(); got != "Hirebell" {
		t.Errorf("window title = %q, want Hirebell", got)
	}
	var titles []string
	for _, it := range e.ui.tabs.Items {
		titles = append(titles, it.Text)
	}
	if fmt.Sprint(titles) != "[Hires Activity Setup]" {
		t.Errorf("tabs = %v", titles)
	}
	if e.ui.tabs.Selected() != e.ui.setupTab {
		t.Errorf("with no hires yet the Setup tab should open first, got %q", e.ui.tabs.Selected().Text)
	}
	if e.ui.tray != nil {
		t.Error("the test app has no tray, yet a tray menu was made")
	}
}

func TestNewOpensHiresWhenThereAreSome(t *testing.T) {
	app := test.NewTempApp(t)
	st := shellStore(t)
	shellHire(t, st, "C1", "Ada", "Lovelace", "Engineer", "2027-01-04")
	u := New(Deps{App: app, Store: st, LocalURL: shellLocalURL})
	t.Cleanup(u.stop)
	if u.tabs.Selected() != u.hiresTab {
		t.Errorf("selected tab = %q, want the hires", u.tabs.Selected().Text)
	}
}

func TestUnseenCountInTabTitle(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want string
	}{
		{"none", 0, "Hires"},
		{"one", 1, "Hires (1 new)"},
		{"many", 12, "Hires (12 new)"},
	}
	e := newShellEnv(t, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.ui.hires.onUnseenChanged(tt.n)
			if got := e.ui.hiresTab.Text; got != tt.want {
				t.Errorf("tab title = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHireArrivedNotifiesNewHiresOnly(t *testing.T) {
	e := newShellEnv(t, false)
	first := shellHire(t, e.st, "C1", "Ada", "Lovelace", "Engineer", "2027-01-04")
	e.ui.HireArrived(first)
	n := e.nextNote(t)
	if n.Title != "Ada Lovelace" || n.Content != "Engineer, starts 4 Jan 2027" {
		t.Errorf("notification = %q / %q", n.Title, n.Content)
	}

	again := shellHire(t, e.st, "C1", "Ada", "Lovelace", "Engineer", "2027-01-04")
	if again.New {
		t.Fatal("the store reported a redelivery as new")
	}
	e.ui.HireArrived(again)
	e.noNote(t)
}

func TestHireArrivedCoalescesRefreshes(t *testing.T) {
	e := newShellEnv(t, false)
	refreshes := 0
	e.ui.refresh = func() { refreshes++ }

	for i := range 100 {
		e.ui.HireArrived(store.SaveResult{Hire: store.Hire{ComeetID: fmt.Sprint(i)}})
	}
	if got := e.tm.count(); got != 1 {
		t.Fatalf("100 deliveries scheduled %d refreshes, want 1", got)
	}
	if d := e.tm.delay[0]; d <= 0 || d > 300*time.Millisecond {
		t.Errorf("refresh delay = %v, want a short pause", d)
	}
	e.tm.fire()
	e.queue.runOne(t)
	if refreshes != 1 {
		t.Fatalf("refreshes = %d, want 1", refreshes)
	}

	// After the refresh ran, the next delivery schedules a new one.
	e.ui.HireArrived(store.SaveResult{Hire: store.Hire{ComeetID: "late"}})
	e.ui.HireArrived(store.SaveResult{Hire: store.Hire{ComeetID: "later"}})
	if got := e.tm.count(); got != 1 {
		t.Fatalf("scheduled %d refreshes after the first ran, want 1", got)
	}
	e.tm.fire()
	e.queue.runOne(t)
	if refreshes != 2 {
		t.Fatalf("refreshes = %d, want 2", refreshes)
	}
}

func TestHireArrivedAfterStopDoesNothing(t *testing.T) {
	e := newShellEnv(t, false)
	e.ui.stop()
	e.ui.HireArrived(store.SaveResult{New: true, Hire: store.Hire{ComeetID: "x", FirstName: "Late"}})
	if e.tm.count() != 0 {
		t.Error("a refresh was scheduled after stop")
	}
	e.noNote(t)

	var nilUI *UI
	nilUI.HireArrived(store.SaveResult{New: true}) // must not panic
}

func TestTunnelStatusReachesSetupPanel(t *testing.T) {
	e := newShellEnv(t, true)
	e.ui.start()
	e.queue.runOne(t) // the current status, sent on subscribe
	if got, want := e.ui.setup.url.Text, shellLocalURL+receiver.HookPath; got != want {
		t.Errorf("url before online = %q, want %q", got, want)
	}

	e.pub.publish(receiver.TunnelStatus{State: receiver.TunnelOnline, URL: "https://bell.ngrok-free.app", Latency: 42 * time.Millisecond})
	e.queue.runOne(t)
	if got, want := e.ui.setup.url.Text, "https://bell.ngrok-free.app/hooks/comeet"; got != want {
		t.Errorf("url when online = %q, want %q", got, want)
	}
	if e.ui.setup.urlNote.Visible() {
		t.Error("the local-address note is still shown when online")
	}
	if got := e.ui.setup.statusTitle.Text; got != "Public URL: online" {
		t.Errorf("status = %q", got)
	}

	e.ui.copyWebhookURL()
	if got := e.app.Clipboard().Content(); got != "https://bell.ngrok-free.app/hooks/comeet" {
		t.Errorf("tray copy put %q on the clipboard", got)
	}
}

func TestCopySecretFromTray(t *testing.T) {
	e := newShellEnv(t, false)
	e.ui.copySecret()
	want, err := e.st.Secret()
	if err != nil {
		t.Fatal(err)
	}
	if got := e.app.Clipboard().Content(); got != want {
		t.Error("the tray's Copy secret did not put the secret on the clipboard")
	}
}

func TestShowStartupError(t *testing.T) {
	app := test.NewTempApp(t)
	const msg = "Another Hirebell is already using the data folder."
	ShowStartupError(app, msg)
	// The test driver keeps the windows of earlier tests: find ours.
	var w fyne.Window
	for _, x := range app.Driver().AllWindows() {
		if shellFindLabel(x.Canvas().Content(), msg) != nil {
			w = x
		}
	}
	if w == nil {
		t.Fatal("no window shows the message")
	}
	if w.Title() != "Hirebell" {
		t.Errorf("title = %q", w.Title())
	}
	quit := shellFindButton(w.Canvas().Content(), "Quit")
	if quit == nil {
		t.Fatal("no Quit button")
	}
}

// shellFindButton returns the button labelled text under o, or nil.
func shellFindButton(o fyne.CanvasObject, text string) *widget.Button {
	var found *widget.Button
	walkAll(o, func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && b.Text == text && found == nil {
			found = b
		}
	})
	return found
}

func shellFindLabel(o fyne.CanvasObject, text string) *widget.Label {
	var found *widget.Label
	walkAll(o, func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok && l.Text == text && found == nil {
			found = l
		}
	})
	return found
}

func TestHireArrivedFromManyGoroutines(t *testing.T) {
	e := newShellEnv(t, false)
	refreshes := 0
	e.ui.refresh = func() { refreshes++ }
	const senders, each = 8, 50
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e.ui.HireArrived(store.SaveResult{Hire: store.Hire{ComeetID: fmt.Sprint(s, "-", i)}})
			}
		}()
	}
	wg.Wait()
	if got := e.tm.count(); got != 1 {
		t.Fatalf("%d deliveries from %d goroutines scheduled %d refreshes, want 1", senders*each, senders, got)
	}
	e.tm.fire()
	e.queue.runOne(t)
	if refreshes != 1 {
		t.Errorf("refreshes = %d, want 1", refreshes)
	}
}

// BenchmarkHireArrived is the cost the receiver's goroutine pays per hire:
// it must stay far below the time of the durable write before it.
func BenchmarkHireArrived(b *testing.B) {
	app := test.NewTempApp(b)
	st, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	u := New(Deps{App: app, Store: st, LocalURL: shellLocalURL, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	b.Cleanup(u.stop)
	u.notify = func(*fyne.Notification) {}
	u.after = func(time.Duration, func()) {} // the reload itself is not measured
	res := store.SaveResult{New: true, Hire: store.Hire{ComeetID: "B1", FirstName: "Ada", LastName: "Lovelace", Position: "Engineer"}}
	b.ReportAllocs()
	for b.Loop() {
		u.HireArrived(res)
	}
}

func TestQuitIsDeferred(t *testing.T) {
	e := newShellEnv(t, false)
	e.ui.w.Show()
	e.ui.quit()
	// The window is hidden at once (not observable on the test driver);
	// app.Quit comes a moment later, on the Fyne goroutine.
	if e.tm.count() != 1 {
		t.Fatalf("quit scheduled %d steps, want 1", e.tm.count())
	}
	if d := e.tm.delay[0]; d <= 0 || d > time.Second {
		t.Errorf("quit delay %v", d)
	}
	e.tm.fire()
	e.queue.runOne(t)
}

// A refused delivery never reaches HireArrived; showing the Activity tab
// must read the log afresh so that it appears.
func TestActivityTabShowsRefusedDeliveries(t *testing.T) {
	e := newShellEnv(t, false)
	e.st.LogRejected(store.Delivery{Outcome: store.OutcomeBadSignature, Status: 401, Remote: "203.0.113.9:4711"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		ds, err := e.st.Deliveries(true, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the refused delivery was never logged")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(e.ui.activity.rows); n != 0 {
		t.Fatalf("activity shows %d rows before the tab was opened", n)
	}
	e.ui.tabs.SelectIndex(1)
	if n := len(e.ui.activity.rows); n != 1 {
		t.Fatalf("after opening Activity it shows %d rows, want the refused delivery", n)
	}
}

// While Activity is shown, a stored hire's delivery appears in it with the
// refresh that follows HireArrived.
func TestActivityShownFollowsHires(t *testing.T) {
	e := newShellEnv(t, false)
	e.ui.tabs.Select(e.ui.activityTab)
	if n := len(e.ui.activity.rows); n != 0 {
		t.Fatalf("activity shows %d rows on an empty store", n)
	}
	e.ui.HireArrived(shellHire(t, e.st, "C1", "Ada", "Lovelace", "Engineer", "2027-01-04"))
	e.tm.fire()
	e.queue.runOne(t)
	if n := len(e.ui.activity.rows); n != 1 {
		t.Fatalf("after the refresh activity shows %d rows, want the delivery", n)
	}
}
