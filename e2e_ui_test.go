package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hirebell/receiver"
)

// The end-to-end test of the desktop app runs the real binary in its own
// X server (Xvfb) and session bus, as a person would meet it: hires
// delivered over HTTP with Comeet's signature, desktop notifications
// watched on the bus, the tray menu read and clicked over D-Bus, and a
// screenshot of the window kept as an artifact.
//
// It runs when the tools are installed, or always with HIREBELL_E2E=1
// (then a missing tool is a failure). Artifacts go to $HIREBELL_ARTIFACTS,
// or artifacts/ in the repository.

// e2eTools are the programs the desktop end-to-end test drives.
var e2eTools = []string{"xvfb-run", "dbus-run-session", "dbus-monitor", "gdbus", "xdotool", "import", "gcc"}

func needDesktopTools(t *testing.T) {
	t.Helper()
	var missing []string
	for _, tool := range e2eTools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("needs %s (Debian: xvfb xauth dbus dbus-bin libglib2.0-bin xdotool imagemagick gcc libx11-dev)", strings.Join(missing, ", "))
	if os.Getenv("HIREBELL_E2E") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// artifactsDir is where screenshots and logs are kept for people to see.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HIREBELL_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// e2eHire is one fictional hire for the desktop test.
type e2eHire struct {
	id, first, last, position, department, manager, start string
}

func (h e2eHire) payload() []byte {
	mf, ml, _ := strings.Cut(h.manager, " ")
	return fmt.Appendf(nil, `{"comeet_id":%q,"person_uid":"P.%s","first_name":%q,"last_name":%q,`+
		`"email":"%s@example.com","hired_date":"2026-12-01","start_date":%q,`+
		`"position":{"name":%q,"department":%q,"location":"Tel Aviv",`+
		`"hiring_manager":{"first_name":%q,"last_name":%q,"email":"manager@example.com"}}}`,
		h.id, h.id, h.first, h.last, strings.ToLower(h.first), h.start, h.position, h.department, mf, ml)
}

// deliver posts a signed hire and returns when its 200 arrived.
func deliver(t *testing.T, addr, secret string, body []byte) time.Time {
	t.Helper()
	at, err := post(addr, secret, body)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// post is deliver for goroutines other than the test's.
func post(addr, secret string, body []byte) (time.Time, error) {
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+receiver.HookPath, bytes.NewReader(body))
	if err != nil {
		return time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(receiver.SignatureHeader, receiver.Sign(body, []byte(secret)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return time.Time{}, fmt.Errorf("deliver: %w", err)
	}
	at := time.Now()
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return time.Time{}, fmt.Errorf("deliver: %d %s", resp.StatusCode, msg)
	}
	return at, nil
}

// waitFor polls cond until it is true or the deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// notifyCall is one org.freedesktop.Notifications.Notify seen on the bus.
type notifyCall struct {
	at             time.Time
	app, icon      string
	title, content string
}

var monitorTime = regexp.MustCompile(`time=(\d+)\.(\d+)`)

// readNotifyCalls parses dbus-monitor's log: each Notify call is a header
// line then its arguments, of which the strings are app name, icon,
// title and body.
func readNotifyCalls(path string) []notifyCall {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var calls []notifyCall
	var cur *notifyCall
	var strs []string
	flush := func() {
		if cur != nil && len(strs) >= 4 {
			cur.app, cur.icon, cur.title, cur.content = strs[0], strs[1], strs[2], strs[3]
			calls = append(calls, *cur)
		}
		cur, strs = nil, nil
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") {
			flush()
			if strings.HasPrefix(line, "method call") && strings.Contains(line, "member=Notify") {
				cur = &notifyCall{}
				if m := monitorTime.FindStringSubmatch(line); m != nil {
					sec, _ := strconv.ParseInt(m[1], 10, 64)
					usec, _ := strconv.ParseInt(m[2], 10, 64)
					cur.at = time.Unix(sec, usec*1000)
				}
			}
			continue
		}
		if cur == nil {
			continue
		}
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "string "); ok {
			if u, err := strconv.Unquote(s); err == nil {
				s = u
			}
			strs = append(strs, s)
		}
	}
	flush()
	return calls
}

// trayItem is one entry of the tray's dbusmenu.
type trayItem struct {
	id      string
	label   string
	enabled bool
}

var (
	dbusmenuItem  = regexp.MustCompile(`<\((\d+), \{([^}]*)\}`)
	dbusmenuLabel = regexp.MustCompile(`'label': <'((?:[^'\\]|\\.)*)'>`)
)

// session is the app's display and bus, read from session.sh's env file.
type session struct {
	env []string // for xdotool, gdbus, import
	pid string
}

// try runs a tool on the app's display and bus.
func (s session) try(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (s session) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := s.try(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// trayMenu reads the tray's menu labels over D-Bus, as a tray host would.
// The item registers a moment after the window shows.
func (s session) trayMenu() (dest, path string, items []trayItem, err error) {
	dest = "org.kde.StatusNotifierItem-" + s.pid + "-1"
	out, err := s.try("gdbus", "call", "--session", "--dest", dest, "--object-path", "/StatusNotifierItem",
		"--method", "org.freedesktop.DBus.Properties.Get", "org.kde.StatusNotifierItem", "Menu")
	if err != nil {
		return "", "", nil, err
	}
	m := regexp.MustCompile(`'(/[^']*)'`).FindStringSubmatch(out)
	if m == nil {
		return "", "", nil, fmt.Errorf("no menu path in %q", out)
	}
	path = m[1]
	layout, err := s.try("gdbus", "call", "--session", "--dest", dest, "--object-path", path,
		"--method", "com.canonical.dbusmenu.GetLayout", "--", "0", "-1", "[]")
	if err != nil {
		return "", "", nil, err
	}
	for _, it := range dbusmenuItem.FindAllStringSubmatch(layout, -1) {
		lm := dbusmenuLabel.FindStringSubmatch(it[2])
		if lm == nil {
			continue // a separator
		}
		items = append(items, trayItem{id: it[1], label: lm[1], enabled: !strings.Contains(it[2], "'enabled': <false>")})
	}
	return dest, path, items, nil
}

func TestDesktopEndToEnd(t *testing.T) {
	needDesktopTools(t)
	bin := hirebellBinary(t)
	env := testEnv(t)
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	out := t.TempDir()
	artifacts := artifactsDir(t)

	// The app holds the data folder's lock, so read the secret first.
	stdout, stderr, code := runCLI(t, env, "secret", "--data", data)
	if code != 0 {
		t.Fatalf("secret: exit %d: %s", code, stderr)
	}
	secret := strings.TrimSpace(stdout)

	// A few hires arrive while the window is closed (through serve), so
	// the window opens on a table, as on a normal morning.
	seed := []e2eHire{
		{"E2E-S1", "Maya", "Cohen", "Product Designer", "Design", "Daniel Levi", "2027-01-04"},
		{"E2E-S2", "Omer", "Katz", "Backend Engineer", "R&D", "Noa Friedman", "2027-01-11"},
		{"E2E-S3", "Priya", "Raman", "Data Analyst", "Finance", "Eitan Bar", "2026-12-14"},
		{"E2E-S4", "Jonas", "Berg", "Account Executive", "Sales", "Shira Adler", "2027-02-01"},
	}
	srv := startServe(t, env, data, addr)
	for _, h := range seed {
		deliver(t, addr, secret, h.payload())
	}
	if err := srv.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("serve did not stop cleanly: %v", err)
	}

	// No --no-tunnel: with no ngrok token (testEnv clears NGROK_AUTHTOKEN)
	// the public URL is off without touching the network, and the window
	// says what a new user must do.
	app := launchDesktop(t, env, out, artifacts, true, bin, "--data", data, "--listen", addr)
	sess, wid, exited := app.sess, app.wid, app.exited
	waitFor(t, "the receiver", 15*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})

	// Three new hires with a redelivery among them. Notifications go out
	// in order from one worker, so had the redelivery notified, the
	// third title would be Ada's again.
	ada := e2eHire{"E2E-1", "Ada", "Lovelace", "Engineer", "R&D", "Grace Hopper", "2027-01-04"}
	fresh := []e2eHire{
		ada,
		{"E2E-2", "Alan", "Turing", "Research Scientist", "R&D", "Ada Lovelace", "2027-03-01"},
		{"E2E-3", "Hedy", "Lamarr", "Radio Engineer", "Hardware", "Alan Turing", "2027-02-15"},
	}
	var acked []time.Time
	acked = append(acked, deliver(t, addr, secret, fresh[0].payload()))
	acked = append(acked, deliver(t, addr, secret, fresh[1].payload()))
	deliver(t, addr, secret, ada.payload()) // redelivery: 200, no notification
	acked = append(acked, deliver(t, addr, secret, fresh[2].payload()))

	notifyLog := filepath.Join(out, "notify.log")
	var calls []notifyCall
	waitFor(t, "three notifications", 15*time.Second, func() bool {
		calls = readNotifyCalls(notifyLog)
		return len(calls) >= 3
	})
	wantTitles := []string{"Ada Lovelace", "Alan Turing", "Hedy Lamarr"}
	wantBodies := []string{"Engineer, starts 4 Jan 2027", "Research Scientist, starts 1 Mar 2027", "Radio Engineer, starts 15 Feb 2027"}
	var lat []time.Duration
	for i, c := range calls[:3] {
		if c.title != wantTitles[i] || c.content != wantBodies[i] {
			t.Errorf("notification %d = %q / %q, want %q / %q", i, c.title, c.content, wantTitles[i], wantBodies[i])
		}
		if c.app != "app.hirebell.desktop" {
			t.Errorf("notification %d from app %q", i, c.app)
		}
		if icon, err := os.ReadFile(c.icon); err != nil || !bytes.HasPrefix(icon, []byte("\x89PNG")) {
			t.Errorf("notification %d icon %q is not a PNG (%v)", i, c.icon, err)
		}
		if !c.at.IsZero() {
			lat = append(lat, c.at.Sub(acked[i]))
		}
	}
	if len(lat) > 0 {
		sorted := append([]time.Duration(nil), lat...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		t.Logf("notification after its 200: %v (p50 %v)", lat, sorted[len(sorted)/2])
		if p50 := sorted[len(sorted)/2]; p50 > time.Second {
			t.Errorf("notifications left %v after the 200 (p50), want well under a second", p50)
		}
	}

	// A burst does not flood the desktop: past a few in a second, the
	// rest are told in one summary ("N new hires").
	burstHires := []e2eHire{
		{"E2E-B1", "Noa", "Levi", "QA Engineer", "R&D", "Omer Katz", "2027-01-18"},
		{"E2E-B2", "Daniel", "Mizrahi", "Sales Engineer", "Sales", "Shira Adler", "2027-02-01"},
		{"E2E-B3", "Yael", "Shapiro", "Marketing Manager", "Marketing", "Eitan Bar", "2027-01-11"},
		{"E2E-B4", "Tomás", "García", "Support Specialist", "Support", "Lea Martin", "2026-12-21"},
		{"E2E-B5", "Lina", "Haddad", "Frontend Engineer", "R&D", "Noa Friedman", "2027-03-07"},
		{"E2E-B6", "Amir", "Cohen", "DevOps Engineer", "R&D", "Noa Friedman", "2027-01-25"},
		{"E2E-B7", "Sofia", "Rossi", "Recruiter", "People", "Lea Martin", "2027-02-15"},
		{"E2E-B8", "Ethan", "Brooks", "Product Manager", "Product", "Daniel Levi", "2027-04-04"},
	}
	burst := len(burstHires)
	errs := make(chan error, burst)
	for _, h := range burstHires {
		go func() {
			_, err := post(addr, secret, h.payload())
			errs <- err
		}()
	}
	for range burst {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	summary := regexp.MustCompile(`^(\d+) new hires?$`)
	var singles, summed int
	waitFor(t, "the burst's notifications to add up", 15*time.Second, func() bool {
		singles, summed = 0, 0
		for _, c := range readNotifyCalls(notifyLog)[3:] {
			if m := summary.FindStringSubmatch(c.title); m != nil {
				n, _ := strconv.Atoi(m[1])
				summed += n
			} else {
				singles++
			}
		}
		return singles+summed >= burst
	})
	t.Logf("burst of %d: %d notified one by one, %d in a summary", burst, singles, summed)
	if singles+summed != burst || singles > 3 || summed == 0 {
		t.Errorf("burst of %d: %d single notifications and summaries of %d, want at most 3 single and the rest summed",
			burst, singles, summed)
	}

	// The tray, read as a tray host would. The unseen line follows the
	// table's reload, a moment after the hires.
	wantUnseen := unseenLine(len(seed) + len(fresh) + burst)
	var items []trayItem
	var dest string
	var trayErr error
	waitFor(t, "the tray menu to show "+wantUnseen, 15*time.Second, func() bool {
		dest, _, items, trayErr = sess.trayMenu()
		if trayErr != nil {
			return false
		}
		for _, it := range items {
			if it.label == wantUnseen && !it.enabled {
				return true
			}
		}
		return false
	})
	byLabel := map[string]trayItem{}
	var labels []string
	for _, it := range items {
		byLabel[it.label] = it
		labels = append(labels, it.label)
	}
	t.Logf("tray menu: %q", labels)
	for _, l := range []string{"Open Hirebell", "Copy webhook URL", "Copy secret", "Export CSV...", "Quit"} {
		if it, ok := byLabel[l]; !ok || !it.enabled {
			t.Errorf("tray menu lacks an enabled %q", l)
		}
	}
	if it, ok := byLabel["Public URL: off"]; !ok || it.enabled {
		t.Errorf("tray menu lacks the disabled tunnel line %q", "Public URL: off")
	}

	// A left click on the tray icon shows the window (from the right
	// goroutine: checked in the log below).
	sess.run(t, "gdbus", "call", "--session", "--dest", dest, "--object-path", "/StatusNotifierItem",
		"--method", "org.kde.StatusNotifierItem.Activate", "0", "0")

	// Let the reload paint, then keep a picture of the window.
	time.Sleep(500 * time.Millisecond)
	shot := filepath.Join(artifacts, "hirebell-window.png")
	sess.run(t, "import", "-window", wid, shot)
	t.Logf("screenshot: %s", shot)
	// Then of a hire's details and of the Setup tab, clicked where the
	// layout puts them: pictures for people to look at, nothing asserted.
	click := func(x, y int, name string) {
		X, Y := strconv.Itoa(x), strconv.Itoa(y)
		if _, err := sess.try("xdotool", "mousemove", "--window", wid, X, Y, "sleep", "0.3",
			"mousemove", "--window", wid, strconv.Itoa(x+2), Y, "sleep", "0.3", "click", "1"); err != nil {
			t.Logf("no %s screenshot: %v", name, err)
			return
		}
		time.Sleep(time.Second)
		sess.run(t, "import", "-window", wid, filepath.Join(artifacts, name))
	}
	click(80, 164, "hirebell-details.png") // the newest hire's row
	click(270, 50, "hirebell-setup.png")   // the Setup tab

	// "Send test hire" (where the Setup tab puts it) sends a signed sample
	// through the receiver: the receiver logs it as a test, not a hire.
	click(80, 386, "hirebell-selftest.png")
	waitFor(t, "the self-test to reach the receiver", 15*time.Second, func() bool {
		logs, _ := os.ReadFile(filepath.Join(out, "app.log"))
		return bytes.Contains(logs, []byte("outcome=test"))
	})

	// Closing the window hides it to the tray: hires still arrive, and a
	// click on the tray icon brings the window back.
	closer := buildHelper(t, "closewin")
	visible := func() bool {
		out, _ := sess.try("xdotool", "search", "--onlyvisible", "--name", "^Hirebell$")
		return strings.TrimSpace(out) != ""
	}
	if !visible() {
		t.Fatal("xdotool does not see the window as visible before closing it")
	}
	sess.run(t, closer, wid)
	waitFor(t, "the window to hide after close", 10*time.Second, func() bool { return !visible() })
	deliver(t, addr, secret, e2eHire{"E2E-H1", "Hidden", "Window", "Engineer", "R&D", "Ada Lovelace", "2027-05-03"}.payload())

	// The tray's copies work with the window hidden.
	clipget := buildHelper(t, "clipget")
	for _, c := range []struct{ label, want string }{
		{"Copy webhook URL", "http://" + addr + receiver.HookPath},
		{"Copy secret", secret},
	} {
		if err := sess.trayClick(t, c.label); err != nil {
			t.Fatal(err)
		}
		waitFor(t, c.label+" to fill the clipboard", 10*time.Second, func() bool {
			out, err := sess.try(clipget)
			return err == nil && out == c.want
		})
	}

	sess.run(t, "gdbus", "call", "--session", "--dest", dest, "--object-path", "/StatusNotifierItem",
		"--method", "org.kde.StatusNotifierItem.Activate", "0", "0")
	waitFor(t, "the tray click to show the window again", 10*time.Second, visible)

	// Export CSV... from the tray opens the save dialog with today's name
	// in the user's home; Return saves it there, readable by its owner only.
	home := ""
	for _, kv := range env {
		if h, ok := strings.CutPrefix(kv, "HOME="); ok {
			home = h
		}
	}
	csvPath := filepath.Join(home, "hires-"+time.Now().Format(time.DateOnly)+".csv")
	if err := sess.trayClick(t, "Export CSV..."); err != nil {
		t.Fatal(err)
	}
	var csvData []byte
	waitFor(t, "the export to reach "+csvPath, 15*time.Second, func() bool {
		sess.try("xdotool", "key", "--window", wid, "Return")
		csvData, _ = os.ReadFile(csvPath)
		return bytes.Count(csvData, []byte("\n")) > len(seed)+len(fresh)+burst
	})
	if fi, err := os.Stat(csvPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("export file %s: %v, mode %v; want 0600", csvPath, err, fi.Mode().Perm())
	}
	if !bytes.Contains(csvData, []byte("Hedy")) || !bytes.HasPrefix(csvData, []byte("comeet_id,")) {
		t.Errorf("the export lacks its header or a hire:\n%s", csvData)
	}
	time.Sleep(500 * time.Millisecond)
	sess.run(t, "import", "-window", wid, filepath.Join(artifacts, "hirebell-exported.png"))

	// A second copy on the same data folder says why it cannot start, in
	// a window of its own, and exits 1 when that window is closed.
	second := exec.Command(bin, "--data", data, "--listen", freeAddr(t), "--no-tunnel")
	second.Env = sess.env
	var secondOut bytes.Buffer
	second.Stdout, second.Stderr = &secondOut, &secondOut
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	secondDone := make(chan error, 1)
	go func() { secondDone <- second.Wait() }()
	var errWin string
	waitFor(t, "the second copy's message window", 20*time.Second, func() bool {
		out, _ := sess.try("xdotool", "search", "--onlyvisible", "--name", "^Hirebell$")
		for _, w := range strings.Fields(out) {
			if w != wid {
				errWin = w
			}
		}
		return errWin != ""
	})
	time.Sleep(500 * time.Millisecond)
	sess.run(t, "import", "-window", errWin, filepath.Join(artifacts, "hirebell-second-copy.png"))
	sess.run(t, closer, errWin)
	select {
	case err := <-secondDone:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("second copy ended with %v, want exit status 1\n%s", err, secondOut.String())
		}
	case <-time.After(20 * time.Second):
		second.Process.Kill()
		t.Fatalf("the second copy did not exit after its window was closed\n%s", secondOut.String())
	}
	if !strings.Contains(secondOut.String(), "already using the data folder") {
		t.Errorf("second copy said:\n%s", secondOut.String())
	}
	if strings.Contains(secondOut.String(), "panic:") {
		t.Errorf("second copy panicked:\n%s", secondOut.String())
	}

	// Quit through the tray menu, as a person would. The app may be gone
	// before it replies: that is a quit, not an error.
	if err := sess.trayClick(t, "Quit"); err != nil && !strings.Contains(err.Error(), "NoReply") {
		t.Fatalf("clicking Quit: %v", err)
	}
	select {
	case <-exited:
		if app.waitErr != nil {
			t.Errorf("the app did not exit cleanly after Quit: %v", app.waitErr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the app did not exit within 30 s of Quit")
	}
	if rc, _ := os.ReadFile(filepath.Join(out, "app.rc")); strings.TrimSpace(string(rc)) != "0" {
		t.Errorf("app exit status %q, want 0", strings.TrimSpace(string(rc)))
	}
	logs, _ := os.ReadFile(filepath.Join(out, "app.log"))
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "Error in Fyne call thread"} {
		if bytes.Contains(logs, []byte(bad)) {
			t.Errorf("app log contains %q", bad)
		}
	}
}

// desktopApp is the app running in its own X server.
type desktopApp struct {
	sess    session
	wid     string        // the main window
	exited  chan struct{} // closed when the app's session ended
	waitErr error         // its exit status, once exited is closed
}

// launchDesktop runs argv in a fresh Xvfb, in its own session bus when
// withBus (through session.sh), and waits for the Hirebell window. The
// output goes to out/app.log; logs are copied to artifacts at the end.
func launchDesktop(t *testing.T, env []string, out, artifacts string, withBus bool, argv ...string) *desktopApp {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	appLog, err := os.Create(filepath.Join(out, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { appLog.Close() })
	args := []string{"-a", "-s", "-screen 0 1280x800x24"}
	if withBus {
		args = append(args, "dbus-run-session", "--", "bash", filepath.Join(wd, ".ci/e2e/session.sh"), out)
	} else {
		args = append(args, "bash", "-c",
			`printf 'DISPLAY=%s\nXAUTHORITY=%s\nAPP_PID=%s\n' "$DISPLAY" "${XAUTHORITY:-}" "$$" >"$0/env"; exec "$@"`, out)
	}
	cmd := exec.Command("xvfb-run", append(args, argv...)...)
	cmd.Dir = wd // FyneApp.toml is read from here for a binary in a temp folder
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = appLog, appLog
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	app := &desktopApp{exited: make(chan struct{})}
	go func() { app.waitErr = cmd.Wait(); close(app.exited) }()
	t.Cleanup(func() {
		select {
		case <-app.exited:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-app.exited
		}
		prefix := "e2e-"
		if !withBus {
			prefix = "e2e-nobus-"
		}
		for _, name := range []string{"app.log", "notify.log"} {
			if b, err := os.ReadFile(filepath.Join(out, name)); err == nil {
				os.WriteFile(filepath.Join(artifacts, prefix+name), b, 0o644)
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(out, "app.log"))
			t.Logf("app output:\n%s", b)
		}
	})

	waitFor(t, "the session to start", 60*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(out, "env"))
		if err != nil {
			return false
		}
		app.sess.env = append([]string(nil), env...)
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if pid, ok := strings.CutPrefix(line, "APP_PID="); ok {
				app.sess.pid = pid
				continue
			}
			app.sess.env = append(app.sess.env, line)
		}
		return true
	})
	waitFor(t, "the Hirebell window", 30*time.Second, func() bool {
		out, _ := app.sess.try("xdotool", "search", "--name", "^Hirebell$")
		app.wid, _, _ = strings.Cut(strings.TrimSpace(out), "\n")
		return app.wid != ""
	})
	t.Logf("window up %v after launch", time.Since(started).Round(time.Millisecond))
	return app
}

// TestDesktopWithoutSessionBus runs the app where no session bus answers:
// no tray (Fyne issue 6403 would panic on quit), hires still arrive, and
// closing the window quits cleanly.
func TestDesktopWithoutSessionBus(t *testing.T) {
	needDesktopTools(t)
	bin := hirebellBinary(t)
	env := append(testEnv(t), "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/hirebell-test-bus")
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	stdout, stderr, code := runCLI(t, env, "secret", "--data", data)
	if code != 0 {
		t.Fatalf("secret: exit %d: %s", code, stderr)
	}
	secret := strings.TrimSpace(stdout)
	closer := buildHelper(t, "closewin")

	out := t.TempDir()
	app := launchDesktop(t, env, out, artifactsDir(t), false, bin, "--data", data, "--listen", addr, "--no-tunnel")
	waitFor(t, "the receiver", 15*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	deliver(t, addr, secret, e2eHire{"E2E-N1", "Ada", "Lovelace", "Engineer", "R&D", "Grace Hopper", "2027-01-04"}.payload())

	app.sess.run(t, closer, app.wid)
	select {
	case <-app.exited:
		if app.waitErr != nil {
			t.Errorf("closing the window did not quit cleanly: %v", app.waitErr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("closing the only window did not quit the app (no tray to keep it)")
	}
	logs, _ := os.ReadFile(filepath.Join(out, "app.log"))
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "Error in Fyne call thread", "systray"} {
		if bytes.Contains(logs, []byte(bad)) {
			t.Errorf("app log contains %q", bad)
		}
	}
}

// buildHelper compiles one of the small Xlib programs in .ci/e2e.
func buildHelper(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("gcc", "-o", bin, filepath.Join(".ci/e2e", name+".c"), "-lX11").CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

// trayClick clicks the tray menu item with that label, as a tray host
// would. Ids change whenever the menu is rebuilt, so the menu is read
// afresh each time.
func (s session) trayClick(t *testing.T, label string) error {
	t.Helper()
	dest, path, items, err := s.trayMenu()
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.label == label {
			_, err := s.try("gdbus", "call", "--session", "--dest", dest, "--object-path", path,
				"--method", "com.canonical.dbusmenu.Event", "--", it.id, "clicked", `<"">`, "0")
			return err
		}
	}
	t.Fatalf("no %q in the tray menu", label)
	return nil
}

// unseenLine is the tray's unseen line for n hires (ui.unseenText).
func unseenLine(n int) string {
	if n == 1 {
		return "1 new hire"
	}
	return fmt.Sprintf("%d new hires", n)
}
