package receiver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.ngrok.com/ngrok/v2"
)

// lockedBuffer is a bytes.Buffer safe for loggers on many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestNgrokErrorCodes(t *testing.T) {
	tests := []struct {
		name          string
		err           error
		wantCode      string
		wantAttention bool
	}{
		{"nil", nil, "", false},
		{"no code", errors.New("connection reset by peer"), "", false},
		{"rejected token in text", errors.New("authentication failed: The authtoken you specified is properly formed, but it is invalid.\n\nERR_NGROK_107"), "ERR_NGROK_107", true},
		{"wrapped", fmt.Errorf("failed to connect: %w", errors.New("bad\n\nERR_NGROK_105")), "ERR_NGROK_105", true},
		{"old token", errors.New("ERR_NGROK_106"), "ERR_NGROK_106", true},
		{"too many sessions", errors.New("Your account is limited to 3 simultaneous ngrok agent sessions.\n\nERR_NGROK_108"), "ERR_NGROK_108", true},
		{"no account", errors.New("ERR_NGROK_4018"), "ERR_NGROK_4018", true},
		{"already online", errors.New("The endpoint is already online.\n\nERR_NGROK_334"), "ERR_NGROK_334", true},
		{"typed", codedErr("ERR_NGROK_320"), "ERR_NGROK_320", true},
		{"unknown code", errors.New("something\n\nERR_NGROK_9999"), "ERR_NGROK_9999", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ngrokCode(tt.err); got != tt.wantCode {
				t.Errorf("ngrokCode = %q, want %q", got, tt.wantCode)
			}
			te := attention(tt.err)
			if (te != nil) != tt.wantAttention {
				t.Fatalf("attention = %v, want needs attention %v", te, tt.wantAttention)
			}
			if te != nil && (te.Code != tt.wantCode || te.Reason == "" || !strings.HasSuffix(te.Reason, ".")) {
				t.Errorf("attention = %+v, want code %s and a full sentence", te, tt.wantCode)
			}
		})
	}
	if r := codeReason("ERR_NGROK_9999"); !strings.Contains(r, "https://ngrok.com/docs/errors/err_ngrok_9999") {
		t.Errorf("unknown code reason %q does not point to ngrok's page", r)
	}
}

// codedErr is an error typed like the SDK's ngrok.Error.
type codedErr string

func (c codedErr) Error() string { return "ngrok error " + string(c) }
func (c codedErr) Code() string  { return string(c) }

var _ ngrok.Error = codedErr("")

func TestDisconnectReason(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"dns", &net.DNSError{Err: "no such host", Name: "connect.ngrok-agent.com", IsNotFound: true}, "No internet connection"},
		{"refused", fmt.Errorf("failed to dial: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), "Cannot reach ngrok"},
		{"cert", x509UnknownAuthority(), "certificate"},
		{"server code", errors.New("try later\n\nERR_NGROK_9010"), "ERR_NGROK_9010"},
		{"lost", errors.New("session closed"), "lost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := disconnectReason(tt.err)
			if !strings.Contains(got, tt.want) || !strings.Contains(got, "local address still works") {
				t.Errorf("disconnectReason = %q, want %q and that the local address works", got, tt.want)
			}
		})
	}
}

func TestNormalizeDomain(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"", "", false},
		{"   ", "", false},
		{"name.ngrok-free.app", "name.ngrok-free.app", false},
		{"  Name.Ngrok-Free.app ", "name.ngrok-free.app", false},
		{"https://name.ngrok-free.app/", "name.ngrok-free.app", false},
		{"http://name.ngrok.app", "name.ngrok.app", false},
		{"name.ngrok-free.app/hooks/comeet", "", true},
		{"name.ngrok-free.app:8443", "", true},
		{"two words", "", true},
		{"https://", "", true},
		{"user@name.ngrok-free.app", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeDomain(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("NormalizeDomain(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRedactHandler(t *testing.T) {
	const secret = "2abcSECRETtoken"
	var buf lockedBuffer
	log := slog.New(&redactHandler{inner: slog.NewTextHandler(&buf, nil), secret: secret}).
		With("with", "prefix "+secret).WithGroup("grp")
	log.Error("rejected "+secret,
		"err", errors.New("The authtoken you specified is invalid.\nYour authtoken: "+secret),
		"plain", secret,
		slog.Group("inner", "v", secret),
		"count", 5)
	out := buf.String()
	if strings.Contains(out, secret) {
		t.Errorf("log line leaks the token: %s", out)
	}
	for _, want := range []string{"[redacted]", "count=5", "grp.inner.v="} {
		if !strings.Contains(out, want) {
			t.Errorf("log line %q lacks %q", out, want)
		}
	}
}

// newWatchedTunnel returns an ngrokTunnel with no agent whose statuses go
// to the returned channel, for feeding it events by hand.
func newWatchedTunnel(t *testing.T) (*ngrokTunnel, chan TunnelStatus, *bool) {
	cancelled := new(bool)
	tun := &ngrokTunnel{
		log:        tunLog(t),
		token:      "tok",
		cancelSess: func() { *cancelled = true },
		wake:       make(chan struct{}, 1),
		watched:    make(chan struct{}),
		served:     make(chan struct{}),
	}
	ch := make(chan TunnelStatus, 64)
	go tun.watch(func(s TunnelStatus) { ch <- s })
	return tun, ch, cancelled
}

func TestNgrokEventsToStatus(t *testing.T) {
	tun, ch, cancelled := newWatchedTunnel(t)
	const url = "https://abc.ngrok-free.app"
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	rejected := errors.New("authentication failed: invalid.\nYour authtoken: tok\n\nERR_NGROK_107")

	tun.onEvent(&ngrok.EventAgentConnectSucceeded{})                               // before the listener: no report
	tun.onEvent(&ngrok.EventAgentHeartbeatReceived{Latency: 5 * time.Millisecond}) // remembered
	tun.push(listenerReady{url: url})
	tun.onEvent(&ngrok.EventAgentHeartbeatReceived{Latency: 7 * time.Millisecond})
	tun.onEvent(&ngrok.EventAgentDisconnected{Error: dialErr})
	tun.onEvent(&ngrok.EventAgentHeartbeatReceived{Latency: 9 * time.Millisecond}) // not online: no report
	tun.onEvent(&ngrok.EventAgentConnectSucceeded{})
	tun.onEvent(&ngrok.EventAgentDisconnected{Error: rejected})
	tun.onEvent(&ngrok.EventAgentDisconnected{Error: context.Canceled}) // the loop winding down
	tun.onEvent(&ngrok.EventAgentDisconnected{})
	tun.endWatch()
	close(ch)

	want := []TunnelStatus{
		{State: TunnelOnline, URL: url, Latency: 5 * time.Millisecond},
		{State: TunnelOnline, URL: url, Latency: 7 * time.Millisecond},
		{State: TunnelReconnecting, URL: url, Reason: disconnectReason(dialErr)},
		{State: TunnelOnline, URL: url, Latency: 9 * time.Millisecond},
		{State: TunnelNeedsAttention, Code: "ERR_NGROK_107", Reason: attentionReasons["ERR_NGROK_107"]},
	}
	var got []TunnelStatus
	for s := range ch {
		got = append(got, s)
	}
	if len(got) != len(want) {
		t.Fatalf("statuses:\n got %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("status %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if !*cancelled {
		t.Error("a rejected token did not stop the retry loop")
	}
}

func TestNgrokExposeRefusesBadSettings(t *testing.T) {
	tests := []struct {
		name, token, domain, want string
	}{
		{"no token", "", "", "dashboard.ngrok.com"},
		{"bad domain", "tok", "not a domain/path", "domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NgrokExposer(tt.token, tt.domain, tunLog(t)).Expose(context.Background(), &http.Server{}, func(TunnelStatus) {})
			var te *TunnelError
			if !errors.As(err, &te) || !strings.Contains(te.Reason, tt.want) {
				t.Errorf("Expose = %v, want a TunnelError mentioning %q", err, tt.want)
			}
		})
	}
}

// The SDK retries an unreachable server forever; Expose must give up when
// its context ends, and say meanwhile why it is not online.
func TestNgrokExposeStartupIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused

	statuses := make(chan TunnelStatus, 16)
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = NgrokExposer("tok", "", tunLog(t), ngrok.WithAgentConnectURL(addr)).
		Expose(ctx, &http.Server{}, func(s TunnelStatus) { statuses <- s })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Expose = %v, want the start-up deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Expose took %v after an 800 ms deadline", d)
	}
	close(statuses)
	var reasons []string
	for s := range statuses {
		if s.State == TunnelReconnecting {
			reasons = append(reasons, s.Reason)
		}
	}
	if len(reasons) == 0 || !strings.Contains(reasons[0], "Cannot reach ngrok") {
		t.Errorf("reasons while starting = %q, want that ngrok cannot be reached", reasons)
	}
}

// Ending the start-up context after Expose returned must not end the
// session: it still reconnects after a drop, and carries hires.
func TestNgrokSessionOutlivesStartupContext(t *testing.T) {
	r := newTunRig(t)
	edge := newEdge(t)
	statuses := make(chan TunnelStatus, 64)
	ctx, cancel := context.WithCancel(context.Background())
	tun, err := edgeExposer(t, edge)("tok-outlive", "").Expose(ctx, r.srv, func(s TunnelStatus) { statuses <- s })
	if err != nil {
		t.Fatalf("Expose: %v", err)
	}
	defer tun.Close()
	cancel()

	edge.DropSessions()
	tunWaitFor(t, statuses, TunnelReconnecting, 10*time.Second)
	online, _ := tunWaitFor(t, statuses, TunnelOnline, 10*time.Second)
	if online.URL != tun.URL() {
		t.Errorf("URL after reconnect = %q, want %q", online.URL, tun.URL())
	}
	if code := tunPost(t, edge.Client(), online.WebhookURL(), tunSample(t), r.secret); code != http.StatusOK {
		t.Errorf("hire after the start-up context ended: status %d, want 200", code)
	}
}

func x509UnknownAuthority() error {
	return &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}
}
