package ui

import (
	"net"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/systray"

	"hirebell/assets"
)

// busDialTimeout bounds the check that a session bus answers.
const busDialTimeout = 500 * time.Millisecond

// sessionBusReachable reports whether a D-Bus session bus listens at addr,
// the value of DBUS_SESSION_BUS_ADDRESS. With no reachable bus, Fyne's tray
// panics on quit (Fyne issue 6403) and its notifications start a stray
// dbus-launch, so the app then runs as a plain window.
func sessionBusReachable(addr string) bool {
	for _, entry := range strings.Split(addr, ";") {
		network, address, ok := busDialAddress(entry)
		if !ok {
			continue
		}
		c, err := net.DialTimeout(network, address, busDialTimeout)
		if err == nil {
			c.Close()
			return true
		}
	}
	return false
}

// busDialAddress turns one D-Bus address entry ("unix:path=/run/...",
// "unix:abstract=/tmp/dbus-x,guid=...", "tcp:host=h,port=p") into what
// net.Dial takes.
func busDialAddress(entry string) (network, address string, ok bool) {
	transport, rest, found := strings.Cut(strings.TrimSpace(entry), ":")
	if !found {
		return "", "", false
	}
	kv := map[string]string{}
	for _, pair := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(pair, "=")
		kv[k] = unescapeBus(v)
	}
	switch transport {
	case "unix":
		if p := kv["path"]; p != "" {
			return "unix", p, true
		}
		if a := kv["abstract"]; a != "" {
			return "unix", "@" + a, true
		}
	case "tcp":
		if kv["host"] != "" && kv["port"] != "" {
			return "tcp", net.JoinHostPort(kv["host"], kv["port"]), true
		}
	}
	return "", "", false
}

// unescapeBus undoes the %xx escaping of D-Bus address values.
func unescapeBus(v string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) {
			if x, ok := unhex(v[i+1]); ok {
				if y, ok := unhex(v[i+2]); ok {
					b.WriteByte(x<<4 | y)
					i += 2
					continue
				}
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Tray menu labels; the end-to-end test clicks them by label.
const (
	trayOpen   = "Open Hirebell"
	trayCopy   = "Copy webhook URL"
	traySecret = "Copy secret"
	trayExport = "Export CSV..."
	trayQuit   = "Quit"
)

// trayMenu is the tray icon's menu, with two disabled lines that tell the
// tunnel state and the unseen count.
type trayMenu struct {
	menu   *fyne.Menu
	status *fyne.MenuItem
	unseen *fyne.MenuItem
	// refresh pushes the menu to the tray; nil in tests.
	refresh func()
}

// newTrayMenu builds the menu; the actions run on the Fyne goroutine.
func newTrayMenu(open, copyURL, copySecret, export, quit func()) *trayMenu {
	t := &trayMenu{
		status: fyne.NewMenuItem("Public URL: off", nil),
		unseen: fyne.NewMenuItem(unseenText(0), nil),
	}
	t.status.Disabled = true
	t.unseen.Disabled = true
	quitItem := fyne.NewMenuItem(trayQuit, quit)
	quitItem.IsQuit = true
	t.menu = fyne.NewMenu("Hirebell",
		fyne.NewMenuItem(trayOpen, open),
		fyne.NewMenuItem(trayCopy, copyURL),
		fyne.NewMenuItem(traySecret, copySecret),
		fyne.NewMenuItem(trayExport, export),
		fyne.NewMenuItemSeparator(),
		t.status,
		t.unseen,
		fyne.NewMenuItemSeparator(),
		quitItem,
	)
	return t
}

// set updates the two status lines; the tray is rebuilt only when a line
// changed, since a rebuild renumbers the items on the bus.
func (t *trayMenu) set(status string, unseen int) {
	u := unseenText(unseen)
	if t.status.Label == status && t.unseen.Label == u {
		return
	}
	t.status.Label, t.unseen.Label = status, u
	if t.refresh != nil {
		t.refresh()
	}
}

// installTray puts the icon and menu in the system tray. A left click on
// the icon opens the window: Fyne's own handler (SetSystemTrayWindow)
// shows it from the D-Bus goroutine, so ours goes through fyne.Do. It must
// be called before the app runs, since the tray registers then.
func installTray(desk desktop.App, t *trayMenu, show func()) {
	systray.SetOnTapped(func() { fyne.Do(show) })
	desk.SetSystemTrayMenu(t.menu)
	desk.SetSystemTrayIcon(assets.Icon)
	t.refresh = func() {
		t.menu.Refresh()
		systray.SetTooltip("Hirebell: " + strings.ToLower(t.status.Label) + "; " + strings.ToLower(t.unseen.Label))
	}
	t.refresh()
}
