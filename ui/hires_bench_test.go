package ui

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"hirebell/store"
)

// benchHires is the size the issue sets the speed targets at.
const benchHires = 100_000

var (
	benchFirst = []string{"Maya", "Tom", "Lena", "Noor", "Lior", "Ada", "Ravi", "Kim", "Sam", "Yael",
		"Daniel", "Noa", "Omar", "Zoë", "Émile", "Chen", "Priya", "Jonas", "Aisha", "Mateo",
		"Sofia", "Hiro", "Olga", "Kwame", "Ingrid", "Tariq", "Lucía", "Anders", "Mei", "Farah"}
	benchLast = []string{"Okafor", "Levi", "Haddad", "Rosen", "Park", "Menon", "Ben-David", "Cohen",
		"Ñúñez", "Schmidt", "García", "Nakamura", "Kowalski", "Mensah", "Larsen", "Ahmed", "Silva",
		"O'Brien", "Dubois", "Rossi", "Novak", "Jensen", "Kaur", "Tanaka", "Petrov"}
	benchPositions = []string{"Backend Engineer", "Frontend Engineer", "Office Manager", "Data Analyst",
		"Support Specialist", "QA Engineer", "Designer", "Product Manager", "Recruiter", "Accountant",
		"Sales Executive", "Platform Engineer", "Legal Counsel", "HR Partner", "Marketing Lead"}
	benchDepartments = []string{"R&D", "Support", "Finance", "Sales", "Marketing", "Operations",
		"Legal", "People", "Infra", "Product", ""}
)

// hvGenHire is the i-th of a deterministic set of varied hires.
func hvGenHire(r *rand.Rand, i int) store.Hire {
	first, last := benchFirst[r.IntN(len(benchFirst))], benchLast[r.IntN(len(benchLast))]
	day := func() string {
		if r.IntN(50) == 0 {
			return ""
		}
		return time.Date(2020+r.IntN(8), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	return store.Hire{
		ComeetID:      fmt.Sprintf("B%06d", i),
		FirstName:     first,
		LastName:      last,
		Email:         fmt.Sprintf("%s.%s%d@mail.example", first, last, i),
		Position:      benchPositions[r.IntN(len(benchPositions))],
		Department:    benchDepartments[r.IntN(len(benchDepartments))],
		HiringManager: benchFirst[r.IntN(len(benchFirst))] + " " + benchLast[r.IntN(len(benchLast))],
		StartDate:     day(),
		HiredDate:     day(),
		Deliveries:    1,
		Seen:          r.IntN(10) != 0,
	}
}

// hvGenHires makes n hires in memory, newest first as store.List gives them.
func hvGenHires(n int) []store.Hire {
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]store.Hire, n)
	for i := range n {
		h := hvGenHire(r, i)
		h.Seq = uint64(i + 1)
		h.ReceivedAt = base.Add(time.Duration(i) * time.Minute)
		h.UpdatedAt = h.ReceivedAt
		out[n-1-i] = h
	}
	return out
}

// seedHires stores n generated hires in st the way the receiver does,
// through SaveHire, from many goroutines at once so that the store's
// group commit puts hundreds in each transaction.
func seedHires(tb testing.TB, st *store.Store, n int) {
	tb.Helper()
	const workers = 256
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 3))
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				h := hvGenHire(r, i)
				raw, err := json.Marshal(map[string]any{"comeet_id": h.ComeetID,
					"first_name": h.FirstName, "last_name": h.LastName, "email": h.Email,
					"start_date": h.StartDate, "hired_date": h.HiredDate,
					"position": map[string]any{"name": h.Position, "department": h.Department}})
				if err != nil {
					errs <- err
					return
				}
				h.Raw = raw
				if _, err := st.SaveHire(h, store.Delivery{Status: 200}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatalf("seed hires: %v", err)
	}
}

// benchView is a hires view over n in-memory hires, in a test window with
// the table drawn, so that each operation includes the table refresh.
func benchView(b *testing.B, n int) *hiresView {
	b.Helper()
	test.NewTempApp(b)
	st := hvOpenStore(b)
	w := test.NewTempWindow(b, nil)
	v := newHiresView(st, w)
	w.SetContent(v.content())
	w.Resize(fyne.NewSize(1400, 800))
	v.model.load(hvGenHires(n))
	v.refresh()
	return v
}

// BenchmarkSort is the first click on a header after a load at 100,000
// hires: the comparison sort that ranks the column, the re-order, the
// search pass over the sorted rows and the table refresh. This is the
// worst case of a click. Budget: 150 ms.
func BenchmarkSort(b *testing.B) {
	for col := range numHireColumns {
		b.Run(hireColumnSpecs[col].title, func(b *testing.B) {
			v := benchView(b, benchHires)
			b.ReportAllocs()
			for b.Loop() {
				v.model.ranks = [numHireColumns][]uint32{} // as after a reload
				v.sortBy(col)
			}
		})
	}
}

// BenchmarkSortToggle is a click on the header already sorted by, which
// flips the direction using the column's cached ranks.
func BenchmarkSortToggle(b *testing.B) {
	for _, col := range []hireColumn{colName, colStart, colReceived} {
		b.Run(hireColumnSpecs[col].title, func(b *testing.B) {
			v := benchView(b, benchHires)
			v.sortBy(col)
			b.ReportAllocs()
			for b.Loop() {
				v.sortBy(col)
			}
		})
	}
}

// BenchmarkSortFiltered is a first sort while a search is active.
func BenchmarkSortFiltered(b *testing.B) {
	v := benchView(b, benchHires)
	v.search.SetText("engineer")
	b.ReportAllocs()
	for b.Loop() {
		v.model.ranks = [numHireColumns][]uint32{}
		v.sortBy(colName)
	}
}

// BenchmarkFilter is one keystroke in the search box at 100,000 hires:
// the entry's change, the search over every row and the table refresh.
// Keystrokes alternate between adding and removing the last letter.
// Budget: 50 ms.
func BenchmarkFilter(b *testing.B) {
	cases := []struct{ name, a, b string }{
		{"first-letters", "m", "ma"},
		{"name", "mar", "mari"},
		{"two-words", "maya r&", "maya r&d"},
		{"no-match", "zzzz", "zzzzz"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			v := benchView(b, benchHires)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i++; i%2 == 0 {
					v.search.SetText(tc.a)
				} else {
					v.search.SetText(tc.b)
				}
			}
		})
	}
}

// BenchmarkLoad is the in-memory part of a reload at 100,000 hires:
// keys, default sort and search pass, without reading the store.
func BenchmarkLoad(b *testing.B) {
	hires := hvGenHires(benchHires)
	m := newHireModel()
	b.ReportAllocs()
	for b.Loop() {
		m.load(hires)
	}
}

// BenchmarkReloadStore is a whole reload from a real store holding
// 100,000 hires seeded through SaveHire: store.List, keys, sort, search
// and the table refresh. At this size it runs in the background; the
// wait is part of the measure.
func BenchmarkReloadStore(b *testing.B) {
	v := benchStoreView(b)
	b.ReportAllocs()
	for b.Loop() {
		v.reload()
		v.background.Wait()
	}
}

// BenchmarkReloadApply is the part of a background reload that runs on
// the Fyne goroutine at 100,000 hires: putting the loaded model in place
// and redrawing.
func BenchmarkReloadApply(b *testing.B) {
	v := benchStoreView(b)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		m, err := loadHireModel(v.st, v.model.sort, v.model.terms, len(v.model.rows))
		b.StartTimer()
		v.applyLoad(m, err)
	}
}

func benchStoreView(b *testing.B) *hiresView {
	b.Helper()
	test.NewTempApp(b)
	st := hvOpenStore(b)
	seedHires(b, st, benchHires)
	w := test.NewTempWindow(b, nil)
	v := newHiresView(st, w)
	v.background.Wait()
	w.SetContent(v.content())
	w.Resize(fyne.NewSize(1400, 800))
	if len(v.model.rows) != benchHires {
		b.Fatalf("%d hires loaded", len(v.model.rows))
	}
	return v
}
