package ui

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"hirebell/receiver"
	"hirebell/store"
)

// secretMask stands for the secret until the user reveals it.
const secretMask = "••••••••••••••••••••••••••••••••"

// selfTestTimeout bounds one "Send test hire".
const selfTestTimeout = 30 * time.Second

// copiedFor is how long a Copy button says "Copied".
const copiedFor = 1500 * time.Millisecond

// comeetSteps tells where the two values go in Comeet.
const comeetSteps = `1. In Comeet, open **Settings > Integrations** and choose **Hires API**.
2. Copy the **webhook URL** above and paste it into **Create employee URL**.
3. Copy the **secret** and paste it into **Secret Key**, then save.
4. Press **Send test hire** to check that hires can reach this computer.`

// setupPanel is the Setup tab: what to paste into Comeet, the public URL
// and its settings, and the self-test.
type setupPanel struct {
	st       *store.Store
	win      fyne.Window
	clip     func() fyne.Clipboard
	pub      publisher // nil: no tunnel this session (--no-tunnel)
	rcv      *receiver.Receiver
	localURL string
	envToken string
	log      *slog.Logger

	// do runs a function on the Fyne goroutine (fyne.Do); after runs one
	// later (time.AfterFunc). Tests replace both.
	do    func(func())
	after func(time.Duration, func())
	// selfTest sends the test hire (receiver.SelfTest in the app).
	selfTest func(ctx context.Context, baseURL string, secret []byte) receiver.SelfTestReport
	// afterSelfTest runs on the Fyne goroutine once a test finished (the
	// shell reloads the activity log).
	afterSelfTest func()

	status receiver.TunnelStatus

	url          *widget.Label
	urlNote      *widget.Label
	copyURL      *widget.Button
	secret       *widget.Label
	revealed     bool
	reveal       *widget.Button
	copySecret   *widget.Button
	rotate       *widget.Button
	statusTitle  *widget.Label
	statusDetail *widget.Label
	retry        *widget.Button
	token        *widget.Entry
	domain       *widget.Entry
	tokenSource  *widget.Label
	save         *widget.Button
	test         *widget.Button
	testResult   *widget.Label
	root         fyne.CanvasObject
}

// newSetupPanel builds the panel; set its status with setStatus.
func newSetupPanel(d Deps, w fyne.Window, do func(func()), after func(time.Duration, func())) *setupPanel {
	p := &setupPanel{
		st:       d.Store,
		win:      w,
		clip:     d.App.Clipboard,
		pub:      d.Publisher,
		rcv:      d.Receiver,
		localURL: d.LocalURL,
		envToken: strings.TrimSpace(d.EnvNgrokToken),
		log:      d.Log,
		do:       do,
		after:    after,
	}
	if p.rcv != nil {
		p.selfTest = func(ctx context.Context, baseURL string, secret []byte) receiver.SelfTestReport {
			return receiver.SelfTest(ctx, baseURL, secret, p.rcv, nil)
		}
	}
	p.build()
	if p.pub != nil {
		p.status = p.pub.Current()
	}
	p.showStatus()
	return p
}

func (p *setupPanel) build() {
	// The URL and the secret use the regular face: a monospace face is
	// several megabytes that Fyne keeps loaded for good, and neither value
	// has characters that read alike in it (the secret is lowercase hex).
	p.url = widget.NewLabel("")
	p.url.Selectable = true
	p.urlNote = widget.NewLabel("")
	p.urlNote.Wrapping = fyne.TextWrapWord
	p.urlNote.Importance = widget.WarningImportance
	p.copyURL = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		p.copyText(p.copyURL, webhookURL(p.status, p.localURL))
	})

	p.secret = widget.NewLabel(secretMask)
	p.secret.Selectable = true
	p.reveal = widget.NewButtonWithIcon("Show", theme.VisibilityIcon(), p.toggleReveal)
	p.copySecret = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		if s, ok := p.readSecret(); ok {
			p.copyText(p.copySecret, s)
		}
	})
	p.rotate = widget.NewButtonWithIcon("New secret…", theme.ViewRefreshIcon(), p.confirmRotate)

	steps := widget.NewRichTextFromMarkdown(comeetSteps)
	steps.Wrapping = fyne.TextWrapWord

	form := container.New(layout.NewFormLayout(),
		boldLabel("Webhook URL"), container.NewHBox(p.url, p.copyURL),
		boldLabel("Secret"), container.NewHBox(p.secret, p.reveal, p.copySecret, p.rotate),
	)

	p.statusTitle = widget.NewLabel("")
	p.statusTitle.TextStyle = fyne.TextStyle{Bold: true}
	p.statusDetail = widget.NewLabel("")
	p.statusDetail.Wrapping = fyne.TextWrapWord
	p.retry = widget.NewButtonWithIcon("Retry", theme.ViewRefreshIcon(), func() {
		if p.pub != nil {
			p.pub.Retry()
		}
	})
	p.retry.Hide()

	p.token = widget.NewPasswordEntry()
	p.token.SetPlaceHolder("paste your ngrok authtoken")
	p.domain = widget.NewEntry()
	p.domain.SetPlaceHolder("optional, like yourname.ngrok-free.app")
	if tok, err := p.st.Setting(store.SettingNgrokToken); err != nil {
		p.logError("read the ngrok authtoken setting", err)
	} else {
		p.token.SetText(tok)
	}
	if dom, err := p.st.Setting(store.SettingNgrokDomain); err != nil {
		p.logError("read the ngrok domain setting", err)
	} else {
		p.domain.SetText(dom)
	}
	p.tokenSource = widget.NewLabel("")
	p.tokenSource.Wrapping = fyne.TextWrapWord
	saveText := "Save and connect"
	if p.pub == nil {
		saveText = "Save"
	}
	p.save = widget.NewButtonWithIcon(saveText, theme.DocumentSaveIcon(), p.saveTunnelSettings)
	p.save.Importance = widget.HighImportance
	p.token.OnSubmitted = func(string) { p.saveTunnelSettings() }
	p.domain.OnSubmitted = func(string) { p.saveTunnelSettings() }
	p.showTokenSource()

	tunnelForm := container.New(layout.NewFormLayout(),
		boldLabel("Authtoken"), p.token,
		boldLabel("Reserved domain"), p.domain,
	)
	public := widget.NewCard("Public URL", "ngrok gives this computer an HTTPS address that Comeet can reach.",
		container.NewVBox(
			container.NewBorder(nil, nil, nil, p.retry, p.statusTitle),
			p.statusDetail,
			widget.NewSeparator(),
			tunnelForm,
			container.NewBorder(nil, nil, nil, p.save, p.tokenSource),
		))

	p.test = widget.NewButtonWithIcon("Send test hire", theme.MailSendIcon(), p.runSelfTest)
	p.testResult = widget.NewLabel("Sends a signed sample hire to the webhook URL and checks that it comes back here. It is not stored as a hire.")
	p.testResult.Wrapping = fyne.TextWrapWord
	if p.rcv == nil && p.selfTest == nil {
		p.test.Disable()
	}
	check := container.NewBorder(nil, nil, container.NewVBox(p.test), nil, p.testResult)
	comeet := widget.NewCard("Connect Comeet", "Give Comeet these two values so that it sends each new hire here.",
		container.NewVBox(form, p.urlNote, steps, check))

	p.root = container.NewVScroll(container.NewPadded(container.NewVBox(comeet, public)))
}

// content returns the panel.
func (p *setupPanel) content() fyne.CanvasObject { return p.root }

// setStatus shows a new tunnel status. Fyne goroutine only.
func (p *setupPanel) setStatus(s receiver.TunnelStatus) {
	p.status = s
	p.showStatus()
}

func (p *setupPanel) showStatus() {
	v := describeTunnel(p.status, p.pub != nil)
	p.statusTitle.SetText(v.Title)
	p.statusTitle.Importance = v.Importance
	p.statusTitle.Refresh()
	p.statusDetail.SetText(v.Detail)
	if v.Retry {
		p.retry.Show()
	} else {
		p.retry.Hide()
	}
	p.url.SetText(webhookURL(p.status, p.localURL))
	if v.Public {
		p.urlNote.Hide()
	} else {
		p.urlNote.SetText("This is the local address: it works on this computer only, so Comeet cannot reach it yet. " +
			"See Public URL below.")
		p.urlNote.Show()
	}
}

// showTokenSource says which authtoken is in use.
func (p *setupPanel) showTokenSource() {
	saved := strings.TrimSpace(p.token.Text) != ""
	switch {
	case p.pub == nil && saved:
		p.tokenSource.SetText("Saved. The public URL starts when Hirebell runs without --no-tunnel.")
	case saved:
		p.tokenSource.SetText("Using the authtoken saved here.")
	case p.envToken != "":
		p.tokenSource.SetText("Using the authtoken from NGROK_AUTHTOKEN. One saved here takes its place.")
	default:
		p.tokenSource.SetText("No authtoken saved yet.")
	}
}

// saveTunnelSettings stores the token and domain and applies them without
// a restart. An empty token falls back to NGROK_AUTHTOKEN.
func (p *setupPanel) saveTunnelSettings() {
	tok := strings.TrimSpace(p.token.Text)
	dom := normaliseDomain(p.domain.Text)
	if err := p.st.SetSetting(store.SettingNgrokToken, tok); err != nil {
		p.showError("save the ngrok authtoken", err)
		return
	}
	if err := p.st.SetSetting(store.SettingNgrokDomain, dom); err != nil {
		p.showError("save the ngrok domain", err)
		return
	}
	if p.token.Text != tok {
		p.token.SetText(tok)
	}
	if p.domain.Text != dom {
		p.domain.SetText(dom)
	}
	p.showTokenSource()
	if p.pub == nil {
		return
	}
	if tok == "" {
		tok = p.envToken
	}
	p.pub.Reconfigure(tok, dom)
}

// normaliseDomain accepts a pasted URL as well as a bare domain.
func normaliseDomain(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "https://")
	s = strings.TrimPrefix(s, "http://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(s)
}

func (p *setupPanel) readSecret() (string, bool) {
	s, err := p.st.Secret()
	if err != nil {
		p.showError("read the webhook secret", err)
		return "", false
	}
	return s, true
}

func (p *setupPanel) toggleReveal() {
	if p.revealed {
		p.hideSecret()
		return
	}
	s, ok := p.readSecret()
	if !ok {
		return
	}
	p.revealed = true
	p.secret.SetText(s)
	p.reveal.SetText("Hide")
	p.reveal.SetIcon(theme.VisibilityOffIcon())
}

func (p *setupPanel) hideSecret() {
	p.revealed = false
	p.secret.SetText(secretMask)
	p.reveal.SetText("Show")
	p.reveal.SetIcon(theme.VisibilityIcon())
}

// copyText puts text on the clipboard and says so on the button for a
// moment.
func (p *setupPanel) copyText(b *widget.Button, text string) {
	p.clip().SetContent(text)
	b.SetText("Copied")
	b.SetIcon(theme.ConfirmIcon())
	p.after(copiedFor, func() {
		p.do(func() {
			b.SetText("Copy")
			b.SetIcon(theme.ContentCopyIcon())
		})
	})
}

func (p *setupPanel) confirmRotate() {
	d := dialog.NewConfirm("Make a new secret?",
		"Comeet keeps sending the old secret until you paste the new one into\n"+
			"Settings > Integrations > Hires API > Secret Key.\n"+
			"Until then every hire Comeet sends is refused.",
		func(ok bool) {
			if ok {
				p.rotateSecret()
			}
		}, p.win)
	d.SetConfirmText("Make new secret")
	d.SetDismissText("Cancel")
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

func (p *setupPanel) rotateSecret() {
	s, err := p.st.RotateSecret()
	if err != nil {
		p.showError("make a new secret", err)
		return
	}
	p.log.Info("webhook secret rotated")
	p.revealed = true
	p.secret.SetText(s)
	p.reveal.SetText("Hide")
	p.reveal.SetIcon(theme.VisibilityOffIcon())
	dialog.ShowInformation("New secret made",
		"Copy it now and paste it into Comeet's Secret Key field.\nHires signed with the old secret are refused from now on.", p.win)
}

// runSelfTest sends a test hire from a goroutine and shows the outcome.
func (p *setupPanel) runSelfTest() {
	if p.selfTest == nil {
		return
	}
	secret, ok := p.readSecret()
	if !ok {
		return
	}
	v := describeTunnel(p.status, p.pub != nil)
	base := strings.TrimSuffix(p.localURL, "/")
	where := "the local address"
	if v.Public {
		base, where = strings.TrimSuffix(p.status.URL, "/"), "the public URL"
	}
	p.test.Disable()
	p.testResult.Importance = widget.MediumImportance
	p.testResult.SetText("Sending a test hire through " + where + "…")
	run := p.selfTest
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), selfTestTimeout)
		defer cancel()
		rep := run(ctx, base, []byte(secret))
		p.do(func() { p.showTestResult(rep, v.Public) })
	}()
}

func (p *setupPanel) showTestResult(rep receiver.SelfTestReport, public bool) {
	p.test.Enable()
	if rep.OK {
		msg := "Passed. " + rep.Message
		if !public {
			// The receiver's message says Comeet can reach it; from the
			// local address that is not so.
			msg = fmt.Sprintf("Passed on this computer: the test hire came back in %d ms. "+
				"This was the local address, which Comeet cannot reach: set up the public URL below.",
				rep.Elapsed.Milliseconds())
		}
		p.testResult.Importance = widget.SuccessImportance
		p.testResult.SetText(msg)
	} else {
		p.testResult.Importance = widget.DangerImportance
		p.testResult.SetText(fmt.Sprintf("Failed at the %s step. %s", orDefault(rep.Step, "receiver"), rep.Message))
		p.log.Warn("self-test failed", "step", rep.Step, "elapsed", rep.Elapsed)
	}
	if p.afterSelfTest != nil {
		p.afterSelfTest()
	}
}

func (p *setupPanel) logError(what string, err error) {
	p.log.Error("setup: cannot "+what, "err", err)
}

func (p *setupPanel) showError(what string, err error) {
	err = fmt.Errorf("cannot %s: %w", what, err)
	fyne.LogError("setup", err)
	dialog.ShowError(err, p.win)
}

func boldLabel(s string) *widget.Label {
	return widget.NewLabelWithStyle(s, fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
}
