package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// testLockTimeout keeps the second-open test short.
const testLockTimeout = 200 * time.Millisecond

// openTemp opens a store in a fresh data folder (not yet existing, so Open
// creates it) and closes it when the test ends.
func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	s, err := Open(dir, Options{LockTimeout: testLockTimeout})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func reopen(t testing.TB, s *Store, dir string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s2, err := Open(dir, Options{LockTimeout: testLockTimeout})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { s2.Close() })
	return s2
}

// hireFor builds a minimal valid hire with the given comeet_id.
func hireFor(t testing.TB, id string) Hire {
	t.Helper()
	h, err := DecodeHire([]byte(fmt.Sprintf(`{"comeet_id":%q,"first_name":"First %s","position":{"name":"Engineer"}}`, id, id)))
	if err != nil {
		t.Fatalf("DecodeHire: %v", err)
	}
	return h
}

func mustSave(t testing.TB, s *Store, h Hire) SaveResult {
	t.Helper()
	res, err := s.SaveHire(h, Delivery{Remote: "127.0.0.1:1", Status: 200})
	if err != nil {
		t.Fatalf("SaveHire(%s): %v", h.ComeetID, err)
	}
	return res
}

func ids(hires []Hire) []string {
	out := make([]string, len(hires))
	for i, h := range hires {
		out[i] = h.ComeetID
	}
	return out
}

func TestReopenKeepsData(t *testing.T) {
	s, dir := openTemp(t)
	for _, id := range []string{"A.1", "A.2", "A.3"} {
		if res := mustSave(t, s, hireFor(t, id)); !res.New {
			t.Fatalf("first save of %s reported New=false", id)
		}
	}
	if err := s.MarkSeen("A.2"); err != nil {
		t.Fatalf("MarkSeen: %v", err)
	}
	if err := s.SetSetting(SettingNgrokDomain, "hires.example"); err != nil {
		t.Fatalf("SetSetting: %v", err)
	}
	secret, err := s.Secret()
	if err != nil {
		t.Fatalf("Secret: %v", err)
	}

	s = reopen(t, s, dir)

	list, err := s.List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if got, want := strings.Join(ids(list), ","), "A.3,A.2,A.1"; got != want {
		t.Errorf("List after reopen = %s, want %s (newest first)", got, want)
	}
	h, err := s.Get("A.2")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !h.Seen {
		t.Error("Seen mark lost on reopen")
	}
	if want := hireFor(t, "A.2").Raw; string(h.Raw) != string(want) {
		t.Errorf("Raw after reopen = %q, want %q", h.Raw, want)
	}
	if h.FirstName != "First A.2" || h.Position != "Engineer" {
		t.Errorf("fields after reopen = %+v", h)
	}
	if v, _ := s.Setting(SettingNgrokDomain); v != "hires.example" {
		t.Errorf("setting after reopen = %q", v)
	}
	if again, _ := s.Secret(); again != secret {
		t.Error("secret changed on reopen")
	}
	if n, err := s.Count(); err != nil || n != 3 {
		t.Errorf("Count = %d, %v; want 3", n, err)
	}
	d, err := s.Deliveries(false, 0)
	if err != nil || len(d) != 3 {
		t.Errorf("Deliveries after reopen = %d entries, %v; want 3", len(d), err)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	s, dir := openTemp(t)
	start := time.Now()
	s2, err := Open(dir, Options{LockTimeout: testLockTimeout})
	elapsed := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second Open on the same folder succeeded")
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("second Open error = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name the folder %s", err, dir)
	}
	if !strings.Contains(err.Error(), "another Hirebell") {
		t.Errorf("error %q does not say another Hirebell uses the folder", err)
	}
	if elapsed < testLockTimeout/2 || elapsed > testLockTimeout+2*time.Second {
		t.Errorf("second Open gave up after %v, want about %v", elapsed, testLockTimeout)
	}
	// Once the first is closed the folder is free again.
	s.Close()
	s3, err := Open(dir, Options{LockTimeout: testLockTimeout})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s3.Close()
}

func TestOpenFailsOnUnusableFolder(t *testing.T) {
	// A file where the folder should be: a clear error, not a hang or panic.
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(path, Options{}); err == nil {
		s.Close()
		t.Fatal("Open on a file path succeeded")
	}
}

func TestFileModes(t *testing.T) {
	_, dir := openTemp(t)
	tests := []struct {
		name string
		path string
		want os.FileMode
	}{
		{"data folder", dir, 0o700},
		{"database file", filepath.Join(dir, FileName), 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fi, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tt.want {
				t.Errorf("mode of %s = %o, want %o", tt.path, got, tt.want)
			}
		})
	}
}

func TestRedeliveryDoesNotDuplicate(t *testing.T) {
	s, dir := openTemp(t)
	first := hireFor(t, "R.1")
	res1 := mustSave(t, s, first)
	if !res1.New || res1.Hire.Deliveries != 1 {
		t.Fatalf("first save: New=%v Deliveries=%d", res1.New, res1.Hire.Deliveries)
	}
	if err := s.MarkSeen("R.1"); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, hireFor(t, "R.2")) // a neighbour, to check order is kept

	second, err := DecodeHire([]byte(`{"comeet_id":"R.1","first_name":"Renamed","start_date":"2027-01-01"}`))
	if err != nil {
		t.Fatal(err)
	}
	res2 := mustSave(t, s, second)
	if res2.New {
		t.Error("redelivery reported New=true")
	}
	if res2.Hire.Seq != res1.Hire.Seq {
		t.Errorf("redelivery Seq = %d, want %d (place kept)", res2.Hire.Seq, res1.Hire.Seq)
	}

	s = reopen(t, s, dir)
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(list), ","); got != "R.2,R.1" {
		t.Fatalf("List = %s, want R.2,R.1", got)
	}
	h, err := s.Get("R.1")
	if err != nil {
		t.Fatal(err)
	}
	if h.Deliveries != 2 {
		t.Errorf("Deliveries = %d, want 2", h.Deliveries)
	}
	if !h.ReceivedAt.Equal(res1.Hire.ReceivedAt) {
		t.Errorf("ReceivedAt = %v, want first receipt %v", h.ReceivedAt, res1.Hire.ReceivedAt)
	}
	if h.UpdatedAt.Before(h.ReceivedAt) {
		t.Errorf("UpdatedAt %v before ReceivedAt %v", h.UpdatedAt, h.ReceivedAt)
	}
	if !h.Seen {
		t.Error("Seen mark lost on redelivery")
	}
	if h.FirstName != "Renamed" || h.StartDate != "2027-01-01" || h.Position != "" {
		t.Errorf("record not updated to the latest payload: %+v", h)
	}
	if string(h.Raw) != string(second.Raw) {
		t.Errorf("Raw = %s, want latest payload", h.Raw)
	}
	log, err := s.Deliveries(false, 0)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, d := range log {
		outcomes = append(outcomes, d.ComeetID+":"+string(d.Outcome))
	}
	if got, want := strings.Join(outcomes, " "), "R.1:redelivery R.2:stored R.1:stored"; got != want {
		t.Errorf("delivery log = %s, want %s", got, want)
	}
}

func TestRehireIsANewHire(t *testing.T) {
	s, _ := openTemp(t)
	for _, f := range []string{"tricky-rehire-1.json", "tricky-rehire-2.json"} {
		h, err := DecodeHire(readTestdata(t, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if res := mustSave(t, s, h); !res.New {
			t.Errorf("%s: New=false; a new comeet_id for the same person_uid is a new hire", f)
		}
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("List has %d hires, want 2", len(list))
	}
	for _, h := range list {
		if h.PersonUID != "7B.55" {
			t.Errorf("%s: PersonUID = %q", h.ComeetID, h.PersonUID)
		}
	}
	if list[0].ComeetID != "K1.99" || list[0].Position != "QA Lead" {
		t.Errorf("newest = %+v, want the rehire K1.99", list[0])
	}
}

func TestSaveHireWithoutID(t *testing.T) {
	s, _ := openTemp(t)
	if _, err := s.SaveHire(Hire{FirstName: "x"}, Delivery{}); !errors.Is(err, ErrNoComeetID) {
		t.Errorf("SaveHire without comeet_id: %v, want ErrNoComeetID", err)
	}
}

func TestNotFound(t *testing.T) {
	s, _ := openTemp(t)
	tests := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get("nope"); return err }},
		{"MarkSeen", func() error { return s.MarkSeen("nope") }},
		{"Delete", func() error { return s.Delete("nope") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s of a missing hire: %v, want ErrNotFound", tt.name, err)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	s, dir := openTemp(t)
	mustSave(t, s, hireFor(t, "D.1"))
	mustSave(t, s, hireFor(t, "D.2"))
	if err := s.Delete("D.1"); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, dir)
	list, _ := s.List()
	if got := strings.Join(ids(list), ","); got != "D.2" {
		t.Errorf("List after Delete = %s, want D.2", got)
	}
	if _, err := s.Get("D.1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get deleted: %v", err)
	}
	// The delivery log is the record of what arrived: it stays.
	if d, _ := s.Deliveries(false, 0); len(d) != 2 {
		t.Errorf("delivery log has %d entries after Delete, want 2", len(d))
	}
	// Delivered again after deletion, it is a new hire.
	if res := mustSave(t, s, hireFor(t, "D.1")); !res.New {
		t.Error("redelivery of a deleted hire reported New=false")
	}
}

func TestSecret(t *testing.T) {
	s, dir := openTemp(t)
	first, err := s.Secret()
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 64 {
		t.Errorf("secret %d chars, want 64 hex", len(first))
	}
	if again, _ := s.Secret(); again != first {
		t.Error("Secret changed between calls")
	}
	rotated, err := s.RotateSecret()
	if err != nil {
		t.Fatal(err)
	}
	if rotated == first || len(rotated) != 64 {
		t.Errorf("RotateSecret gave %q", rotated)
	}
	s = reopen(t, s, dir)
	if got, _ := s.Secret(); got != rotated {
		t.Error("rotated secret not kept across reopen")
	}
	if err := s.SetSetting(SettingSecret, ""); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Setting(SettingSecret); v != "" {
		t.Errorf("empty SetSetting left %q", v)
	}
}

func TestWritesAfterClose(t *testing.T) {
	s, _ := openTemp(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.SaveHire(hireFor(t, "C.1"), Delivery{}); !errors.Is(err, ErrClosed) {
		t.Errorf("SaveHire after Close: %v, want ErrClosed", err)
	}
	if err := s.RecordDelivery(Delivery{Outcome: OutcomeNotAHire}); !errors.Is(err, ErrClosed) {
		t.Errorf("RecordDelivery after Close: %v, want ErrClosed", err)
	}
	// The receiver logs its 503 through LogRejected while the store is
	// failing: that must not panic.
	s.LogRejected(Delivery{Outcome: OutcomeStoreError, Status: 503})
}

func TestConcurrentSaveHire(t *testing.T) {
	s, dir := openTemp(t)
	const writers, each = 32, 8
	hires := make([][]Hire, writers)
	for w := range writers {
		for i := range each {
			hires[w] = append(hires[w], hireFor(t, fmt.Sprintf("W%d.%d", w, i)))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, h := range hires[w] {
				if _, err := s.SaveHire(h, Delivery{Status: 200}); err != nil {
					errs <- err
				}
			}
		}()
	}
	// Rejected attempts are logged by another goroutine at the same time.
	for range 50 {
		s.LogRejected(Delivery{Outcome: OutcomeBadSignature, Status: 401})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent SaveHire: %v", err)
	}

	s = reopen(t, s, dir)
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != writers*each {
		t.Fatalf("after reopen %d hires, want %d", len(list), writers*each)
	}
	seen := make(map[string]bool)
	for i, h := range list {
		seen[h.ComeetID] = true
		if i > 0 && h.Seq >= list[i-1].Seq {
			t.Errorf("List not newest first at %d: seq %d after %d", i, h.Seq, list[i-1].Seq)
		}
	}
	for w := range writers {
		for i := range each {
			if id := fmt.Sprintf("W%d.%d", w, i); !seen[id] {
				t.Errorf("hire %s missing after reopen", id)
			}
		}
	}
	log, err := s.Deliveries(false, 0)
	if err != nil {
		t.Fatal(err)
	}
	var stored, rejected int
	for _, d := range log {
		switch d.Outcome {
		case OutcomeStored:
			stored++
		case OutcomeBadSignature:
			rejected += 1 + d.Dropped
		}
	}
	if stored != writers*each || rejected != 50 {
		t.Errorf("delivery log: %d stored, %d rejected; want %d, 50", stored, rejected, writers*each)
	}
}

// TestCommitIsolatesFailures checks that one failing write in a group
// commit does not fail the writes batched with it.
func TestCommitIsolatesFailures(t *testing.T) {
	s, _ := openTemp(t)
	boom := errors.New("boom")
	put := func(k string) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error { return tx.Bucket(bucketSettings).Put([]byte(k), []byte("v")) }
	}
	batch := []writeReq{
		{fn: put("before"), done: make(chan error, 1)},
		{fn: func(tx *bolt.Tx) error { put("bad")(tx); return boom }, done: make(chan error, 1)},
		{fn: put("after"), done: make(chan error, 1)},
	}
	commit(s.db, batch)
	for i, want := range []error{nil, boom, nil} {
		if err := <-batch[i].done; !errors.Is(err, want) {
			t.Errorf("write %d: %v, want %v", i, err, want)
		}
	}
	for key, want := range map[string]string{"before": "v", "bad": "", "after": "v"} {
		if got, _ := s.Setting(key); got != want {
			t.Errorf("setting %q = %q, want %q", key, got, want)
		}
	}
}

// fill stores n hires decoded from sample-full.json, from several
// goroutines so that setting up does not cost n fsyncs.
func fill(tb testing.TB, s *Store, n int) {
	tb.Helper()
	raw := readTestdata(tb, "sample-full.json")
	const workers = 32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				h, err := DecodeHire(raw)
				if err == nil {
					h.ComeetID = fmt.Sprintf("F.%d", i)
					_, err = s.SaveHire(h, Delivery{Status: 200})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

// BenchmarkSaveHire measures a durable save. "serial" is one sender: every
// save is its own commit and fsync. "parallel" has 16 senders per CPU: with
// group commit the fsyncs are shared, so ns/op drops well below serial.
func BenchmarkSaveHire(b *testing.B) {
	raw := readTestdata(b, "sample-full.json")
	base, err := DecodeHire(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		s, _ := openTemp(b)
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		i := 0
		for b.Loop() {
			h := base
			h.ComeetID = fmt.Sprintf("S.%d", i)
			i++
			if _, err := s.SaveHire(h, Delivery{Status: 200}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s, _ := openTemp(b)
		var next atomic.Uint64
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h := base
				h.ComeetID = fmt.Sprintf("P.%d", next.Add(1))
				if _, err := s.SaveHire(h, Delivery{Status: 200}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
