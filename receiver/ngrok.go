package receiver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.ngrok.com/ngrok/v2"
)

// ngrokCloseStep bounds each step of closing an ngrok tunnel, so that a
// silently dead network cannot hold Close for the heartbeat tolerance.
const ngrokCloseStep = 3 * time.Second

// attentionReasons are the ngrok error codes that retrying cannot fix,
// with what the user should do about each.
var attentionReasons = map[string]string{
	"ERR_NGROK_105":   "ngrok says the authtoken is not a valid token (it looks mistyped or cut short). Copy it again from https://dashboard.ngrok.com/get-started/your-authtoken and paste it in Setup.",
	"ERR_NGROK_106":   "ngrok says the authtoken is an old (version 1) token. Copy your current one from https://dashboard.ngrok.com/get-started/your-authtoken and paste it in Setup.",
	"ERR_NGROK_107":   "ngrok rejected the authtoken: it was reset or revoked, or belongs to a team you left. Copy your current one from https://dashboard.ngrok.com/get-started/your-authtoken and paste it in Setup.",
	"ERR_NGROK_108":   "Your ngrok account already has as many computers connected as its plan allows. Close ngrok (or Hirebell) on another computer, or stop a session at https://dashboard.ngrok.com/agents, then press Retry.",
	"ERR_NGROK_4018":  "ngrok needs a verified account and its authtoken. Sign up or verify your email at https://dashboard.ngrok.com/signup, then paste the authtoken in Setup.",
	"ERR_NGROK_334":   "This public address is already online elsewhere, probably Hirebell on another computer (or this one just after sleep). Stop the other copy or choose another domain in Setup, then press Retry.",
	"ERR_NGROK_319":   "The domain in Setup is not reserved on your ngrok account. Reserve it at https://dashboard.ngrok.com/domains, or clear the domain field to use your free address.",
	"ERR_NGROK_320":   "The domain in Setup belongs to another ngrok account. Use the authtoken of the account that owns it, or clear the domain field.",
	"ERR_NGROK_15002": "Your ngrok plan needs a reserved domain. Reserve one at https://dashboard.ngrok.com/domains and enter it in Setup.",
}

// ngrokCodeRE finds an ngrok error code in an error's text; the SDK does
// not wrap every error that carries one in a typed error.
var ngrokCodeRE = regexp.MustCompile(`ERR_NGROK_\d+`)

// ngrokCode returns the ngrok error code carried by err, or "".
func ngrokCode(err error) string {
	if err == nil {
		return ""
	}
	var coded ngrok.Error
	if errors.As(err, &coded) && coded.Code() != "" {
		return coded.Code()
	}
	var legacy interface{ ErrorCode() string } // the SDK's internal errors
	if errors.As(err, &legacy) && legacy.ErrorCode() != "" {
		return legacy.ErrorCode()
	}
	return ngrokCodeRE.FindString(err.Error())
}

// attention returns the TunnelError for err when retrying cannot fix it,
// or nil.
func attention(err error) *TunnelError {
	code := ngrokCode(err)
	if reason, ok := attentionReasons[code]; ok {
		return &TunnelError{Code: code, Reason: reason}
	}
	return nil
}

// codeReason returns a sentence for any ngrok error code: the tailored one
// when known, otherwise a pointer to ngrok's page for it. The server's own
// message is never shown: for token errors it repeats the token.
func codeReason(code string) string {
	if r, ok := attentionReasons[code]; ok {
		return r
	}
	return "ngrok refused the public URL with " + code + ". See https://ngrok.com/docs/errors/" +
		strings.ToLower(code) + " for what it means, fix it in Setup or on the ngrok dashboard, then press Retry."
}

// disconnectReason says in a plain sentence why the connection to ngrok
// is down while the SDK retries.
func disconnectReason(err error) string {
	// The UI adds that Hirebell keeps retrying; say only why, and what still works.
	const stillLocal = " The local address still works."
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	switch {
	case errors.As(err, &dnsErr):
		return "No internet connection: ngrok's address cannot be looked up." + stillLocal
	case errors.As(err, &certErr), errors.As(err, &unknownCA):
		return "ngrok's certificate could not be verified; a proxy or firewall may be intercepting the connection." + stillLocal
	case ngrokCode(err) != "":
		return "ngrok refused the connection for now (" + ngrokCode(err) + ")." + stillLocal
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return "Cannot reach ngrok: the network is down or a firewall blocks it." + stillLocal
	}
	return "The connection to ngrok was lost." + stillLocal
}

// NormalizeDomain turns what a user may paste as the domain ("name.ngrok-free.app",
// "https://name.ngrok-free.app/", with spaces) into a bare host name, or
// "" for empty input. It reports an error when the text is not a host name.
func NormalizeDomain(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" || u.Port() != "" || u.User != nil ||
		strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || strings.ContainsAny(u.Hostname(), " _") {
		return "", fmt.Errorf("not a domain name: %q", strings.TrimSpace(s))
	}
	return strings.ToLower(u.Hostname()), nil
}

// NgrokExposer returns an Exposer that uses the ngrok v2 SDK with its own
// agent for token, on the reserved domain if one is given (otherwise on
// the account's free address). opts are added after Hirebell's own agent
// options; tests use them to point the agent at a fake edge.
func NgrokExposer(token, domain string, log *slog.Logger, opts ...ngrok.AgentOption) Exposer {
	if log == nil {
		log = slog.Default()
	}
	return &ngrokExposer{token: token, domain: domain, log: log, opts: opts}
}

type ngrokExposer struct {
	token, domain string
	log           *slog.Logger
	opts          []ngrok.AgentOption
}

// Expose implements Exposer.
func (e *ngrokExposer) Expose(ctx context.Context, srv *http.Server, status func(TunnelStatus)) (Tunnel, error) {
	if e.token == "" {
		return nil, &TunnelError{Reason: ReasonNoToken}
	}
	domain, err := NormalizeDomain(e.domain)
	if err != nil {
		return nil, &TunnelError{Reason: "The domain in Setup is not a domain name (it should look like name.ngrok-free.app). Fix it or clear it."}
	}
	var endpointOpts []ngrok.EndpointOption
	if domain != "" {
		endpointOpts = append(endpointOpts, ngrok.WithURL("https://"+domain))
	}

	// The session lives as long as this context, which only Close (or a
	// failure that needs the user) cancels; ctx only bounds the start-up.
	sessCtx, cancelSess := context.WithCancel(context.WithoutCancel(ctx))
	t := &ngrokTunnel{
		log:        e.log,
		token:      e.token,
		cancelSess: cancelSess,
		wake:       make(chan struct{}, 1),
		watched:    make(chan struct{}),
		served:     make(chan struct{}),
	}
	sdkLog := slog.New(&redactHandler{inner: e.log.Handler(), secret: e.token}).With("component", "ngrok")
	agentOpts := append([]ngrok.AgentOption{
		ngrok.WithAuthtoken(e.token),
		ngrok.WithLogger(sdkLog),
		ngrok.WithEventHandler(t.onEvent),
	}, e.opts...)
	agent, err := ngrok.NewAgent(agentOpts...)
	if err != nil {
		cancelSess()
		return nil, fmt.Errorf("new ngrok agent: %w", err)
	}
	t.agent = agent
	go t.watch(status)

	stopStartup := context.AfterFunc(ctx, cancelSess)
	ln, err := agent.Listen(sessCtx, endpointOpts...)
	startupEnded := !stopStartup()
	if err != nil || startupEnded {
		if ln != nil {
			t.closeListener(ln)
		}
		t.stop()
		if te := t.attention.Load(); te != nil {
			return nil, te
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("start public url: %w", ctx.Err())
		}
		if te := attention(err); te != nil {
			return nil, te
		}
		if code := ngrokCode(err); code != "" {
			return nil, &TunnelError{Code: code, Reason: codeReason(code)}
		}
		if strings.Contains(err.Error(), e.token) {
			return nil, fmt.Errorf("start public url: %s", redact(err.Error(), e.token))
		}
		return nil, fmt.Errorf("start public url: %w", err)
	}
	t.ln = ln
	t.url = strings.TrimSuffix(ln.URL().String(), "/")
	t.push(listenerReady{url: t.url})
	go t.serve(srv)
	return t, nil
}

// listenerReady and serveStopped are the tunnel's own events, queued with
// the SDK's so that one goroutine reports them all in order.
type (
	listenerReady struct{ url string }
	serveStopped  struct{ err error }
	// disconnected is an SDK disconnect event with an error, judged when
	// it happened.
	disconnected struct {
		err       error
		attention *TunnelError // nil: the SDK keeps retrying
	}
)

// ngrokTunnel is one agent with one listener.
type ngrokTunnel struct {
	log        *slog.Logger
	token      string
	agent      ngrok.Agent
	ln         ngrok.EndpointListener
	url        string
	cancelSess context.CancelFunc

	attention atomic.Pointer[TunnelError] // set once retrying was stopped
	closing   atomic.Bool

	qmu     sync.Mutex
	queue   []any
	qclosed bool
	wake    chan struct{}

	watched chan struct{} // closed when watch returns
	served  chan struct{} // closed when serve returns

	closeOnce sync.Once
}

// onEvent is the SDK's event handler. It runs on SDK goroutines, so it
// only queues: it never blocks. An error that needs the user stops the
// SDK's retry loop at once by ending the session's context (Disconnect
// cannot: during Connect it waits for Connect, which never gives up).
func (t *ngrokTunnel) onEvent(ev ngrok.Event) {
	if d, ok := ev.(*ngrok.EventAgentDisconnected); ok && d.Error != nil && !t.closing.Load() {
		te := attention(d.Error)
		if te != nil && t.attention.CompareAndSwap(nil, te) {
			t.cancelSess()
		}
		t.push(disconnected{err: d.Error, attention: te})
		return
	}
	t.push(ev)
}

// push queues an event for watch without blocking.
func (t *ngrokTunnel) push(ev any) {
	t.qmu.Lock()
	if !t.qclosed {
		t.queue = append(t.queue, ev)
	}
	t.qmu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// watch turns queued events into statuses, in order, until the queue is
// closed.
func (t *ngrokTunnel) watch(status func(TunnelStatus)) {
	defer close(t.watched)
	var (
		url     string // set once the listener is up
		latency time.Duration
		cur     TunnelStatus
		stopped bool
	)
	report := func(s TunnelStatus) {
		if s != cur {
			cur = s
			status(s)
		}
	}
	for {
		t.qmu.Lock()
		batch, closed := t.queue, t.qclosed
		t.queue = nil
		t.qmu.Unlock()
		for _, ev := range batch {
			if stopped || t.closing.Load() {
				continue
			}
			switch ev := ev.(type) {
			case listenerReady:
				url = ev.url
				report(TunnelStatus{State: TunnelOnline, URL: url, Latency: latency})
			case *ngrok.EventAgentConnectSucceeded:
				if url != "" {
					report(TunnelStatus{State: TunnelOnline, URL: url, Latency: latency})
				}
			case *ngrok.EventAgentHeartbeatReceived:
				latency = ev.Latency
				if cur.State == TunnelOnline {
					report(TunnelStatus{State: TunnelOnline, URL: url, Latency: latency})
				}
			case *ngrok.EventAgentDisconnected:
				// Only a nil Error gets here (see onEvent): the session
				// stopped for good, and closing or attention says why.
			case disconnected:
				if te := ev.attention; te != nil {
					stopped = true
					t.log.Warn("ngrok needs attention", "code", te.Code)
					report(TunnelStatus{State: TunnelNeedsAttention, Code: te.Code, Reason: te.Reason})
					continue
				}
				if errors.Is(ev.err, context.Canceled) {
					continue // start-up abandoned, or a stop under way
				}
				t.log.Warn("ngrok disconnected", "err", redact(ev.err.Error(), t.token))
				report(TunnelStatus{State: TunnelReconnecting, URL: url, Reason: disconnectReason(ev.err)})
			case serveStopped:
				stopped = true
				code := ngrokCode(ev.err)
				s := TunnelStatus{State: TunnelNeedsAttention, Code: code,
					Reason: "ngrok stopped the public URL. Press Retry to start it again."}
				if code != "" {
					s.Reason = codeReason(code)
				}
				if te := t.attention.Load(); te != nil {
					s.Code, s.Reason = te.Code, te.Reason
				}
				report(s)
			}
		}
		if closed {
			return
		}
		<-t.wake
	}
}

// serve runs srv on the tunnel's listener until the listener closes.
func (t *ngrokTunnel) serve(srv *http.Server) {
	defer close(t.served)
	err := srv.Serve(t.ln)
	if t.closing.Load() || errors.Is(err, http.ErrServerClosed) {
		return
	}
	t.log.Warn("public listener stopped", "err", redact(fmt.Sprint(err), t.token))
	t.push(serveStopped{err: err})
}

// URL implements Tunnel.
func (t *ngrokTunnel) URL() string { return t.url }

// Close implements Tunnel: it closes the public listener (srv keeps
// serving its other listeners), then ends the session and disconnects the
// agent. One heartbeat goroutine of the SDK may linger for up to its
// interval afterwards.
func (t *ngrokTunnel) Close() error {
	t.closeOnce.Do(func() {
		t.closing.Store(true)
		t.closeListener(t.ln)
		t.stop() // also ends a close that the network held up
		select {
		case <-t.served:
		case <-time.After(ngrokCloseStep):
			t.log.Warn("public listener did not stop in time")
		}
	})
	return nil
}

// closeListener closes ln, waiting at most ngrokCloseStep: closing sends
// a message to ngrok, which a dead network would hold until the heartbeat
// gives up; disconnecting afterwards ends that wait.
func (t *ngrokTunnel) closeListener(ln ngrok.EndpointListener) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ln.Close(); err != nil {
			t.log.Debug("closing ngrok listener", "err", redact(err.Error(), t.token))
		}
	}()
	select {
	case <-done:
	case <-time.After(ngrokCloseStep):
		t.log.Warn("ngrok listener did not close in time; disconnecting")
	}
}

// stop ends the session, disconnects the agent and stops watch. After
// stop returns, status is never called again.
func (t *ngrokTunnel) stop() {
	t.closing.Store(true)
	t.cancelSess()
	if err := t.agent.Disconnect(); err != nil {
		t.log.Debug("ngrok disconnect", "err", redact(err.Error(), t.token))
	}
	t.endWatch()
}

// endWatch makes watch return once it has gone through the queue, and
// waits for it.
func (t *ngrokTunnel) endWatch() {
	t.qmu.Lock()
	t.qclosed = true
	t.qmu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
	<-t.watched
}

// redact removes secret from s.
func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

// redactHandler keeps the authtoken out of the SDK's log lines: ngrok's
// own error messages repeat the token they rejected.
type redactHandler struct {
	inner  slog.Handler
	secret string
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, redact(r.Message, h.secret), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &redactHandler{inner: h.inner.WithAttrs(clean), secret: h.secret}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{inner: h.inner.WithGroup(name), secret: h.secret}
}

func (h *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, redact(v.String(), h.secret))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]any, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		s := fmt.Sprint(v.Any())
		if h.secret != "" && strings.Contains(s, h.secret) {
			return slog.String(a.Key, redact(s, h.secret))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
