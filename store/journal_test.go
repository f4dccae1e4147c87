package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openHeld opens a store whose applier waits an hour before copying hires
// into bbolt: whatever the test saves stays in the journal only, until a
// read or Close asks for it.
func openHeld(t *testing.T) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	s, err := Open(dir, Options{LockTimeout: testLockTimeout, linger: time.Hour})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// crashImage copies the data folder as a crash would leave it: the store
// is open, with acknowledged hires in the journal that bbolt does not have
// yet. No write is in flight (the applier is held), so the copy is a state
// the disk can really be in after kill -9 or a power cut.
func crashImage(t *testing.T, dir string) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "image")
	if err := os.MkdirAll(img, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FileName, JournalFileName} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(img, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

func openDir(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{LockTimeout: testLockTimeout})
	if err != nil {
		t.Fatalf("Open %s: %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// storedOutcomes counts the delivery log's stored and redelivery entries.
func storedOutcomes(t *testing.T, s *Store) (stored, redelivered int) {
	t.Helper()
	ds, err := s.Deliveries(false, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		switch d.Outcome {
		case OutcomeStored:
			stored++
		case OutcomeRedelivery:
			redelivered++
		}
	}
	return stored, redelivered
}

func TestJournalReplaysAcknowledgedHires(t *testing.T) {
	s, dir := openHeld(t)
	for i := range 5 {
		mustSave(t, s, hireFor(t, fmt.Sprintf("J.%d", i)))
	}
	if res := mustSave(t, s, hireFor(t, "J.2")); res.New || res.Hire.Deliveries != 2 || res.Hire.Seq != 3 {
		t.Fatalf("redelivery of a hire still in the journal: %+v", res)
	}
	if got := s.app.applied.Load(); got != 0 {
		t.Fatalf("applier copied entries up to %d while held", got)
	}
	img := crashImage(t, dir)

	r := openDir(t, img)
	hires, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(hires) != 5 {
		t.Fatalf("after the crash: %d hires, want 5", len(hires))
	}
	for i, h := range hires { // newest first
		id := fmt.Sprintf("J.%d", 4-i)
		if h.ComeetID != id || h.Seq != uint64(5-i) || h.FirstName != "First "+id {
			t.Errorf("hire %d = %s seq %d %q, want %s seq %d", i, h.ComeetID, h.Seq, h.FirstName, id, 5-i)
		}
	}
	h, err := r.Get("J.2")
	if err != nil || h.Deliveries != 2 || !bytes.Contains(h.Raw, []byte(`"J.2"`)) {
		t.Errorf("J.2 after replay: %+v, %v", h, err)
	}
	if st, re := storedOutcomes(t, r); st != 5 || re != 1 {
		t.Errorf("delivery log after replay: %d stored, %d redeliveries; want 5, 1", st, re)
	}
	// The next hire follows on, and a second replay adds nothing.
	if res := mustSave(t, r, hireFor(t, "J.new")); !res.New || res.Hire.Seq != 6 {
		t.Errorf("first hire after replay: %+v", res)
	}
	r2 := reopen(t, r, img)
	if n, _ := r2.Count(); n != 6 {
		t.Errorf("after reopening: %d hires, want 6", n)
	}
	if st, re := storedOutcomes(t, r2); st != 6 || re != 1 {
		t.Errorf("delivery log after reopening: %d stored, %d redeliveries; want 6, 1", st, re)
	}
}

func TestJournalIgnoresTornTail(t *testing.T) {
	s, dir := openHeld(t)
	for i := range 3 {
		mustSave(t, s, hireFor(t, fmt.Sprintf("T.%d", i)))
	}
	img := crashImage(t, dir)
	// A fourth hire was being written when the power went: its frame is
	// cut short. It was never acknowledged.
	var j journal
	j.appendFrame(4, []byte("\x01half a hire"))
	f, err := os.OpenFile(filepath.Join(img, JournalFileName), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	off := s.seq.j.off
	if _, err := f.WriteAt(j.buf[:len(j.buf)-3], off); err != nil {
		t.Fatal(err)
	}
	f.Close()

	r := openDir(t, img)
	if n, _ := r.Count(); n != 3 {
		t.Errorf("%d hires, want the 3 acknowledged", n)
	}
	if res := mustSave(t, r, hireFor(t, "T.3")); !res.New || res.Hire.Seq != 4 {
		t.Errorf("hire after the torn one: %+v", res)
	}
}

func TestJournalStopsAtCorruptFrame(t *testing.T) {
	s, dir := openHeld(t)
	for i := range 3 {
		mustSave(t, s, hireFor(t, fmt.Sprintf("C.%d", i)))
	}
	img := crashImage(t, dir)
	// Flip a byte inside the second frame's body.
	path := filepath.Join(img, JournalFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first := frameHeader + int(binary.BigEndian.Uint32(b[4:]))
	b[first+frameHeader+5] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := openDir(t, img)
	hires, err := r.List()
	if err != nil || len(hires) != 1 || hires[0].ComeetID != "C.0" {
		t.Errorf("hires after a corrupt second frame: %v %v; want C.0 only", hires, err)
	}
}

func TestJournalRestartsAfterApplied(t *testing.T) {
	// Big payloads fill the journal past journalResetAt quickly.
	big := strings.Repeat("x", 100<<10)
	s, dir := openHeld(t)
	const n = 40 // 4 MB of payloads: at least one restart from offset 0
	starts := 0
	for i := range n {
		before := s.seq.j.off
		h := hireFor(t, fmt.Sprintf("R.%d", i))
		h.Raw = []byte(fmt.Sprintf(`{"comeet_id":"R.%d","notes":%q}`, i, big))
		mustSave(t, s, h)
		if s.seq.j.off < before {
			starts++
		}
	}
	if starts == 0 {
		t.Fatalf("journal never started again from 0 (offset %d)", s.seq.j.off)
	}
	if s.seq.j.size > journalSize+int64(len(big))*2 {
		t.Errorf("journal grew to %d bytes", s.seq.j.size)
	}
	// Old frames now lie behind the new ones; a crash image must replay
	// only what bbolt lacks, each hire once.
	img := crashImage(t, dir)
	r := openDir(t, img)
	if got, _ := r.Count(); got != n {
		t.Errorf("%d hires after replay, want %d", got, n)
	}
	if st, re := storedOutcomes(t, r); st != n || re != 0 {
		t.Errorf("delivery log: %d stored, %d redeliveries; want %d, 0", st, re, n)
	}
	h, err := r.Get("R.39")
	if err != nil || !bytes.Contains(h.Raw, []byte(big)) {
		t.Errorf("last hire's payload lost: %v", err)
	}
}

func TestJournalPendingHires(t *testing.T) {
	s, _ := openHeld(t)
	mustSave(t, s, hireFor(t, "P.1"))
	// MarkSeen and Delete run behind the hire still in the journal, and a
	// redelivery after them sees what they did.
	if err := s.MarkSeen("P.1"); err != nil {
		t.Fatal(err)
	}
	res := mustSave(t, s, hireFor(t, "P.1"))
	if res.New || !res.Hire.Seen || res.Hire.Deliveries != 2 {
		t.Errorf("redelivery after MarkSeen: %+v", res)
	}
	if err := s.Delete("P.1"); err != nil {
		t.Fatal(err)
	}
	res = mustSave(t, s, hireFor(t, "P.1"))
	if !res.New || res.Hire.Seen || res.Hire.Seq != 2 {
		t.Errorf("delivery after Delete: %+v", res)
	}
	// A read sees every acknowledged hire without waiting for the linger.
	mustSave(t, s, hireFor(t, "P.2"))
	start := time.Now()
	hires, err := s.List()
	if err != nil || len(hires) != 2 {
		t.Fatalf("List: %d hires, %v; want 2", len(hires), err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("List waited %v for the applier", d)
	}
}

func TestJournalCleanCloseLeavesNothingToReplay(t *testing.T) {
	s, dir := openTemp(t)
	mustSave(t, s, hireFor(t, "E.1"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	frames := 0
	if err := j.scan(func(uint64, []byte) error { frames++; return nil }); err != nil {
		t.Fatal(err)
	}
	if frames != 0 {
		t.Errorf("%d frames readable after a clean close, want 0", frames)
	}
	if j.size != journalSize {
		t.Errorf("journal is %d bytes, want the preallocated %d", j.size, journalSize)
	}
	fi, err := os.Stat(filepath.Join(dir, JournalFileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

func TestJournalGapRefusesToOpen(t *testing.T) {
	s, dir := openTemp(t)
	mustSave(t, s, hireFor(t, "G.1"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A journal from elsewhere whose entries start past what the
	// database holds: replaying it would leave a hole.
	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := &savedHire{seq: 9, comeetID: "G.9", rec: appendRecord(nil, &Hire{ComeetID: "G.9"}),
		delivery: []byte(`{"time":"2026-01-02T03:04:05Z"}`), raw: []byte(`{"comeet_id":"G.9"}`)}
	j.appendFrame(7, h.appendBody(nil))
	if err := j.commit(); err != nil {
		t.Fatal(err)
	}
	j.close()
	_, err = Open(dir, Options{LockTimeout: testLockTimeout})
	if !errors.Is(err, errJournalGap) || !strings.Contains(err.Error(), JournalFileName) {
		t.Errorf("Open = %v, want a journal gap error naming the file", err)
	}
}

func TestSavedHireRoundTrip(t *testing.T) {
	h := &savedHire{seq: 300, comeetID: "X.1", rec: []byte{1, 2, 3},
		delivery: []byte(`{"time":"2026-01-02T03:04:05.5Z","outcome":"stored"}`), raw: []byte(`{"a":1}`)}
	got, err := decodeSavedHire(12, h.appendBody(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC)
	if got.lsn != 12 || got.seq != 300 || got.comeetID != "X.1" || !bytes.Equal(got.rec, h.rec) ||
		!bytes.Equal(got.delivery, h.delivery) || !bytes.Equal(got.raw, h.raw) || !got.dtime.Equal(want) {
		t.Errorf("round trip: %+v", got)
	}
	for _, bad := range [][]byte{nil, {2}, {1}, {1, 5, 0xff}} {
		if _, err := decodeSavedHire(1, bad); !errors.Is(err, errBadEntry) {
			t.Errorf("decode %x: %v, want errBadEntry", bad, err)
		}
	}
}

func TestJournalScanStopsWhereEntriesDoNotFollowOn(t *testing.T) {
	j, err := openJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	for _, lsn := range []uint64{5, 6, 3, 4} { // 3 and 4: left from before a restart
		j.appendFrame(lsn, []byte{byte(lsn)})
	}
	if err := j.commit(); err != nil {
		t.Fatal(err)
	}
	var got []uint64
	if err := j.scan(func(lsn uint64, body []byte) error {
		if len(body) != 1 || body[0] != byte(lsn) {
			t.Errorf("frame %d body %x", lsn, body)
		}
		got = append(got, lsn)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[5 6]" {
		t.Errorf("scan read %v, want [5 6]", got)
	}
}

// TestSaveHireRefusesWhatBboltCannotKeep: a hire is acknowledged from the
// journal, so whatever bbolt would refuse must be refused before it.
func TestSaveHireRefusesWhatBboltCannotKeep(t *testing.T) {
	s, dir := openTemp(t)
	long := hireFor(t, "L.1")
	long.ComeetID = strings.Repeat("L", 40<<10)
	if _, err := s.SaveHire(long, Delivery{}); !errors.Is(err, ErrNoComeetID) {
		t.Fatalf("SaveHire with a 40 KB comeet_id: %v, want ErrNoComeetID", err)
	}
	mustSave(t, s, hireFor(t, "L.2"))
	s = reopen(t, s, dir)
	if n, err := s.Count(); err != nil || n != 1 {
		t.Errorf("after reopening: %d hires, %v; want 1", n, err)
	}
}

// TestApplierFailureFailsFast: when bbolt refuses hires, reads and writes
// report it at once instead of waiting behind them, and Close says hires
// are left in the journal.
func TestApplierFailureFailsFast(t *testing.T) {
	s, _ := openTemp(t)
	// A hire bbolt refuses (a key over its limit), handed to the applier
	// directly: SaveHire would not let it through.
	bad := &savedHire{lsn: 1, seq: 1, comeetID: strings.Repeat("k", 40<<10),
		rec: appendRecord(nil, &Hire{ComeetID: "k"}), delivery: []byte(`{"time":"2026-01-02T03:04:05Z"}`), raw: []byte(`{}`)}
	s.app.push([]*savedHire{bad}, nil)

	done := make(chan error, 1)
	go func() { _, err := s.List(); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "store hires") {
			t.Errorf("List = %v, want the apply failure", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("List still waiting for hires bbolt refused")
	}
	if _, err := s.SaveHire(hireFor(t, "OK.1"), Delivery{}); err == nil {
		t.Error("SaveHire succeeded while hires cannot reach bbolt")
	}
	if err := s.SetSetting("k", "v"); err == nil {
		t.Error("SetSetting succeeded behind hires bbolt refused")
	}
	if err := s.Close(); err == nil || !strings.Contains(err.Error(), "left in the journal") {
		t.Errorf("Close = %v, want hires left in the journal", err)
	}
}
