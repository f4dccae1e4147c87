package ui

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"
)

func TestExportFileName(t *testing.T) {
	now := time.Date(2026, 12, 3, 23, 59, 0, 0, time.UTC)
	if got := exportFileName(now); got != "hires-2026-12-03.csv" {
		t.Errorf("exportFileName = %q", got)
	}
}

func TestWriteExport(t *testing.T) {
	e := newShellEnv(t, false)
	shellHire(t, e.st, "C1", "Ada", "Lovelace", "Engineer", "2027-01-04")
	shellHire(t, e.st, "C2", "=cmd", "Injection", "Tester", "")
	path := filepath.Join(t.TempDir(), "hires.csv")
	w, err := storage.Writer(storage.NewFileURI(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeExport(e.st, w); err != nil {
		t.Fatalf("writeExport: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := e.st.ExportCSV(&want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("file differs from ExportCSV:\n%s\nwant\n%s", got, want.Bytes())
	}
	if !strings.Contains(string(got), "Lovelace") {
		t.Error("the export lacks a stored hire")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("export file mode %o, want 600 (personal data)", mode)
	}
}

func TestExportDialogCallback(t *testing.T) {
	t.Run("a chosen file is written and its path shown", func(t *testing.T) {
		e := newShellEnv(t, false)
		shellHire(t, e.st, "C1", "Ada", "Lovelace", "Engineer", "2027-01-04")
		path := filepath.Join(t.TempDir(), exportFileName(time.Now()))
		w, err := storage.Writer(storage.NewFileURI(path))
		if err != nil {
			t.Fatal(err)
		}
		e.ui.exportTo(w, nil)
		e.queue.runOne(t) // the goroutine hands the outcome back
		top := e.ui.w.Canvas().Overlays().Top()
		if top == nil || !strings.Contains(shellTexts(top), path) {
			t.Fatalf("no dialog names %s", path)
		}
		if data, _ := os.ReadFile(path); !strings.Contains(string(data), "Lovelace") {
			t.Error("the file does not hold the hire")
		}
	})
	t.Run("cancel does nothing", func(t *testing.T) {
		e := newShellEnv(t, false)
		e.ui.exportTo(nil, nil)
		if e.ui.w.Canvas().Overlays().Top() != nil {
			t.Error("a dialog opened after cancel")
		}
	})
	t.Run("an error from the dialog is shown", func(t *testing.T) {
		e := newShellEnv(t, false)
		e.ui.exportTo(nil, errors.New("permission denied"))
		top := e.ui.w.Canvas().Overlays().Top()
		if top == nil || !strings.Contains(shellTexts(top), "permission denied") {
			t.Error("the error is not shown")
		}
	})
	t.Run("the save dialog suggests today's name", func(t *testing.T) {
		e := newShellEnv(t, false)
		e.ui.showExport()
		top := e.ui.w.Canvas().Overlays().Top()
		if top == nil {
			t.Fatal("no save dialog")
		}
		found := false
		walkAll(top, func(o fyne.CanvasObject) {
			if en, ok := o.(*widget.Entry); ok && en.Text == exportFileName(time.Now()) {
				found = true
			}
		})
		if !found {
			t.Errorf("the save dialog does not suggest %s", exportFileName(time.Now()))
		}
	})
}
