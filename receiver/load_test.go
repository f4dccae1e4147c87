package receiver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hirebell/store"
)

// Load parameters: the comparison is 16 concurrent senders of
// unique signed hires of about 2.5 KB.
const (
	loadSenders  = 16
	loadBodySize = 2500
)

// TestLoadComparison measures verified-and-stored hires per second of
// Hirebell against a Go receiver that verifies and stores nothing (the
// ceiling of the HTTP stack on this machine) and against the Python peer
// written from Comeet's documentation, with the same load in the same
// process. A fourth receiver, "floor", shows what the disk allows: it
// verifies and appends each body to a preallocated file, one fdatasync per
// group of waiting requests, before its 200 (no JSON, no database), the
// least any receiver can do that answers only once the hire is on disk.
// It is opt-in because it takes CPU for a while:
//
//	HIREBELL_LOAD=1 go test -run TestLoadComparison -v ./receiver/
//
// HIREBELL_LOAD_SECONDS (default 2) is the length of one leg,
// HIREBELL_LOAD_ROUNDS (default 3) how many interleaved rounds are run;
// the median of each receiver's rounds is compared. HIREBELL_PEER points
// at seed_receiver.py (default ../../shared/peers/seed_receiver.py).
// HIREBELL_LOAD_PROFILE=FILE writes a CPU profile of Hirebell's receiver.
// HIREBELL_LOAD_BIN=path/to/hirebell adds, after the rounds, one leg on
// the real app's "hirebell serve" in a fresh data folder.
func TestLoadComparison(t *testing.T) {
	if os.Getenv("HIREBELL_LOAD") != "1" {
		t.Skip("set HIREBELL_LOAD=1 to run the throughput comparison")
	}
	legTime := time.Duration(envInt(t, "HIREBELL_LOAD_SECONDS", 2)) * time.Second
	rounds := envInt(t, "HIREBELL_LOAD_ROUNDS", 3)
	secret := []byte("load-test-secret-0123456789abcdef")
	gen := newHireGen(t)
	t.Logf("%d senders, unique signed hires of %d bytes, %v per leg, %d rounds, GOMAXPROCS %d",
		loadSenders, len(gen.body()), legTime, rounds, runtime.GOMAXPROCS(0))

	type target struct {
		name   string
		url    string
		secret []byte // when not the shared one
		rates  []float64
		lat    []time.Duration
		ok     int
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	nullAddr, _ := startReceiver(t, "null", secret, "")
	hbAddr, stopHirebell := startReceiver(t, "hirebell", secret, dataDir)
	floorAddr, _ := startReceiver(t, "floor", secret, t.TempDir())
	targets := []*target{
		{name: "null", url: "http://" + nullAddr + HookPath},
		{name: "hirebell", url: "http://" + hbAddr + HookPath},
		{name: "floor", url: "http://" + floorAddr + HookPath},
	}
	if peerAddr, ok := startPeer(t, secret); ok {
		targets = append(targets, &target{name: "peer", url: "http://" + peerAddr + HookPath})
	}

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: loadSenders,
		MaxConnsPerHost:     loadSenders,
		DisableCompression:  true,
	}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()

	// Warm up: open the connections and let each receiver settle.
	secretOf := func(tg *target) []byte {
		if tg.secret != nil {
			return tg.secret
		}
		return secret
	}
	for _, tg := range targets {
		if r := runLoad(client, tg.url, secretOf(tg), gen, 200*time.Millisecond); r.failed > 0 {
			t.Fatalf("%s: %d of %d warm-up requests failed: %v", tg.name, r.failed, r.ok+r.failed, r.firstErr)
		} else {
			tg.ok += r.ok
		}
	}

	for round := range rounds {
		// Rotate the order so that no receiver always runs first or last.
		for i := range targets {
			tg := targets[(i+round)%len(targets)]
			r := runLoad(client, tg.url, secretOf(tg), gen, legTime)
			if r.failed > 0 {
				t.Fatalf("%s round %d: %d of %d requests failed: %v", tg.name, round+1, r.failed, r.ok+r.failed, r.firstErr)
			}
			tg.ok += r.ok
			tg.rates = append(tg.rates, r.rate())
			tg.lat = append(tg.lat, r.latencies...)
			t.Logf("round %d %-8s %6d hires in %v: %8.0f hires/s", round+1, tg.name, r.ok, r.elapsed.Round(time.Millisecond), r.rate())
		}
	}

	med := map[string]float64{}
	for _, tg := range targets {
		med[tg.name] = median(tg.rates)
		slices.Sort(tg.lat)
		t.Logf("%-8s median %8.0f hires/s  (rounds %s)  latency p50 %v p99 %v",
			tg.name, med[tg.name], fmtRates(tg.rates), pct(tg.lat, 50), pct(tg.lat, 99))
	}

	// The real app last: its document downloads (the sample links to
	// hosts that do not exist) go on in the background for minutes and
	// would weigh on any leg after it.
	if bin := os.Getenv("HIREBELL_LOAD_BIN"); bin != "" {
		url, secret := startServe(t, bin)
		tg := &target{name: "serve", url: url, secret: secret}
		runLoad(client, tg.url, secretOf(tg), gen, 200*time.Millisecond)
		r := runLoad(client, tg.url, secretOf(tg), gen, legTime)
		if r.failed > 0 {
			t.Fatalf("serve: %d of %d requests failed: %v", r.failed, r.ok+r.failed, r.firstErr)
		}
		t.Logf("serve (%s, once, after the rounds): %.0f hires/s = %.2fx the hirebell median", bin, r.rate(), r.rate()/med["hirebell"])
	}

	// Every hire Hirebell answered 200 is on disk.
	stopHirebell()
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.Count(); err != nil || n != targets[1].ok {
		t.Errorf("Hirebell answered 200 for %d hires, the store holds %d (%v)", targets[1].ok, n, err)
	}

	t.Logf("floor/null = %.2fx, hirebell/floor = %.2fx (what fdatasync on this disk allows)",
		med["floor"]/med["null"], med["hirebell"]/med["floor"])
	vsNull := med["hirebell"] / med["null"]
	t.Logf("hirebell/null = %.2fx (target >= 0.5x)", vsNull)
	if vsNull < 0.5 {
		t.Errorf("Hirebell reaches %.2fx of the null receiver, target 0.5x", vsNull)
	}
	if p, ok := med["peer"]; ok {
		vsPeer := med["hirebell"] / p
		t.Logf("hirebell/peer = %.2fx (target >= 3x)", vsPeer)
		if vsPeer < 3 {
			t.Errorf("Hirebell reaches %.2fx of the Python peer, target 3x", vsPeer)
		}
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// hireGen makes unique hires of about loadBodySize bytes: the full sample
// with a numbered comeet_id and a description padded to size.
type hireGen struct {
	prefix, suffix []byte
	next           atomic.Uint64
}

func newHireGen(t *testing.T) *hireGen {
	var m map[string]any
	if err := json.Unmarshal(readSample(t, "sample-full.json"), &m); err != nil {
		t.Fatal(err)
	}
	m["comeet_id"] = "\x00"
	pos := m["position"].(map[string]any)
	pos["description"] = ""
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	pad := loadBodySize - len(b) - len("LOAD.123456")
	if pad > 0 {
		pos["description"] = "<p>" + strings.Repeat("Build the payments platform with us. ", pad/37+1)[:max(pad-7, 0)] + "</p>"
	}
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	prefix, suffix, ok := bytes.Cut(b, []byte(`\u0000`))
	if !ok {
		t.Fatal("placeholder not found")
	}
	return &hireGen{prefix: prefix, suffix: suffix}
}

func (g *hireGen) body() []byte {
	id := g.next.Add(1)
	b := make([]byte, 0, len(g.prefix)+len(g.suffix)+24)
	b = append(b, g.prefix...)
	b = append(b, "LOAD."...)
	b = strconv.AppendUint(b, id, 10)
	return append(b, g.suffix...)
}

// loadResult is one leg of the comparison.
type loadResult struct {
	ok, failed int
	firstErr   error
	elapsed    time.Duration
	latencies  []time.Duration
}

func (r loadResult) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// runLoad sends unique signed hires from loadSenders goroutines for d and
// counts the 200s. Signing is part of the senders' work, as for Comeet.
func runLoad(client *http.Client, url string, secret []byte, gen *hireGen, d time.Duration) loadResult {
	var (
		mu  sync.Mutex
		res loadResult
		wg  sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for range loadSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ok, failed int
			var firstErr error
			lat := make([]time.Duration, 0, 1024)
			for time.Now().Before(deadline) {
				body := gen.body()
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					panic(err) // a fixed, valid URL
				}
				req.Header.Set(SignatureHeader, Sign(body, secret))
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed++
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				lat = append(lat, time.Since(t0))
				ok++
			}
			mu.Lock()
			res.ok += ok
			res.failed += failed
			if res.firstErr == nil {
				res.firstErr = firstErr
			}
			res.latencies = append(res.latencies, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// startReceiver runs a receiver in a process of its own, as the Python
// peer runs in its own: this test binary again, running TestLoadServe.
// Sharing one Go runtime with the load generator would skew the figures.
// It returns the address and a function that stops the receiver cleanly
// (also registered as a cleanup).
func startReceiver(t *testing.T, kind string, secret []byte, dir string) (string, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadServe$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		"HIREBELL_LOAD_SERVE="+kind, "HIREBELL_LOAD_SECRET="+string(secret), "HIREBELL_LOAD_DIR="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s receiver: %v", kind, err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			stdin.Close() // TestLoadServe stops when its input ends
			if err := cmd.Wait(); err != nil {
				t.Errorf("%s receiver: %v", kind, err)
			}
		})
	}
	t.Cleanup(stop)
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%s receiver gave no address: %v", kind, err)
	}
	go io.Copy(io.Discard, stdout)
	return strings.TrimSpace(addr), stop
}

// TestLoadServe is a receiver for TestLoadComparison, not a test of its
// own: it serves until its standard input ends. "null" reads each body,
// verifies its signature and answers 200, storing nothing; "floor" also
// makes the body durable (floorServer); "hirebell" is the real Receiver
// and NewServer on a store, logging as the app does (to a discarded text
// log).
func TestLoadServe(t *testing.T) {
	kind := os.Getenv("HIREBELL_LOAD_SERVE")
	if kind == "" {
		t.Skip("started by TestLoadComparison")
	}
	var srv *http.Server
	switch kind {
	case "null":
		secret := []byte(os.Getenv("HIREBELL_LOAD_SECRET"))
		srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil || Verify(body, r.Header.Get(SignatureHeader), secret) != nil {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusOK)
		})}
	case "floor":
		fs, err := newFloorServer(filepath.Join(os.Getenv("HIREBELL_LOAD_DIR"), "floor.log"), []byte(os.Getenv("HIREBELL_LOAD_SECRET")))
		if err != nil {
			t.Fatal(err)
		}
		defer fs.close()
		srv = &http.Server{Handler: fs}
	case "hirebell":
		st, err := store.Open(os.Getenv("HIREBELL_LOAD_DIR"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		secret := []byte(os.Getenv("HIREBELL_LOAD_SECRET"))
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		srv = NewServer(New(Config{Store: st, Secret: func() []byte { return secret }, Logger: log}), log)
	default:
		t.Fatalf("HIREBELL_LOAD_SERVE=%q", kind)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	if p := os.Getenv("HIREBELL_LOAD_PROFILE"); p != "" && kind == "hirebell" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Println(ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

// startServe runs "bin serve" on a free port in a fresh data folder and
// returns its webhook URL and secret.
func startServe(t *testing.T, bin string) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command(bin, "secret", "--data", dir).Output()
	if err != nil {
		t.Fatalf("%s secret: %v", bin, err)
	}
	secret := []byte(strings.TrimSpace(string(out)))
	cmd := exec.Command(bin, "serve", "--data", dir, "--no-tunnel", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "NGROK_AUTHTOKEN=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Errorf("hirebell serve: %v", err)
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("hirebell serve printed no URL: %v", err)
	}
	go io.Copy(io.Discard, stdout)
	i := strings.Index(line, "http://")
	if i < 0 {
		t.Fatalf("hirebell serve printed %q", line)
	}
	return strings.TrimSpace(line[i:]), secret
}

// startPeer runs seed_receiver.py on a free loopback port. It reports
// false (and says why) when python3 or the script is missing.
func startPeer(t *testing.T, secret []byte) (string, bool) {
	t.Helper()
	script := os.Getenv("HIREBELL_PEER")
	if script == "" {
		script = filepath.Join("..", "..", "shared", "peers", "seed_receiver.py")
	}
	if _, err := os.Stat(script); err != nil {
		t.Logf("peer leg skipped: %v (set HIREBELL_PEER)", err)
		return "", false
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Logf("peer leg skipped: %v", err)
		return "", false
	}
	// Find a free port; the peer binds it a moment later.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	var stderr bytes.Buffer
	cmd := exec.Command(python, script, strconv.Itoa(port), string(secret), filepath.Join(t.TempDir(), "peer.db"))
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start peer: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr, true
		}
		select {
		case <-exited:
			t.Fatalf("peer exited: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("peer not listening on %s after 10s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100].Round(10 * time.Microsecond)
}

func fmtRates(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(parts, " ")
}
