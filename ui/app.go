// Package ui is Hirebell's desktop face: the window, the tray menu, the
// hires table, the setup panel, notifications and the export dialog.
package ui

import (
	"fmt"
	"image/color"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"hirebell/assets"
	"hirebell/receiver"
	"hirebell/store"
)

// refreshDelay is how long the first hire of a burst waits before the
// table is reloaded; hires arriving meanwhile share that reload. It caps
// reloads at a few per second however fast hires come.
const refreshDelay = 150 * time.Millisecond

// Deps is what the UI needs from main.
type Deps struct {
	// App is the Fyne app (app.NewWithID). Required.
	App fyne.App
	// Store holds the hires and settings. Required.
	Store *store.Store
	// Receiver runs the self-test; nil disables "Send test hire".
	Receiver *receiver.Receiver
	// LocalURL is the local listener, like http://127.0.0.1:8725 (no path).
	LocalURL string
	// Publisher is the public URL (a *receiver.Publisher); nil means no
	// tunnel this session (--no-tunnel), and the UI says so.
	Publisher publisher
	// EnvNgrokToken is NGROK_AUTHTOKEN, used when no token is saved in
	// the settings; the Setup panel says which one is in use.
	EnvNgrokToken string
	// Log gets the UI's log lines; nil means slog.Default().
	Log *slog.Logger
	// NoTray keeps the tray off even when a session bus is reachable.
	NoTray bool
}

// UI is the running desktop app.
type UI struct {
	d           Deps
	w           fyne.Window
	tabs        *container.AppTabs
	hiresTab    *container.TabItem
	activityTab *container.TabItem
	setupTab    *container.TabItem
	hires       *hiresView
	activity    *activityView
	setup       *setupPanel
	tray        *trayMenu // nil without a tray
	notes       *notifier

	// do runs a function on the Fyne goroutine (fyne.Do); after runs one
	// later (time.AfterFunc). Tests replace both to stay on one goroutine.
	do    func(func())
	after func(time.Duration, func())
	// refresh reloads the views from the store. Fyne goroutine only.
	refresh func()
	// notify sends one desktop notification; it may block (D-Bus).
	notify func(*fyne.Notification)

	mu             sync.Mutex
	refreshPending bool
	stopped        atomic.Bool
	unsubscribe    func()

	// Fyne goroutine only.
	status receiver.TunnelStatus
	unseen int
}

// New builds the window, its tabs and, when a session bus is reachable,
// the tray; it shows nothing until Run.
func New(d Deps) *UI {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Publisher != nil && isNilPublisher(d.Publisher) {
		d.Publisher = nil
	}
	d.App.SetIcon(assets.Icon)
	u := &UI{d: d, do: fyne.Do, after: afterFunc}
	u.notify = d.App.SendNotification
	u.notes = newNotifier(func(n *fyne.Notification) { u.notify(n) })
	u.refresh = u.refreshNow

	u.w = d.App.NewWindow("Hirebell")
	u.w.SetIcon(assets.Icon)
	u.w.Resize(fyne.NewSize(1240, 740)) // every column beside the details on a 1366 px laptop screen
	u.w.SetMaster()

	u.hires = newHiresView(d.Store, u.w)
	u.hires.onUnseenChanged = u.setUnseen
	u.hires.extraDetails = func(h store.Hire) fyne.CanvasObject { return newDocumentsSection(d.Store, u.w, h) }
	u.activity = newActivityView(d.Store, u.w)
	u.setup = newSetupPanel(d, u.w, func(f func()) { u.do(f) }, func(t time.Duration, f func()) { u.after(t, f) })
	u.setup.afterSelfTest = u.activity.reload

	u.hiresTab = container.NewTabItemWithIcon("Hires", theme.AccountIcon(), u.hires.content())
	u.setupTab = container.NewTabItemWithIcon("Setup", theme.SettingsIcon(), u.setup.content())
	u.activityTab = container.NewTabItemWithIcon("Activity", theme.HistoryIcon(), u.activity.content())
	u.tabs = container.NewAppTabs(u.hiresTab, u.activityTab, u.setupTab)
	// The log is read when its tab is shown (refused deliveries never
	// reach HireArrived, so a wrong secret appears at once) and, while it
	// is shown, on each refresh; not behind the user's back.
	u.tabs.OnSelected = func(t *container.TabItem) {
		if t == u.activityTab {
			u.activity.reload()
		}
	}
	u.w.SetContent(u.tabs)
	quitItem := fyne.NewMenuItem("Quit", u.quit)
	quitItem.IsQuit = true
	u.w.SetMainMenu(fyne.NewMainMenu(fyne.NewMenu("File",
		fyne.NewMenuItem("Export CSV...", u.showExport),
		fyne.NewMenuItem("Open setup", func() { u.tabs.Select(u.setupTab) }),
		fyne.NewMenuItemSeparator(),
		quitItem,
	)))
	// A first-time user has nothing to see yet but what to set up.
	if empty, err := d.Store.Empty(); err != nil {
		d.Log.Error("read hires", "err", err)
	} else if empty {
		u.tabs.Select(u.setupTab)
	}

	if d.Publisher != nil {
		u.status = d.Publisher.Current()
	}
	if desk, ok := d.App.(desktop.App); ok && !d.NoTray && sessionBusReachable(os.Getenv("DBUS_SESSION_BUS_ADDRESS")) {
		u.tray = newTrayMenu(u.showWindow, u.copyWebhookURL, u.copySecret, u.showExport, u.quit)
		u.tray.set(describeTunnel(u.status, d.Publisher != nil).Title, 0)
		installTray(desk, u.tray, u.showWindow)
		// With a tray, closing the window keeps Hirebell receiving.
		u.w.SetCloseIntercept(u.w.Hide)
	} else {
		// Without a tray, closing the window quits.
		u.w.SetCloseIntercept(u.quit)
	}
	u.setUnseen(u.hires.unseen())
	d.App.Lifecycle().SetOnStopped(u.stop)
	return u
}

// isNilPublisher tells a nil *receiver.Publisher passed as an interface.
func isNilPublisher(p interface{ Current() receiver.TunnelStatus }) bool {
	pp, ok := p.(*receiver.Publisher)
	return ok && pp == nil
}

func afterFunc(d time.Duration, f func()) { time.AfterFunc(d, f) }

// start begins following the tunnel status. Run calls it; tests call it
// after replacing do.
func (u *UI) start() {
	if u.d.Publisher == nil {
		return
	}
	ch, cancel := u.d.Publisher.Subscribe()
	u.mu.Lock()
	u.unsubscribe = cancel
	u.mu.Unlock()
	go func() {
		for s := range ch {
			if u.stopped.Load() {
				continue // drain until cancel closes ch
			}
			u.do(func() { u.setStatus(s) })
		}
	}()
}

// stop ends the status subscription and the notifier. It runs when the
// app stops.
func (u *UI) stop() {
	if u.stopped.Swap(true) {
		return
	}
	u.mu.Lock()
	cancel := u.unsubscribe
	u.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	u.notes.close()
}

// HireArrived tells the UI about a stored hire. Safe from any goroutine; it
// never blocks. A new hire is notified at once (a burst is summarised);
// the table reload is coalesced.
func (u *UI) HireArrived(res store.SaveResult) {
	if u == nil || u.stopped.Load() {
		return
	}
	if res.New {
		u.notes.hire(res.Hire)
	}
	u.mu.Lock()
	pending := u.refreshPending
	u.refreshPending = true
	u.mu.Unlock()
	if pending {
		return
	}
	u.after(refreshDelay, func() {
		u.mu.Lock()
		u.refreshPending = false
		u.mu.Unlock()
		if !u.stopped.Load() {
			u.do(u.refresh)
		}
	})
}

// refreshNow reloads the views from the store. Fyne goroutine only.
func (u *UI) refreshNow() {
	u.hires.reload()
	if u.tabs.Selected() == u.activityTab {
		u.activity.reload()
	}
	u.setUnseen(u.hires.unseen())
}

// setUnseen shows how many hires nobody has opened yet. Fyne goroutine only.
func (u *UI) setUnseen(n int) {
	u.unseen = n
	title := "Hires"
	if n > 0 {
		title = fmt.Sprintf("Hires (%d new)", n)
	}
	if u.hiresTab.Text != title {
		u.hiresTab.Text = title
		u.tabs.Refresh()
	}
	u.updateTray()
}

// setStatus shows a new tunnel status everywhere. Fyne goroutine only.
func (u *UI) setStatus(s receiver.TunnelStatus) {
	u.status = s
	u.setup.setStatus(s)
	u.updateTray()
}

func (u *UI) updateTray() {
	if u.tray != nil {
		u.tray.set(describeTunnel(u.status, u.d.Publisher != nil).Title, u.unseen)
	}
}

// Run shows the window and runs the app until the user quits.
func (u *UI) Run() {
	u.start()
	u.w.Show()
	u.d.App.Run()
	u.stop()
}

func (u *UI) showWindow() {
	u.w.Show()
	u.w.RequestFocus()
}

// quitDelay is how long quit waits between hiding the window and
// closing it. Fyne 2.7.1 crashes (nil dereference in processMouseMoved)
// when a pointer event still queued for a window arrives after app.Quit
// has marked it closing; once hidden, the window gets no new ones, and
// this lets the queued ones drain first.
const quitDelay = 100 * time.Millisecond

// quit hides the window, then stops the app; Run returns and main shuts
// the receiver down.
func (u *UI) quit() {
	u.d.Log.Info("quitting")
	u.w.Hide()
	u.after(quitDelay, func() { u.do(u.d.App.Quit) })
}

// copyWebhookURL puts the address for Comeet on the clipboard.
func (u *UI) copyWebhookURL() {
	u.d.App.Clipboard().SetContent(webhookURL(u.status, u.d.LocalURL))
}

// copySecret puts the webhook secret on the clipboard.
func (u *UI) copySecret() {
	s, err := u.d.Store.Secret()
	if err != nil {
		u.showError(fmt.Errorf("cannot read the webhook secret: %w", err))
		return
	}
	u.d.App.Clipboard().SetContent(s)
}

// ShowStartupError shows msg in a small window and runs a until the user
// closes it. For failures before the main window exists, like a second
// copy of Hirebell finding the data folder in use.
func ShowStartupError(a fyne.App, msg string) {
	if msg == "" {
		msg = "Hirebell could not start."
	}
	a.SetIcon(assets.Icon)
	w := a.NewWindow("Hirebell")
	w.SetIcon(assets.Icon)
	text := widget.NewLabel(msg)
	text.Wrapping = fyne.TextWrapWord
	// Hide first, quit a moment later: see quitDelay.
	stop := func() {
		w.Hide()
		time.AfterFunc(quitDelay, func() { fyne.Do(a.Quit) })
	}
	w.SetCloseIntercept(stop)
	quit := widget.NewButton("Quit", stop)
	quit.Importance = widget.HighImportance
	icon := widget.NewIcon(theme.WarningIcon())
	// A wrapping label has no width of its own: give it one, or the
	// window grows a word per line.
	width := canvas.NewRectangle(color.Transparent)
	width.SetMinSize(fyne.NewSize(400, 0))
	w.SetContent(container.NewPadded(container.NewBorder(nil,
		container.NewHBox(layout.NewSpacer(), quit),
		container.NewVBox(icon), nil, container.NewStack(width, text))))
	w.Resize(fyne.NewSize(480, 180))
	w.SetMaster()
	w.CenterOnScreen()
	w.ShowAndRun()
}
