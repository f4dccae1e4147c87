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
	colName:       {"Name", 170},
	colPosition:   {"Position", 145},
	colDepartment: {"Department", 115},
	colStart:      {"Start date", 96},
	colHired:      {"Hired", 96},
	colManager:    {"Hiring manager", 135},
	colReceived:   {"Received", 110},
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

// noName stands in for a hire whose payload has no name at all.
const noName = "(no name)"

// text is the cell's text as shown in the table (Received is formatted by
// the view).
func (r *hireRow) text(c hireColumn) string {
	switch c {
	case colName:
		if r.name == "" {
			return noName
		}
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
// current column, and visible is order filtered by the search. A model is
// used by one goroutine at a time: a loader builds it, then hands it to
// the Fyne goroutine.
type hireModel struct {
	rows    []hireRow
	order   []int
	visible []int
	ranks   [numHireColumns][]uint32 // per column, nil until first sorted by it
	entries []sortEntry              // scratch for rankColumn: one per distinct value
	keys    []uint64                 // scratch for sortRows
	match   []bool                   // scratch for filter
	sort    hireSort
	terms   []string
	unseen  int
}

func newHireModel() *hireModel {
	return &hireModel{sort: defaultHireSort}
}

// load replaces the rows with hires (newest first, as store.List gives
// them), keeping the sort and the search.
func (m *hireModel) load(hires []store.Hire) {
	m.rows = slices.Grow(m.rows[:0], len(hires))
	m.unseen = 0
	for _, h := range hires {
		if !h.Seen {
			m.unseen++
		}
		m.rows = append(m.rows, newHireRow(h))
	}
	m.ranks = [numHireColumns][]uint32{}
	m.sortRows()
	m.filter()
}

// toggleSort sorts by col: ascending the first time, then flipping.
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

// filter rebuilds visible from order. Rows are matched in load order,
// which walks memory sequentially, then picked in sorted order; matching in
// sorted order was several times slower at 100,000 rows (cache misses).
func (m *hireModel) filter() {
	m.visible = slices.Grow(m.visible[:0], len(m.order))
	if len(m.terms) == 0 {
		m.visible = append(m.visible, m.order...)
		return
	}
	m.match = slices.Grow(m.match[:0], len(m.rows))[:len(m.rows)]
	for i := range m.rows {
		m.match[i] = m.rows[i].matches(m.terms)
	}
	for _, i := range m.order {
		if m.match[i] {
			m.visible = append(m.visible, i)
		}
	}
}

// sortEntry is one row's sort key for a column, packed so that most
// comparisons are between two integers in one contiguous slice.
type sortEntry struct {
	key   uint64 // the value, or the first 8 bytes of text, big-endian
	row   int32
	rank  int8 // rankValue, rankOdd or rankEmpty
	exact bool // key holds the whole value: equal keys mean equal values
}

// A column rank packs a row's place in the column's ascending order, ties
// sharing a place, under its sort rank (value, odd, empty) in the top bits.
const (
	placeBits = 28
	placeMask = 1<<placeBits - 1
)

// sortRows orders m.order by the current column. Empty cells go last in
// either direction; ties keep the store's order (newest first), so the
// sort is stable and deterministic. With the column's ranks known, this is
// a sort of integers.
func (m *hireModel) sortRows() {
	ranks := m.columnRanks(m.sort.col)
	m.keys = m.keys[:0]
	for i, r := range ranks {
		if m.sort.desc {
			r = r&^placeMask | (placeMask - r&placeMask)
		}
		m.keys = append(m.keys, uint64(r)<<32|uint64(i))
	}
	slices.Sort(m.keys)
	m.order = m.order[:0]
	for _, k := range m.keys {
		m.order = append(m.order, int(uint32(k)))
	}
}

// columnRanks returns each row's rank in col, computing it on the first
// sort by col after a load.
func (m *hireModel) columnRanks(col hireColumn) []uint32 {
	if m.ranks[col] == nil {
		m.ranks[col] = m.rankColumn(col)
	}
	return m.ranks[col]
}

// rankColumn sorts the distinct values of col (a column of 100,000 hires
// has a few dozen departments, so this is where the time goes for text)
// and gives each row the place of its value; equal values share a place.
func (m *hireModel) rankColumn(col hireColumn) []uint32 {
	valueOf := make([]int32, len(m.rows)) // row -> distinct value
	m.entries = m.entries[:0]             // distinct value -> entry of its first row
	if col == colReceived {
		// Every row's value is distinct: skip the map.
		for i := range m.rows {
			valueOf[i] = int32(i)
			m.entries = append(m.entries, m.rows[i].sortEntry(col, i))
		}
	} else {
		seen := make(map[string]int32)
		for i := range m.rows {
			v := m.rows[i].sortValue(col)
			id, ok := seen[v]
			if !ok {
				id = int32(len(m.entries))
				seen[v] = id
				m.entries = append(m.entries, m.rows[i].sortEntry(col, i))
			}
			valueOf[i] = id
		}
	}
	byValue := make([]int32, len(m.entries))
	for id := range byValue {
		byValue[id] = int32(id)
	}
	slices.SortFunc(byValue, func(a, b int32) int {
		return m.compareEntries(col, m.entries[a], m.entries[b])
	})
	place := make([]uint32, len(m.entries)) // distinct value -> rank
	p := uint32(0)
	for i, id := range byValue {
		if i > 0 && m.compareEntries(col, m.entries[byValue[i-1]], m.entries[id]) != 0 {
			p++
		}
		place[id] = uint32(m.entries[id].rank)<<placeBits | p
	}
	ranks := make([]uint32, len(m.rows))
	for i, id := range valueOf {
		ranks[i] = place[id]
	}
	return ranks
}

func (m *hireModel) compareEntries(col hireColumn, a, b sortEntry) int {
	if a.rank != b.rank {
		return cmp.Compare(a.rank, b.rank)
	}
	if a.key != b.key {
		return cmp.Compare(a.key, b.key)
	}
	if a.exact && b.exact {
		return 0
	}
	return cmp.Compare(m.rows[a.row].sortText(col), m.rows[b.row].sortText(col))
}

// sortValue is what makes two rows equal in col: the lower-cased text, or
// the date as written.
func (r *hireRow) sortValue(col hireColumn) string {
	switch col {
	case colStart:
		return r.hire.StartDate
	case colHired:
		return r.hire.HiredDate
	}
	return r.fold[foldIndex[col]]
}

// sortEntry is the key of row (r itself) in col.
func (r *hireRow) sortEntry(col hireColumn, row int) sortEntry {
	e := r.columnKey(col)
	e.row = int32(row)
	return e
}

func (r *hireRow) columnKey(col hireColumn) sortEntry {
	switch col {
	case colStart, colHired:
		d := r.start
		if col == colHired {
			d = r.hired
		}
		if d.rank == rankOdd {
			key, exact := textPrefix(r.sortText(col))
			return sortEntry{key: key, rank: rankOdd, exact: exact}
		}
		return sortEntry{key: uint64(d.ymd), rank: d.rank, exact: true}
	case colReceived:
		// Seq orders by first receipt, like ReceivedAt, without ties.
		return sortEntry{key: r.hire.Seq, exact: true}
	}
	text := r.fold[foldIndex[col]]
	if text == "" {
		return sortEntry{rank: rankEmpty, exact: true}
	}
	key, exact := textPrefix(text)
	return sortEntry{key: key, exact: exact}
}

// sortText is the text that orders col when keys are not exact: the
// lower-cased cell, or for dates that are not dates, the raw value.
func (r *hireRow) sortText(col hireColumn) string {
	switch col {
	case colStart:
		return strings.ToLower(r.hire.StartDate)
	case colHired:
		return strings.ToLower(r.hire.HiredDate)
	case colReceived:
		return ""
	}
	return r.fold[foldIndex[col]]
}

// textPrefix packs the first 8 bytes of s big-endian, so that comparing
// two prefixes orders like comparing the strings byte by byte. exact says
// the prefix is all of s (and s has no NUL, which pads shorter strings).
func textPrefix(s string) (key uint64, exact bool) {
	for i := 0; i < 8; i++ {
		key <<= 8
		if i < len(s) {
			key |= uint64(s[i])
		}
	}
	return key, len(s) <= 8 && !strings.ContainsRune(s, 0)
}

// at returns the row shown at table row i.
func (m *hireModel) at(i int) *hireRow {
	if i < 0 || i >= len(m.visible) {
		return nil
	}
	return &m.rows[m.visible[i]]
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

// markSeenIDs marks seen the rows whose comeet_id is in ids: hires opened
// in this session whose seen mark may not have reached the store yet.
func (m *hireModel) markSeenIDs(ids map[string]bool) {
	if len(ids) == 0 {
		return
	}
	for i := range m.rows {
		if r := &m.rows[i]; ids[r.hire.ComeetID] {
			m.markSeen(r)
		}
	}
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
