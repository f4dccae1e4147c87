package ui

import (
	"errors"
	"fmt"
	"os"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"

	"hirebell/store"
)

// exportFileName is the suggested name of an export made at now.
func exportFileName(now time.Time) string {
	return "hires-" + now.Format(time.DateOnly) + ".csv"
}

// writeExport writes every hire as CSV to w and closes it. A file on disk
// is first made readable by its owner only: it holds personal data.
func writeExport(st *store.Store, w fyne.URIWriteCloser) (err error) {
	defer func() {
		if cerr := w.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("export: %w", cerr)
		}
	}()
	if w.URI().Scheme() == "file" {
		if err := os.Chmod(w.URI().Path(), 0o600); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	return st.ExportCSV(w)
}

// showExport opens the save dialog; the CSV is written on a goroutine and
// the outcome shown when it is done.
func (u *UI) showExport() {
	u.showWindow() // from the tray the window may be hidden, and the dialog lives in it
	d := dialog.NewFileSave(u.exportTo, u.w)
	d.SetFileName(exportFileName(time.Now()))
	d.SetFilter(storage.NewExtensionFileFilter([]string{".csv"}))
	if home, err := os.UserHomeDir(); err == nil {
		if dir, err := storage.ListerForURI(storage.NewFileURI(home)); err == nil {
			d.SetLocation(dir)
		}
	}
	d.Resize(u.w.Canvas().Size().Subtract(fyne.NewSquareSize(80)))
	d.Show()
}

// exportTo is the save dialog's callback: w is nil when the user cancelled.
func (u *UI) exportTo(w fyne.URIWriteCloser, err error) {
	if err != nil {
		u.showError(fmt.Errorf("cannot export: %w", err))
		return
	}
	if w == nil {
		return
	}
	go func() {
		err := writeExport(u.d.Store, w)
		where := w.URI().Path()
		if where == "" {
			where = w.URI().String()
		}
		u.do(func() {
			if err != nil {
				u.showError(fmt.Errorf("cannot export to %s: %w", where, err))
				return
			}
			u.d.Log.Info("hires exported")
			dialog.ShowInformation("Export done", "The hires were saved to\n"+where, u.w)
		})
	}()
}

// showError logs err and shows it in a dialog. Fyne goroutine only.
func (u *UI) showError(err error) {
	if err == nil {
		err = errors.New("unknown error")
	}
	fyne.LogError("hirebell", err)
	dialog.ShowError(err, u.w)
}
