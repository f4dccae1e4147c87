package receiver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"hirebell/store"
)

func TestNewServerTimeouts(t *testing.T) {
	h := http.NotFoundHandler()
	srv := NewServer(h, nil)
	tests := []struct {
		name string
		got  time.Duration
	}{
		{"ReadHeaderTimeout", srv.ReadHeaderTimeout},
		{"ReadTimeout", srv.ReadTimeout},
		{"WriteTimeout", srv.WriteTimeout},
		{"IdleTimeout", srv.IdleTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got <= 0 || tt.got > 2*time.Minute {
				t.Errorf("%s = %v, want set and at most 2m", tt.name, tt.got)
			}
		})
	}
	if srv.ReadHeaderTimeout > srv.ReadTimeout {
		t.Errorf("ReadHeaderTimeout %v longer than ReadTimeout %v", srv.ReadHeaderTimeout, srv.ReadTimeout)
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes = %d", srv.MaxHeaderBytes)
	}
	if srv.ErrorLog == nil {
		t.Error("ErrorLog not set: net/http would write to the standard logger")
	}
}

// serve runs NewServer for h on a loopback port and returns its address.
func serve(t *testing.T, h http.Handler, tweak func(*http.Server)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if tweak != nil {
		tweak(srv)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; err != http.ErrServerClosed {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestServerServesReceiver(t *testing.T) {
	h := newHarness(t, nil)
	addr := serve(t, h.rcv, nil)
	body := []byte(`{"comeet_id":"SV.1"}`)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+HookPath, bytes.NewReader(body))
	req.Header.Set(SignatureHeader, Sign(body, h.secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if _, err := h.st.Get("SV.1"); err != nil {
		t.Errorf("hire not stored: %v", err)
	}
}

// TestServerStalledBody: a sender that stops halfway through the body is
// cut off by the read timeout and is never told its hire was taken.
func TestServerStalledBody(t *testing.T) {
	h := newHarness(t, nil)
	addr := serve(t, h.rcv, func(s *http.Server) { s.ReadTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"comeet_id":"ST.1","first_name":"Half`
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nSignature: %s\r\nContent-Length: %d\r\n\r\n%s",
		HookPath, Sign([]byte(body+`"}`), h.secret), len(body)+2, body)
	// Stall: never send the last two bytes. The server must answer (or
	// hang up) on its own; the deadline only guards the test.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("a stalled, incomplete body was answered 200")
		}
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server held a stalled connection open past its read timeout")
	}
	st := h.reopen()
	if n, _ := st.Count(); n != 0 {
		t.Errorf("%d hires stored from an incomplete body", n)
	}
	d, _ := st.Deliveries(false, 0)
	if len(d) != 1 || d[0].Outcome != store.OutcomeNotAHire {
		t.Errorf("delivery log %+v, want the incomplete attempt", d)
	}
}
