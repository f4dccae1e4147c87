package ui

import (
	"cmp"
	"slices"
	"strings"

	"hirebell/store"
)

// hireColumn is one column of the hires table.
type hireColumn int

const (
	colName hireColumn = iota
	colPosition
	colDepartment
	colStart
	colHired
	colManager
	colReceived
	numHireColumns
)

// hireColumnSpec is how a column looks: its header and its width.
type hireColumnSpec struct {
	title string
	width float32
}

var hireColumnSpecs = [numHireColumns]hireColumnSpec{
	colName:       {"Name", 180},
	colPosition:   {"Position", 150},
	colDepartment: {"Department", 120},
	colStart:      {"Start date", 96},
	colHired:      {"Hired", 96},
	colManager:    {"Hiring manager", 140},
	colReceived:   {"Received", 116},
}

// Sort ranks: whatever the direction, real values come first, then values
// that could not be read (a date that is not a date), then empty cells.
const (
	rankValue int8 = iota
	rankOdd
	rankEmpty
)

// dateKey is a date cell read once per load so that sorting compares
// integers, not strings.
type dateKey struct {
	rank int8
	ymd  int32 // yyyymmdd when rank is rankValue
}

// parseDateKey reads Comeet's YYYY-MM-DD dates, tolerating a time part
// after them (2026-11-28T10:00:00Z or "2026-11-28 10:00").
func parseDateKey(s string) dateKey {
	s = strings.TrimSpace(s)
	if s == "" {
		return dateKey{rank: rankEmpty}
	}
	if len(s) > 10 && (s[10] == 'T' || s[10] == ' ') {
		s = s[:10]
	}
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return dateKey{rank: rankOdd}
	}
	y, ok1 := atoiDigits(s[0:4])
	m, ok2 := atoiDigits(s[5:7])
	d, ok3 := atoiDigits(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > 31 {
		return dateKey{rank: rankOdd}
	}
	return dateKey{rank: rankValue, ymd: int32(y*10000 + m*100 + d)}
}

func atoiDigits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// hireRow is one loaded hire with its sort and search keys, computed once
// per load: lower-cased text (strings.ToLower returns its argument without
// allocating when there is nothing to lower) and parsed dates.
type hireRow struct {
	hire  store.Hire
	name  string
	fold  [4]string // lower-cased name, position, department, manager
	email string    // lower-cased
	start dateKey
	hired dateKey
}

// foldIndex maps a text column to its slot in hireRow.fold.
var foldIndex = [numHireColumns]int{colName: 0, colPosition: 1, colDepartment: 2, colManager: 3}

func newHireRow(h store.Hire) hireRow {
	name := h.Name()
	return hireRow{
		hire: h,
		name: name,
		fold: [4]string{
			strings.ToLower(name),
			strings.ToLower(h.Position),
			strings.ToLower(h.Department),
			strings.ToLower(h.HiringManager),
		},
		email: strings.ToLower(h.Email),
		start: parseDateKey(h.StartDate),
		hired: parseDateKey(h.HiredDate),
	}
}

// text is the cell's text as shown in the table (Received is formatted by
// the view).
func (r *hireRow) text(c hireColumn) string {
	switch c {
	case colName:
		return r.name
	case colPosition:
		return r.hire.Position
	case colDepartment:
		return r.hire.Department
	case colStart:
		return r.hire.StartDate
	case colHired:
		return r.hire.HiredDate
	case colManager:
		return r.hire.HiringManager
	}
	return ""
}

// matches reports whether every term occurs in one of the searched fields.
// Terms are already lower-case.
func (r *hireRow) matches(terms []string) bool {
	for _, t := range terms {
		if !strings.Contains(r.fold[0], t) && !strings.Contains(r.email, t) &&
			!strings.Contains(r.fold[1], t) && !strings.Contains(r.fold[2], t) &&
			!strings.Contains(r.fold[3], t) {
			return false
		}
	}
	return true
}

// hireSort is the table's sort order.
type hireSort struct {
	col  hireColumn
	desc bool
}

// defaultHireSort is newest first.
var defaultHireSort = hireSort{col: colReceived, desc: true}

// hireModel holds the loaded hires and the order in which the table shows
// them. rows is never reordered: order is an index into rows sorted by the
// current column, and visible is order filtered by the search. Everything
// here runs on the Fyne goroutine.
type hireModel struct {
	rows    []hireRow
	order   []int
	visible []int
	sort    hireSort
	terms   []string
	unseen  int
}

func newHireModel() *hireModel {
	return &hireModel{sort: defaultHireSort}
}

// load replaces the rows with hires (newest first, as store.List gives
// them), keeping the sort and the search. seen lists comeet_ids marked seen
// in this session whose write may not have reached the store yet.
func (m *hireModel) load(hires []store.Hire, seen map[string]bool) {
	m.rows = slices.Grow(m.rows[:0], len(hires))
	m.unseen = 0
	for _, h := range hires {
		if seen[h.ComeetID] {
			h.Seen = true
		}
		if !h.Seen {
			m.unseen++
		}
		m.rows = append(m.rows, newHireRow(h))
	}
	m.order = slices.Grow(m.order[:0], len(m.rows))
	for i := range m.rows {
		m.order = append(m.order, i)
	}
	m.sortRows()
	m.filter()
}

// setSort sorts by col: ascending the first time, then flipping.
func (m *hireModel) toggleSort(col hireColumn) {
	if m.sort.col == col {
		m.sort.desc = !m.sort.desc
	} else {
		m.sort = hireSort{col: col}
	}
	m.sortRows()
	m.filter()
}

// setQuery filters by a search text: every whitespace-separated word must
// occur, case-insensitively, in the name, email, position, department or
// hiring manager.
func (m *hireModel) setQuery(q string) {
	m.terms = strings.Fields(strings.ToLower(q))
	m.filter()
}

func (m *hireModel) filter() {
	m.visible = slices.Grow(m.visible[:0], len(m.order))
	if len(m.terms) == 0 {
		m.visible = append(m.visible, m.order...)
		return
	}
	for _, i := range m.order {
		if m.rows[i].matches(m.terms) {
			m.visible = append(m.visible, i)
		}
	}
}

// sortRows orders m.order by the current column. Ties keep the store's
// order (newest first), so the sort is stable and deterministic.
func (m *hireModel) sortRows() {
	compare := m.compareFunc()
	desc := m.sort.desc
	slices.SortFunc(m.order, func(a, b int) int {
		ra, rb := &m.rows[a], &m.rows[b]
		c := compare(ra, rb)
		if c == 0 {
			return a - b
		}
		if desc {
			if c == -2 || c == 2 { // rank differences do not flip
				return c
			}
			return -c
		}
		return c
	})
}

// compareFunc returns a comparison for the sort column. It returns -2 or 2
// when the rows differ in rank (empty cells last whatever the direction),
// -1, 0 or 1 otherwise.
func (m *hireModel) compareFunc() func(a, b *hireRow) int {
	switch col := m.sort.col; col {
	case colStart:
		return func(a, b *hireRow) int { return compareDates(a.start, b.start, a.hire.StartDate, b.hire.StartDate) }
	case colHired:
		return func(a, b *hireRow) int { return compareDates(a.hired, b.hired, a.hire.HiredDate, b.hire.HiredDate) }
	case colReceived:
		// Seq orders by first receipt, like ReceivedAt, without ties.
		return func(a, b *hireRow) int { return cmp.Compare(a.hire.Seq, b.hire.Seq) }
	default:
		k := foldIndex[col]
		return func(a, b *hireRow) int { return compareText(a.fold[k], b.fold[k]) }
	}
}

func compareText(a, b string) int {
	if (a == "") != (b == "") {
		if a == "" {
			return 2
		}
		return -2
	}
	return cmp.Compare(a, b)
}

func compareDates(a, b dateKey, rawA, rawB string) int {
	if a.rank != b.rank {
		if a.rank < b.rank {
			return -2
		}
		return 2
	}
	if a.rank == rankOdd {
		return cmp.Compare(strings.ToLower(rawA), strings.ToLower(rawB))
	}
	return cmp.Compare(a.ymd, b.ymd)
}

// at returns the row shown at table row i.
func (m *hireModel) at(i int) *hireRow {
	if i < 0 || i >= len(m.visible) {
		return nil
	}
	return &m.rows[m.visible[i]]
}

// visibleIndex returns the table row showing comeetID, or -1.
func (m *hireModel) visibleIndex(comeetID string) int {
	for i, ri := range m.visible {
		if m.rows[ri].hire.ComeetID == comeetID {
			return i
		}
	}
	return -1
}

// find returns the loaded row for comeetID, visible or not.
func (m *hireModel) find(comeetID string) *hireRow {
	for i := range m.rows {
		if m.rows[i].hire.ComeetID == comeetID {
			return &m.rows[i]
		}
	}
	return nil
}

// markSeen marks a row seen and reports whether it was unseen.
func (m *hireModel) markSeen(r *hireRow) bool {
	if r.hire.Seen {
		return false
	}
	r.hire.Seen = true
	m.unseen--
	return true
}
