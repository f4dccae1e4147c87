package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"hirebell/store"
)

// hvOpenStore opens a real store in a temp folder, closed at the end.
func hvOpenStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// hvSaveRaw stores one payload as the receiver would.
func hvSaveRaw(t testing.TB, st *store.Store, raw []byte) store.Hire {
	t.Helper()
	h, err := store.DecodeHire(raw)
	if err != nil {
		t.Fatalf("decode hire: %v", err)
	}
	res, err := st.SaveHire(h, store.Delivery{Status: 200})
	if err != nil {
		t.Fatalf("save hire: %v", err)
	}
	return res.Hire
}

// hvSaveSample stores store/testdata/<name>.
func hvSaveSample(t testing.TB, st *store.Store, name string) store.Hire {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "store", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return hvSaveRaw(t, st, raw)
}

// hvSaveMap stores a payload built from a map.
func hvSaveMap(t testing.TB, st *store.Store, payload map[string]any) store.Hire {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return hvSaveRaw(t, st, raw)
}

// hvFixedTime replaces real clock times, so golden files do not change
// with the day the tests run.
func hvFixedTime(_ time.Time, compact bool) string {
	if compact {
		return "Today 09:30"
	}
	return "3 Dec 2026 09:30"
}

// hvNewView builds the view in a test window. MarkSeen writes started by
// the view are waited for before the store closes.
func hvNewView(t *testing.T, st *store.Store) (*hiresView, fyne.Window) {
	t.Helper()
	w := test.NewTempWindow(t, nil)
	v := newHiresView(st, w)
	v.timeText = hvFixedTime
	w.SetContent(v.content())
	w.Resize(fyne.NewSize(1400, 700))
	t.Cleanup(v.background.Wait)
	return v, w
}

// hvVisibleNames is the Name column from top to bottom.
func hvVisibleNames(v *hiresView) []string {
	var out []string
	for i := range v.model.visible {
		out = append(out, v.model.at(i).name())
	}
	return out
}

// hvFind returns every shown object of type T under o that ok accepts.
func hvFind[T fyne.CanvasObject](o fyne.CanvasObject, ok func(T) bool) []T {
	var out []T
	walkVisible(o, func(obj fyne.CanvasObject) {
		if x, is := obj.(T); is && ok(x) {
			out = append(out, x)
		}
	})
	return out
}

func hvButton(t *testing.T, o fyne.CanvasObject, text string) *widget.Button {
	t.Helper()
	bs := hvFind(o, func(b *widget.Button) bool { return b.Text == text })
	if len(bs) != 1 {
		t.Fatalf("want one button %q, found %d", text, len(bs))
	}
	return bs[0]
}

// hvTexts is every visible label, hyperlink and rich text under o.
func hvTexts(o fyne.CanvasObject) []string {
	var out []string
	walkVisible(o, func(obj fyne.CanvasObject) {
		switch x := obj.(type) {
		case *widget.Label:
			out = append(out, x.Text)
		case *widget.Hyperlink:
			out = append(out, x.Text)
		}
	})
	return out
}

// sortFixture is four hires whose columns order differently, with
// empties, an odd date, mixed case and case-insensitive ties. Saved in
// this order, the store lists them D, C, B, A (newest first).
var sortFixture = []map[string]any{
	{"comeet_id": "A", "first_name": "anna", "last_name": "Zed", "email": "anna@x.example",
		"start_date": "2027-01-04", "hired_date": "2026-11-28",
		"position": map[string]any{"name": "Designer", "department": "",
			"hiring_manager": map[string]any{"first_name": "bob", "last_name": "Brown"}}},
	{"comeet_id": "B", "first_name": "Bruno", "last_name": "Adams", "email": "bruno@y.example",
		"hired_date": "2026-12-01",
		"position": map[string]any{"name": "analyst", "department": "R&D",
			"hiring_manager": map[string]any{"first_name": "Alice", "last_name": "Ng"}}},
	{"comeet_id": "C", "first_name": "carla", "last_name": "Mendes", "email": "carla@x.example",
		"start_date": "soon", "hired_date": "2025-01-02",
		"position": map[string]any{"name": "Engineer", "department": "Finance"}},
	{"comeet_id": "D", "first_name": "david", "last_name": "Ørn", "email": "DAVID@Z.example",
		"start_date": "2026-02-01",
		"position": map[string]any{"department": "finance",
			"hiring_manager": map[string]any{"first_name": "alice", "last_name": "ng"}}},
}

func hvSortFixture(t *testing.T) (*hiresView, fyne.Window, *store.Store) {
	t.Helper()
	test.NewTempApp(t)
	st := hvOpenStore(t)
	for _, p := range sortFixture {
		hvSaveMap(t, st, p)
	}
	v, w := hvNewView(t, st)
	return v, w, st
}

func TestHiresSortEachColumnBothWays(t *testing.T) {
	const (
		a = "anna Zed"
		b = "Bruno Adams"
		c = "carla Mendes"
		d = "david Ørn"
	)
	cases := []struct {
		header    string
		asc, desc []string
	}{
		{"Name", []string{a, b, c, d}, []string{d, c, b, a}},
		{"Position", []string{b, a, c, d}, []string{c, a, b, d}},
		{"Department", []string{d, c, b, a}, []string{b, d, c, a}},
		{"Start date", []string{d, a, c, b}, []string{a, d, c, b}},
		{"Hired", []string{c, a, b, d}, []string{b, a, c, d}},
		{"Hiring manager", []string{d, b, a, c}, []string{a, d, b, c}},
		{"Received", []string{a, b, c, d}, []string{d, c, b, a}},
	}
	v, w, _ := hvSortFixture(t)
	for _, tc := range cases {
		t.Run(tc.header, func(t *testing.T) {
			if tc.header != "Received" {
				hvAssertIcon(t, hvButton(t, w.Canvas().Content(), tc.header), nil)
			}
			test.Tap(hvButton(t, w.Canvas().Content(), tc.header))
			if got := hvVisibleNames(v); !slices.Equal(got, tc.asc) {
				t.Errorf("ascending: got %q, want %q", got, tc.asc)
			}
			hvAssertIcon(t, hvButton(t, w.Canvas().Content(), tc.header), theme.MenuDropUpIcon())
			test.Tap(hvButton(t, w.Canvas().Content(), tc.header))
			if got := hvVisibleNames(v); !slices.Equal(got, tc.desc) {
				t.Errorf("descending: got %q, want %q", got, tc.desc)
			}
			hvAssertIcon(t, hvButton(t, w.Canvas().Content(), tc.header), theme.MenuDropDownIcon())
		})
	}
}

func hvAssertIcon(t *testing.T, b *widget.Button, want fyne.Resource) {
	t.Helper()
	switch {
	case want == nil && b.Icon != nil:
		t.Errorf("header %q: want no sort icon, got %s", b.Text, b.Icon.Name())
	case want != nil && (b.Icon == nil || b.Icon.Name() != want.Name()):
		t.Errorf("header %q: want icon %s, got %v", b.Text, want.Name(), b.Icon)
	}
}

func TestHiresDefaultOrderIsNewestFirst(t *testing.T) {
	v, w, st := hvSortFixture(t)
	want := []string{"david Ørn", "carla Mendes", "Bruno Adams", "anna Zed"}
	if got := hvVisibleNames(v); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	hvAssertIcon(t, hvButton(t, w.Canvas().Content(), "Received"), theme.MenuDropDownIcon())

	// A sort survives a reload that brings a new hire.
	test.Tap(hvButton(t, w.Canvas().Content(), "Name"))
	hvSaveMap(t, st, map[string]any{"comeet_id": "E", "first_name": "Aaron"})
	v.reload()
	want = []string{"Aaron", "anna Zed", "Bruno Adams", "carla Mendes", "david Ørn"}
	if got := hvVisibleNames(v); !slices.Equal(got, want) {
		t.Fatalf("after reload: got %q, want %q", got, want)
	}
}

func TestHiresSearch(t *testing.T) {
	cases := []struct {
		name  string
		query string
		want  []string
	}{
		{"empty shows all", "", []string{"david Ørn", "carla Mendes", "Bruno Adams", "anna Zed"}},
		{"name, any case", "ANNA", []string{"anna Zed"}},
		{"last name", "mendes", []string{"carla Mendes"}},
		{"unicode case folding", "ØRN", []string{"david Ørn"}},
		{"email", "@x.example", []string{"carla Mendes", "anna Zed"}},
		{"email stored upper-case", "david@z", []string{"david Ørn"}},
		{"position", "analyst", []string{"Bruno Adams"}},
		{"department", "finance", []string{"david Ørn", "carla Mendes"}},
		{"hiring manager", "alice", []string{"david Ørn", "Bruno Adams"}},
		{"every word must match", "alice r&d", []string{"Bruno Adams"}},
		{"words in any field order", "  zed   designer ", []string{"anna Zed"}},
		{"no match", "zzz", nil},
	}
	v, w, _ := hvSortFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v.search.SetText("")
			test.Type(v.search, tc.query)
			if got := hvVisibleNames(v); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			noMatch := slices.Contains(hvTexts(w.Canvas().Content()), "No matches")
			if noMatch != (len(tc.want) == 0) {
				t.Errorf("no-match message shown = %v with %d rows", noMatch, len(tc.want))
			}
		})
	}
}

func TestHiresSearchKeepsSortAndClears(t *testing.T) {
	v, w, _ := hvSortFixture(t)
	test.Tap(hvButton(t, w.Canvas().Content(), "Name"))
	test.Type(v.search, "x.example")
	if got, want := hvVisibleNames(v), []string{"anna Zed", "carla Mendes"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := v.status.Text; got != "2 of 4 hires · 4 new" {
		t.Errorf("status %q", got)
	}
	test.Type(v.search, "zzz")
	test.Tap(hvButton(t, w.Canvas().Content(), "Clear search"))
	if v.search.Text != "" || len(v.model.visible) != 4 {
		t.Fatalf("after Clear search: query %q, %d rows", v.search.Text, len(v.model.visible))
	}
	if slices.Contains(hvTexts(w.Canvas().Content()), "No matches") {
		t.Error("no-match message still shown")
	}
}

func TestHiresEmptyState(t *testing.T) {
	test.NewTempApp(t)
	st := hvOpenStore(t)
	v, w := hvNewView(t, st)
	texts := strings.Join(hvTexts(w.Canvas().Content()), "\n")
	for _, want := range []string{"No hires yet", "Open Setup", "Integrations page"} {
		if !strings.Contains(texts, want) {
			t.Errorf("empty state lacks %q:\n%s", want, texts)
		}
	}
	if v.unseen() != 0 {
		t.Errorf("unseen = %d", v.unseen())
	}

	hvSaveSample(t, st, "sample-minimal.json")
	v.reload()
	if slices.Contains(hvTexts(w.Canvas().Content()), "No hires yet") {
		t.Error("empty state still shown with a hire")
	}
}

func TestHiresNewMarkerAndSeen(t *testing.T) {
	v, _, st := hvSortFixture(t)
	var reported []int
	v.onUnseenChanged = func(n int) { reported = append(reported, n) }
	if v.unseen() != 4 {
		t.Fatalf("unseen = %d, want 4", v.unseen())
	}
	if !hvCellBold(t, v, 0) {
		t.Fatal("unseen row 0 not bold")
	}
	if !hvCellDot(t, v, 0) {
		t.Fatal("unseen row 0 has no dot")
	}

	v.table.Select(widget.TableCellID{Row: 0, Col: 2}) // david Ørn
	if v.unseen() != 3 || !slices.Equal(reported, []int{3}) {
		t.Fatalf("after open: unseen %d, reported %v", v.unseen(), reported)
	}
	if hvCellBold(t, v, 0) || hvCellDot(t, v, 0) {
		t.Error("opened row still marked new")
	}
	if !hvCellBold(t, v, 1) {
		t.Error("row 1 lost its mark")
	}
	if v.status.Text != "4 hires · 3 new" {
		t.Errorf("status %q", v.status.Text)
	}

	// Opening it again changes nothing.
	v.table.Select(widget.TableCellID{Row: 0, Col: 0})
	if len(reported) != 1 {
		t.Errorf("reported again: %v", reported)
	}

	v.background.Wait()
	h, err := st.Get("D")
	if err != nil || !h.Seen {
		t.Fatalf("stored seen = %v, err %v", h.Seen, err)
	}
	// A reload keeps it seen; a new hire raises the count.
	hvSaveMap(t, st, map[string]any{"comeet_id": "E", "first_name": "Eve"})
	v.reload()
	if v.unseen() != 4 || !slices.Equal(reported, []int{3, 4}) {
		t.Errorf("after a new hire: unseen %d, reported %v", v.unseen(), reported)
	}
	// A fresh view reads the seen mark from the store.
	if v2 := newHiresView(st, v.win); v2.unseen() != 4 {
		t.Errorf("fresh view: unseen %d, want 4", v2.unseen())
	}
}

// hvCell renders table row i, column Name, into a fresh cell.
func hvCell(v *hiresView, row int) *hireCell {
	c := newHireCell()
	v.updateCell(widget.TableCellID{Row: row, Col: int(colName)}, c)
	return c
}

func hvCellBold(t *testing.T, v *hiresView, row int) bool {
	t.Helper()
	return hvCell(v, row).label.TextStyle.Bold
}

func hvCellDot(t *testing.T, v *hiresView, row int) bool {
	t.Helper()
	c := hvCell(v, row)
	_, _, _, a := c.dot.FillColor.RGBA()
	return a != 0
}

func TestHiresSelectionHighlightFollowsSort(t *testing.T) {
	v, w, _ := hvSortFixture(t)
	v.table.Select(widget.TableCellID{Row: 3, Col: 1}) // anna Zed, oldest
	if v.selected != "A" {
		t.Fatalf("selected %q", v.selected)
	}
	test.Tap(hvButton(t, w.Canvas().Content(), "Name")) // anna first now
	if c := hvCell(v, 0); c.bg.FillColor != theme.Color(theme.ColorNameSelection) {
		t.Error("selected row not highlighted after sort")
	}
	if c := hvCell(v, 3); c.bg.FillColor == theme.Color(theme.ColorNameSelection) {
		t.Error("old position still highlighted")
	}
}

func TestHiresDelete(t *testing.T) {
	cases := []struct {
		name    string
		button  string
		deleted bool
	}{
		{"confirmed", "Delete", true},
		{"cancelled", "Cancel", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, w, st := hvSortFixture(t)
			v.table.Select(widget.TableCellID{Row: 1, Col: 0}) // carla Mendes
			test.Tap(hvButton(t, v.details.content(), "Delete hire"))
			overlay := w.Canvas().Overlays().Top()
			if overlay == nil {
				t.Fatal("no confirmation dialog")
			}
			if texts := strings.Join(hvTexts(overlay), "\n"); !strings.Contains(texts, "carla Mendes") {
				t.Errorf("dialog does not name the hire:\n%s", texts)
			}
			test.Tap(hvButton(t, overlay, tc.button))
			_, err := st.Get("C")
			if gone := errors.Is(err, store.ErrNotFound); gone != tc.deleted {
				t.Fatalf("deleted = %v (err %v), want %v", gone, err, tc.deleted)
			}
			want := 4
			if tc.deleted {
				want = 3
				if v.selected != "" || slices.Contains(hvTexts(v.details.content()), "carla Mendes") {
					t.Error("details still show the deleted hire")
				}
			}
			if len(v.model.visible) != want {
				t.Errorf("%d rows, want %d", len(v.model.visible), want)
			}
		})
	}
}

func TestHiresDeleteError(t *testing.T) {
	v, w, st := hvSortFixture(t)
	v.table.Select(widget.TableCellID{Row: 0, Col: 0})
	v.background.Wait()
	if err := st.Delete("D"); err != nil { // gone behind the view's back
		t.Fatal(err)
	}
	v.delete("D")
	overlay := w.Canvas().Overlays().Top()
	if overlay == nil {
		t.Fatal("no error dialog")
	}
	if texts := strings.Join(hvTexts(overlay), "\n"); !strings.Contains(texts, "could not be deleted") {
		t.Errorf("error dialog says:\n%s", texts)
	}
}

func TestHiresReloadFollowsOpenHire(t *testing.T) {
	v, _, st := hvSortFixture(t)
	v.table.Select(widget.TableCellID{Row: 0, Col: 0}) // david Ørn, D
	v.background.Wait()

	// Redelivered with a new position: the details follow.
	hvSaveMap(t, st, map[string]any{"comeet_id": "D", "first_name": "david", "last_name": "Ørn",
		"position": map[string]any{"name": "Chief Tester"}})
	v.reload()
	if !slices.Contains(hvTexts(v.details.content()), "Chief Tester") {
		t.Error("details did not follow the redelivery")
	}

	// Deleted elsewhere: the details close.
	if err := st.Delete("D"); err != nil {
		t.Fatal(err)
	}
	v.reload()
	if v.selected != "" || !slices.Contains(hvTexts(v.details.content()), "Select a hire to see all of their details.") {
		t.Error("details still open for a deleted hire")
	}
}

func TestHiresReloadInBackground(t *testing.T) {
	test.NewTempApp(t)
	st := hvOpenStore(t)
	for _, p := range sortFixture[:2] {
		hvSaveMap(t, st, p)
	}
	w := test.NewTempWindow(t, nil)
	v := newHiresView(st, w)
	t.Cleanup(v.background.Wait)
	w.SetContent(v.content())
	hvBackgroundRows(t, 1) // as with a large store
	var reported []int
	v.onUnseenChanged = func(n int) { reported = append(reported, n) }
	test.Tap(hvButton(t, w.Canvas().Content(), "Name"))
	v.table.Select(widget.TableCellID{Row: 0, Col: 0}) // anna Zed, seen
	test.Type(v.search, "a")

	for _, p := range sortFixture[2:] {
		hvSaveMap(t, st, p)
	}
	v.reload()
	v.background.Wait()
	want := []string{"anna Zed", "Bruno Adams", "carla Mendes", "david Ørn"}
	if got := hvVisibleNames(v); !slices.Equal(got, want) {
		t.Fatalf("after a background reload: %q, want %q", got, want)
	}
	if v.selected != "A" || v.unseen() != 3 || !slices.Equal(reported, []int{1, 3}) {
		t.Errorf("selected %q, unseen %d, reported %v", v.selected, v.unseen(), reported)
	}
	if v.loading || v.status.Text != "4 hires · 3 new" {
		t.Errorf("loading %v, status %q", v.loading, v.status.Text)
	}
}

func TestHiresFirstLoadInBackground(t *testing.T) {
	test.NewTempApp(t)
	st := hvOpenStore(t)
	seedHires(t, st, 300)
	hvBackgroundRows(t, 100)
	v := newHiresView(st, test.NewTempWindow(t, nil))
	// The test driver runs fyne.Do at once on the loading goroutine, so
	// nothing may touch the view until the load is done.
	v.background.Wait()
	hires, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	unseen := 0
	for _, h := range hires {
		if !h.Seen {
			unseen++
		}
	}
	if len(v.model.rows) != 300 || v.loading || v.unseen() != unseen {
		t.Fatalf("%d rows, loading %v, unseen %d (want %d)", len(v.model.rows), v.loading, v.unseen(), unseen)
	}
	if want := hiresStatus(300, 300, unseen); v.status.Text != want {
		t.Errorf("status %q, want %q", v.status.Text, want)
	}
}

// hvBackgroundRows sets the background-load threshold for one test.
func hvBackgroundRows(t *testing.T, n int) {
	old := hiresBackgroundRows
	hiresBackgroundRows = n
	t.Cleanup(func() { hiresBackgroundRows = old })
}

func TestParseDateKey(t *testing.T) {
	cases := []struct {
		in   string
		want dateKey
	}{
		{"2026-11-28", dateKey{rankValue, 20261128}},
		{" 2026-11-28 ", dateKey{rankValue, 20261128}},
		{"2026-11-28T10:00:00Z", dateKey{rankValue, 20261128}},
		{"", dateKey{rank: rankEmpty}},
		{"   ", dateKey{rank: rankEmpty}},
		{"soon", dateKey{rank: rankOdd}},
		{"2026-13-01", dateKey{rank: rankOdd}},
		{"2026-1-1", dateKey{rank: rankOdd}},
		{"20261201", dateKey{rank: rankOdd}},
		{"２０２６-11-28", dateKey{rank: rankOdd}},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			if got := parseDateKey(tc.in); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCompactTime(t *testing.T) {
	now := time.Date(2026, 12, 3, 15, 0, 0, 0, time.Local)
	cases := []struct {
		name string
		t    time.Time
		want string
	}{
		{"zero", time.Time{}, ""},
		{"today", time.Date(2026, 12, 3, 9, 5, 0, 0, time.Local), "Today 09:05"},
		{"yesterday", time.Date(2026, 12, 2, 23, 59, 0, 0, time.Local), "Yesterday 23:59"},
		{"this year", time.Date(2026, 1, 30, 8, 0, 0, 0, time.Local), "30 Jan 08:00"},
		{"last year", time.Date(2025, 12, 30, 8, 0, 0, 0, time.Local), "30 Dec 2025"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := compactTime(tc.t, now); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHiresTableGolden(t *testing.T) {
	test.NewTempApp(t)
	st := hvOpenStore(t)
	for _, name := range []string{"sample-full.json", "sample-minimal.json", "sample-nulls.json",
		"tricky-unicode.json", "tricky-big-description.json", "tricky-rehire-1.json"} {
		hvSaveSample(t, st, name)
	}
	v, w := hvNewView(t, st)
	v.table.Select(widget.TableCellID{Row: 2, Col: 0})
	w.Resize(fyne.NewSize(1400, 420))
	test.AssertRendersToMarkup(t, "hires_table.xml", w.Canvas())
}

func TestHiresEmptyGolden(t *testing.T) {
	test.NewTempApp(t)
	_, w := hvNewView(t, hvOpenStore(t))
	w.Resize(fyne.NewSize(1000, 420))
	test.AssertRendersToMarkup(t, "hires_empty.xml", w.Canvas())
}

// hvReferenceOrder sorts hires (as loaded: row i is hires[i]) the slow,
// obvious way, from the hires themselves: a stable sort of the list order
// with empties (then dates that are not dates) last.
func hvReferenceOrder(hires []store.Hire, col hireColumn, desc bool) []int32 {
	cell := func(h *store.Hire) string {
		switch col {
		case colName:
			return h.Name() // the cell shows a stand-in for no name
		case colPosition:
			return h.Position
		case colDepartment:
			return h.Department
		case colStart:
			return h.StartDate
		case colHired:
			return h.HiredDate
		case colManager:
			return h.HiringManager
		}
		return ""
	}
	class := func(h *store.Hire) int8 {
		switch col {
		case colStart, colHired:
			return parseDateKey(cell(h)).rank
		case colReceived:
			return rankValue
		}
		if cell(h) == "" {
			return rankEmpty
		}
		return rankValue
	}
	within := func(a, b *store.Hire) int {
		switch col {
		case colReceived:
			return cmpInt(int(a.Seq), int(b.Seq))
		case colStart, colHired:
			ka, kb := parseDateKey(cell(a)), parseDateKey(cell(b))
			if ka.rank == rankValue {
				return cmpInt(int(ka.ymd), int(kb.ymd))
			}
		}
		return strings.Compare(strings.ToLower(cell(a)), strings.ToLower(cell(b)))
	}
	idx := make([]int32, len(hires))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(i, j int32) int {
		a, b := &hires[i], &hires[j]
		if ca, cb := class(a), class(b); ca != cb {
			return cmpInt(int(ca), int(cb))
		}
		c := within(a, b)
		if desc {
			c = -c
		}
		return c
	})
	return idx
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestHireModelMatchesReference(t *testing.T) {
	hires := hvGenHires(3000)
	hires[5].FirstName, hires[5].LastName = "", ""
	odd := []string{"", "soon", "2026-11-28T10:00:00Z", "2026-11-28", "TBD", "tbd", "2026-02-30", "Q1 2027"}
	for i := range hires {
		if i%7 == 0 {
			hires[i].StartDate = odd[i%len(odd)]
			hires[i].HiredDate = odd[(i/7)%len(odd)]
		}
		if i%11 == 0 {
			hires[i].Position = strings.ToUpper(hires[i].Position)
			hires[i].HiringManager = ""
		}
	}
	m := newHireModel()
	m.load(hires)
	for col := range numHireColumns {
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s desc=%v", hireColumnSpecs[col].title, desc), func(t *testing.T) {
				m.sort = hireSort{col: col, desc: desc}
				m.sortRows()
				m.filter()
				want := hvReferenceOrder(hires, col, desc)
				if !slices.Equal(m.visible, want) {
					i := 0
					for i < len(want) && m.visible[i] == want[i] {
						i++
					}
					t.Fatalf("order differs at %d: got %q, want %q", i,
						m.text(&m.rows[m.visible[i]], col), m.text(&m.rows[want[i]], col))
				}
			})
		}
	}
	t.Run("filter keeps the sort", func(t *testing.T) {
		m.sort = hireSort{col: colName}
		m.sortRows()
		m.setQuery("ENGINEER maya")
		var want []int32
		for _, i := range hvReferenceOrder(hires, colName, false) {
			h := &hires[i]
			all := strings.ToLower(strings.Join([]string{h.Name(), h.Email, h.Position, h.Department, h.HiringManager}, "\n"))
			if strings.Contains(all, "engineer") && strings.Contains(all, "maya") {
				want = append(want, i)
			}
		}
		if len(want) == 0 || !slices.Equal(m.visible, want) {
			t.Fatalf("got %d rows, want %d", len(m.visible), len(want))
		}
	})
}

func TestHiresNoNameCell(t *testing.T) {
	test.NewTempApp(t)
	st := hvOpenStore(t)
	hvSaveSample(t, st, "tricky-nulls-everywhere.json")
	v, _ := hvNewView(t, st)
	if got := hvCell(v, 0).label.Text; got != "(no name)" {
		t.Errorf("name cell %q", got)
	}
}

func TestHireRowText(t *testing.T) {
	cases := []struct {
		name string
		h    store.Hire
	}{
		{"all parts", store.Hire{ComeetID: "A.1", FirstName: "Zoë", MiddleName: "Ann", LastName: "ÑÚÑEZ", Email: "Zoe@Mail.Example"}},
		{"no middle", store.Hire{ComeetID: "B", FirstName: "Émile", LastName: "O'Brien", Email: "e@x"}},
		{"last only", store.Hire{ComeetID: "C", LastName: "İnce"}},
		{"no name", store.Hire{ComeetID: "D", Email: "ONLY@MAIL"}},
		{"not UTF-8", store.Hire{ComeetID: "E", FirstName: "Bad\xffName", Email: "\xfe"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newHireModel()
			m.load([]store.Hire{tc.h})
			r := &m.rows[0]
			wantName := tc.h.Name()
			if r.comeetID() != tc.h.ComeetID || r.name() != wantName {
				t.Errorf("comeetID %q, name %q; want %q, %q", r.comeetID(), r.name(), tc.h.ComeetID, wantName)
			}
			if want := strings.ToLower(wantName) + "\n" + strings.ToLower(tc.h.Email); r.searchText() != want {
				t.Errorf("search text %q, want %q", r.searchText(), want)
			}
			if want := strings.ToLower(wantName); r.nameFold() != want {
				t.Errorf("name fold %q, want %q", r.nameFold(), want)
			}
			wantCell := wantName
			if wantCell == "" {
				wantCell = noName
			}
			if got := m.text(r, colName); got != wantCell {
				t.Errorf("name cell %q, want %q", got, wantCell)
			}
		})
	}
}

// TestHireModelPools checks that equal values share one pooled copy and
// that values differing only in case sort as ties, in store order.
func TestHireModelPools(t *testing.T) {
	hires := []store.Hire{
		{ComeetID: "1", Seq: 4, Department: "Sales"},
		{ComeetID: "2", Seq: 3, Department: "R&D"},
		{ComeetID: "3", Seq: 2, Department: "SALES"},
		{ComeetID: "4", Seq: 1, Department: "Sales"},
	}
	m := newHireModel()
	m.load(hires)
	if got := len(m.values[poolDepartment]); got != 3 {
		t.Errorf("%d department values, want 3 (Sales, R&D, SALES)", got)
	}
	if m.rows[0].cells[poolDepartment] != m.rows[3].cells[poolDepartment] {
		t.Errorf("the two Sales rows do not share a value")
	}
	m.toggleSort(colDepartment)
	if want := []int32{1, 0, 2, 3}; !slices.Equal(m.visible, want) {
		t.Errorf("by department: %v, want %v", m.visible, want)
	}
	m.setQuery("sal")
	if want := []int32{0, 2, 3}; !slices.Equal(m.visible, want) {
		t.Errorf("search sal: %v, want %v", m.visible, want)
	}
}
