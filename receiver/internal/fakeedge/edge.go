// Package fakeedge is a small stand-in for ngrok's cloud, on loopback, that
// the real ngrok Go SDK can connect to in tests.
//
// It is a contract test pinned to golang.ngrok.com/ngrok/v2 v2.4.0 (its
// internal/tunnel/proto and internal/tunnel/client packages) and
// golang.ngrok.com/muxado/v2 v2.0.1. The wire messages below are copied from
// those versions, keeping only the fields the SDK sends or reads. When the
// SDK is upgraded, check them against its internal/tunnel/proto/msg.go.
//
// What it speaks: TLS, then a muxado session on which the agent opens
// typed streams for Auth (0), Bind (1) and Unbind (2), each one JSON
// request and one JSON response; muxado heartbeats (stream type
// 0xFFFFFFFF) are echoed; for each public request the edge opens a Proxy
// stream (3) to the agent, writes a little-endian int64 length and a JSON
// ProxyHeader, then the HTTP/1.1 request, and reads the response back.
// Public HTTPS requests arrive on a second listener, with a certificate for
// *.ngrok-free.app from the same test CA.
package fakeedge

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.ngrok.com/muxado/v2"
)

// Stream types, from ngrok/v2 internal/tunnel/proto.
const (
	authReq       muxado.StreamType = 0
	bindReq       muxado.StreamType = 1
	unbindReq     muxado.StreamType = 2
	proxyReq      muxado.StreamType = 3
	stopTunnelReq muxado.StreamType = 9
)

// Wire messages (subsets of ngrok/v2 internal/tunnel/proto).
type (
	auth struct {
		Version  []string
		ClientID string `json:"ClientId"`
		Extra    struct {
			Authtoken string
			Cookie    string
		}
	}
	authResp struct {
		Version  string
		ClientID string `json:"ClientId"`
		Error    string
		Extra    authRespExtra
	}
	authRespExtra struct {
		Version        string
		Region         string
		Cookie         string
		AccountName    string
		PlanName       string
		AgentSessionID string
	}
	bind struct {
		ClientID string `json:"Id"`
		Proto    string
		Opts     struct{ URL string }
		Extra    struct{ Token string }
	}
	bindResp struct {
		ClientID string `json:"Id"`
		URL      string
		Proto    string
		Opts     map[string]any
		Error    string
		Extra    bindRespExtra
	}
	bindRespExtra struct {
		Token    string
		TunnelID string
	}
	unbind struct {
		ClientID string `json:"Id"`
	}
	unbindResp struct {
		Error string
	}
	proxyHeader struct {
		ID         string `json:"Id"`
		ClientAddr string
		Proto      string
		EdgeType   string
	}
	stopTunnel struct {
		ClientID  string `json:"Id"`
		Message   string
		ErrorCode string
	}
)

// Error messages as ngrok words them (shortened), each ending in its code.
const (
	msgNoToken      = "Usage of ngrok requires a verified account and authtoken.\n\nERR_NGROK_4018"
	msgAlreadyBound = "The endpoint '%s' is already online.\n\nERR_NGROK_334"
)

// Edge is a fake ngrok cloud: an agent-facing TLS listener and a public
// HTTPS listener, both on 127.0.0.1.
type Edge struct {
	caPool   *x509.CertPool
	agentLn  net.Listener
	publicLn net.Listener
	public   *http.Server

	mu       sync.Mutex
	rejected map[string]string // token -> error message for Auth
	sessions map[*session]struct{}
	routes   map[string]route // public host -> bound tunnel
	auths    int
	frozen   bool
	closed   bool
	wg       sync.WaitGroup
}

// session is one agent connection.
type session struct {
	done  chan struct{} // closed when the connection ends
	conn  net.Conn
	mux   muxado.TypedStreamSession
	token string // the authtoken, once accepted; guarded by Edge.mu
}

type route struct {
	sess   *session
	bindID string
}

// New starts an Edge. Close it when done.
func New() (*Edge, error) {
	caCert, caKey, err := newCA()
	if err != nil {
		return nil, err
	}
	agentCert, err := leaf(caCert, caKey, []string{"localhost"})
	if err != nil {
		return nil, err
	}
	publicCert, err := leaf(caCert, caKey, []string{"*.ngrok-free.app", "*.ngrok.app"})
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)

	e := &Edge{
		caPool:   pool,
		rejected: make(map[string]string),
		sessions: make(map[*session]struct{}),
		routes:   make(map[string]route),
	}
	e.agentLn, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{agentCert}})
	if err != nil {
		return nil, fmt.Errorf("agent listener: %w", err)
	}
	e.publicLn, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{publicCert}})
	if err != nil {
		e.agentLn.Close()
		return nil, fmt.Errorf("public listener: %w", err)
	}
	e.public = &http.Server{Handler: http.HandlerFunc(e.servePublic), ReadHeaderTimeout: 5 * time.Second}
	e.wg.Add(2)
	go func() { defer e.wg.Done(); e.acceptAgents() }()
	go func() { defer e.wg.Done(); _ = e.public.Serve(e.publicLn) }()
	return e, nil
}

// ConnectAddr is the address to give ngrok.WithAgentConnectURL.
func (e *Edge) ConnectAddr() string {
	return e.agentLn.Addr().String()
}

// CAs is the pool that trusts both of the edge's certificates; give it to
// ngrok.WithAgentConnectCAs and use it in public clients (Client does).
func (e *Edge) CAs() *x509.CertPool { return e.caPool }

// Client returns an HTTP client that reaches every public URL of the edge
// (any host name) on its public listener, trusting the edge's CA.
func (e *Edge) Client() *http.Client {
	addr := e.publicLn.Addr().String()
	var d net.Dialer
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
			TLSClientConfig:   &tls.Config{RootCAs: e.caPool},
			DisableKeepAlives: true,
		},
	}
}

// Reject makes Auth with token fail with ngrok's message for code, for
// example "ERR_NGROK_107".
func (e *Edge) Reject(token, code string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	// Like ngrok's, the message repeats the token it rejects.
	e.rejected[token] = "The authtoken you specified is properly formed, but it is invalid.\nYour authtoken: " + token + "\n\n" + code
}

// Auths returns how many Auth requests the edge has answered, accepted or
// not; it shows whether an agent keeps retrying.
func (e *Edge) Auths() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.auths
}

// Sessions returns how many agents are connected.
func (e *Edge) Sessions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sessions)
}

// FreezeUnbind makes the edge stop answering requests to close an
// endpoint while it keeps answering heartbeats, as a half-dead network
// path can.
func (e *Edge) FreezeUnbind() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.frozen = true
}

func (e *Edge) isFrozen() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.frozen
}

// DropSessions cuts every agent connection, as a network loss would.
func (e *Edge) DropSessions() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for s := range e.sessions {
		s.conn.Close()
	}
}

// StopEndpoint asks the agent serving url to stop it, with an ngrok error
// code, as ngrok does when an endpoint is stopped from the dashboard.
func (e *Edge) StopEndpoint(url, code string) error {
	e.mu.Lock()
	r, ok := e.routes[hostOf(url)]
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("no endpoint %s", url)
	}
	st, err := r.sess.mux.OpenTypedStream(stopTunnelReq)
	if err != nil {
		return fmt.Errorf("open stop stream: %w", err)
	}
	defer st.Close()
	return json.NewEncoder(st).Encode(stopTunnel{ClientID: r.bindID, Message: "stopped by the test", ErrorCode: code})
}

// Close stops the edge and cuts every agent connection.
func (e *Edge) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.agentLn.Close()
	e.public.Close()
	e.DropSessions()
	e.wg.Wait()
}

func (e *Edge) acceptAgents() {
	for {
		c, err := e.agentLn.Accept()
		if err != nil {
			return
		}
		mux := muxado.Server(c, &muxado.Config{})
		s := &session{conn: c, mux: muxado.NewTypedStreamSession(mux), done: make(chan struct{})}
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			c.Close()
			return
		}
		e.sessions[s] = struct{}{}
		e.mu.Unlock()
		e.wg.Add(1)
		go func() { defer e.wg.Done(); e.serveAgent(s) }()
	}
}

// serveAgent answers one agent's requests until its connection ends.
func (e *Edge) serveAgent(s *session) {
	// The heartbeat wrapper echoes the agent's heartbeats; it is never
	// started, so the edge sends none of its own.
	hb := muxado.NewHeartbeat(s.mux, func(time.Duration, bool) {}, muxado.NewHeartbeatConfig())
	defer func() {
		close(s.done)
		e.mu.Lock()
		delete(e.sessions, s)
		for host, r := range e.routes {
			if r.sess == s {
				delete(e.routes, host)
			}
		}
		e.mu.Unlock()
		s.conn.Close()
	}()
	for {
		st, err := hb.AcceptTypedStream()
		if err != nil {
			return
		}
		switch st.StreamType() {
		case authReq:
			go e.rpc(st, func(dec *json.Decoder) any { return e.auth(dec, s) })
		case unbindReq:
			go e.rpc(st, func(dec *json.Decoder) any {
				if e.isFrozen() {
					<-s.done // a half-dead edge: heartbeats answered, requests not
					return nil
				}
				return e.unbind(dec, s)
			})
		case bindReq:
			go e.rpc(st, func(dec *json.Decoder) any { return e.bind(dec, s) })
		default:
			st.Close()
		}
	}
}

// rpc reads one JSON request from st and writes handle's JSON answer.
func (e *Edge) rpc(st muxado.Stream, handle func(*json.Decoder) any) {
	defer st.Close()
	resp := handle(json.NewDecoder(st))
	if resp != nil {
		_ = json.NewEncoder(st).Encode(resp)
	}
}

func (e *Edge) auth(dec *json.Decoder, s *session) any {
	var req auth
	if err := dec.Decode(&req); err != nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.auths++
	token := req.Extra.Authtoken
	if token == "" {
		return authResp{Error: msgNoToken}
	}
	if msg, ok := e.rejected[token]; ok {
		return authResp{Error: msg}
	}
	s.token = token
	id := req.ClientID
	if id == "" {
		id = "sess_" + short(token+time.Now().String())
	}
	return authResp{Version: "3", ClientID: id, Extra: authRespExtra{
		Version: "fakeedge", Region: "local", Cookie: "cookie-" + id,
		AccountName: "Test", PlanName: "Free", AgentSessionID: id,
	}}
}

// bind gives each token one stable free address (as ngrok's free plan
// does), or the requested URL, unless another agent holds it.
func (e *Edge) bind(dec *json.Decoder, s *session) any {
	var req bind
	if err := dec.Decode(&req); err != nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	url := req.Opts.URL
	if url == "" {
		url = "https://" + short(s.token) + ".ngrok-free.app"
	}
	if !strings.Contains(url, "://") {
		url = "https://" + url
	}
	id := req.ClientID
	if id == "" {
		id = "bind_" + short(url)
	}
	host := hostOf(url)
	if r, ok := e.routes[host]; ok && r.sess != s {
		return bindResp{Error: fmt.Sprintf(msgAlreadyBound, url)}
	}
	e.routes[host] = route{sess: s, bindID: id}
	return bindResp{
		ClientID: id, URL: url, Proto: "https",
		Opts:  map[string]any{"URL": url},
		Extra: bindRespExtra{Token: short(url), TunnelID: "tn_" + short(id)},
	}
}

func (e *Edge) unbind(dec *json.Decoder, s *session) any {
	var req unbind
	if err := dec.Decode(&req); err != nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for host, r := range e.routes {
		if r.sess == s && r.bindID == req.ClientID {
			delete(e.routes, host)
		}
	}
	return unbindResp{}
}

// servePublic passes one public request to the agent holding its host, or
// answers as ngrok does when it cannot.
func (e *Edge) servePublic(w http.ResponseWriter, req *http.Request) {
	e.mu.Lock()
	r, ok := e.routes[hostOf(req.Host)]
	e.mu.Unlock()
	if !ok {
		ngrokError(w, http.StatusNotFound, "ERR_NGROK_3200", "The endpoint "+req.Host+" is offline.")
		return
	}
	st, err := r.sess.mux.OpenTypedStream(proxyReq)
	if err != nil {
		ngrokError(w, http.StatusBadGateway, "ERR_NGROK_8012", "Traffic was successfully tunneled to the ngrok agent, but the agent failed to establish a connection.")
		return
	}
	defer st.Close()
	hdr, _ := json.Marshal(proxyHeader{ID: r.bindID, ClientAddr: req.RemoteAddr, Proto: "https", EdgeType: "3"})
	if err := binary.Write(st, binary.LittleEndian, int64(len(hdr))); err != nil {
		ngrokError(w, http.StatusBadGateway, "ERR_NGROK_8012", "The agent went away.")
		return
	}
	st.Write(hdr)
	out := req.Clone(req.Context())
	out.RequestURI, out.Close = "", true
	out.Header.Set("X-Forwarded-Proto", "https")
	out.Header.Set("X-Forwarded-For", hostOf(req.RemoteAddr))
	if err := out.Write(st); err != nil {
		ngrokError(w, http.StatusBadGateway, "ERR_NGROK_8012", "The agent went away.")
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(st), out)
	if err != nil {
		ngrokError(w, http.StatusBadGateway, "ERR_NGROK_3004", "The agent's answer was not valid HTTP.")
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func ngrokError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("ngrok-error-code", code)
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<html><body><p>%s</p><p>%s</p></body></html>\n", msg, code)
}

func hostOf(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	s = strings.TrimSuffix(s, "/")
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}

func short(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:5])
}

func newCA() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("ca key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fakeedge test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("ca cert: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("ca cert: %w", err)
	}
	return cert, key, nil
}

func leaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, names []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("leaf key: %w", err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("leaf cert: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
