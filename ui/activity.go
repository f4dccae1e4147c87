package ui

import (
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"hirebell/store"
)

// activityView is the Activity tab: every delivery attempt, newest first,
// in plain words, with a banner that diagnoses the current problems.
type activityView struct {
	st  *store.Store
	win fyne.Window

	all      []store.Delivery // newest first, as the store returns them
	rows     []store.Delivery // all, or the problems only
	names    map[string]string
	selected int // index in rows, -1 for none

	banner   *fyne.Container
	problems *widget.Check
	count    *widget.Label
	table    *widget.Table
	detail   *widget.Label
	root     fyne.CanvasObject
}

// Activity table columns.
const (
	actColTime = iota
	actColFrom
	actColOutcome
	actColStatus
	actColHire
	actColRaw
	actCols
)

var actHeaders = [actCols]string{"Time", "From", "Outcome", "Status", "Hire", ""}
var actWidths = [actCols]float32{160, 170, 130, 70, 220, 110}

func newActivityView(st *store.Store, w fyne.Window) *activityView {
	v := &activityView{st: st, win: w, selected: -1}
	v.banner = container.NewVBox()
	v.problems = widget.NewCheck("Problems only", func(bool) { v.reload() })
	v.count = widget.NewLabel("")
	reload := widget.NewButtonWithIcon("Reload", theme.ViewRefreshIcon(), v.reload)
	v.detail = widget.NewLabel("Select a row to see what it means.")
	v.detail.Wrapping = fyne.TextWrapWord

	v.table = widget.NewTable(
		func() (int, int) { return len(v.rows), actCols },
		v.createCell,
		v.updateCell,
	)
	v.table.ShowHeaderRow = true
	v.table.CreateHeader = func() fyne.CanvasObject {
		return widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	v.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 && id.Col < actCols {
			o.(*widget.Label).SetText(actHeaders[id.Col])
		}
	}
	for c, w := range actWidths {
		v.table.SetColumnWidth(c, w)
	}
	v.table.OnSelected = func(id widget.TableCellID) {
		if id.Row >= 0 && id.Row < len(v.rows) {
			v.selected = id.Row
			v.detail.SetText(v.explain(v.rows[id.Row]))
		}
	}

	top := container.NewVBox(v.banner, container.NewBorder(nil, nil, v.problems, reload, v.count))
	v.root = container.NewBorder(top, v.detail, nil, nil, v.table)
	return v
}

func (v *activityView) content() fyne.CanvasObject { return v.root }

// reload reads the log again. Fyne goroutine only.
func (v *activityView) reload() {
	all, err := v.st.Deliveries(false, 0)
	if err != nil {
		fyne.LogError("activity: read the delivery log", err)
		v.setBanner([]bannerMsg{{"The delivery log could not be read: " + err.Error(), true}})
		return
	}
	names, err := v.st.HireNames(all)
	if err != nil {
		fyne.LogError("activity: read hire names", err)
		names = nil
	}
	v.all, v.names = all, names
	v.rows = all
	if v.problems.Checked {
		v.rows = nil
		for _, d := range all {
			if d.Outcome.Problem() {
				v.rows = append(v.rows, d)
			}
		}
	}
	var msgs []bannerMsg
	for _, f := range store.Diagnose(all) {
		urgent := f.Outcome == store.OutcomeBadSignature || f.Outcome == store.OutcomeMissingSignature || f.Outcome == store.OutcomeStoreError
		msgs = append(msgs, bannerMsg{f.Message, urgent})
	}
	v.setBanner(msgs)
	switch {
	case len(all) == 0:
		v.count.SetText("No deliveries yet. Each delivery Comeet (or anyone) makes to the webhook URL will show here.")
	case v.problems.Checked:
		v.count.SetText(fmt.Sprintf("%d of %d deliveries had a problem", len(v.rows), len(all)))
	default:
		v.count.SetText(fmt.Sprintf("%d deliveries", len(all)))
	}
	v.selected = -1
	v.table.UnselectAll()
	v.detail.SetText("Select a row to see what it means.")
	v.table.Refresh()
}

// bannerMsg is one line of the diagnosis; urgent ones (hires refused or
// not saved) are shown as errors, the rest as warnings.
type bannerMsg struct {
	text   string
	urgent bool
}

// setBanner shows the diagnosis above the table, or nothing.
func (v *activityView) setBanner(msgs []bannerMsg) {
	var objs []fyne.CanvasObject
	for _, m := range msgs {
		l := widget.NewLabel(m.text)
		l.Wrapping = fyne.TextWrapWord
		l.Importance = widget.WarningImportance
		icon := theme.WarningIcon()
		if m.urgent {
			l.Importance, icon = widget.DangerImportance, theme.ErrorIcon()
		}
		objs = append(objs, container.NewBorder(nil, nil, widget.NewIcon(icon), nil, l))
	}
	v.banner.Objects = objs
	v.banner.Refresh()
}

func (v *activityView) createCell() fyne.CanvasObject {
	l := widget.NewLabel("")
	l.Truncation = fyne.TextTruncateEllipsis
	b := widget.NewButtonWithIcon("View raw", theme.VisibilityIcon(), nil)
	b.Hide()
	return container.NewStack(l, b)
}

func (v *activityView) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	objs := o.(*fyne.Container).Objects
	l, b := objs[0].(*widget.Label), objs[1].(*widget.Button)
	if id.Row < 0 || id.Row >= len(v.rows) {
		return
	}
	d := v.rows[id.Row]
	if id.Col == actColRaw {
		l.Hide()
		if len(d.Body) > 0 {
			b.OnTapped = func() { v.showRaw(d) }
			b.Show()
		} else {
			b.Hide()
		}
		return
	}
	b.Hide()
	l.Show()
	l.Importance = widget.MediumImportance
	if id.Col == actColOutcome && d.Outcome.Problem() {
		l.Importance = widget.DangerImportance
	}
	l.SetText(v.cellText(d, id.Col))
}

// cellText is what a column shows for one delivery.
func (v *activityView) cellText(d store.Delivery, col int) string {
	switch col {
	case actColTime:
		return d.Time.Local().Format("2006-01-02 15:04:05")
	case actColFrom:
		return d.Remote
	case actColOutcome:
		if d.Dropped > 0 {
			return fmt.Sprintf("%s (+%d)", d.Outcome.Label(), d.Dropped)
		}
		return d.Outcome.Label()
	case actColStatus:
		if d.Status == 0 {
			return "-"
		}
		return strconv.Itoa(d.Status)
	case actColHire:
		if n := v.names[d.ComeetID]; n != "" {
			return n
		}
		if d.ComeetID != "" && d.Outcome != store.OutcomeTest {
			return d.ComeetID + " (deleted)"
		}
		return d.ComeetID
	}
	return ""
}

// explain is the plain-language account of one delivery, shown when its
// row is selected.
func (v *activityView) explain(d store.Delivery) string {
	var b strings.Builder
	b.WriteString(d.Outcome.Explain())
	if d.Dropped > 0 {
		fmt.Fprintf(&b, " %d more like it came too fast to be logged one by one.", d.Dropped)
	}
	if d.Detail != "" {
		fmt.Fprintf(&b, " (Technical detail: %s.)", d.Detail)
	}
	return b.String()
}

// maxRawShown bounds the text put in the raw view, and rawLine the length
// of its lines: Fyne's entry lays out long or wrapped text slowly (a 16 KB
// wrapped line takes seconds), so long lines are broken for display only.
// Copy takes the body exactly as received.
const (
	maxRawShown = 64 << 10
	rawLine     = 100
)

// showRaw shows the body Comeet sent for a delivery that was not a hire,
// read-only and as received.
func (v *activityView) showRaw(d store.Delivery) {
	body := d.Body
	info := fmt.Sprintf("%d bytes received %s from %s. Shown as received (long lines broken for display); nothing in it is run.",
		len(body), d.Time.Local().Format("2006-01-02 15:04:05"), d.Remote)
	if len(body) > maxRawShown {
		body = body[:maxRawShown]
		info += fmt.Sprintf(" Only the first %d KB are shown; Copy takes all of it.", maxRawShown>>10)
	}
	text := breakLines(strings.ToValidUTF8(string(body), "\uFFFD"), rawLine)
	entry := widget.NewMultiLineEntry()
	entry.TextStyle = fyne.TextStyle{Monospace: true}
	entry.Wrapping = fyne.TextWrapOff
	entry.SetText(text)
	// Read-only, yet readable and selectable (a disabled entry greys the
	// text out): any edit is undone at once.
	entry.OnChanged = func(s string) {
		if s != text {
			entry.SetText(text)
		}
	}

	full := string(d.Body)
	copyBtn := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		fyne.CurrentApp().Clipboard().SetContent(full)
	})
	head := widget.NewLabel(info)
	head.Wrapping = fyne.TextWrapWord
	content := container.NewBorder(head, container.NewHBox(copyBtn), nil, nil, entry)
	dlg := dialog.NewCustom("Raw body", "Close", content, v.win)
	dlg.Resize(fyne.NewSize(720, 520))
	dlg.Show()
}

// breakLines inserts a line break into every line longer than n runes.
func breakLines(s string, n int) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/n)
	col := 0
	for _, r := range s {
		if r == '\n' {
			col = 0
		} else if col == n {
			b.WriteByte('\n')
			col = 0
		}
		if r != '\n' {
			col++
		}
		b.WriteRune(r)
	}
	return b.String()
}
