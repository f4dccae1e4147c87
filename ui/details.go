package ui

import (
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"hirebell/store"
)

// hireDetails is the pane beside the table: the basics of the open hire
// first, then the shell's extra section (documents), then every other field
// of Comeet's payload, so that nothing Comeet sent is hidden.
type hireDetails struct {
	v       *hiresView
	body    *fyne.Container
	scroll  *container.Scroll
	updated time.Time // UpdatedAt of the hire shown
}

func newHireDetails(v *hiresView) *hireDetails {
	d := &hireDetails{v: v, body: container.NewVBox()}
	d.scroll = container.NewVScroll(d.body)
	d.clear()
	return d
}

func (d *hireDetails) content() fyne.CanvasObject { return d.scroll }

// shownUpdated is the UpdatedAt of the hire shown, zero when none is.
func (d *hireDetails) shownUpdated() time.Time { return d.updated }

// clear shows the hint for when no hire is open.
func (d *hireDetails) clear() {
	d.updated = time.Time{}
	// Regular, not italic: every text style is a font face of several
	// megabytes that Fyne keeps loaded for good.
	hint := widget.NewLabelWithStyle("Select a hire to see all of their details.",
		fyne.TextAlignCenter, fyne.TextStyle{})
	hint.Importance = widget.LowImportance
	hint.Wrapping = fyne.TextWrapWord
	d.setBody(hint)
}

func (d *hireDetails) showError(msg string) {
	d.updated = time.Time{}
	l := widget.NewLabel(msg)
	l.Importance = widget.DangerImportance
	l.Wrapping = fyne.TextWrapWord
	d.setBody(l)
}

// show renders h, which must carry its raw payload (store.Get).
func (d *hireDetails) show(h store.Hire) {
	d.updated = h.UpdatedAt
	p, err := parsePayload(h.Raw)
	if err != nil {
		fyne.LogError("hires: payload of a stored hire is not valid JSON", err)
		p = &payloadNode{kind: payloadObject}
	}
	basics := basicSections(h, p, func(t time.Time) string { return d.v.timeText(t, false) })
	rest := payloadSections(p)
	// The basics set the key column; longer keys further down wrap.
	keyWidth := keyColumnWidth(basics)

	objs := []fyne.CanvasObject{d.header(h)}
	for _, s := range basics {
		objs = append(objs, s.render(keyWidth))
	}
	if extra := d.v.extraDetails; extra != nil {
		if o := extra(h); o != nil {
			objs = append(objs, o)
		}
	}
	for _, s := range rest {
		objs = append(objs, s.render(keyWidth))
	}
	d.setBody(objs...)
}

func (d *hireDetails) setBody(objs ...fyne.CanvasObject) {
	d.body.Objects = objs
	d.body.Refresh()
	d.scroll.ScrollToTop()
}

// header is the name, a one-line summary and the delete button.
func (d *hireDetails) header(h store.Hire) fyne.CanvasObject {
	name := h.Name()
	if name == "" {
		name = noName
	}
	title := widget.NewLabelWithStyle(name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameSubHeadingText
	title.Wrapping = fyne.TextWrapWord
	summary := widget.NewLabel(joinDot(h.Position, h.Department, h.Location))
	summary.Wrapping = fyne.TextWrapWord
	del := widget.NewButtonWithIcon("Delete hire", theme.DeleteIcon(), func() { d.v.confirmDelete(h) })
	return container.NewBorder(nil, nil, nil, container.NewVBox(del), container.NewVBox(title, summary))
}

func joinDot(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " · ")
}

// detailField is one row of a details section.
type detailField struct {
	label string
	value string
	copy  bool // offer a copy button
	html  bool // the value is HTML: show it as plain text
}

// detailSection is a titled list of fields.
type detailSection struct {
	title  string
	fields []detailField
}

func (s *detailSection) add(label, value string, copy bool) {
	if value = strings.TrimSpace(value); value != "" {
		s.fields = append(s.fields, detailField{label: label, value: value, copy: copy})
	}
}

// render builds the section: a heading over key/value rows whose key
// column is keyWidth wide.
func (s *detailSection) render(keyWidth float32) fyne.CanvasObject {
	form := container.New(&detailFormLayout{keyWidth: keyWidth})
	for _, f := range s.fields {
		key := widget.NewLabelWithStyle(f.label, fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
		key.Wrapping = fyne.TextWrapWord
		form.Add(key)
		form.Add(fieldValue(f))
	}
	heading := widget.NewLabelWithStyle(s.title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	heading.Importance = widget.HighImportance
	return container.NewVBox(widget.NewSeparator(), heading, form)
}

// The key column is between these widths; longer keys wrap.
const (
	minKeyWidth = 150
	maxKeyWidth = 210
)

// keyColumnWidth is the width of the widest key in sections, capped, so
// that every section's columns line up.
func keyColumnWidth(sections []detailSection) float32 {
	size := theme.TextSize()
	w := float32(0)
	for _, s := range sections {
		for _, f := range s.fields {
			w = fyne.Max(w, fyne.MeasureText(f.label, size, fyne.TextStyle{Bold: true}).Width)
		}
	}
	return fyne.Min(fyne.Max(w+2*theme.InnerPadding()+1, minKeyWidth), maxKeyWidth)
}

// detailFormLayout lays out pairs of objects as rows: the key in a column
// of fixed width, the value in the rest. Unlike layout.NewFormLayout, the
// key width is set by the caller, so separate sections line up.
type detailFormLayout struct {
	keyWidth float32
}

func (l *detailFormLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	pad := theme.Padding()
	valueWidth := fyne.Max(size.Width-l.keyWidth-pad, 0)
	y := float32(0)
	for i := 0; i+1 < len(objs); i += 2 {
		key, val := objs[i], objs[i+1]
		// Wrapped text knows its height only once it knows its width.
		key.Resize(fyne.NewSize(l.keyWidth, key.MinSize().Height))
		val.Resize(fyne.NewSize(valueWidth, val.MinSize().Height))
		h := fyne.Max(key.MinSize().Height, val.MinSize().Height)
		key.Move(fyne.NewPos(0, y))
		key.Resize(fyne.NewSize(l.keyWidth, h))
		val.Move(fyne.NewPos(l.keyWidth+pad, y))
		val.Resize(fyne.NewSize(valueWidth, h))
		y += h + pad
	}
}

func (l *detailFormLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	pad := theme.Padding()
	var w, h float32
	for i := 0; i+1 < len(objs); i += 2 {
		key, val := objs[i].MinSize(), objs[i+1].MinSize()
		w = fyne.Max(w, val.Width)
		h += fyne.Max(key.Height, val.Height) + pad
	}
	if h > 0 {
		h -= pad
	}
	return fyne.NewSize(l.keyWidth+pad+w, h)
}

// fieldValue is a field's value: a link for web addresses, selectable
// wrapped text otherwise, with a copy button when asked.
func fieldValue(f detailField) fyne.CanvasObject {
	value := f.value
	if f.html {
		value = plainFromHTML(value)
	}
	value = truncateRunes(value, maxFieldRunes)
	var obj fyne.CanvasObject
	if u := webURL(value); u != nil {
		link := widget.NewHyperlink(value, u)
		link.Truncation = fyne.TextTruncateEllipsis
		obj = link
	} else {
		l := widget.NewLabel(value)
		l.Selectable = true
		if f.copy {
			// Emails and phone numbers read badly broken across lines;
			// the copy button and selection still give the whole value.
			l.Truncation = fyne.TextTruncateEllipsis
		} else {
			l.Wrapping = fyne.TextWrapWord
		}
		obj = l
	}
	if !f.copy {
		return obj
	}
	return container.NewBorder(nil, nil, nil, newCopyButton(f.value), obj)
}

// maxFieldRunes bounds one value on screen; long job descriptions are cut.
const maxFieldRunes = 600

// newCopyButton puts value on the clipboard.
func newCopyButton(value string) *widget.Button {
	b := widget.NewButtonWithIcon("", theme.ContentCopyIcon(), func() {
		fyne.CurrentApp().Clipboard().SetContent(value)
	})
	b.Importance = widget.LowImportance
	return b
}

// basicPaths are the payload fields that the basic sections show. The
// generic sections skip them when they hold a plain value; an object or
// list found at one of these paths is still shown there.
var basicPaths = pathSet(
	"comeet_id", "recruit_id", "person_uid",
	"first_name", "middle_name", "last_name",
	"email", "phone", "mobile_phone", "linkedin_url",
	"hired_date", "start_date",
	"source.name", "source.type",
	"position.name", "position.department", "position.location",
	"position.employment", "position.employee_type", "position.seniority",
	"position.hiring_manager.first_name", "position.hiring_manager.last_name",
	"position.hiring_manager.email",
	"position.leading_recruiter.first_name", "position.leading_recruiter.last_name",
	"position.leading_recruiter.email",
)

func pathSet(paths ...string) map[string]bool {
	m := make(map[string]bool, len(paths))
	for _, p := range paths {
		m[p] = true
	}
	return m
}

// basicSections are the fields people look for first, from the stored
// record, plus the two the record does not flatten (seniority, LinkedIn).
// when formats the received and updated times.
func basicSections(h store.Hire, p *payloadNode, when func(time.Time) string) []detailSection {
	contact := detailSection{title: "Contact"}
	contact.add("Email", h.Email, true)
	contact.add("Phone", h.Phone, true)
	contact.add("Mobile", h.Mobile, true)
	contact.add("LinkedIn", p.text("linkedin_url"), false)

	role := detailSection{title: "Position"}
	role.add("Position", h.Position, false)
	role.add("Department", h.Department, false)
	role.add("Location", h.Location, false)
	role.add("Employment", h.Employment, false)
	role.add("Employee type", h.EmployeeType, false)
	role.add("Seniority", p.text("position", "seniority"), false)

	hiring := detailSection{title: "Hiring"}
	hiring.add("Hired", h.HiredDate, false)
	hiring.add("Start date", h.StartDate, false)
	hiring.add("Hiring manager", h.HiringManager, false)
	hiring.add("Manager email", h.ManagerEmail, true)
	hiring.add("Recruiter", h.Recruiter, false)
	hiring.add("Recruiter email", h.RecruiterEmail, true)
	hiring.add("Source", sourceText(h.Source, h.SourceType), false)

	record := detailSection{title: "Record"}
	record.add("Comeet ID", h.ComeetID, true)
	record.add("Person UID", h.PersonUID, false)
	record.add("Received", when(h.ReceivedAt), false)
	if !h.UpdatedAt.Equal(h.ReceivedAt) {
		record.add("Updated", when(h.UpdatedAt), false)
	}
	record.add("Deliveries", strconv.Itoa(h.Deliveries), false)

	return nonEmptySections(contact, role, hiring, record)
}

func sourceText(name, typ string) string {
	switch {
	case name == "":
		return typ
	case typ == "" || typ == name:
		return name
	}
	return name + " (" + typ + ")"
}

func nonEmptySections(all ...detailSection) []detailSection {
	out := all[:0]
	for _, s := range all {
		if len(s.fields) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// maxSectionFields bounds one generic section, so that a payload with a
// huge list cannot freeze the window.
const maxSectionFields = 200

// payloadSections renders everything in the payload that the basic
// sections do not show: top-level plain fields under "Other fields", then
// one section per top-level object or list, in the payload's own order.
// Nested keys are joined with " › ", list items numbered when there is
// more than one, and lists of one-key objects (Comeet's offer_fields) read
// as key/value pairs.
func payloadSections(p *payloadNode) []detailSection {
	other := detailSection{title: "Other fields"}
	var nested []detailSection
	for i, key := range p.keys {
		kid := p.kids[i]
		if kid.isLeaf() {
			flattenPayload(kid, []string{humanKey(key)}, key, &other)
			continue
		}
		s := detailSection{title: humanKey(key)}
		flattenPayload(kid, nil, key, &s)
		nested = append(nested, s)
	}
	return nonEmptySections(append([]detailSection{other}, nested...)...)
}

// flattenPayload appends the leaves under n to s. path is the field's
// dotted path from the top (list items add "[]"), to skip basicPaths.
func flattenPayload(n *payloadNode, label []string, path string, s *detailSection) {
	if len(s.fields) > maxSectionFields {
		return
	}
	if len(s.fields) == maxSectionFields {
		s.fields = append(s.fields, detailField{label: "…", value: "More fields are not shown."})
		return
	}
	switch n.kind {
	case payloadNull:
		return
	case payloadObject:
		for i, key := range n.keys {
			flattenPayload(n.kids[i], appendLabel(label, humanKey(key)), path+"."+key, s)
		}
	case payloadArray:
		flattenArray(n, label, path, s)
	default:
		if basicPaths[path] {
			return
		}
		lbl := strings.Join(label, " › ")
		if lbl == "" {
			lbl = "Value"
		}
		text := n.display()
		if strings.TrimSpace(text) == "" {
			return
		}
		s.fields = append(s.fields, detailField{label: lbl, value: text, html: looksLikeHTML(text)})
	}
}

// flattenArray lists the items of a list: short plain values on one line,
// one-key objects (Comeet's offer_fields) as that key, anything else
// numbered when there is more than one item.
func flattenArray(n *payloadNode, label []string, path string, s *detailSection) {
	if n.allPlainWords() {
		var words []string
		for _, item := range n.kids {
			if t := item.display(); t != "" {
				words = append(words, t)
			}
		}
		joined := &payloadNode{kind: payloadString, value: strings.Join(words, ", ")}
		flattenPayload(joined, label, path+"[]", s)
		return
	}
	for i, item := range n.kids {
		switch {
		case item.kind == payloadObject && len(item.keys) == 1:
			flattenPayload(item.kids[0], appendLabel(label, humanKey(item.keys[0])), path+"[]."+item.keys[0], s)
		case len(n.kids) > 1:
			flattenPayload(item, appendLabel(label, "#"+strconv.Itoa(i+1)), path+"[]", s)
		default:
			flattenPayload(item, label, path+"[]", s)
		}
	}
}

// appendLabel returns label+part without sharing label's backing array.
func appendLabel(label []string, part string) []string {
	out := make([]string, len(label), len(label)+1)
	copy(out, label)
	return append(out, part)
}

// humanKey turns a snake_case payload key into words ("custom_fields" ->
// "Custom fields"); keys written by people ("Cost center") stay as they are.
func humanKey(k string) string {
	if k == "" || strings.ContainsAny(k, " ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		return k
	}
	words := strings.Split(strings.Trim(k, "_"), "_")
	for i, w := range words {
		switch w {
		case "id", "uid", "url":
			words[i] = strings.ToUpper(w)
		}
	}
	s := strings.Join(words, " ")
	if s == "" {
		return k
	}
	if s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// truncateRunes cuts s to at most n runes, ending with an ellipsis.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	count := 0
	for i := range s {
		if count == n {
			cut := strings.TrimRight(s[:i], " \n\t")
			if j := strings.LastIndexAny(cut, " \n"); j > len(cut)-40 && j > 0 {
				cut = cut[:j]
			}
			return cut + " …"
		}
		count++
	}
	return s
}
