// Package ui is Hirebell's desktop face: the window, the tray menu, the
// hires table, the setup panel, notifications and the export dialog.
package ui

// STUB (owned by the app-shell engineer): to be replaced with the real shell.

import (
	"log/slog"

	"fyne.io/fyne/v2"

	"hirebell/receiver"
	"hirebell/store"
)

// Deps is what the UI needs from main.
type Deps struct {
	App      fyne.App
	Store    *store.Store
	Receiver *receiver.Receiver
	LocalURL string // e.g. http://127.0.0.1:8725 (no path)
	Log      *slog.Logger
}

// UI is the running desktop app.
type UI struct {
	d Deps
	w fyne.Window
}

// New builds the window and tray; it does not show them.
func New(d Deps) *UI {
	u := &UI{d: d, w: d.App.NewWindow("Hirebell")}
	v := newHiresView(d.Store, u.w)
	u.w.SetContent(v.content())
	return u
}

// HireArrived tells the UI about a stored hire. Safe from any goroutine; it
// never blocks.
func (u *UI) HireArrived(res store.SaveResult) {}

// Run shows the window and runs the app until the user quits.
func (u *UI) Run() {
	u.w.Show()
	u.d.App.Run()
}
