package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hirebell/receiver"
	"hirebell/store"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// hirebellBinary builds the real binary once per test run. Tests that use
// it run the app as a person would, through its command line and HTTP.
func hirebellBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hirebell-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "hirebell")
		args := []string{"build", "-o", binPath}
		if raceEnabled() {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// raceEnabled reports whether this test binary was built with -race, so
// that the binary under test is built the same way.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// testEnv keeps the binary away from the real user's folders.
func testEnv(t *testing.T) []string {
	home := t.TempDir()
	return append(os.Environ(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local/share"),
		"HIREBELL_DATA=",
		"NGROK_AUTHTOKEN=",
		"LANG=en_US.UTF-8",
	)
}

func runCLI(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(hirebellBinary(t), args...)
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `hirebell serve` and waits until it answers.
func startServe(t *testing.T, env []string, data, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(hirebellBinary(t), "serve", "--data", data, "--listen", addr, "--no-tunnel")
	cmd.Env = env
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hirePayload(id string) []byte {
	return fmt.Appendf(nil, `{"comeet_id":%q,"person_uid":"P.%s","first_name":"Ada","last_name":"Lovelace",`+
		`"email":"ada@example.com","time_created":"2026-11-01T09:00:00Z","hired_date":"2026-12-01",`+
		`"start_date":"2027-01-04","position":{"comeet_id":"52.0A","name":"Engineer","department":"R&D",`+
		`"hiring_manager":{"first_name":"Grace","last_name":"Hopper"}}}`, id, id)
}

func exportedIDs(t *testing.T, env []string, data string) map[string]bool {
	t.Helper()
	out, errOut, code := runCLI(t, env, "export", "--data", data)
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v", err)
	}
	ids := make(map[string]bool, len(rows))
	for _, r := range rows[1:] {
		ids[r[0]] = true
	}
	return ids
}

// TestKill9LosesNoAcknowledgedHire sends hires from 16 senders, kills the
// server with SIGKILL in mid-stream, restarts it, and checks that every hire
// that was answered 200 is in the export.
func TestKill9LosesNoAcknowledgedHire(t *testing.T) {
	env := testEnv(t)
	data := t.TempDir()
	secretOut, errOut, code := runCLI(t, env, "secret", "--data", data)
	if code != 0 {
		t.Fatalf("secret: %s", errOut)
	}
	secret := []byte(strings.TrimSpace(secretOut))

	var acked sync.Map
	var nAcked atomic.Int64
	for round := range 3 {
		addr := freeAddr(t)
		srv := startServe(t, env, data, addr)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		client := &http.Client{Timeout: 5 * time.Second}
		for s := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil && i < 10000; i++ {
					id := fmt.Sprintf("K%d.%d.%d", round, s, i)
					body := hirePayload(id)
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+receiver.HookPath, bytes.NewReader(body))
					req.Header.Set(receiver.SignatureHeader, receiver.Sign(body, secret))
					resp, err := client.Do(req)
					if err != nil {
						return // the server is gone
					}
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						acked.Store(id, true)
						nAcked.Add(1)
					}
				}
			}()
		}
		// Kill once this round has had some hires acknowledged.
		before := nAcked.Load()
		deadline := time.Now().Add(20 * time.Second)
		for nAcked.Load() < before+200+int64(round*137) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		srv.Wait()
		cancel()
		wg.Wait()
	}
	if nAcked.Load() == 0 {
		t.Fatal("no hire was acknowledged; the test proves nothing")
	}
	ids := exportedIDs(t, env, data)
	missing := 0
	acked.Range(func(k, _ any) bool {
		if !ids[k.(string)] {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged hire %s is missing after kill -9", k)
			}
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged hires lost", missing, nAcked.Load())
	}
	t.Logf("%d acknowledged hires over 3 kills, all present", nAcked.Load())
}

// TestServeStopsCleanly checks SIGTERM: exit 0, and the store is free for
// the next process at once.
func TestServeStopsCleanly(t *testing.T) {
	env := testEnv(t)
	data := t.TempDir()
	srv := startServe(t, env, data, freeAddr(t))
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}
	if _, errOut, code := runCLI(t, env, "log", "--data", data); code != 0 {
		t.Fatalf("store still locked after serve stopped: %s", errOut)
	}
}

// TestSecondInstanceFailsFast checks that a second process on the same data
// folder says so, names the folder, and exits within 2 s.
func TestSecondInstanceFailsFast(t *testing.T) {
	env := testEnv(t)
	data := t.TempDir()
	startServe(t, env, data, freeAddr(t))
	start := time.Now()
	_, errOut, code := runCLI(t, env, "serve", "--data", data, "--listen", freeAddr(t), "--no-tunnel")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("second instance took %v to give up", took)
	}
	if code != 1 || !strings.Contains(errOut, data) || !strings.Contains(errOut, "another Hirebell") {
		t.Fatalf("second instance: exit %d, stderr %q; want exit 1 naming %s", code, errOut, data)
	}
}

func TestCommandLine(t *testing.T) {
	env := testEnv(t)
	data := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"help", []string{"--help"}, 0, "", "hirebell serve"},
		{"help command", []string{"help"}, 0, "", "hirebell export"},
		{"subcommand help", []string{"export", "-h"}, 0, "", "-out"},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"unknown flag", []string{"--frob"}, 2, "", "flag provided but not defined"},
		{"unknown subcommand flag", []string{"secret", "--frob"}, 2, "", "flag provided but not defined"},
		{"stray argument", []string{"export", "--data", data, "extra"}, 2, "", `unexpected argument "extra"`},
		{"empty log", []string{"log", "--data", data}, 0, "No deliveries yet", ""},
		{"empty export", []string{"export", "--data", data}, 0, "comeet_id,", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, env, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.inStdout) || !strings.Contains(errOut, tc.inStderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
}

func TestSecretPersistsAndRotates(t *testing.T) {
	env := testEnv(t)
	data := t.TempDir()
	first, _, _ := runCLI(t, env, "secret", "--data", data)
	again, _, _ := runCLI(t, env, "secret", "--data", data)
	if first != again || len(strings.TrimSpace(first)) != 64 {
		t.Fatalf("secret not stable: %q then %q", first, again)
	}
	rotated, warn, code := runCLI(t, env, "secret", "--rotate", "--data", data)
	if code != 0 || rotated == first || !strings.Contains(warn, "Comeet") {
		t.Fatalf("rotate: exit %d, %q, warning %q", code, rotated, warn)
	}
	if info, err := os.Stat(filepath.Join(data, "hirebell.db")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("database file mode: %v %v", info.Mode(), err)
	}
}

func TestExportToFile(t *testing.T) {
	env := testEnv(t)
	data := t.TempDir()
	addr := freeAddr(t)
	secretOut, _, _ := runCLI(t, env, "secret", "--data", data)
	srv := startServe(t, env, data, addr)
	body := hirePayload("E.1")
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+receiver.HookPath, bytes.NewReader(body))
	req.Header.Set(receiver.SignatureHeader, receiver.Sign(body, []byte(strings.TrimSpace(secretOut))))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("deliver: %v %v", resp, err)
	}
	resp.Body.Close()
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()

	out := filepath.Join(t.TempDir(), "hires.csv")
	if _, errOut, code := runCLI(t, env, "export", "--data", data, "--out", out); code != 0 {
		t.Fatalf("export: %s", errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.Contains(b, []byte("E.1,P.E.1,Ada,,Lovelace")) {
		t.Fatalf("export file: %q %v", b, err)
	}
}

// TestDocumentsSavedThroughServe delivers a hire that links three
// documents to the real binary and checks that all three land in the data
// folder with their checksums, after the 200.
func TestDocumentsSavedThroughServe(t *testing.T) {
	files := map[string][]byte{
		"/cv.pdf":    []byte("%PDF-1.7 resume of Ada"),
		"/pic.jpg":   bytes.Repeat([]byte{0xff, 0xd8, 0x42}, 1000),
		"/offer.pdf": []byte("%PDF-1.7 offer letter"),
	}
	docs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	defer docs.Close()

	env := append(testEnv(t), "HIREBELL_DOCUMENTS_ALLOW_HTTP=1")
	data := t.TempDir()
	addr := freeAddr(t)
	secretOut, _, _ := runCLI(t, env, "secret", "--data", data)
	srv := startServe(t, env, data, addr)
	body := fmt.Appendf(nil, `{"comeet_id":"D.1","first_name":"Ada","position":{"name":"Engineer"},`+
		`"resume":{"name":"../../cv.pdf","url":%q},"picture":{"url":%q},`+
		`"files":[{"name":"Offer letter.pdf","url":%q,"type":"offer_letter"}]}`,
		docs.URL+"/cv.pdf", docs.URL+"/pic.jpg", docs.URL+"/offer.pdf")
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+receiver.HookPath, bytes.NewReader(body))
	req.Header.Set(receiver.SignatureHeader, receiver.Sign(body, []byte(strings.TrimSpace(secretOut))))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("deliver: %v %v", resp, err)
	}
	resp.Body.Close()

	// Wait for three files on disk, then stop the server to read the store.
	root := filepath.Join(data, store.DocumentsFolder)
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int
		filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
				n++
			}
			return nil
		})
		if n == len(files) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d documents saved", n, len(files))
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()

	st, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	saved, err := st.Documents("D.1")
	if err != nil || len(saved) != len(files) {
		t.Fatalf("documents: %d, %v", len(saved), err)
	}
	for _, d := range saved {
		path, err := st.DocumentPath(d)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		sum := sha256.Sum256(b)
		if err != nil || d.Status != store.DocSaved || d.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: status %s, sha %s, file %v", d.Kind, d.Status, d.SHA256, err)
		}
		if rel, err := filepath.Rel(root, path); err != nil || strings.HasPrefix(rel, "..") {
			t.Errorf("%s saved outside the documents folder: %s", d.Kind, path)
		}
		if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: file mode %v", d.Kind, info.Mode())
		}
	}
}
