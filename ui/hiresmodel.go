package ui

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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

// The columns from colPosition to colManager keep their values in pools: a
// column of 100,000 hires holds a few dozen departments or a few thousand
// dates, so each row keeps an index into its column's distinct values,
// which are copied, lower-cased and parsed once each rather than once per
// row. Their order in hireColumn is what maps a column to its pool.
const (
	firstPooled = colPosition
	numPooled   = int(colManager-colPosition) + 1
)

// pooled reports whether col keeps its values in a pool.
func pooled(col hireColumn) bool { return col >= firstPooled && int(col-firstPooled) < numPooled }

// Each pooled column's pool.
const (
	poolPosition   = int(colPosition - firstPooled)
	poolDepartment = int(colDepartment - firstPooled)
	poolStart      = int(colStart - firstPooled)
	poolHired      = int(colHired - firstPooled)
	poolManager    = int(colManager - firstPooled)
)

// cellValue is one distinct value of a pooled column.
type cellValue struct {
	text string  // as received
	fold string  // lower-cased: searched and sorted by
	date dateKey // the date columns' sort key
}

// hireRow is one loaded hire as the table needs it: what it shows, sorts
// and searches by, and what finds the hire again in the store (the details
// pane reads the whole hire when a row is opened). At 100,000 hires each
// byte here counts a hundred thousand times: one string holds the row's
// own text, and the repetitive columns are indexes into the model's pools.
type hireRow struct {
	// text is the comeet_id, the name as shown, the lower-cased name, a
	// newline and the lower-cased email. Its tail from the lower-cased name
	// on is what the search matches besides the pooled columns (no search
	// term holds a newline, so none matches across the two).
	text     string
	idEnd    uint32 // text[:idEnd] is the comeet_id
	nameEnd  uint32 // text[idEnd:nameEnd] is the name as shown
	foldEnd  uint32 // text[nameEnd:foldEnd] is the lower-cased name
	cells    [numPooled]uint32
	seen     bool
	received int64 // Unix nanoseconds
	updated  int64 // Unix nanoseconds
}

// comeetID is the hire's key in the store.
func (r *hireRow) comeetID() string { return r.text[:r.idEnd] }

// name is the person's name as the payload gives it, "" for none.
func (r *hireRow) name() string { return r.text[r.idEnd:r.nameEnd] }

// nameFold is the lower-cased name.
func (r *hireRow) nameFold() string { return r.text[r.nameEnd:r.foldEnd] }

// searchText is the lower-cased name and email.
func (r *hireRow) searchText() string { return r.text[r.nameEnd:] }

// receivedAt is when the hire first arrived.
func (r *hireRow) receivedAt() time.Time { return time.Unix(0, r.received) }

// updatedAt is when its latest delivery was stored.
func (r *hireRow) updatedAt() time.Time { return time.Unix(0, r.updated) }

// noName stands in for a hire whose payload has no name at all.
const noName = "(no name)"

// hireSort is the table's sort order.
type hireSort struct {
	col  hireColumn
	desc bool
}

// defaultHireSort is newest first.
var defaultHireSort = hireSort{col: colReceived, desc: true}

// hireModel holds the loaded hires and the order in which the table shows
// them. rows is never reordered, and holds the hires newest first, as the
// store lists them (so that the order of first receipt is the rows'
// order, reversed): order is an index into rows sorted by the current
// column, and visible is order filtered by the search. A model is used by
// one goroutine at a time: a loader builds it, then hands it to the Fyne
// goroutine.
type hireModel struct {
	rows    []hireRow
	values  [numPooled][]cellValue // the pooled columns' distinct values
	order   []int32
	visible []int32
	ranks   [numHireColumns][]uint32 // per column, nil until first sorted by it
	entries []sortEntry              // scratch for rankColumn: one per distinct value
	match   []bool                   // scratch for filter
	hits    [numPooled][]bool        // scratch for filter: pooled values matching a term
	sort    hireSort
	terms   []string
	unseen  int

	// While loading: each pool's index by value, and the row being built.
	intern [numPooled]map[string]uint32
	buf    []byte
}

func newHireModel() *hireModel {
	return &hireModel{sort: defaultHireSort}
}

// load replaces the rows with hires (newest first, as store.List gives
// them), keeping the sort and the search.
func (m *hireModel) load(hires []store.Hire) {
	m.begin(len(hires))
	for i := range hires {
		m.add(&hires[i])
	}
	m.end()
}

// begin starts replacing the rows with about n hires, given one at a time
// to add and then closed by end.
func (m *hireModel) begin(n int) {
	m.rows = slices.Grow(m.rows[:0], n)
	for k := range m.values {
		m.values[k] = m.values[k][:0]
		m.intern[k] = make(map[string]uint32)
	}
	m.unseen = 0
}

// add appends a row for h. It keeps no reference to h or its strings:
// each of those holds the hire's whole record.
func (m *hireModel) add(h *store.Hire) {
	if !h.Seen {
		m.unseen++
	}
	b := append(m.buf[:0], h.ComeetID...)
	idEnd := len(b)
	b = appendName(b, h, false)
	nameEnd := len(b)
	b = appendName(b, h, true)
	foldEnd := len(b)
	b = append(b, '\n')
	b = appendLower(b, h.Email)
	m.buf = b
	r := hireRow{
		text:     string(b), // the row's one allocation
		idEnd:    uint32(idEnd),
		nameEnd:  uint32(nameEnd),
		foldEnd:  uint32(foldEnd),
		seen:     h.Seen,
		received: h.ReceivedAt.UnixNano(),
		updated:  h.UpdatedAt.UnixNano(),
	}
	for k, s := range [numPooled]string{
		poolPosition:   h.Position,
		poolDepartment: h.Department,
		poolStart:      h.StartDate,
		poolHired:      h.HiredDate,
		poolManager:    h.HiringManager,
	} {
		r.cells[k] = m.pool(k, s)
	}
	m.rows = append(m.rows, r)
}

// appendName appends h's name as Hire.Name writes it, lower-cased (as
// strings.ToLower would) when fold is set.
func appendName(b []byte, h *store.Hire, fold bool) []byte {
	start := len(b)
	for _, part := range [...]string{h.FirstName, h.MiddleName, h.LastName} {
		if part == "" {
			continue
		}
		if len(b) > start {
			b = append(b, ' ')
		}
		if fold {
			b = appendLower(b, part)
		} else {
			b = append(b, part...)
		}
	}
	return b
}

// appendLower appends s lower-cased to b, as strings.ToLower would write
// it, without a string in between.
func appendLower(b []byte, s string) []byte {
	for _, c := range s {
		b = utf8.AppendRune(b, unicode.ToLower(c))
	}
	return b
}

// pool returns the index of s among pool k's values, adding it if new.
func (m *hireModel) pool(k int, s string) uint32 {
	if id, ok := m.intern[k][s]; ok {
		return id
	}
	s = strings.Clone(s) // not a slice of the hire's record
	v := cellValue{text: s, fold: strings.ToLower(s)}
	if k == poolStart || k == poolHired {
		v.date = parseDateKey(s)
	}
	id := uint32(len(m.values[k]))
	m.values[k] = append(m.values[k], v)
	m.intern[k][s] = id
	return id
}

// end finishes a load: drops the loading indexes, sorts and searches.
func (m *hireModel) end() {
	m.intern = [numPooled]map[string]uint32{}
	m.buf = nil
	m.ranks = [numHireColumns][]uint32{}
	m.sortRows()
	m.filter()
}

// text is the cell's text as shown in the table (Received is formatted by
// the view).
func (m *hireModel) text(r *hireRow, c hireColumn) string {
	switch {
	case c == colName:
		if r.nameEnd == r.idEnd {
			return noName
		}
		return r.name()
	case pooled(c):
		k := int(c - firstPooled)
		return m.values[k][r.cells[k]].text
	}
	return ""
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

// filter rebuilds visible from order. Each term is looked for once in
// each distinct value of the pooled columns, then in each row's own text;
// rows are matched in load order, which walks memory sequentially, then
// picked in sorted order (matching in sorted order was several times
// slower at 100,000 rows: cache misses).
func (m *hireModel) filter() {
	m.visible = slices.Grow(m.visible[:0], len(m.order))
	if len(m.terms) == 0 {
		m.visible = append(m.visible, m.order...)
		return
	}
	m.match = slices.Grow(m.match[:0], len(m.rows))[:len(m.rows)]
	for i := range m.match {
		m.match[i] = true
	}
	for _, t := range m.terms {
		for _, k := range [...]int{poolPosition, poolDepartment, poolManager} {
			m.hits[k] = m.hits[k][:0]
			for _, v := range m.values[k] {
				m.hits[k] = append(m.hits[k], strings.Contains(v.fold, t))
			}
		}
		pos, dept, mgr := m.hits[poolPosition], m.hits[poolDepartment], m.hits[poolManager]
		for i := range m.rows {
			if !m.match[i] {
				continue
			}
			r := &m.rows[i]
			m.match[i] = pos[r.cells[poolPosition]] || dept[r.cells[poolDepartment]] ||
				mgr[r.cells[poolManager]] || strings.Contains(r.searchText(), t)
		}
	}
	for _, i := range m.order {
		if m.match[i] {
			m.visible = append(m.visible, i)
		}
	}
}

// sortEntry is one distinct value's sort key in a column, packed so that
// most comparisons are between two integers in one contiguous slice.
type sortEntry struct {
	key   uint64 // the value, or the first 8 bytes of text, big-endian
	id    int32  // where sortText finds the value: a row, or a pooled value
	rank  int8   // rankValue, rankOdd or rankEmpty
	exact bool   // key holds the whole value: equal keys mean equal values
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
	keys := make([]uint64, 0, len(ranks)) // not kept: 8 bytes a row
	for i, r := range ranks {
		if m.sort.desc {
			r = r&^placeMask | (placeMask - r&placeMask)
		}
		keys = append(keys, uint64(r)<<32|uint64(i))
	}
	slices.Sort(keys)
	m.order = m.order[:0]
	for _, k := range keys {
		m.order = append(m.order, int32(uint32(k)))
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

// rankColumn sorts the distinct values of col (for the pooled columns,
// their pool; a column of 100,000 hires has a few dozen departments, so
// this is where the time goes for names) and gives each row the place of
// its value; equal values share a place.
func (m *hireModel) rankColumn(col hireColumn) []uint32 {
	valueOf := make([]int32, len(m.rows)) // row -> distinct value
	m.entries = m.entries[:0]             // distinct value -> its key
	switch {
	case pooled(col):
		k := int(col - firstPooled)
		for id, v := range m.values[k] {
			m.entries = append(m.entries, poolEntry(col, v, int32(id)))
		}
		for i := range m.rows {
			valueOf[i] = int32(m.rows[i].cells[k])
		}
	case col == colReceived:
		// The rows are in the store's order of first receipt, newest
		// first: like ReceivedAt, without ties.
		for i := range m.rows {
			valueOf[i] = int32(i)
			m.entries = append(m.entries, sortEntry{key: uint64(len(m.rows) - i), id: int32(i), exact: true})
		}
	default: // colName
		seen := make(map[string]int32)
		for i := range m.rows {
			v := m.rows[i].nameFold()
			id, ok := seen[v]
			if !ok {
				id = int32(len(m.entries))
				seen[v] = id
				m.entries = append(m.entries, textEntry(v, int32(i)))
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
	return cmp.Compare(m.sortText(col, a.id), m.sortText(col, b.id))
}

// sortText is the text that orders col when keys are not exact: the
// lower-cased cell, for dates that are not dates too.
func (m *hireModel) sortText(col hireColumn, id int32) string {
	switch {
	case col == colName:
		return m.rows[id].nameFold()
	case pooled(col):
		return m.values[col-firstPooled][id].fold
	}
	return ""
}

// textEntry is the key of a lower-cased text; id is where sortText finds it.
func textEntry(fold string, id int32) sortEntry {
	if fold == "" {
		return sortEntry{id: id, rank: rankEmpty, exact: true}
	}
	key, exact := textPrefix(fold)
	return sortEntry{key: key, id: id, exact: exact}
}

// poolEntry is the key of value v (pool index id) of a pooled column.
func poolEntry(col hireColumn, v cellValue, id int32) sortEntry {
	if col != colStart && col != colHired {
		return textEntry(v.fold, id)
	}
	if v.date.rank == rankOdd {
		key, exact := textPrefix(v.fold)
		return sortEntry{key: key, id: id, rank: rankOdd, exact: exact}
	}
	return sortEntry{key: uint64(v.date.ymd), id: id, rank: v.date.rank, exact: true}
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
		if m.rows[i].comeetID() == comeetID {
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
		if r := &m.rows[i]; ids[r.comeetID()] {
			m.markSeen(r)
		}
	}
}

// markSeen marks a row seen and reports whether it was unseen.
func (m *hireModel) markSeen(r *hireRow) bool {
	if r.seen {
		return false
	}
	r.seen = true
	m.unseen--
	return true
}
