package ui

import (
	"fmt"
	"image/color"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"hirebell/store"
)

// hiresView is the hires tab: a search box, the sortable table of hires
// and the details of the selected one. All of its methods run on the Fyne
// goroutine.
//
// The shell relies on: newHiresView, content, reload, unseen and the
// onUnseenChanged and extraDetails fields.
type hiresView struct {
	st  *store.Store
	win fyne.Window

	// onUnseenChanged, when set, is called with the new count each time the
	// number of unseen hires changes (after a reload or when a hire is
	// opened). Read unseen() once after setting it: the count found by
	// newHiresView itself is not reported, unless that first load ran in
	// the background (a large store), when it is reported as it lands.
	onUnseenChanged func(n int)
	// extraDetails, when set, adds a section (the documents) to the details
	// of a hire, below the basics.
	extraDetails func(h store.Hire) fyne.CanvasObject

	model      *hireModel
	selected   string          // comeet_id of the open hire, "" for none
	seenLocal  map[string]bool // opened here; the store write may still be in flight
	lastUnseen int
	background sync.WaitGroup // loads and MarkSeen writes in flight (tests wait on it)
	loading    bool           // a background load is running
	loadAgain  bool           // reload was called while it ran
	expectRows int            // before the first load, the store's size at most
	// timeText formats a time, compact for the table or in full for the
	// details (tests fix it, for golden files).
	timeText func(t time.Time, compact bool) string

	table   *widget.Table
	search  *widget.Entry
	status  *widget.Label
	message *hiresMessage
	details *hireDetails
	root    fyne.CanvasObject
}

// newHiresView builds the view and loads the hires; w is the window its
// dialogs belong to.
func newHiresView(st *store.Store, w fyne.Window) *hiresView {
	v := &hiresView{
		st:        st,
		win:       w,
		model:     newHireModel(),
		seenLocal: make(map[string]bool),
		timeText:  localTimeText,
	}
	// An upper bound (deleted hires count) is enough to choose how to load
	// and to size the rows; Count would read every hire's page first.
	if n, err := st.CountAtMost(); err == nil {
		v.expectRows = n
	}
	v.details = newHireDetails(v)
	v.build()
	if v.expectRows < hiresBackgroundRows {
		v.reload()
		return v
	}
	// A large store: the window opens on "Loading hires…" and the reading
	// starts from the app's event loop, once the window exists, rather than
	// competing for the CPU with its creation and first paint. Reloads asked
	// for meanwhile are covered by this first one.
	v.loading = true
	v.refresh()
	v.background.Add(1)
	go func() {
		defer v.background.Done()
		fyne.Do(func() {
			v.loading, v.loadAgain = false, false
			v.reload()
		})
	}()
	return v
}

func (v *hiresView) build() {
	v.table = v.newTable()
	v.search = widget.NewEntry()
	v.search.SetPlaceHolder("Search by name, email, position, department or manager")
	v.search.OnChanged = v.setQuery
	clearSearch := widget.NewButtonWithIcon("", theme.ContentClearIcon(), func() { v.search.SetText("") })
	clearSearch.Importance = widget.LowImportance
	v.search.ActionItem = clearSearch
	v.status = widget.NewLabel("")
	v.status.SizeName = theme.SizeNameCaptionText
	v.message = newHiresMessage(func() { v.search.SetText("") })

	list := container.NewBorder(v.search, v.status, nil, nil, container.NewStack(v.table, v.message.root))
	split := container.NewHSplit(list, v.details.content())
	split.Offset = 0.72
	v.root = split
}

func (v *hiresView) content() fyne.CanvasObject { return v.root }

// unseen is how many stored hires nobody has opened yet.
func (v *hiresView) unseen() int { return v.model.unseen }

// hiresBackgroundRows is the store size from which reloads run off the
// Fyne goroutine: reading 100,000 hires takes about a second.
var hiresBackgroundRows = 5000

// reload re-reads the hires from the store, keeping the sort, the search
// and the open hire. With a large store the reading and indexing run in
// the background and the table changes when they are done; reloads asked
// for meanwhile are folded into one more.
func (v *hiresView) reload() {
	if v.loading {
		v.loadAgain = true
		return
	}
	sort, terms := v.model.sort, v.model.terms
	about := max(len(v.model.rows), v.expectRows)
	if about < hiresBackgroundRows {
		v.applyLoad(loadHireModel(v.st, sort, terms, about))
		return
	}
	v.loading = true
	v.refresh()
	v.background.Add(1)
	go func() {
		defer v.background.Done()
		m, err := loadHireModel(v.st, sort, terms, about)
		fyne.Do(func() {
			v.loading = false
			v.applyLoad(m, err)
			v.background.Add(1)
			go func() {
				defer v.background.Done()
				v.releaseMemory()
			}()
			if v.loadAgain {
				v.loadAgain = false
				v.reload()
			}
		})
	}()
}

// releaseMemory gives back what a large load leaves behind. Reading
// 100,000 hires leaves tens of megabytes of garbage (each hire's decoded
// record, the loading indexes, the model the load replaced), and the Go
// runtime keeps freed pages for reuse, handing them back only slowly: the
// app would sit in the tray for minutes well above the memory it holds.
// One forced collection per large load (tens of milliseconds, off the
// Fyne goroutine, after a load of about a second) brings it down at once.
// The walk also left the data file's pages mapped (bbolt reads through
// mmap), which count in the app's resident memory as much as its heap.
func (v *hiresView) releaseMemory() {
	debug.FreeOSMemory()
	if err := v.st.ReleaseMappedPages(); err != nil {
		fyne.LogError("hires: release the data file's pages", err)
	}
}

// loadHireModel reads and indexes every hire; about is how many there
// were last time, to size the rows. The hires stream from the store into
// the model's compact rows, never all held as store.Hire values at once.
// It touches no widget and no state of the view, so it may run on any
// goroutine.
func loadHireModel(st *store.Store, sort hireSort, terms []string, about int) (*hireModel, error) {
	m := newHireModel()
	m.sort, m.terms = sort, terms
	m.begin(about + about/16)
	err := st.EachHire(func(h *store.Hire) error {
		m.add(h)
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.end()
	return m, nil
}

// applyLoad puts a loaded model in place, on the Fyne goroutine.
func (v *hiresView) applyLoad(m *hireModel, err error) {
	if err != nil {
		fyne.LogError("hires: list", err)
		v.status.SetText("Could not read the hires")
		return
	}
	m.markSeenIDs(v.seenLocal)
	// The sort or search may have changed while the load ran.
	if m.sort != v.model.sort || !slices.Equal(m.terms, v.model.terms) {
		m.sort, m.terms = v.model.sort, v.model.terms
		m.sortRows()
		m.filter()
	}
	v.model = m
	v.expectRows = 0
	v.refresh()
	v.syncDetails()
	v.unseenChanged()
}

// refresh redraws the table, the status line and the empty-state message.
func (v *hiresView) refresh() {
	v.table.Refresh()
	v.updateStatus()
	total, shown := len(v.model.rows), len(v.model.visible)
	switch {
	case total == 0 && v.loading:
		v.message.showLoading()
	case total == 0:
		v.message.showEmpty()
	case shown == 0:
		v.message.showNoMatch(v.search.Text)
	default:
		v.message.hide()
	}
}

func (v *hiresView) updateStatus() {
	v.status.SetText(hiresStatus(len(v.model.rows), len(v.model.visible), v.model.unseen))
}

// hiresStatus is the footer: "12 hires · 3 new", "2 of 12 hires".
func hiresStatus(total, shown, unseen int) string {
	s := plural(total, "hire", "hires")
	if shown != total {
		s = fmt.Sprintf("%d of %s", shown, s)
	}
	if unseen > 0 {
		s += fmt.Sprintf(" · %d new", unseen)
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (v *hiresView) setQuery(q string) {
	v.model.setQuery(q)
	v.refresh()
}

// sortBy sorts by col ascending, or flips the direction when the table is
// already sorted by col.
func (v *hiresView) sortBy(col hireColumn) {
	v.model.toggleSort(col)
	v.refresh()
}

// syncDetails keeps the details pane in step after a reload: the open hire
// may have been redelivered (new payload) or deleted.
func (v *hiresView) syncDetails() {
	if v.selected == "" {
		return
	}
	r := v.model.find(v.selected)
	if r == nil {
		v.selected = ""
		v.details.clear()
		return
	}
	if !r.updatedAt().Equal(v.details.shownUpdated()) {
		v.showDetails(r.comeetID())
	}
}

// open shows the hire at table row i and marks it seen.
func (v *hiresView) open(i int) {
	r := v.model.at(i)
	if r == nil {
		return
	}
	v.selected = r.comeetID()
	v.showDetails(v.selected)
	if v.model.markSeen(r) {
		v.persistSeen(v.selected)
		v.unseenChanged()
		v.updateStatus()
	}
	v.table.Refresh()
}

func (v *hiresView) showDetails(comeetID string) {
	h, err := v.st.Get(comeetID)
	if err != nil {
		fyne.LogError("hires: read hire", err)
		v.details.showError("This hire could not be read from the data file.")
		return
	}
	v.details.show(h)
}

// persistSeen writes the seen mark off the Fyne goroutine, so that a slow
// disk never stalls a click. seenLocal keeps the mark across reloads that
// happen before the write commits.
func (v *hiresView) persistSeen(comeetID string) {
	v.seenLocal[comeetID] = true
	v.background.Add(1)
	go func() {
		defer v.background.Done()
		if err := v.st.MarkSeen(comeetID); err != nil {
			fyne.LogError("hires: mark seen", err)
		}
	}()
}

func (v *hiresView) unseenChanged() {
	n := v.model.unseen
	if n == v.lastUnseen {
		return
	}
	v.lastUnseen = n
	if v.onUnseenChanged != nil {
		v.onUnseenChanged(n)
	}
}

// confirmDelete asks before deleting a hire; the delivery log keeps its
// record of the delivery.
func (v *hiresView) confirmDelete(h store.Hire) {
	name := h.Name()
	if name == "" {
		name = "this hire"
	}
	d := dialog.NewConfirm("Delete hire?",
		fmt.Sprintf("Delete %s from Hirebell?\nThis cannot be undone. The delivery log keeps a note that it arrived.", name),
		func(ok bool) {
			if ok {
				v.delete(h.ComeetID)
			}
		}, v.win)
	d.SetConfirmText("Delete")
	d.SetDismissText("Cancel")
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

func (v *hiresView) delete(comeetID string) {
	if err := v.st.Delete(comeetID); err != nil {
		fyne.LogError("hires: delete", err)
		dialog.ShowError(fmt.Errorf("the hire could not be deleted: %w", err), v.win)
		return
	}
	if v.selected == comeetID {
		v.selected = ""
		v.details.clear()
	}
	v.reload()
}

// localTimeText is the usual timeText: local time, compact or in full.
func localTimeText(t time.Time, compact bool) string {
	if compact {
		return compactTime(t, time.Now())
	}
	return fullTime(t)
}

// compactTime formats t in local time as briefly as is clear next to now:
// "Today 14:05", "Yesterday 09:30", "3 Dec 14:05" this year, "3 Dec 2025"
// before.
func compactTime(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	t, now = t.Local(), now.Local()
	y, m, d := t.Date()
	ny, nm, nd := now.Date()
	switch {
	case y == ny && m == nm && d == nd:
		return t.Format("Today 15:04")
	case t.Format(time.DateOnly) == now.AddDate(0, 0, -1).Format(time.DateOnly):
		return t.Format("Yesterday 15:04")
	case y == ny:
		return t.Format("2 Jan 15:04")
	}
	return t.Format("2 Jan 2006")
}

// fullTime formats t in local time for the details pane.
func fullTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2 Jan 2006 15:04")
}

// newTable builds the virtualised table; cells are looked up through the
// model's visible index on every update.
func (v *hiresView) newTable() *widget.Table {
	t := widget.NewTable(
		func() (int, int) { return len(v.model.visible), int(numHireColumns) },
		func() fyne.CanvasObject { return newHireCell() },
		v.updateCell,
	)
	t.ShowHeaderRow = true
	t.CreateHeader = newHeaderButton
	t.UpdateHeader = v.updateHeader
	// The table's own selection marks one cell; the view highlights the
	// whole row itself, so the table's selection is only a click.
	t.OnSelected = func(id widget.TableCellID) {
		t.Unselect(id)
		v.open(id.Row)
	}
	for c, spec := range hireColumnSpecs {
		t.SetColumnWidth(c, spec.width)
	}
	return t
}

func (v *hiresView) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	cell := o.(*hireCell)
	r := v.model.at(id.Row)
	if r == nil {
		cell.set("", false, false, false)
		return
	}
	col := hireColumn(id.Col)
	text := v.model.text(r, col)
	if col == colReceived {
		text = v.timeText(r.receivedAt(), true)
	}
	cell.set(text, col == colName, !r.seen, r.comeetID() == v.selected)
}

func newHeaderButton() fyne.CanvasObject {
	b := widget.NewButton("", nil)
	b.Alignment = widget.ButtonAlignLeading
	b.IconPlacement = widget.ButtonIconTrailingText
	b.Importance = widget.LowImportance
	return b
}

func (v *hiresView) updateHeader(id widget.TableCellID, o fyne.CanvasObject) {
	b := o.(*widget.Button)
	if id.Col < 0 || id.Col >= int(numHireColumns) {
		b.SetText("")
		return
	}
	col := hireColumn(id.Col)
	b.Text = hireColumnSpecs[col].title
	b.Icon = nil
	if v.model.sort.col == col {
		b.Icon = theme.MenuDropUpIcon()
		if v.model.sort.desc {
			b.Icon = theme.MenuDropDownIcon()
		}
	}
	b.OnTapped = func() { v.sortBy(col) }
	b.Refresh()
}

// hireCell is one table cell: text truncated with an ellipsis, a dot before
// the name of an unseen hire (whose row is also bold), and a highlight for
// the open hire's row.
type hireCell struct {
	widget.BaseWidget
	bg     *canvas.Rectangle
	dot    *canvas.Circle
	dotBox *fyne.Container
	label  *widget.Label
	row    *fyne.Container // dot and label
	root   *fyne.Container
}

const hireDotSize = 8

func newHireCell() *hireCell {
	c := &hireCell{
		bg:    canvas.NewRectangle(color.Transparent),
		dot:   canvas.NewCircle(color.Transparent),
		label: widget.NewLabel(""),
	}
	c.label.Truncation = fyne.TextTruncateEllipsis
	c.dotBox = container.NewCenter(container.NewGridWrap(fyne.NewSquareSize(hireDotSize), c.dot))
	c.row = container.NewBorder(nil, nil, c.dotBox, nil, c.label)
	c.root = container.NewStack(c.bg, c.row)
	c.ExtendBaseWidget(c)
	return c
}

func (c *hireCell) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(c.root)
}

// set shows text; withDot reserves room for the unseen dot (the Name
// column), unseen draws it and makes the text bold, selected highlights.
func (c *hireCell) set(text string, withDot, unseen, selected bool) {
	if c.dotBox.Hidden == withDot {
		c.dotBox.Hidden = !withDot
		c.row.Refresh() // lay out again
	}
	c.dot.FillColor = color.Transparent
	if withDot && unseen {
		c.dot.FillColor = theme.Color(theme.ColorNamePrimary)
	}
	c.bg.FillColor = color.Transparent
	if selected {
		c.bg.FillColor = theme.Color(theme.ColorNameSelection)
	}
	c.bg.Refresh()
	c.dot.Refresh()
	c.setText(text, unseen)
}

// setText updates the label only when something changed. Truncation with
// an ellipsis shapes the whole text on every refresh, which for a screen
// of cells costs more than sorting 100,000 rows, so it is only switched
// on for text too wide for the cell; the width check is cached by Fyne.
func (c *hireCell) setText(text string, bold bool) {
	trunc := fyne.TextTruncateOff
	if c.tooWide(text, bold) {
		trunc = fyne.TextTruncateEllipsis
	}
	l := c.label
	if l.Text == text && l.TextStyle.Bold == bold && l.Truncation == trunc {
		return
	}
	l.Text, l.TextStyle.Bold, l.Truncation = text, bold, trunc
	l.Refresh()
}

func (c *hireCell) tooWide(text string, bold bool) bool {
	room := c.label.Size().Width - 2*theme.InnerPadding()
	if room <= 0 {
		return true // not laid out yet: be safe
	}
	return fyne.MeasureText(text, theme.TextSize(), fyne.TextStyle{Bold: bold}).Width > room
}

// hiresMessage is the text over the table when it has no rows: what to do
// first, or that the search matched nothing.
type hiresMessage struct {
	title *widget.Label
	body  *widget.Label
	clear *widget.Button
	root  *fyne.Container
}

func newHiresMessage(clearSearch func()) *hiresMessage {
	m := &hiresMessage{
		title: widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Bold: true}),
		body:  widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{}),
		clear: widget.NewButtonWithIcon("Clear search", theme.ContentClearIcon(), clearSearch),
	}
	m.root = container.NewCenter(container.NewVBox(m.title, m.body, container.NewCenter(m.clear)))
	m.root.Hide()
	return m
}

func (m *hiresMessage) showEmpty() {
	m.title.SetText("No hires yet")
	m.body.SetText("Open Setup and copy the webhook URL and secret\n" +
		"into Comeet's Integrations page. Each new hire will appear here.")
	m.clear.Hide()
	m.show()
}

func (m *hiresMessage) showLoading() {
	m.title.SetText("Loading hires…")
	m.body.SetText("")
	m.clear.Hide()
	m.show()
}

func (m *hiresMessage) showNoMatch(query string) {
	m.title.SetText("No matches")
	m.body.SetText(fmt.Sprintf("No hire matches “%s”.", truncateRunes(strings.TrimSpace(query), 40)))
	m.clear.Show()
	m.show()
}

// show lays the message out again: its size follows the text.
func (m *hiresMessage) show() {
	m.root.Show()
	m.root.Refresh()
}

func (m *hiresMessage) hide() { m.root.Hide() }
