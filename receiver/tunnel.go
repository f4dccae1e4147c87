package receiver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// TunnelState is where the public URL is.
type TunnelState int

// The states of the public URL, in the order a good start goes through them.
const (
	// TunnelOff means there is no public URL on purpose (no token): the
	// receiver answers on the local listener only. Reason says how to get
	// a token.
	TunnelOff TunnelState = iota
	// TunnelConnecting means the first connection to ngrok is being made.
	TunnelConnecting
	// TunnelOnline means the public URL works: URL is set, and Latency
	// once the first heartbeat came back.
	TunnelOnline
	// TunnelReconnecting means the connection to ngrok is down and being
	// retried on its own (network loss...). Reason says why.
	TunnelReconnecting
	// TunnelNeedsAttention means ngrok refused in a way retrying cannot
	// fix (token rejected, too many sessions, domain already online...).
	// Code is the ngrok error code and Reason a plain sentence on what to
	// do. Nothing is retried until the settings change or Retry is called.
	TunnelNeedsAttention
)

// String returns a short lowercase name for s, fit for logs and tooltips.
func (s TunnelState) String() string {
	switch s {
	case TunnelOff:
		return "off"
	case TunnelConnecting:
		return "connecting"
	case TunnelOnline:
		return "online"
	case TunnelReconnecting:
		return "reconnecting"
	case TunnelNeedsAttention:
		return "needs attention"
	}
	return fmt.Sprintf("TunnelState(%d)", int(s))
}

// TunnelStatus is a snapshot of the public URL.
type TunnelStatus struct {
	State TunnelState
	// URL is the public base URL, like "https://abc.ngrok-free.app" (no
	// path). It is set when online and kept while reconnecting, since the
	// same URL comes back.
	URL string
	// Latency is the round trip to ngrok from the last heartbeat; zero
	// until the first one (about ten seconds after connecting).
	Latency time.Duration
	// Code is the ngrok error code (like "ERR_NGROK_107") when the state
	// is TunnelNeedsAttention, if ngrok gave one.
	Code string
	// Reason is a plain sentence for the user: why there is no public URL
	// and what to do. Empty when online.
	Reason string
}

// WebhookURL returns the address to paste into Comeet (URL + HookPath), or
// "" when the public URL is not online.
func (s TunnelStatus) WebhookURL() string {
	if s.State != TunnelOnline || s.URL == "" {
		return ""
	}
	return strings.TrimSuffix(s.URL, "/") + HookPath
}

// Exposer starts a public endpoint that serves srv.
type Exposer interface {
	// Expose makes srv reachable from the internet. ctx bounds only the
	// start-up: once Expose has returned, ending ctx does not stop the
	// tunnel; Tunnel.Close does. While starting and afterwards, every
	// state after TunnelConnecting, including TunnelOnline once the
	// endpoint is up, is reported through status, from one goroutine at a
	// time; status must not block. Expose returns when the endpoint is online,
	// when ctx ends, or with a *TunnelError when the failure needs the
	// user. It stops calling status once it returned an error or once
	// Tunnel.Close has returned.
	Expose(ctx context.Context, srv *http.Server, status func(TunnelStatus)) (Tunnel, error)
}

// Tunnel is a running public endpoint.
type Tunnel interface {
	// URL returns the public base URL, like "https://abc.ngrok-free.app".
	URL() string
	// Close stops the public endpoint only; srv keeps serving its other
	// listeners.
	Close() error
}

// TunnelError is a failure that retrying cannot fix: the user must act.
type TunnelError struct {
	// Code is the ngrok error code, like "ERR_NGROK_107", if any.
	Code string
	// Reason is a plain sentence saying what to do.
	Reason string
}

// Error returns the code and reason.
func (e *TunnelError) Error() string {
	msg := strings.TrimSuffix(e.Reason, ".")
	if e.Code == "" {
		return "tunnel: " + msg
	}
	return "tunnel: " + e.Code + ": " + msg
}

// ReasonNoToken is the Reason of TunnelOff when no authtoken is set.
const ReasonNoToken = "No ngrok authtoken yet, so Comeet cannot reach this computer. " +
	"Get a free one at https://dashboard.ngrok.com/get-started/your-authtoken, " +
	"then paste it in Setup (or set NGROK_AUTHTOKEN and restart). " +
	"Until then Hirebell answers only on its local address."

// reasonClosed is the Reason of TunnelOff after Publisher.Close.
const reasonClosed = "The public URL was closed because Hirebell is stopping."

// subscriberBuffer is how many statuses a subscriber can fall behind
// before it starts losing the older ones; the latest is always kept.
const subscriberBuffer = 8

// tunnelCloseTimeout bounds how long a replaced tunnel may take to close.
const tunnelCloseTimeout = 10 * time.Second

// Publisher keeps srv exposed according to the current settings, restarts
// the tunnel on Reconfigure, and broadcasts status changes. Safe for
// concurrent use.
type Publisher struct {
	srv        *http.Server
	log        *slog.Logger
	newExposer func(token, domain string) Exposer

	mu     sync.Mutex
	cur    TunnelStatus
	gen    uint64 // bumped by every restart; stale reports are ignored
	token  string
	domain string
	cancel context.CancelFunc // stops the current run; nil when none
	last   chan struct{}      // closed when the newest run has finished
	subs   map[chan TunnelStatus]struct{}
	closed bool
}

// NewPublisher returns a Publisher for srv, in state TunnelOff with
// ReasonNoToken until Reconfigure is called. newExposer builds the
// tunnel for a token and an optional domain (NgrokExposer in the app, a
// fake in tests). The Publisher never starts, stops or shuts down srv
// itself; it only adds and removes the public listener.
func NewPublisher(srv *http.Server, log *slog.Logger, newExposer func(token, domain string) Exposer) *Publisher {
	if log == nil {
		log = slog.Default()
	}
	last := make(chan struct{})
	close(last)
	return &Publisher{
		srv:        srv,
		log:        log,
		newExposer: newExposer,
		cur:        TunnelStatus{State: TunnelOff, Reason: ReasonNoToken},
		last:       last,
		subs:       make(map[chan TunnelStatus]struct{}),
	}
}

// Reconfigure applies a new token and domain (either may be empty; they
// are trimmed). It returns at once: the old tunnel, if any, is closed in
// the background before the new one starts. An empty token means
// TunnelOff with ReasonNoToken. Unchanged settings leave a working or
// retrying tunnel alone (saving other settings does not bounce it), but
// restart one that needs attention.
func (p *Publisher) Reconfigure(token, domain string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	token, domain = strings.TrimSpace(token), strings.TrimSpace(domain)
	if token == p.token && domain == p.domain && p.cancel != nil && p.cur.State != TunnelNeedsAttention {
		return
	}
	p.token, p.domain = token, domain
	p.restartLocked()
}

// Retry restarts the tunnel with the current settings, for example after
// the user fixed what TunnelNeedsAttention asked for on ngrok's side.
func (p *Publisher) Retry() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.restartLocked()
}

// restartLocked stops the current run and starts a new one. p.mu is held.
func (p *Publisher) restartLocked() {
	if p.cancel != nil {
		p.cancel()
		p.cancel = nil
	}
	p.gen++
	gen := p.gen
	if p.token == "" {
		p.setLocked(TunnelStatus{State: TunnelOff, Reason: ReasonNoToken})
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	prev, done := p.last, make(chan struct{})
	p.cancel, p.last = cancel, done
	p.setLocked(TunnelStatus{State: TunnelConnecting})
	go p.run(ctx, gen, p.token, p.domain, prev, done)
}

// run owns one tunnel from start to close. It waits for the previous run
// to finish, so two tunnels never compete for the same domain or count
// twice against the account's session limit.
func (p *Publisher) run(ctx context.Context, gen uint64, token, domain string, prev <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	// Wait even when cancelled: done promises that every older run has
	// finished too, which Close relies on.
	<-prev
	if ctx.Err() != nil {
		return
	}
	status := func(s TunnelStatus) { p.set(gen, s) }
	t, err := p.newExposer(token, domain).Expose(ctx, p.srv, status)
	if err != nil {
		if ctx.Err() != nil {
			return // replaced or closed: the newer state is already shown
		}
		p.log.Warn("public url failed", "err", err)
		var te *TunnelError
		if !errors.As(err, &te) {
			te = &TunnelError{Reason: "The public URL could not start (" + err.Error() + "). Check the domain in Setup, then press Retry."}
		}
		p.set(gen, TunnelStatus{State: TunnelNeedsAttention, Code: te.Code, Reason: te.Reason})
		return
	}
	p.log.Info("public url online", "url", t.URL())
	<-ctx.Done()
	if err := t.Close(); err != nil {
		p.log.Warn("closing public url", "err", err)
	}
}

// set records s if it comes from the current run.
func (p *Publisher) set(gen uint64, s TunnelStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.gen || p.closed {
		return
	}
	// Needing the user is final for a run: a late report of the retry
	// loop winding down must not hide it.
	if p.cur.State == TunnelNeedsAttention && s.State != TunnelNeedsAttention {
		return
	}
	p.setLocked(s)
}

// setLocked records s and sends it to every subscriber. p.mu is held.
func (p *Publisher) setLocked(s TunnelStatus) {
	if s == p.cur {
		return
	}
	if s.State != p.cur.State {
		p.log.Info("public url state", "state", s.State.String(), "code", s.Code)
	}
	p.cur = s
	for ch := range p.subs {
		offer(ch, s)
	}
}

// offer sends s on ch without blocking: when ch is full, the oldest
// status is dropped to make room, so a slow reader still ends on the
// latest state.
func offer(ch chan TunnelStatus, s TunnelStatus) {
	for {
		select {
		case ch <- s:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}

// Current returns the latest status.
func (p *Publisher) Current() TunnelStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// Subscribe returns a channel that receives the current status at once and
// then every change. A slow reader never blocks the Publisher: it loses
// older statuses but always gets the latest. Call cancel to stop; the
// channel is closed by cancel or by Close.
func (p *Publisher) Subscribe() (<-chan TunnelStatus, func()) {
	ch := make(chan TunnelStatus, subscriberBuffer)
	p.mu.Lock()
	defer p.mu.Unlock()
	ch <- p.cur
	if p.closed {
		close(ch)
		return ch, func() {}
	}
	p.subs[ch] = struct{}{}
	return ch, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, ok := p.subs[ch]; ok {
			delete(p.subs, ch)
			close(ch)
		}
	}
}

// Close stops the tunnel (closing the public listener and disconnecting
// from ngrok; srv itself is left to its owner), reports TunnelOff and
// closes every subscription. It waits for the tunnel to close or for ctx
// to end.
func (p *Publisher) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	if p.cancel != nil {
		p.cancel()
		p.cancel = nil
	}
	p.gen++
	last := p.last
	p.setLocked(TunnelStatus{State: TunnelOff, Reason: reasonClosed})
	p.closed = true
	for ch := range p.subs {
		delete(p.subs, ch)
		close(ch)
	}
	p.mu.Unlock()

	select {
	case <-last:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close public url: %w", ctx.Err())
	}
}
