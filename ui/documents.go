package ui

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"hirebell/store"
)

// documentsSection lists the documents of one hire in its details. While a
// download is pending it follows the store's change signal and redraws
// itself; once every document has settled it stops following (a
// redelivery re-renders the details, and with them a new section).
type documentsSection struct {
	st       *store.Store
	win      fyne.Window
	hire     store.Hire
	box      *fyne.Container
	openURL  func(*url.URL) error
	onReload func() // test hook, called on the Fyne goroutine after each redraw
}

// newDocumentsSection is the documents part of a hire's details. h must
// carry its raw payload (store.Get).
func newDocumentsSection(st *store.Store, w fyne.Window, h store.Hire) fyne.CanvasObject {
	s := &documentsSection{st: st, win: w, hire: h, openURL: openURLWithApp}
	s.start()
	return s.box
}

func openURLWithApp(u *url.URL) error { return fyne.CurrentApp().OpenURL(u) }

// start draws the section and, if downloads may still change it, follows
// the store on a goroutine.
func (s *documentsSection) start() {
	s.box = container.NewVBox()
	changed := s.st.DocumentsChanged() // before reading, so no change is missed
	if s.reload() {
		go s.follow(changed)
	}
}

// follow redraws the section after each document change until nothing is
// pending any more.
func (s *documentsSection) follow(changed <-chan struct{}) {
	for {
		<-changed
		changed = s.st.DocumentsChanged()
		more := true
		fyne.DoAndWait(func() { more = s.reload() })
		if !more {
			return
		}
	}
}

// reload redraws the section from the store and reports whether a download
// may still change it. Fyne goroutine only.
func (s *documentsSection) reload() bool {
	defer func() {
		if s.onReload != nil {
			s.onReload()
		}
	}()
	title := widget.NewLabelWithStyle("Documents", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	docs, err := s.st.Documents(s.hire.ComeetID)
	if errors.Is(err, store.ErrNotFound) {
		s.set(title, note("This hire was deleted."))
		return false
	}
	if err != nil {
		fyne.LogError("documents: read", err)
		s.set(title, note("The documents could not be read: "+err.Error()))
		return false
	}
	if len(docs) == 0 {
		if len(store.DocumentLinks(s.hire.Raw)) == 0 {
			s.set(title, note("Comeet linked no documents in this hire."))
			return false
		}
		s.set(title, note("Waiting to download the documents Comeet linked..."))
		// Planned moments after the hire is stored; after the links'
		// window nothing will come.
		return time.Since(s.hire.UpdatedAt) < store.ResumeValidity+store.PictureValidity
	}
	objs := []fyne.CanvasObject{title}
	pending := false
	for _, d := range docs {
		objs = append(objs, s.row(d))
		pending = pending || d.Status == store.DocPending
	}
	s.set(objs...)
	return pending
}

func (s *documentsSection) set(objs ...fyne.CanvasObject) {
	s.box.Objects = objs
	s.box.Refresh()
}

func note(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// row is one document: its name and kind, its status, Open and Save as.
func (s *documentsSection) row(d store.Document) fyne.CanvasObject {
	name := widget.NewLabelWithStyle(d.Label(), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	name.Truncation = fyne.TextTruncateEllipsis
	status := widget.NewLabel(kindLabel(d.Kind) + " · " + docStatusText(d))
	status.Wrapping = fyne.TextWrapWord
	if d.Status == store.DocFailed {
		status.Importance = widget.DangerImportance
	}
	open := widget.NewButtonWithIcon("Open", theme.FileIcon(), func() { s.open(d) })
	save := widget.NewButtonWithIcon("Save as...", theme.DocumentSaveIcon(), func() { s.saveAs(d) })
	if d.Status != store.DocSaved {
		open.Disable()
		save.Disable()
	}
	return container.NewBorder(nil, nil, nil, container.NewHBox(open, save), container.NewVBox(name, status))
}

// kindLabel names a document kind for people: "offer_letter" is "Offer letter".
func kindLabel(kind string) string {
	switch kind {
	case store.KindResume:
		return "Resume"
	case store.KindPicture:
		return "Profile picture"
	case store.KindFile, "":
		return "File"
	}
	k := strings.TrimSpace(strings.ReplaceAll(kind, "_", " "))
	if k == "" {
		return "File"
	}
	return strings.ToUpper(k[:1]) + k[1:]
}

// docStatusText says where a document stands, plainly.
func docStatusText(d store.Document) string {
	switch d.Status {
	case store.DocSaved:
		return fmt.Sprintf("%s · saved %s · SHA-256 %s", formatSize(d.Size), d.SavedAt.Local().Format("Jan 2 15:04"), shortSum(d.SHA256))
	case store.DocFailed:
		return "Not saved: " + d.Reason
	}
	return "Downloading..."
}

func shortSum(s string) string {
	if len(s) > 12 {
		return s[:12] + "..."
	}
	return s
}

// formatSize is a byte count as people read it.
func formatSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	case n < 1_000_000:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// openSafe lists the extensions handed to the system's default
// application. Others (programs, scripts, shortcuts) could run code when
// "opened", so they are only offered through Save as.
var openSafe = map[string]bool{
	".pdf": true, ".doc": true, ".docx": true, ".odt": true, ".rtf": true, ".txt": true,
	".xls": true, ".xlsx": true, ".ods": true, ".csv": true, ".ppt": true, ".pptx": true, ".odp": true,
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true, ".bmp": true,
	".tif": true, ".tiff": true, ".heic": true,
}

func (s *documentsSection) open(d store.Document) {
	p, err := s.st.DocumentPath(d)
	if err == nil {
		_, err = os.Stat(p)
	}
	if err != nil {
		dialog.ShowError(fmt.Errorf("the file is not there any more: %w", pathless(err)), s.win)
		return
	}
	if !openSafe[strings.ToLower(filepath.Ext(p))] {
		dialog.ShowInformation("Not opened",
			"Hirebell does not open this kind of file itself, because it could run a program.\nUse Save as... and check the file before opening it.", s.win)
		return
	}
	u, err := url.Parse(storage.NewFileURI(p).String())
	if err == nil {
		err = s.openURL(u)
	}
	if err != nil {
		dialog.ShowError(fmt.Errorf("could not open the document: %w", err), s.win)
	}
}

func (s *documentsSection) saveAs(d store.Document) {
	fd := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			dialog.ShowError(err, s.win)
			return
		}
		if w == nil {
			return // cancelled
		}
		go func() {
			if err := copyDocument(s.st, d, w); err != nil {
				fyne.Do(func() { dialog.ShowError(err, s.win) })
			}
		}()
	}, s.win)
	fd.SetFileName(d.File)
	fd.Show()
}

// copyDocument writes d's file to w and closes w.
func copyDocument(st *store.Store, d store.Document, w io.WriteCloser) error {
	p, err := st.DocumentPath(d)
	if err != nil {
		w.Close()
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		w.Close()
		return fmt.Errorf("the file is not there any more: %w", pathless(err))
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		w.Close()
		return fmt.Errorf("could not save a copy: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("could not save a copy: %w", err)
	}
	return nil
}

// pathless drops the path from a file error: the path holds the document's
// name, often a person's, which does not belong in a dialog's error text.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
