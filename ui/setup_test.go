package ui

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"hirebell/receiver"
	"hirebell/store"
)

// shellOverlayButton returns the button labelled text in the window's top
// overlay (an open dialog), or fails.
func shellOverlayButton(t *testing.T, w fyne.Window, text string) *widget.Button {
	t.Helper()
	top := w.Canvas().Overlays().Top()
	if top == nil {
		t.Fatalf("no dialog is open (looking for %q)", text)
	}
	b := shellFindButton(top, text)
	if b == nil {
		t.Fatalf("the open dialog has no %q button", text)
	}
	return b
}

func TestSetupCopyButtons(t *testing.T) {
	e := newShellEnv(t, false)
	p := e.ui.setup
	secret, err := e.st.Secret()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		button *widget.Button
		want   string
	}{
		{"webhook URL", p.copyURL, shellLocalURL + receiver.HookPath},
		{"secret", p.copySecret, secret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.app.Clipboard().SetContent("")
			test.Tap(tt.button)
			if got := e.app.Clipboard().Content(); got != tt.want {
				t.Errorf("clipboard = %q, want %q", got, tt.want)
			}
			if tt.button.Text != "Copied" {
				t.Errorf("button says %q after copying", tt.button.Text)
			}
			e.tm.fire()
			e.queue.runOne(t)
			if tt.button.Text != "Copy" {
				t.Errorf("button says %q once the moment passed", tt.button.Text)
			}
		})
	}
	if p.revealed || p.secret.Text != secretMask {
		t.Error("copying revealed the secret")
	}
}

func TestSetupRevealSecret(t *testing.T) {
	e := newShellEnv(t, false)
	p := e.ui.setup
	secret, _ := e.st.Secret()
	if p.secret.Text != secretMask || strings.Contains(p.secret.Text, secret) {
		t.Fatal("the secret is shown before Show was pressed")
	}
	test.Tap(p.reveal)
	if p.secret.Text != secret || p.reveal.Text != "Hide" {
		t.Errorf("after Show: secret %q, button %q", p.secret.Text, p.reveal.Text)
	}
	test.Tap(p.reveal)
	if p.secret.Text != secretMask || p.reveal.Text != "Show" {
		t.Errorf("after Hide: secret %q, button %q", p.secret.Text, p.reveal.Text)
	}
}

func TestSetupRotateSecret(t *testing.T) {
	e := newShellEnv(t, false)
	p := e.ui.setup
	old, _ := e.st.Secret()

	t.Run("cancel keeps the secret", func(t *testing.T) {
		test.Tap(p.rotate)
		test.Tap(shellOverlayButton(t, e.ui.w, "Cancel"))
		if now, _ := e.st.Secret(); now != old {
			t.Error("the secret changed though the user cancelled")
		}
	})
	t.Run("confirm makes a new one and shows it", func(t *testing.T) {
		test.Tap(p.rotate)
		top := e.ui.w.Canvas().Overlays().Top()
		if shellFindLabel(top, "") == nil && !strings.Contains(shellTexts(top), "Comeet keeps sending the old secret") {
			t.Error("the confirmation does not warn that Comeet must be updated")
		}
		test.Tap(shellOverlayButton(t, e.ui.w, "Make new secret"))
		now, _ := e.st.Secret()
		if now == old || now == "" {
			t.Fatal("the secret did not change")
		}
		if p.secret.Text != now {
			t.Errorf("the new secret is not shown (label %q)", p.secret.Text)
		}
		if !strings.Contains(shellTexts(e.ui.w.Canvas().Overlays().Top()), "paste it into Comeet") {
			t.Error("no dialog tells the user to update Comeet")
		}
		test.Tap(p.copySecret)
		if got := e.app.Clipboard().Content(); got != now {
			t.Error("Copy gives the old secret after rotating")
		}
	})
}

// shellTexts joins every label and rich text under o, for "does it say"
// checks.
func shellTexts(o fyne.CanvasObject) string {
	var b strings.Builder
	walkAll(o, func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			b.WriteString(x.Text + "\n")
		case *widget.RichText:
			b.WriteString(x.String() + "\n")
		}
	})
	return b.String()
}

func TestSetupSaveTunnelSettings(t *testing.T) {
	tests := []struct {
		name       string
		env        string
		token      string
		domain     string
		wantToken  string
		wantDomain string
		wantSaved  string
		source     string
	}{
		{"token typed", "", " tok_123 ", "bell.ngrok-free.app", "tok_123", "bell.ngrok-free.app", "tok_123", "saved here"},
		{"pasted URL as domain", "", "tok_1", "https://Bell.ngrok-free.app/", "tok_1", "bell.ngrok-free.app", "tok_1", "saved here"},
		{"empty falls back to the environment", "env_tok", "", "", "env_tok", "", "", "NGROK_AUTHTOKEN"},
		{"saved beats the environment", "env_tok", "mine", "", "mine", "", "mine", "saved here"},
		{"nothing at all", "", "", "", "", "", "", "No authtoken saved yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newShellEnv(t, true)
			p := e.ui.setup
			p.envToken = tt.env
			test.Type(p.token, tt.token)
			test.Type(p.domain, tt.domain)
			test.Tap(p.save)

			got, calls := e.pub.lastConfig()
			if calls != 1 {
				t.Fatalf("Reconfigure called %d times, want 1", calls)
			}
			if got != [2]string{tt.wantToken, tt.wantDomain} {
				t.Errorf("Reconfigure(%q, %q), want (%q, %q)", got[0], got[1], tt.wantToken, tt.wantDomain)
			}
			saved, _ := e.st.Setting(store.SettingNgrokToken)
			if saved != tt.wantSaved {
				t.Errorf("saved token %q, want %q", saved, tt.wantSaved)
			}
			dom, _ := e.st.Setting(store.SettingNgrokDomain)
			if dom != tt.wantDomain {
				t.Errorf("saved domain %q, want %q", dom, tt.wantDomain)
			}
			if !strings.Contains(p.tokenSource.Text, tt.source) {
				t.Errorf("token source %q does not mention %q", p.tokenSource.Text, tt.source)
			}
		})
	}
}

func TestSetupLoadsSavedTunnelSettings(t *testing.T) {
	app := test.NewTempApp(t)
	st := shellStore(t)
	if err := st.SetSetting(store.SettingNgrokToken, "tok_saved"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(store.SettingNgrokDomain, "bell.ngrok-free.app"); err != nil {
		t.Fatal(err)
	}
	u := New(Deps{App: app, Store: st, LocalURL: shellLocalURL, Publisher: &shellPublisher{}})
	t.Cleanup(u.stop)
	if u.setup.token.Text != "tok_saved" || !u.setup.token.Password {
		t.Errorf("token entry %q (password %v)", u.setup.token.Text, u.setup.token.Password)
	}
	if u.setup.domain.Text != "bell.ngrok-free.app" {
		t.Errorf("domain entry %q", u.setup.domain.Text)
	}
}

func TestSetupSaveWithoutTunnel(t *testing.T) {
	e := newShellEnv(t, false)
	p := e.ui.setup
	test.Type(p.token, "tok_later")
	test.Tap(p.save)
	if saved, _ := e.st.Setting(store.SettingNgrokToken); saved != "tok_later" {
		t.Errorf("saved %q", saved)
	}
	if !strings.Contains(p.tokenSource.Text, "--no-tunnel") {
		t.Errorf("token source %q does not say when it applies", p.tokenSource.Text)
	}
}

func TestSetupRetryButton(t *testing.T) {
	e := newShellEnv(t, true)
	p := e.ui.setup
	if p.retry.Visible() {
		t.Error("Retry shown while off")
	}
	p.setStatus(receiver.TunnelStatus{State: receiver.TunnelNeedsAttention, Code: "ERR_NGROK_108", Reason: "Too many sessions."})
	if !p.retry.Visible() {
		t.Fatal("Retry hidden while the tunnel needs attention")
	}
	test.Tap(p.retry)
	e.pub.mu.Lock()
	retries := e.pub.retries
	e.pub.mu.Unlock()
	if retries != 1 {
		t.Errorf("Retry called %d times", retries)
	}
	if !strings.Contains(p.statusDetail.Text, "ERR_NGROK_108") {
		t.Errorf("detail %q lacks the code", p.statusDetail.Text)
	}
}

func TestSetupSelfTest(t *testing.T) {
	tests := []struct {
		name     string
		status   receiver.TunnelStatus
		report   receiver.SelfTestReport
		wantBase string
		says     []string
		avoid    []string
		imp      widget.Importance
	}{
		{
			name:     "local passes",
			report:   receiver.SelfTestReport{OK: true, Message: "Comeet can reach it.", Elapsed: 3 * time.Millisecond},
			wantBase: shellLocalURL,
			says:     []string{"Passed on this computer", "came back in 3 ms", "Comeet cannot reach"},
			avoid:    []string{"Comeet can reach it"},
			imp:      widget.SuccessImportance,
		},
		{
			name:     "public passes",
			status:   receiver.TunnelStatus{State: receiver.TunnelOnline, URL: "https://bell.ngrok-free.app"},
			report:   receiver.SelfTestReport{OK: true, Message: "The test hire came back in 230 ms."},
			wantBase: "https://bell.ngrok-free.app",
			says:     []string{"Passed.", "230 ms"},
			imp:      widget.SuccessImportance,
		},
		{
			name:     "public fails at the tunnel",
			status:   receiver.TunnelStatus{State: receiver.TunnelOnline, URL: "https://bell.ngrok-free.app"},
			report:   receiver.SelfTestReport{Step: receiver.StepTunnel, Message: "ngrok answered ERR_NGROK_3200."},
			wantBase: "https://bell.ngrok-free.app",
			says:     []string{"Failed at the tunnel step.", "ERR_NGROK_3200"},
			imp:      widget.DangerImportance,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newShellEnv(t, true)
			p := e.ui.setup
			p.setStatus(tt.status)
			secret, _ := e.st.Secret()
			calls := make(chan string, 1)
			p.selfTest = func(_ context.Context, base string, s []byte) receiver.SelfTestReport {
				if string(s) != secret {
					calls <- "wrong secret"
				} else {
					calls <- base
				}
				return tt.report
			}
			p.test.Enable()
			test.Tap(p.test)
			if !p.test.Disabled() || !strings.Contains(p.testResult.Text, "Sending") {
				t.Errorf("while running: disabled %v, text %q", p.test.Disabled(), p.testResult.Text)
			}
			if base := <-calls; base != tt.wantBase {
				t.Errorf("self-test sent to %q, want %q", base, tt.wantBase)
			}
			e.queue.runOne(t)
			if p.test.Disabled() {
				t.Error("button still disabled after the test")
			}
			for _, s := range tt.says {
				if !strings.Contains(p.testResult.Text, s) {
					t.Errorf("result %q lacks %q", p.testResult.Text, s)
				}
			}
			for _, s := range tt.avoid {
				if strings.Contains(p.testResult.Text, s) {
					t.Errorf("result %q says %q", p.testResult.Text, s)
				}
			}
			if p.testResult.Importance != tt.imp {
				t.Errorf("importance %v, want %v", p.testResult.Importance, tt.imp)
			}
		})
	}
}

func TestSetupSelfTestNeedsReceiver(t *testing.T) {
	e := newShellEnv(t, false)
	if !e.ui.setup.test.Disabled() {
		t.Error("Send test hire is enabled with no receiver to test")
	}
}

func TestSetupMarkup(t *testing.T) {
	tests := []struct {
		name   string
		pub    bool
		status receiver.TunnelStatus
		golden string
	}{
		{"no tunnel", false, receiver.TunnelStatus{}, "setup_no_tunnel.xml"},
		{"no token", true, receiver.TunnelStatus{State: receiver.TunnelOff, Reason: receiver.ReasonNoToken}, "setup_no_token.xml"},
		{"online", true, receiver.TunnelStatus{State: receiver.TunnelOnline, URL: "https://bell.ngrok-free.app", Latency: 42_000_000}, "setup_online.xml"},
		{"needs attention", true, receiver.TunnelStatus{State: receiver.TunnelNeedsAttention, Code: "ERR_NGROK_107",
			Reason: "ngrok rejected the authtoken. Copy it again from dashboard.ngrok.com and press Save."}, "setup_needs_attention.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newShellEnv(t, tt.pub)
			p := e.ui.setup
			p.setStatus(tt.status)
			w := test.NewTempWindow(t, p.content())
			w.Resize(fyne.NewSize(900, 900))
			test.AssertRendersToMarkup(t, tt.golden, w.Canvas())
		})
	}
}

// shellExposer is a fake ngrok: Expose reports online at once with url.
type shellExposer struct{ url string }

type shellTunnel struct{ url string }

func (t shellTunnel) URL() string  { return t.url }
func (t shellTunnel) Close() error { return nil }

func (x shellExposer) Expose(_ context.Context, _ *http.Server, status func(receiver.TunnelStatus)) (receiver.Tunnel, error) {
	status(receiver.TunnelStatus{State: receiver.TunnelOnline, URL: x.url})
	return shellTunnel(x), nil
}

// TestSetupWithRealPublisher drives the panel with receiver.Publisher
// itself (only ngrok is faked): a token saved in Setup brings the public
// URL up without a restart.
func TestSetupWithRealPublisher(t *testing.T) {
	app := test.NewTempApp(t)
	st := shellStore(t)
	var tokens []string
	var mu sync.Mutex
	pub := receiver.NewPublisher(&http.Server{}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(token, domain string) receiver.Exposer {
		mu.Lock()
		tokens = append(tokens, token+"|"+domain)
		mu.Unlock()
		return shellExposer{url: "https://" + domain}
	})
	t.Cleanup(func() { pub.Close(context.Background()) })

	u := New(Deps{App: app, Store: st, LocalURL: shellLocalURL, Publisher: pub})
	q := make(shellQueue, 64)
	u.do = q.do
	u.start()
	t.Cleanup(u.stop)
	q.runOne(t) // the current status, sent on subscribe
	if got := u.setup.statusTitle.Text; got != "Public URL: off" {
		t.Fatalf("status before a token = %q", got)
	}

	test.Type(u.setup.token, "tok_real")
	test.Type(u.setup.domain, "bell.ngrok-free.app")
	test.Tap(u.setup.save)
	deadline := time.After(5 * time.Second)
	for u.setup.statusTitle.Text != "Public URL: online" {
		select {
		case f := <-q:
			f()
		case <-deadline:
			t.Fatalf("status stuck at %q", u.setup.statusTitle.Text)
		}
	}
	if got, want := u.setup.url.Text, "https://bell.ngrok-free.app/hooks/comeet"; got != want {
		t.Errorf("webhook URL = %q, want %q", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(tokens) != 1 || tokens[0] != "tok_real|bell.ngrok-free.app" {
		t.Errorf("exposer built with %q", tokens)
	}
}
