package receiver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeExposer hands every Expose call to the test, which drives it.
type fakeExposer struct {
	calls chan *fakeExpose
}

func newFakeExposer() *fakeExposer {
	return &fakeExposer{calls: make(chan *fakeExpose, 16)}
}

// factory returns the newExposer function a Publisher takes.
func (f *fakeExposer) factory() func(token, domain string) Exposer {
	return func(token, domain string) Exposer {
		return &fakeExposerFor{f: f, token: token, domain: domain}
	}
}

// next returns the next Expose call, or fails the test.
func (f *fakeExposer) next(t *testing.T) *fakeExpose {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no Expose call")
		return nil
	}
}

// none checks that no Expose call is waiting.
func (f *fakeExposer) none(t *testing.T) {
	t.Helper()
	select {
	case c := <-f.calls:
		t.Fatalf("unexpected Expose call with token %q", c.token)
	default:
	}
}

type fakeExposerFor struct {
	f             *fakeExposer
	token, domain string
}

// fakeExpose is one Expose call in progress.
type fakeExpose struct {
	token, domain string
	ctx           context.Context
	status        func(TunnelStatus)
	result        chan error // nil: return a tunnel
	tunnel        *fakeTunnel
}

type fakeTunnel struct {
	url       string
	block     chan struct{} // if set, Close waits for it
	closeOnce sync.Once
	closed    chan struct{}
}

func (t *fakeTunnel) URL() string { return t.url }
func (t *fakeTunnel) Close() error {
	if t.block != nil {
		<-t.block
	}
	t.closeOnce.Do(func() { close(t.closed) })
	return nil
}

func (e *fakeExposerFor) Expose(ctx context.Context, srv *http.Server, status func(TunnelStatus)) (Tunnel, error) {
	c := &fakeExpose{
		token: e.token, domain: e.domain, ctx: ctx, status: status,
		result: make(chan error, 1),
		tunnel: &fakeTunnel{url: "https://" + e.token + ".ngrok-free.app", closed: make(chan struct{})},
	}
	e.f.calls <- c
	select {
	case err := <-c.result:
		if err != nil {
			return nil, err
		}
		return c.tunnel, nil
	case <-ctx.Done():
		// Like a real exposer, one that came online just as start-up
		// ended closes what it opened.
		select {
		case err := <-c.result:
			if err == nil {
				c.tunnel.Close()
			}
		default:
		}
		return nil, ctx.Err()
	}
}

// online reports TunnelOnline and lets Expose return, as an exposer does.
func (c *fakeExpose) online() {
	c.status(TunnelStatus{State: TunnelOnline, URL: c.tunnel.url})
	c.result <- nil
}

// waitClosed fails the test unless the tunnel gets closed.
func (c *fakeExpose) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-c.tunnel.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("tunnel not closed")
	}
}

// waitCurrent polls p until its state is want.
func waitCurrent(t *testing.T, p *Publisher, want TunnelState) TunnelStatus {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := p.Current()
		if s.State == want {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("state = %v (%q), want %v", s.State, s.Reason, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTunnelStateString(t *testing.T) {
	tests := []struct {
		s    TunnelState
		want string
	}{
		{TunnelOff, "off"},
		{TunnelConnecting, "connecting"},
		{TunnelOnline, "online"},
		{TunnelReconnecting, "reconnecting"},
		{TunnelNeedsAttention, "needs attention"},
		{TunnelState(42), "TunnelState(42)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.s.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWebhookURL(t *testing.T) {
	const base = "https://abc.ngrok-free.app"
	tests := []struct {
		name string
		s    TunnelStatus
		want string
	}{
		{"online", TunnelStatus{State: TunnelOnline, URL: base}, base + "/hooks/comeet"},
		{"online with slash", TunnelStatus{State: TunnelOnline, URL: base + "/"}, base + "/hooks/comeet"},
		{"online without url", TunnelStatus{State: TunnelOnline}, ""},
		{"reconnecting keeps url but no webhook", TunnelStatus{State: TunnelReconnecting, URL: base}, ""},
		{"connecting", TunnelStatus{State: TunnelConnecting}, ""},
		{"off", TunnelStatus{State: TunnelOff, Reason: ReasonNoToken}, ""},
		{"needs attention", TunnelStatus{State: TunnelNeedsAttention, Code: "ERR_NGROK_107"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.WebhookURL(); got != tt.want {
				t.Errorf("WebhookURL() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPublisherWithoutTokenIsOff(t *testing.T) {
	f := newFakeExposer()
	p, ch := newTunPublisher(t, &http.Server{}, f.factory())
	first := <-ch
	for _, s := range []TunnelStatus{p.Current(), first} {
		if s.State != TunnelOff || s.Reason != ReasonNoToken {
			t.Errorf("new publisher: %+v, want off with ReasonNoToken", s)
		}
	}
	for _, want := range []string{"dashboard.ngrok.com", "Setup", "NGROK_AUTHTOKEN", "local"} {
		if !strings.Contains(ReasonNoToken, want) {
			t.Errorf("ReasonNoToken does not mention %q", want)
		}
	}
	p.Reconfigure("   ", "name.ngrok-free.app")
	if s := p.Current(); s.State != TunnelOff || s.Reason != ReasonNoToken {
		t.Errorf("blank token: %+v, want off with ReasonNoToken", s)
	}
	f.none(t)
}

func TestPublisherStates(t *testing.T) {
	f := newFakeExposer()
	p, _ := newTunPublisher(t, &http.Server{}, f.factory())
	p.Reconfigure(" tok ", " name.ngrok-free.app ")
	if s := p.Current(); s.State != TunnelConnecting {
		t.Fatalf("right after Reconfigure: %v, want connecting", s.State)
	}
	c := f.next(t)
	if c.token != "tok" || c.domain != "name.ngrok-free.app" {
		t.Errorf("Expose got token %q domain %q, want them trimmed", c.token, c.domain)
	}

	url := c.tunnel.url
	steps := []struct {
		name string
		do   func()
		want TunnelStatus
	}{
		{"start-up failure retried", func() {
			c.status(TunnelStatus{State: TunnelReconnecting, Reason: "no network"})
		}, TunnelStatus{State: TunnelReconnecting, Reason: "no network"}},
		{"online", c.online, TunnelStatus{State: TunnelOnline, URL: url}},
		{"heartbeat", func() {
			c.status(TunnelStatus{State: TunnelOnline, URL: url, Latency: 42 * time.Millisecond})
		}, TunnelStatus{State: TunnelOnline, URL: url, Latency: 42 * time.Millisecond}},
		{"network lost", func() {
			c.status(TunnelStatus{State: TunnelReconnecting, URL: url, Reason: "lost"})
		}, TunnelStatus{State: TunnelReconnecting, URL: url, Reason: "lost"}},
		{"back online", func() {
			c.status(TunnelStatus{State: TunnelOnline, URL: url})
		}, TunnelStatus{State: TunnelOnline, URL: url}},
		{"needs attention", func() {
			c.status(TunnelStatus{State: TunnelNeedsAttention, Code: "ERR_NGROK_108", Reason: "too many"})
		}, TunnelStatus{State: TunnelNeedsAttention, Code: "ERR_NGROK_108", Reason: "too many"}},
		{"late retry report does not hide attention", func() {
			c.status(TunnelStatus{State: TunnelReconnecting, URL: url, Reason: "late"})
		}, TunnelStatus{State: TunnelNeedsAttention, Code: "ERR_NGROK_108", Reason: "too many"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			if got := p.Current(); got != st.want {
				t.Errorf("Current() = %+v, want %+v", got, st.want)
			}
		})
	}
}

func TestPublisherExposeErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantCode  string
		wantInMsg string
	}{
		{"needs the user", &TunnelError{Code: "ERR_NGROK_107", Reason: "Token rejected."}, "ERR_NGROK_107", "Token rejected."},
		{"wrapped", errors.Join(errors.New("x"), &TunnelError{Code: "ERR_NGROK_334", Reason: "Busy."}), "ERR_NGROK_334", "Busy."},
		{"other error", errors.New("bad url"), "", "bad url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeExposer()
			p, _ := newTunPublisher(t, &http.Server{}, f.factory())
			p.Reconfigure("tok", "")
			f.next(t).result <- tt.err
			s := waitCurrent(t, p, TunnelNeedsAttention)
			if s.Code != tt.wantCode || !strings.Contains(s.Reason, tt.wantInMsg) {
				t.Errorf("status = %+v, want code %q and %q in the reason", s, tt.wantCode, tt.wantInMsg)
			}
		})
	}
}

func TestPublisherReconfigureRestarts(t *testing.T) {
	f := newFakeExposer()
	p, _ := newTunPublisher(t, &http.Server{}, f.factory())
	p.Reconfigure("one", "")
	first := f.next(t)
	first.online()
	waitCurrent(t, p, TunnelOnline)

	p.Reconfigure("two", "")
	if s := p.Current(); s.State != TunnelConnecting {
		t.Errorf("right after Reconfigure: %v, want connecting", s.State)
	}
	second := f.next(t)
	select {
	case <-first.tunnel.closed:
	default:
		t.Error("second tunnel started before the first was closed")
	}
	if second.token != "two" {
		t.Errorf("second Expose token = %q, want two", second.token)
	}
	first.status(TunnelStatus{State: TunnelReconnecting, Reason: "stale"})
	if s := p.Current(); s.State != TunnelConnecting {
		t.Errorf("a report from the replaced tunnel changed the state to %v", s.State)
	}
	second.online()
	if s := waitCurrent(t, p, TunnelOnline); s.URL != second.tunnel.url {
		t.Errorf("URL = %q, want the new tunnel's", s.URL)
	}

	latest := second
	t.Run("retry restarts with the same settings", func(t *testing.T) {
		p.Retry()
		third := f.next(t)
		latest = third
		second.waitClosed(t)
		if third.token != "two" {
			t.Errorf("Retry used token %q, want two", third.token)
		}
		third.online()
		waitCurrent(t, p, TunnelOnline)
	})

	t.Run("unchanged settings leave a working tunnel alone", func(t *testing.T) {
		p.Reconfigure("two", "")
		f.none(t)
		if s := p.Current(); s.State != TunnelOnline {
			t.Errorf("state = %v, want online", s.State)
		}
	})

	t.Run("unchanged settings restart a tunnel that needs attention", func(t *testing.T) {
		latest.status(TunnelStatus{State: TunnelNeedsAttention, Code: "ERR_NGROK_108"})
		p.Reconfigure("two", "")
		next := f.next(t)
		next.online()
		waitCurrent(t, p, TunnelOnline)
	})

	t.Run("empty token stops the tunnel", func(t *testing.T) {
		p.Reconfigure("", "")
		if s := p.Current(); s.State != TunnelOff || s.Reason != ReasonNoToken {
			t.Errorf("after clearing the token: %+v, want off", s)
		}
		f.none(t)
	})

	t.Run("reconfigure during start-up cancels it", func(t *testing.T) {
		p.Reconfigure("four", "")
		starting := f.next(t)
		p.Reconfigure("five", "")
		select {
		case <-starting.ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("start-up context not cancelled")
		}
		if next := f.next(t); next.token != "five" {
			t.Errorf("token = %q, want five", next.token)
		}
	})
}

func TestPublisherSubscribeNeverBlocks(t *testing.T) {
	f := newFakeExposer()
	p, _ := newTunPublisher(t, &http.Server{}, f.factory())
	stalled, _ := p.Subscribe() // never read until the end
	p.Reconfigure("tok", "")
	c := f.next(t)
	c.online()

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			c.status(TunnelStatus{State: TunnelOnline, URL: c.tunnel.url, Latency: time.Duration(i+1) * time.Millisecond})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("status reports blocked on a subscriber that does not read")
	}

	var last TunnelStatus
	n := 0
	for len(stalled) > 0 {
		last = <-stalled
		n++
	}
	if n > subscriberBuffer {
		t.Errorf("read %d statuses, want at most %d", n, subscriberBuffer)
	}
	if want := p.Current(); last != want || want.Latency != 1000*time.Millisecond {
		t.Errorf("slow subscriber's last status = %+v, want the latest %+v", last, want)
	}
}

func TestPublisherSubscribeCancel(t *testing.T) {
	p, _ := newTunPublisher(t, &http.Server{}, newFakeExposer().factory())
	ch, cancel := p.Subscribe()
	if s := <-ch; s.State != TunnelOff {
		t.Errorf("first status = %v, want off", s.State)
	}
	cancel()
	cancel() // twice is harmless
	if _, ok := <-ch; ok {
		t.Error("channel still open after cancel")
	}
}

func TestPublisherClose(t *testing.T) {
	t.Run("online", func(t *testing.T) {
		f := newFakeExposer()
		p := NewPublisher(&http.Server{}, tunLog(t), f.factory())
		ch, _ := p.Subscribe()
		p.Reconfigure("tok", "")
		c := f.next(t)
		c.online()
		waitCurrent(t, p, TunnelOnline)

		if err := p.Close(context.Background()); err != nil {
			t.Fatalf("close: %v", err)
		}
		c.waitClosed(t) // Close returned only after the tunnel closed
		if s := p.Current(); s.State != TunnelOff {
			t.Errorf("after close: %v, want off", s.State)
		}
		var last TunnelStatus
		for s := range ch { // ends: Close closes subscriptions
			last = s
		}
		if last.State != TunnelOff {
			t.Errorf("last status to subscribers = %v, want off", last.State)
		}
		p.Reconfigure("again", "")
		f.none(t)
		if s := p.Current(); s.State != TunnelOff {
			t.Errorf("Reconfigure after close changed state to %v", s.State)
		}
		if err := p.Close(context.Background()); err != nil {
			t.Errorf("second close: %v", err)
		}
		late, _ := p.Subscribe()
		if s, ok := <-late; !ok || s.State != TunnelOff {
			t.Errorf("subscribe after close: %+v %v, want off", s, ok)
		}
		if _, ok := <-late; ok {
			t.Error("subscription after close left open")
		}
	})
	t.Run("during start-up", func(t *testing.T) {
		f := newFakeExposer()
		p := NewPublisher(&http.Server{}, tunLog(t), f.factory())
		p.Reconfigure("tok", "")
		c := f.next(t)
		if err := p.Close(context.Background()); err != nil {
			t.Fatalf("close: %v", err)
		}
		if c.ctx.Err() == nil {
			t.Error("start-up context still live after Close returned")
		}
	})
	t.Run("deadline", func(t *testing.T) {
		f := newFakeExposer()
		p := NewPublisher(&http.Server{}, tunLog(t), f.factory())
		p.Reconfigure("tok", "")
		c := f.next(t)
		c.tunnel.block = make(chan struct{}) // its Close hangs until released
		defer close(c.tunnel.block)
		c.online()
		waitCurrent(t, p, TunnelOnline)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("close with a hanging tunnel: %v, want deadline exceeded", err)
		}
	})
}
