package store

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// pollDeliveries waits until the log has at least n entries (LogRejected
// writes in the background) or the deadline passes.
func pollDeliveries(t *testing.T, s *Store, problemsOnly bool, n int) []Delivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := s.Deliveries(problemsOnly, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(d) >= n || time.Now().After(deadline) {
			return d
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOutcomeProblem(t *testing.T) {
	tests := []struct {
		o    Outcome
		want bool
	}{
		{OutcomeStored, false},
		{OutcomeRedelivery, false},
		{OutcomeTest, false},
		{OutcomeMissingSignature, true},
		{OutcomeBadSignature, true},
		{OutcomeTooLarge, true},
		{OutcomeNotAHire, true},
		{OutcomeStoreError, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.o), func(t *testing.T) {
			if got := tt.o.Problem(); got != tt.want {
				t.Errorf("%s.Problem() = %v, want %v", tt.o, got, tt.want)
			}
		})
	}
}

func TestDeliveriesFilterAndOrder(t *testing.T) {
	s, dir := openTemp(t)
	mustSave(t, s, hireFor(t, "P.1"))
	if err := s.RecordDelivery(Delivery{Outcome: OutcomeNotAHire, Status: 400, Body: []byte(`[1,2]`), Detail: "payload is not a JSON object"}); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, hireFor(t, "P.1"))
	if err := s.RecordDelivery(Delivery{Outcome: OutcomeTest, Status: 200, ComeetID: "T.1"}); err != nil {
		t.Fatal(err)
	}
	s.LogRejected(Delivery{Outcome: OutcomeBadSignature, Status: 401, Body: []byte("forged")})
	pollDeliveries(t, s, false, 5)
	s = reopen(t, s, dir)

	all, err := s.Deliveries(false, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []Outcome
	for i, d := range all {
		got = append(got, d.Outcome)
		if i > 0 && d.Seq >= all[i-1].Seq {
			t.Errorf("entry %d seq %d not below %d: not newest first", i, d.Seq, all[i-1].Seq)
		}
		if d.Time.IsZero() {
			t.Errorf("entry %d has no time", i)
		}
	}
	want := []Outcome{OutcomeBadSignature, OutcomeTest, OutcomeRedelivery, OutcomeNotAHire, OutcomeStored}
	if !slices.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	if string(all[3].Body) != `[1,2]` {
		t.Errorf("signed non-hire body = %q, want kept", all[3].Body)
	}
	if all[0].Body != nil {
		t.Errorf("rejected attempt kept a body: %q", all[0].Body)
	}

	problems, err := s.Deliveries(true, 0)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, d := range problems {
		got = append(got, d.Outcome)
	}
	if want := []Outcome{OutcomeBadSignature, OutcomeNotAHire}; !slices.Equal(got, want) {
		t.Errorf("problems %v, want %v", got, want)
	}

	if two, _ := s.Deliveries(false, 2); len(two) != 2 || two[0].Outcome != OutcomeBadSignature {
		t.Errorf("limit 2 gave %+v", two)
	}
	if one, _ := s.Deliveries(true, 1); len(one) != 1 || one[0].Outcome != OutcomeBadSignature {
		t.Errorf("problems limit 1 gave %+v", one)
	}
}

// setMaxDeliveries lowers the log bound for one test.
func setMaxDeliveries(t *testing.T, n uint64) {
	old := maxDeliveries
	maxDeliveries = n
	t.Cleanup(func() { maxDeliveries = old })
}

func TestDeliveryLogCountBound(t *testing.T) {
	setMaxDeliveries(t, 50)
	s, _ := openTemp(t)
	// Pruning runs on every 128th entry; 256 entries end on a prune.
	const total = 256
	for i := 1; i <= total; i++ {
		if err := s.RecordDelivery(Delivery{Outcome: OutcomeNotAHire, Status: 400, Detail: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		if i == 200 {
			// Between prunes the log may exceed the bound, but never by
			// more than one pruning interval.
			if d, _ := s.Deliveries(false, 0); len(d) > 50+128 {
				t.Errorf("log has %d entries between prunes", len(d))
			}
		}
	}
	d, err := s.Deliveries(false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 50 {
		t.Fatalf("log has %d entries, want 50", len(d))
	}
	if d[0].Detail != fmt.Sprint(total) || d[49].Detail != fmt.Sprint(total-49) {
		t.Errorf("kept %s..%s, want the newest %d..%d", d[49].Detail, d[0].Detail, total-49, total)
	}
}

func TestDeliveryLogAgeBound(t *testing.T) {
	s, _ := openTemp(t)
	now := time.Now().UTC()
	old := now.Add(-MaxDeliveryAge - time.Hour)
	recent := now.Add(-MaxDeliveryAge + time.Hour)
	for i := 1; i <= 128; i++ {
		at := old
		switch {
		case i > 100 && i < 128:
			at = recent
		case i == 128:
			at = now
		}
		if err := s.RecordDelivery(Delivery{Time: at, Outcome: OutcomeNotAHire, Status: 400}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := s.Deliveries(false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 28 {
		t.Fatalf("log has %d entries, want the 28 younger than %v", len(d), MaxDeliveryAge)
	}
	for _, e := range d {
		if e.Time.Before(now.Add(-MaxDeliveryAge)) {
			t.Errorf("entry from %v kept", e.Time)
		}
	}
}

func TestHiresAreNeverPruned(t *testing.T) {
	setMaxDeliveries(t, 10)
	s, _ := openTemp(t)
	fill(t, s, 300)
	if n, err := s.Count(); err != nil || n != 300 {
		t.Errorf("Count = %d, %v; want 300 (log pruning must not touch hires)", n, err)
	}
	if d, _ := s.Deliveries(false, 0); len(d) > 10+128 {
		t.Errorf("log has %d entries, bound 10 (+128 between prunes)", len(d))
	}
}

func TestLogRejected(t *testing.T) {
	s, _ := openTemp(t)
	s.LogRejected(Delivery{Remote: "203.0.113.9:4444", Outcome: OutcomeMissingSignature, Status: 401, Body: []byte("secret stuff")})
	d := pollDeliveries(t, s, true, 1)
	if len(d) != 1 {
		t.Fatalf("rejected attempt not logged within the deadline: %+v", d)
	}
	if d[0].Body != nil || d[0].Remote != "203.0.113.9:4444" || d[0].Status != 401 || d[0].Time.IsZero() {
		t.Errorf("logged %+v", d[0])
	}
}

func TestLogRejectedFloodCountsEveryAttempt(t *testing.T) {
	s, dir := openTemp(t)
	const flood = 5000
	for range flood {
		s.LogRejected(Delivery{Outcome: OutcomeBadSignature, Status: 401})
	}
	s = reopen(t, s, dir) // Close writes what is pending
	d, err := s.Deliveries(false, 0)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, e := range d {
		total += 1 + e.Dropped
	}
	if total != flood {
		t.Errorf("entries + dropped = %d, want %d: every attempt counted", total, flood)
	}
	if len(d) > flood {
		t.Errorf("%d entries for %d attempts", len(d), flood)
	}
}
