package receiver

// These tests run the real ngrok SDK (golang.ngrok.com/ngrok/v2 v2.4.0)
// against receiver/internal/fakeedge, a small fake of ngrok's cloud on
// loopback written from that version's source. They are pinned to it: after
// an SDK upgrade, check fakeedge's wire messages first if they fail.
// Heartbeats stay at the SDK's defaults (see NGROK.md: a data race shows up
// with very short ones), so no test waits for a latency report here.

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.ngrok.com/ngrok/v2"

	"hirebell/receiver/internal/fakeedge"
	"hirebell/store"
)

// tunLog discards logs unless -v is given.
func tunLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// tunRig is a real store, a real Receiver and its http.Server serving a
// local listener, as main wires them.
type tunRig struct {
	st       *store.Store
	rcv      *Receiver
	srv      *http.Server
	secret   []byte
	localURL string
}

func newTunRig(t *testing.T) *tunRig {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	secret := []byte("test-secret-0123456789abcdef")
	rcv := New(Config{Store: st, Secret: func() []byte { return secret }, Logger: tunLog(t)})
	srv := NewServer(rcv, tunLog(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-served
		st.Close()
	})
	return &tunRig{st: st, rcv: rcv, srv: srv, secret: secret, localURL: "http://" + ln.Addr().String()}
}

// post sends body signed with secret to url and returns the status.
func tunPost(t *testing.T, c *http.Client, url string, body, secret []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(SignatureHeader, Sign(body, secret))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("post %s: %v", url, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func newEdge(t *testing.T) *fakeedge.Edge {
	t.Helper()
	e, err := fakeedge.New()
	if err != nil {
		t.Fatalf("fake edge: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

// edgeExposer builds real ngrok exposers pointed at e.
func edgeExposer(t *testing.T, e *fakeedge.Edge) func(token, domain string) Exposer {
	return func(token, domain string) Exposer {
		return NgrokExposer(token, domain, tunLog(t),
			ngrok.WithAgentConnectURL(e.ConnectAddr()),
			ngrok.WithAgentConnectCAs(e.CAs()))
	}
}

// newTunPublisher returns a Publisher closed at the end of the test, and a
// subscription to it.
func newTunPublisher(t *testing.T, srv *http.Server, newExposer func(token, domain string) Exposer) (*Publisher, <-chan TunnelStatus) {
	t.Helper()
	p := NewPublisher(srv, tunLog(t), newExposer)
	ch, cancel := p.Subscribe()
	t.Cleanup(func() {
		cancel()
		ctx, stop := context.WithTimeout(context.Background(), 15*time.Second)
		defer stop()
		if err := p.Close(ctx); err != nil {
			t.Errorf("close publisher: %v", err)
		}
	})
	return p, ch
}

// tunWaitFor reads statuses from ch until one has state want, and returns it
// with the states seen on the way.
func tunWaitFor(t *testing.T, ch <-chan TunnelStatus, want TunnelState, within time.Duration) (TunnelStatus, []TunnelState) {
	t.Helper()
	var seen []TunnelState
	deadline := time.After(within)
	for {
		select {
		case s, ok := <-ch:
			if !ok {
				t.Fatalf("subscription closed waiting for %v; saw %v", want, seen)
			}
			seen = append(seen, s.State)
			if s.State == want {
				return s, seen
			}
		case <-deadline:
			t.Fatalf("no %v within %v; saw %v", want, within, seen)
		}
	}
}

func tunSample(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../store/testdata/sample-full.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNgrokEdgeHireThroughTunnel(t *testing.T) {
	r := newTunRig(t)
	edge := newEdge(t)
	p, ch := newTunPublisher(t, r.srv, edgeExposer(t, edge))

	p.Reconfigure("tok-hire", "")
	online, seen := tunWaitFor(t, ch, TunnelOnline, 10*time.Second)
	if seen[0] != TunnelOff || seen[1] != TunnelConnecting {
		t.Errorf("states = %v, want off, connecting, online", seen)
	}
	if !strings.HasPrefix(online.URL, "https://") || !strings.HasSuffix(online.URL, ".ngrok-free.app") {
		t.Errorf("URL = %q, want an https ngrok-free.app address", online.URL)
	}
	if got, want := online.WebhookURL(), online.URL+HookPath; got != want {
		t.Errorf("WebhookURL = %q, want %q", got, want)
	}

	if code := tunPost(t, edge.Client(), online.WebhookURL(), tunSample(t), r.secret); code != http.StatusOK {
		t.Fatalf("hire through the tunnel: status %d, want 200", code)
	}
	h, err := r.st.Get("A1.5C")
	if err != nil {
		t.Fatalf("hire sent through the tunnel not in the store: %v", err)
	}
	if h.FirstName != "Maya" {
		t.Errorf("stored first name %q, want Maya", h.FirstName)
	}
	if code := tunPost(t, http.DefaultClient, r.localURL+HookPath, tunSample(t), r.secret); code != http.StatusOK {
		t.Errorf("local listener while tunnel online: status %d, want 200", code)
	}
}

func TestNgrokEdgeReconnectsWithSameURL(t *testing.T) {
	r := newTunRig(t)
	edge := newEdge(t)
	p, ch := newTunPublisher(t, r.srv, edgeExposer(t, edge))
	p.Reconfigure("tok-drop", "")
	first, _ := tunWaitFor(t, ch, TunnelOnline, 10*time.Second)

	edge.DropSessions()
	rec, _ := tunWaitFor(t, ch, TunnelReconnecting, 10*time.Second)
	if rec.Reason == "" || rec.URL != first.URL {
		t.Errorf("reconnecting status = %+v, want a reason and the old URL", rec)
	}
	if rec.WebhookURL() != "" {
		t.Errorf("WebhookURL while reconnecting = %q, want empty", rec.WebhookURL())
	}
	again, _ := tunWaitFor(t, ch, TunnelOnline, 10*time.Second)
	if again.URL != first.URL {
		t.Errorf("URL after reconnect = %q, want %q", again.URL, first.URL)
	}
	if code := tunPost(t, edge.Client(), again.WebhookURL(), tunSample(t), r.secret); code != http.StatusOK {
		t.Errorf("hire after reconnect: status %d, want 200", code)
	}
}

func TestNgrokEdgeRejectedTokenNeedsAttention(t *testing.T) {
	r := newTunRig(t)
	edge := newEdge(t)
	const token = "tok-revoked-5ecret"
	edge.Reject(token, "ERR_NGROK_107")
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, ch := newTunPublisher(t, r.srv, func(token, domain string) Exposer {
		return NgrokExposer(token, domain, log,
			ngrok.WithAgentConnectURL(edge.ConnectAddr()),
			ngrok.WithAgentConnectCAs(edge.CAs()))
	})

	start := time.Now()
	p.Reconfigure(token, "")
	s, _ := tunWaitFor(t, ch, TunnelNeedsAttention, time.Second)
	t.Logf("needs attention after %v", time.Since(start))
	if s.Code != "ERR_NGROK_107" {
		t.Errorf("code = %q, want ERR_NGROK_107", s.Code)
	}
	if !strings.Contains(s.Reason, "dashboard.ngrok.com") || strings.Contains(s.Reason, token) {
		t.Errorf("reason = %q, want where to get a token, without the token", s.Reason)
	}
	// The SDK would retry after 0.5 s, then 1 s: over 1.2 s, no second
	// attempt shows that the retry loop was stopped.
	time.Sleep(1200 * time.Millisecond)
	if n := edge.Auths(); n != 1 {
		t.Errorf("edge saw %d auth attempts, want 1 (retry loop should stop)", n)
	}
	if got := p.Current().State; got != TunnelNeedsAttention {
		t.Errorf("state after waiting = %v, want needs attention", got)
	}
	// ngrok's rejection message repeats the token; the logs must not.
	if out := logs.String(); strings.Contains(out, token) || !strings.Contains(out, "ERR_NGROK_107") {
		t.Errorf("logs leak the token or miss the code:\n%s", out)
	}
}

func TestNgrokEdgeDomainAlreadyOnline(t *testing.T) {
	r := newTunRig(t)
	edge := newEdge(t)
	const domain = "hirebell-test.ngrok-free.app"
	p1, ch1 := newTunPublisher(t, r.srv, edgeExposer(t, edge))
	p1.Reconfigure("tok-one", "https://"+domain+"/")
	s1, _ := tunWaitFor(t, ch1, TunnelOnline, 10*time.Second)
	if s1.URL != "https://"+domain {
		t.Fatalf("URL = %q, want the reserved domain", s1.URL)
	}

	other := newTunRig(t)
	p2, ch2 := newTunPublisher(t, other.srv, edgeExposer(t, edge))
	p2.Reconfigure("tok-two", domain)
	s2, _ := tunWaitFor(t, ch2, TunnelNeedsAttention, 10*time.Second)
	if s2.Code != "ERR_NGROK_334" || !strings.Contains(s2.Reason, "another computer") {
		t.Errorf("second copy on the same domain: %+v, want ERR_NGROK_334 and a plain reason", s2)
	}
}

func TestNgrokEdgeCloseKeepsLocalListener(t *testing.T) {
	r := newTunRig(t)
	edge := newEdge(t)
	p := NewPublisher(r.srv, tunLog(t), edgeExposer(t, edge))
	ch, _ := p.Subscribe()
	p.Reconfigure("tok-close", "")
	online, _ := tunWaitFor(t, ch, TunnelOnline, 10*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if s := p.Current(); s.State != TunnelOff {
		t.Errorf("state after close = %v, want off", s.State)
	}
	waitNoSessions(t, edge)
	rep := SelfTest(ctx, online.URL, r.secret, r.rcv, edge.Client())
	if rep.OK || rep.Step != StepTunnel {
		t.Errorf("self-test on the closed public URL = %+v, want the tunnel step", rep)
	}
	if code := tunPost(t, http.DefaultClient, r.localURL+HookPath, tunSample(t), r.secret); code != http.StatusOK {
		t.Errorf("local listener after closing the tunnel: status %d, want 200", code)
	}
}

func TestNgrokEdgeEndpointStoppedByNgrok(t *testing.T) {
	r := newTunRig(t)
	edge := newEdge(t)
	p, ch := newTunPublisher(t, r.srv, edgeExposer(t, edge))
	p.Reconfigure("tok-stop", "")
	online, _ := tunWaitFor(t, ch, TunnelOnline, 10*time.Second)

	if err := edge.StopEndpoint(online.URL, "ERR_NGROK_3205"); err != nil {
		t.Fatal(err)
	}
	s, _ := tunWaitFor(t, ch, TunnelNeedsAttention, 10*time.Second)
	if s.Code != "ERR_NGROK_3205" || !strings.Contains(s.Reason, "err_ngrok_3205") {
		t.Errorf("status = %+v, want the code and its docs page", s)
	}
}

func TestSelfTestThroughFakeEdge(t *testing.T) {
	r := newTunRig(t)
	edge := newEdge(t)
	p, ch := newTunPublisher(t, r.srv, edgeExposer(t, edge))
	p.Reconfigure("tok-selftest", "")
	online, _ := tunWaitFor(t, ch, TunnelOnline, 10*time.Second)

	rep := SelfTest(context.Background(), online.URL, r.secret, r.rcv, edge.Client())
	if !rep.OK {
		t.Fatalf("self-test through the tunnel: %+v", rep)
	}
	if n, _ := r.st.Count(); n != 0 {
		t.Errorf("self-test stored %d hires, want 0", n)
	}

	// A second receiver on the same public URL (another laptop) answers
	// 200, but the nonce never reaches this one.
	other := newTunRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	rep = SelfTest(ctx, online.URL, r.secret, other.rcv, edge.Client())
	if rep.OK || rep.Step != StepReceiver {
		t.Errorf("self-test answered by another receiver: %+v, want the receiver step", rep)
	}
}

// Closing must not wait on a network that stopped answering: closing the
// endpoint is a request to ngrok, held up here, and Close ends it by
// disconnecting.
func TestNgrokEdgeCloseWhenEdgeStopsAnswering(t *testing.T) {
	r := newTunRig(t)
	edge := newEdge(t)
	tun, err := edgeExposer(t, edge)("tok-frozen", "").Expose(context.Background(), r.srv, func(TunnelStatus) {})
	if err != nil {
		t.Fatalf("Expose: %v", err)
	}
	edge.FreezeUnbind()
	start := time.Now()
	tun.Close()
	if d := time.Since(start); d > 2*ngrokCloseStep {
		t.Errorf("Close took %v with a stalled edge, want about %v", d, ngrokCloseStep)
	}
	waitNoSessions(t, edge)
	if code := tunPost(t, http.DefaultClient, r.localURL+HookPath, tunSample(t), r.secret); code != http.StatusOK {
		t.Errorf("local listener after Close: status %d, want 200", code)
	}
}

// waitNoSessions polls until no agent is connected to edge.
func waitNoSessions(t *testing.T, edge *fakeedge.Edge) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for edge.Sessions() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("agent still connected after Close")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// After Close, nothing of the SDK may keep running except the heartbeat
// goroutine that NGROK.md describes: it waits for its next tick (up to
// 10 s) before it notices that the session is gone.
func TestNgrokCloseLeavesOnlyTheHeartbeat(t *testing.T) {
	r := newTunRig(t)
	edge := newEdge(t)
	tun, err := edgeExposer(t, edge)("tok-leak", "").Expose(context.Background(), r.srv, func(TunnelStatus) {})
	if err != nil {
		t.Fatalf("Expose: %v", err)
	}
	tun.Close()
	edge.Close()

	// Earlier tests (and -count) leave their own heartbeat goroutines, so
	// any number of those is allowed, and nothing else. (After a
	// reconnect the SDK also leaves the dead connection's heartbeat
	// checker running until its 25 s timeout.)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []string
		for _, g := range sdkGoroutines() {
			if !strings.Contains(g, "muxado/v2.(*Heartbeat).requester") && !strings.Contains(g, "muxado/v2.(*Heartbeat).check") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d SDK goroutines still running after Close:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sdkGoroutines returns the stacks of goroutines running ngrok or muxado
// code, other than the caller's.
func sdkGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i > 0 && (strings.Contains(g, "golang.ngrok.com/") || strings.Contains(g, "fakeedge")) {
			out = append(out, g)
		}
	}
	return out
}
