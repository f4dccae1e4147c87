package store

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var allOutcomes = []Outcome{
	OutcomeStored, OutcomeRedelivery, OutcomeTest, OutcomeMissingSignature,
	OutcomeBadSignature, OutcomeTooLarge, OutcomeNotAHire, OutcomeStoreError,
}

func TestOutcomeWords(t *testing.T) {
	labels := map[string]Outcome{}
	for _, o := range allOutcomes {
		t.Run(string(o), func(t *testing.T) {
			l, e := o.Label(), o.Explain()
			if l == "" || strings.Contains(l, "_") {
				t.Errorf("Label = %q", l)
			}
			if prev, ok := labels[l]; ok {
				t.Errorf("Label %q shared with %s", l, prev)
			}
			labels[l] = o
			if !strings.HasSuffix(e, ".") || strings.HasPrefix(e, "Unknown") || len(e) < 20 {
				t.Errorf("Explain = %q", e)
			}
		})
	}
	if got := Outcome("new_thing").Label(); got != "new thing" {
		t.Errorf("unknown outcome label %q", got)
	}
}

func TestDiagnose(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	d := func(min int, o Outcome, remote string) Delivery {
		return Delivery{Time: at(min), Outcome: o, Remote: remote}
	}
	// Logs are newest first, as Deliveries returns them.
	tests := []struct {
		name     string
		log      []Delivery
		want     []string // outcome:count per finding, in order
		contains []string // phrases the first message must hold
	}{
		{"empty", nil, nil, nil},
		{"all good", []Delivery{d(2, OutcomeStored, "a:1"), d(1, OutcomeRedelivery, "a:1")}, nil, nil},
		{"run of bad signatures", []Delivery{
			d(5, OutcomeBadSignature, "1.2.3.4:5"), d(4, OutcomeBadSignature, "1.2.3.4:6"), d(3, OutcomeBadSignature, "1.2.3.4:7"),
			d(2, OutcomeStored, "1.2.3.4:8"),
		}, []string{"bad_signature:3"}, []string{"3 deliveries were", "The secret in Comeet does not match; copy it again from Setup"}},
		{"fixed problems are not reported", []Delivery{
			d(5, OutcomeStored, "a:1"), d(4, OutcomeBadSignature, "a:1"), d(3, OutcomeBadSignature, "a:1"),
		}, nil, nil},
		{"missing signature", []Delivery{d(1, OutcomeMissingSignature, "9.9.9.9:1")},
			[]string{"missing_signature:1"}, []string{"1 delivery was", "Comeet has no Secret Key set"}},
		{"dropped attempts count", []Delivery{{Time: at(3), Outcome: OutcomeBadSignature, Dropped: 40}, d(2, OutcomeBadSignature, "")},
			[]string{"bad_signature:42"}, []string{"42 deliveries"}},
		{"many sources look like probing", []Delivery{
			d(6, OutcomeMissingSignature, "10.0.0.1:1"), d(5, OutcomeMissingSignature, "10.0.0.2:1"),
			d(4, OutcomeMissingSignature, "10.0.0.3:1"), d(3, OutcomeMissingSignature, "[::1]:1"), d(2, OutcomeMissingSignature, "[::1]:2"),
		}, []string{"missing_signature:5"}, []string{"4 different addresses", "strangers"}},
		{"mixed, store errors first", []Delivery{
			d(6, OutcomeTooLarge, "a:1"), d(5, OutcomeNotAHire, "a:1"), d(4, OutcomeBadSignature, "a:1"),
			d(3, OutcomeStoreError, "a:1"), d(2, OutcomeBadSignature, "a:1"), d(1, OutcomeTest, "a:1"),
		}, []string{"store_error:1", "bad_signature:2", "not_a_hire:1", "too_large:1"}, []string{"free space"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diagnose(tt.log)
			var gotKeys []string
			for _, f := range got {
				gotKeys = append(gotKeys, fmt.Sprintf("%s:%d", f.Outcome, f.Count))
				if f.Message == "" || f.First.After(f.Last) {
					t.Errorf("finding %+v", f)
				}
			}
			if fmt.Sprint(gotKeys) != fmt.Sprint(tt.want) {
				t.Fatalf("findings %v, want %v", gotKeys, tt.want)
			}
			for _, c := range tt.contains {
				if !strings.Contains(got[0].Message, c) {
					t.Errorf("message %q lacks %q", got[0].Message, c)
				}
			}
		})
	}
}

func TestWriteLog(t *testing.T) {
	now := time.Now()
	ds := []Delivery{
		{Time: now, Remote: "203.0.113.5:443", Outcome: OutcomeBadSignature, Status: 401, Dropped: 2},
		{Time: now.Add(-time.Minute), Remote: "203.0.113.5:443", Outcome: OutcomeNotAHire, Status: 400, Body: []byte(`{"x":1}`)},
		{Time: now.Add(-2 * time.Minute), Remote: "203.0.113.5:443", Outcome: OutcomeStored, Status: 200, ComeetID: "A1"},
		{Time: now.Add(-3 * time.Minute), Remote: "203.0.113.5:443", Outcome: OutcomeStored, Status: 200, ComeetID: "GONE"},
	}
	var b bytes.Buffer
	if err := WriteLog(&b, ds, map[string]string{"A1": "Maya \x1b[31mOkafor\tX"}, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"! 3 deliveries were refused", "copy it again from Setup",
		"TIME", "Bad signature", "+2 more", "Not a hire", "body kept (7 bytes)",
		"Maya [31mOkafor X", "GONE", "203.0.113.5:443",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsRune(out, 0x1b) {
		t.Errorf("escape character reached the terminal:\n%q", out)
	}
	b.Reset()
	WriteLog(&b, ds, nil, true)
	if out := b.String(); !strings.Contains(out, "Bad signature") || strings.Contains(out, "Stored") || !strings.Contains(out, "copy it again") {
		t.Errorf("problems only printed:\n%s", out)
	}
	b.Reset()
	WriteLog(&b, ds[2:], nil, true)
	if out := b.String(); out != "No problems among the 2 deliveries.\n" {
		t.Errorf("no problems printed %q", out)
	}
	b.Reset()
	WriteLog(&b, nil, nil, false)
	if b.String() != "No deliveries yet.\n" {
		t.Errorf("empty log printed %q", b.String())
	}
}

func TestPrintLog(t *testing.T) {
	s, _ := openTemp(t)
	mustSave(t, s, hireFor(t, "P1"))
	if err := s.RecordDelivery(Delivery{Remote: "198.51.100.7:1", Outcome: OutcomeNotAHire, Status: 400, Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := s.PrintLog(&b, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"First P1", "Stored", "Not a hire", "198.51.100.7:1", "View raw"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestHireNames(t *testing.T) {
	s, _ := openTemp(t)
	mustSave(t, s, hireFor(t, "N1"))
	mustSave(t, s, hireFor(t, "N2"))
	tests := []struct {
		name string
		ds   []Delivery
		want string
	}{
		{"nil", nil, "map[]"},
		{"only those logged", []Delivery{{ComeetID: "N2"}, {}, {ComeetID: "N2"}, {ComeetID: "GONE"}}, "map[N2:First N2]"},
		{"none", []Delivery{}, "map[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, err := s.HireNames(tt.ds)
			if err != nil || fmt.Sprint(names) != tt.want {
				t.Errorf("HireNames = %v, %v; want %s", names, err, tt.want)
			}
		})
	}
}

// rawDeliveryCount counts log entries on disk, including any that
// Deliveries would hide.
func rawDeliveryCount(t *testing.T, s *Store) int {
	var n int
	s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketDeliveries).Stats().KeyN
		return nil
	})
	return n
}

// A small team receives a few hires a month: the age bound must hold long
// before the 128th write.
func TestQuietLogStillDropsOldEntries(t *testing.T) {
	s, _ := openTemp(t)
	old := time.Now().Add(-MaxDeliveryAge - time.Hour)
	if err := s.RecordDelivery(Delivery{Time: old, Outcome: OutcomeNotAHire, Status: 400, Body: bytes.Repeat([]byte("x"), 1<<20)}); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Deliveries(false, 0); len(d) != 0 {
		t.Errorf("an entry past the age bound is still listed: %d", len(d))
	}
	if err := s.RecordDelivery(Delivery{Outcome: OutcomeStored, Status: 200}); err != nil {
		t.Fatal(err)
	}
	if n := rawDeliveryCount(t, s); n != 1 {
		t.Errorf("%d entries on disk after the next write, want 1 (the old one pruned)", n)
	}
}

// The real bound, not a lowered one: written in one transaction to stay fast.
func TestDeliveryLogRealBound(t *testing.T) {
	s, _ := openTemp(t)
	const total = MaxDeliveries + 240 // ends on a multiple of 128
	err := s.update(func(tx *bolt.Tx) error {
		for i := 1; i <= total; i++ {
			if err := putDelivery(tx, Delivery{Outcome: OutcomeBadSignature, Status: 401, Detail: fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := rawDeliveryCount(t, s); n != MaxDeliveries {
		t.Errorf("%d entries on disk, want %d", n, MaxDeliveries)
	}
	d, err := s.Deliveries(false, 1)
	if err != nil || len(d) != 1 || d[0].Detail != fmt.Sprint(total) {
		t.Errorf("newest entry %+v, %v", d, err)
	}
}

func BenchmarkDiagnose(b *testing.B) {
	ds := make([]Delivery, MaxDeliveries)
	for i := range ds {
		ds[i] = Delivery{Time: time.Now(), Outcome: OutcomeBadSignature, Remote: fmt.Sprintf("10.0.%d.%d:1", i/256%256, i%256)}
	}
	b.ReportAllocs()
	for b.Loop() {
		Diagnose(ds)
	}
}
