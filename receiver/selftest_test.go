package receiver

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hirebell/store"
)

func TestSelfTestSampleIsATestHire(t *testing.T) {
	body := sampleHire("abc123")
	h, err := store.DecodeHire(body)
	if err != nil {
		t.Fatalf("sample does not decode as a hire: %v", err)
	}
	if h.ComeetID != "TEST.abc123" || h.TestNonce != "abc123" {
		t.Errorf("comeet_id %q nonce %q, want TEST.abc123 and abc123", h.ComeetID, h.TestNonce)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"person_uid", "first_name", "last_name", "email", "hired_date", "start_date", "position"} {
		if _, ok := m[field]; !ok {
			t.Errorf("sample lacks Comeet field %q", field)
		}
	}
}

func TestSelfTestLocal(t *testing.T) {
	r := newTunRig(t)
	rep := SelfTest(context.Background(), r.localURL, r.secret, r.rcv, nil)
	if !rep.OK || rep.Step != "" || rep.Elapsed <= 0 || !strings.Contains(rep.Message, r.localURL+HookPath) {
		t.Fatalf("self-test on the local listener: %+v", rep)
	}
	if n, _ := r.st.Count(); n != 0 {
		t.Errorf("self-test stored %d hires, want 0", n)
	}
	d, err := r.st.Deliveries(false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 1 || d[0].Outcome != store.OutcomeTest || !strings.HasPrefix(d[0].ComeetID, "TEST.") {
		t.Errorf("delivery log = %+v, want one test entry", d)
	}
}

func TestSelfTestFailures(t *testing.T) {
	// Each case returns the base URL, the client and the receiver to use.
	type setup func(t *testing.T, r *tunRig) (string, *http.Client)
	down := func(t *testing.T, r *tunRig) (string, *http.Client) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln.Close()
		return "http://" + ln.Addr().String(), nil
	}
	fixed := func(h http.HandlerFunc) setup {
		return func(t *testing.T, r *tunRig) (string, *http.Client) {
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			return srv.URL, nil
		}
	}
	tests := []struct {
		name     string
		setup    setup
		secret   string // empty: the receiver's own
		wantStep string
		wantMsg  string
	}{
		{"wrong secret", func(t *testing.T, r *tunRig) (string, *http.Client) { return r.localURL, nil },
			"not-the-receivers-secret", StepSignature, "different secret"},
		{"receiver down", down, "", StepConnect, "not running"},
		{"dns", func(t *testing.T, r *tunRig) (string, *http.Client) {
			c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				host, _, _ := net.SplitHostPort(addr)
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
			}}}
			return "https://gone.ngrok-free.app", c
		}, "", StepDNS, "gone.ngrok-free.app"},
		{"untrusted certificate", func(t *testing.T, r *tunRig) (string, *http.Client) {
			srv := httptest.NewUnstartedServer(r.rcv)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
			srv.StartTLS()
			t.Cleanup(srv.Close)
			return srv.URL, &http.Client{Timeout: 5 * time.Second}
		}, "", StepTLS, "certificate"},
		{"https to a plain http listener", func(t *testing.T, r *tunRig) (string, *http.Client) {
			return strings.Replace(r.localURL, "http://", "https://", 1), nil
		}, "", StepTLS, "HTTPS"},
		{"ngrok endpoint offline", fixed(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("ngrok-error-code", "ERR_NGROK_3200")
			http.Error(w, "offline", http.StatusNotFound)
		}), "", StepTunnel, "offline"},
		{"ngrok unknown error", fixed(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("ngrok-error-code", "ERR_NGROK_1234")
			http.Error(w, "nope", http.StatusBadGateway)
		}), "", StepTunnel, "err_ngrok_1234"},
		{"store cannot write", func(t *testing.T, r *tunRig) (string, *http.Client) {
			r.st.Close()
			return r.localURL, nil
		}, "", StepStore, "data file"},
		{"something else answers", fixed(func(w http.ResponseWriter, _ *http.Request) {
			http.NotFound(w, nil)
		}), "", StepReceiver, "HTTP 404"},
		{"another receiver answers", func(t *testing.T, r *tunRig) (string, *http.Client) {
			return newTunRig(t).localURL, nil
		}, "", StepReceiver, "another computer"},
		{"not a URL", func(t *testing.T, r *tunRig) (string, *http.Client) { return "name.ngrok-free.app", nil },
			"", StepConnect, "not a web address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTunRig(t)
			base, client := tt.setup(t, r)
			secret := r.secret
			if tt.secret != "" {
				secret = []byte(tt.secret)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if tt.name == "another receiver answers" {
				ctx, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
				defer cancel()
			}
			rep := SelfTest(ctx, base, secret, r.rcv, client)
			if rep.OK || rep.Step != tt.wantStep || !strings.Contains(rep.Message, tt.wantMsg) {
				t.Errorf("report = %+v, want step %q with %q", rep, tt.wantStep, tt.wantMsg)
			}
			if !strings.HasSuffix(rep.Message, ".") {
				t.Errorf("message %q is not a sentence", rep.Message)
			}
			if tt.secret != "" && strings.Contains(rep.Message, tt.secret) {
				t.Errorf("message repeats the secret: %q", rep.Message)
			}
		})
	}
}
