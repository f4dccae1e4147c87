package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The path of a hire: SaveHire queues it; the sequencer gives it its place
// (seq), decides whether it is new, writes it to the journal together with
// every hire queued meanwhile, and acknowledges it; the applier copies it
// into bbolt a little later, many hires per transaction.

var keyApplied = []byte("journal_applied") // in bucketMeta: last journal entry in bbolt

// applyLinger is how long the applier lets hires gather before copying
// them into bbolt. A read that needs them cuts it short, and so does
// Close. Under load it turns many bbolt commits (two fdatasyncs each) into
// one: with 16 senders, 10 ms gave about 70 hires a transaction, 30 ms
// about 160 and a few percent more hires a second (receiver's
// TestLoadComparison).
const applyLinger = 25 * time.Millisecond

// applyRetry is how long the applier waits before trying again after
// bbolt refused a transaction (a full disk, say).
const applyRetry = time.Second

// savedHire is a hire in the journal, on its way into bbolt.
type savedHire struct {
	lsn      uint64
	seq      uint64
	comeetID string
	rec      []byte    // the hire in record.go's form
	delivery []byte    // its delivery log entry, JSON
	dtime    time.Time // the entry's time
	raw      []byte    // the payload
}

// A saved hire's journal body:
//
//	kind byte (1)
//	seq: uvarint
//	comeet_id, record, delivery: uvarint length, bytes each
//	payload: the rest
const entrySavedHire = 1

var errBadEntry = errors.New("malformed journal entry")

func (h *savedHire) appendBody(buf []byte) []byte {
	buf = append(buf, entrySavedHire)
	buf = binary.AppendUvarint(buf, h.seq)
	for _, f := range [][]byte{[]byte(h.comeetID), h.rec, h.delivery} {
		buf = binary.AppendUvarint(buf, uint64(len(f)))
		buf = append(buf, f...)
	}
	return append(buf, h.raw...)
}

// decodeSavedHire reads a journal body. The result does not share memory
// with body.
func decodeSavedHire(lsn uint64, body []byte) (*savedHire, error) {
	if len(body) == 0 || body[0] != entrySavedHire {
		return nil, errBadEntry
	}
	b := append([]byte(nil), body[1:]...)
	seq, w := binary.Uvarint(b)
	if w <= 0 {
		return nil, errBadEntry
	}
	b = b[w:]
	var fields [3][]byte
	for i := range fields {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return nil, errBadEntry
		}
		fields[i], b = b[w:w+int(n)], b[w+int(n):]
	}
	t, ok := deliveryTime(fields[2])
	if !ok {
		t = time.Now().UTC()
	}
	return &savedHire{lsn: lsn, seq: seq, comeetID: string(fields[0]),
		rec: fields[1], delivery: fields[2], dtime: t, raw: b}, nil
}

// apply writes the hire into bbolt: its record, its id, its payload and its
// delivery log entry.
func (h *savedHire) apply(tx *bolt.Tx) error {
	hires, payloads := tx.Bucket(bucketHires), tx.Bucket(bucketPayloads)
	hires.FillPercent, payloads.FillPercent = appendFill, appendFill
	key := seqKey(h.seq)
	if err := hires.Put(key, h.rec); err != nil {
		return err
	}
	if err := tx.Bucket(bucketIDs).Put([]byte(h.comeetID), key); err != nil {
		return err
	}
	if err := payloads.Put(key, h.raw); err != nil {
		return err
	}
	if hires.Sequence() < h.seq {
		if err := hires.SetSequence(h.seq); err != nil {
			return err
		}
	}
	return putDeliveryValue(tx, h.delivery, h.dtime)
}

// applyHires writes hires into bbolt and records the last one's lsn, all in
// tx.
func applyHires(tx *bolt.Tx, hires []*savedHire) error {
	for _, h := range hires {
		if err := h.apply(tx); err != nil {
			return fmt.Errorf("apply hire %d: %w", h.seq, err)
		}
	}
	return tx.Bucket(bucketMeta).Put(keyApplied, binary.BigEndian.AppendUint64(nil, hires[len(hires)-1].lsn))
}

// replay copies into db the journal entries it has not applied yet and
// returns the last entry number known.
func replay(db *bolt.DB, j *journal) (uint64, error) {
	var applied uint64
	err := db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyApplied); len(v) == 8 {
			applied = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	last := applied
	var run []*savedHire
	size := 0
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		err := db.Update(func(tx *bolt.Tx) error { return applyHires(tx, run) })
		run = run[:0]
		return err
	}
	first := true
	err = j.scan(func(lsn uint64, body []byte) error {
		if first && lsn > applied+1 {
			return fmt.Errorf("%w: its first entry is %d, the database has %d; move %s out of the folder to open without it",
				errJournalGap, lsn, applied, JournalFileName)
		}
		first = false
		if lsn <= applied {
			return nil
		}
		h, err := decodeSavedHire(lsn, body)
		if err != nil {
			return fmt.Errorf("entry %d: %w", lsn, err)
		}
		run = append(run, h)
		size += len(h.raw)
		last = lsn
		if len(run) >= maxApplyRun || size >= maxApplyBytes {
			size = 0
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return last, err
}

// sequencer is the writer goroutine's state.
type sequencer struct {
	db      *bolt.DB
	j       *journal
	lsn     uint64 // last journal entry written
	lastSeq uint64 // last hire seq handed out
	// pending holds the hires journaled but maybe not yet in bbolt, by
	// comeet_id, so that a redelivery right behind its first delivery is
	// still seen as one. Entries already applied are pruned now and then.
	pending map[string]pendingHire
	scratch []byte
}

type pendingHire struct {
	lsn uint64
	rec Hire // without Raw
}

func (q *sequencer) init(db *bolt.DB, j *journal, last uint64) error {
	q.db, q.j, q.lsn = db, j, last
	q.pending = make(map[string]pendingHire)
	return db.View(func(tx *bolt.Tx) error {
		q.lastSeq = tx.Bucket(bucketHires).Sequence()
		return nil
	})
}

// run sequences a batch of writes in order.
func (q *sequencer) run(batch []writeReq, app *applier) {
	for len(batch) > 0 {
		n := 0
		for n < len(batch) && batch[n].save != nil {
			n++
		}
		if n > 0 {
			q.saveHires(batch[:n], app)
			batch = batch[n:]
			continue
		}
		n = 0
		for n < len(batch) && batch[n].save == nil {
			n++
		}
		q.forward(batch[:n], app)
		batch = batch[n:]
	}
}

// forward hands writes other than hires to the applier, behind the hires
// sequenced before them.
func (q *sequencer) forward(reqs []writeReq, app *applier) {
	if err := app.failed(); err != nil {
		for _, req := range reqs {
			req.done <- err
		}
		return
	}
	hires := false
	for _, req := range reqs {
		hires = hires || req.hires
	}
	var applied chan struct{}
	if hires {
		applied = make(chan struct{})
	}
	// The writer reuses its batch: the applier gets a copy.
	app.push(nil, &applyItem{reqs: slices.Clone(reqs), applied: applied})
	if hires {
		// They may change hires that pending holds: wait for them, then
		// read those hires from bbolt again.
		<-applied
		clear(q.pending)
	}
}

// saveHires journals a run of hires and acknowledges them.
func (q *sequencer) saveHires(reqs []writeReq, app *applier) {
	fail := func(err error) {
		for _, req := range reqs {
			req.done <- err
		}
	}
	if err := app.failed(); err != nil {
		fail(err)
		return
	}
	if q.j.off >= journalResetAt {
		// Start the journal again once bbolt has all of it.
		if err := app.waitApplied(q.lsn); err != nil {
			fail(err)
			return
		}
		if err := q.j.reset(); err != nil {
			fail(err)
			return
		}
	}

	lsn, lastSeq := q.lsn, q.lastSeq
	batch := make(map[string]pendingHire, len(reqs))
	saved := make([]*savedHire, 0, len(reqs))
	errs := make([]error, len(reqs))
	var tx *bolt.Tx
	for i, req := range reqs {
		r := req.save
		rec := r.hire
		rec.ReceivedAt, rec.UpdatedAt, rec.Deliveries = r.now, r.now, 1
		old, found, err := q.lookup(rec.ComeetID, batch, &tx)
		if err != nil {
			errs[i] = err
			continue
		}
		r.res.New = !found
		if found {
			rec.Seq = old.Seq
			rec.ReceivedAt, rec.Seen, rec.Deliveries = old.ReceivedAt, old.Seen, old.Deliveries+1
		} else {
			lastSeq++
			rec.Seq = lastSeq
		}
		d := r.d
		d.ComeetID, d.Outcome = rec.ComeetID, OutcomeStored
		if found {
			d.Outcome = OutcomeRedelivery
		}
		dv, err := json.Marshal(&d)
		if err != nil {
			errs[i] = err
			continue
		}
		lsn++
		kept := rec
		kept.Raw = nil
		h := &savedHire{lsn: lsn, seq: rec.Seq, comeetID: rec.ComeetID,
			rec: appendRecord(nil, &kept), delivery: dv, dtime: d.Time, raw: rec.Raw}
		q.scratch = h.appendBody(q.scratch[:0])
		q.j.appendFrame(lsn, q.scratch)
		batch[rec.ComeetID] = pendingHire{lsn: lsn, rec: kept}
		saved = append(saved, h)
		r.res.Hire = rec
	}
	if tx != nil {
		tx.Rollback()
	}
	if cap(q.scratch) > 1<<20 {
		q.scratch = nil
	}
	if err := q.j.commit(); err != nil {
		fail(err)
		return
	}
	q.lsn, q.lastSeq = lsn, lastSeq
	for id, p := range batch {
		q.pending[id] = p
	}
	if len(saved) > 0 {
		app.push(saved, nil)
	}
	for i, req := range reqs {
		req.done <- errs[i]
	}
	if len(q.pending) > 512 {
		applied := app.applied.Load()
		for id, p := range q.pending {
			if p.lsn <= applied {
				delete(q.pending, id)
			}
		}
	}
}

// lookup finds the stored or pending hire with comeetID. tx is a read
// transaction begun on first need, for the caller to end.
func (q *sequencer) lookup(comeetID string, batch map[string]pendingHire, tx **bolt.Tx) (Hire, bool, error) {
	if p, ok := batch[comeetID]; ok {
		return p.rec, true, nil
	}
	if p, ok := q.pending[comeetID]; ok {
		return p.rec, true, nil
	}
	// Not pending: bbolt has every hire with this comeet_id there is.
	if *tx == nil {
		t, err := q.db.Begin(false)
		if err != nil {
			return Hire{}, false, err
		}
		*tx = t
	}
	key := (*tx).Bucket(bucketIDs).Get([]byte(comeetID))
	if key == nil {
		return Hire{}, false, nil
	}
	var old Hire
	if err := decodeRecord((*tx).Bucket(bucketHires).Get(key), &old); err != nil {
		return Hire{}, false, fmt.Errorf("read stored hire: %w", err)
	}
	old.Seq = binary.BigEndian.Uint64(key)
	return old, true, nil
}

// applier copies journaled hires into bbolt and runs the other writes, in
// the order the sequencer gave them.
type applier struct {
	db     *bolt.DB
	linger time.Duration

	mu       sync.Mutex
	progress sync.Cond // broadcast when applied or failedErr changes, or at close
	queue    []*applyItem
	stopped  bool // run has returned

	journaled atomic.Uint64         // last entry handed to the applier
	applied   atomic.Uint64         // last entry in bbolt
	failedErr atomic.Pointer[error] // why hires could not be applied; nil once they are

	wake    chan struct{}
	hurry   chan struct{}
	closing chan struct{}
	done    chan struct{}
}

// applyItem is hires to copy into bbolt, or other writes to run.
type applyItem struct {
	hires   []*savedHire
	reqs    []writeReq
	applied chan struct{} // closed once reqs have run, if set
}

func (a *applier) init(db *bolt.DB, last uint64, linger time.Duration) {
	a.db, a.linger = db, linger
	a.progress.L = &a.mu
	a.journaled.Store(last)
	a.applied.Store(last)
	a.wake = make(chan struct{}, 1)
	a.hurry = make(chan struct{}, 1)
	a.closing = make(chan struct{})
	a.done = make(chan struct{})
}

// push queues hires or another write.
func (a *applier) push(hires []*savedHire, it *applyItem) {
	if it == nil {
		it = &applyItem{hires: hires}
	}
	a.mu.Lock()
	a.queue = append(a.queue, it)
	if n := len(it.hires); n > 0 {
		a.journaled.Store(it.hires[n-1].lsn)
	}
	a.mu.Unlock()
	if it.applied != nil {
		// The sequencer waits for these: no linger. Other writes wait
		// with their callers (document planning, the reject log, a 400's
		// kept body), and sharing the hires' transaction is worth it.
		signal(a.hurry)
	}
	signal(a.wake)
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// failed returns the error that stops hires from reaching bbolt, if any.
func (a *applier) failed() error {
	if p := a.failedErr.Load(); p != nil {
		return *p
	}
	return nil
}

// caughtUp waits until every hire acknowledged so far is in bbolt.
func (a *applier) caughtUp() error {
	return a.waitApplied(a.journaled.Load())
}

// waitApplied waits until journal entry lsn is in bbolt.
func (a *applier) waitApplied(lsn uint64) error {
	if a.applied.Load() >= lsn {
		return nil
	}
	signal(a.hurry)
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.applied.Load() < lsn {
		if err := a.failed(); err != nil {
			return err
		}
		if a.stopped {
			return ErrClosed
		}
		a.progress.Wait()
	}
	return nil
}

func (a *applier) run() {
	defer close(a.done)
	for {
		select {
		case <-a.wake:
		case <-a.closing:
			a.drainAll()
			return
		}
		// Let hires gather, unless a reader is waiting.
		t := time.NewTimer(a.linger)
		select {
		case <-t.C:
		case <-a.hurry:
		case <-a.closing:
		}
		t.Stop()
		a.drain()
	}
}

// drain applies everything queued. Hires queued one after another share a
// transaction, and so do other writes. Hires bbolt refuses stay at the head of the queue and are
// tried again every applyRetry; writes behind them fail, since running
// them first would put them out of order.
func (a *applier) drain() {
	a.mu.Lock()
	items := a.queue
	a.queue = nil
	a.mu.Unlock()
	for i := 0; i < len(items); {
		if items[i].reqs != nil {
			// Writes queued one after another share a transaction too.
			j := i
			var reqs []writeReq
			for ; j < len(items) && items[j].reqs != nil; j++ {
				reqs = append(reqs, items[j].reqs...)
			}
			commit(a.db, reqs)
			for _, it := range items[i:j] {
				if it.applied != nil {
					close(it.applied)
				}
			}
			i = j
			continue
		}
		var run []*savedHire
		size := 0
		j := i
		for ; j < len(items) && items[j].reqs == nil && len(run) < maxApplyRun && size < maxApplyBytes; j++ {
			run = append(run, items[j].hires...)
			for _, h := range items[j].hires {
				size += len(h.raw)
			}
		}
		if err := a.applyRun(run); err != nil {
			a.stuck(items[i:], err)
			return
		}
		i = j
	}
}

// drainAll applies everything queued, for Close: it stops early only when
// bbolt refuses hires, which then stay in the journal.
func (a *applier) drainAll() {
	for {
		a.mu.Lock()
		n := len(a.queue)
		failed := a.failed() != nil
		a.mu.Unlock()
		if n == 0 {
			return
		}
		a.drain()
		if failed {
			return // tried once more since the failure
		}
	}
}

// maxApplyRun and maxApplyBytes bound how many hires, and about how many
// bytes of payload, go into one bbolt transaction.
const (
	maxApplyRun   = 4096
	maxApplyBytes = 64 << 20
)

// applyRun copies hires into bbolt in one transaction.
func (a *applier) applyRun(hires []*savedHire) error {
	err := a.db.Update(func(tx *bolt.Tx) error { return applyHires(tx, hires) })
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.applied.Store(hires[len(hires)-1].lsn)
	a.failedErr.Store(nil)
	a.progress.Broadcast()
	a.mu.Unlock()
	return nil
}

// commit runs writes in one transaction. If one fails, the transaction is
// rolled back and each write is run alone, so one bad write cannot fail
// its neighbours.
func commit(db *bolt.DB, reqs []writeReq) {
	err := db.Update(func(tx *bolt.Tx) error {
		for _, req := range reqs {
			if err := req.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(reqs) > 1 {
		for _, req := range reqs {
			req.done <- db.Update(req.fn)
		}
		return
	}
	for _, req := range reqs {
		req.done <- err
	}
}

// stuck handles a refused transaction: items[0] holds the hires refused.
func (a *applier) stuck(items []*applyItem, err error) {
	err = fmt.Errorf("store hires: %w", err)
	a.failedErr.Store(&err)
	var hires []*savedHire
	for _, it := range items {
		if it.hires != nil {
			hires = append(hires, it.hires...)
			continue
		}
		for _, req := range it.reqs {
			req.done <- err
		}
		if it.applied != nil {
			close(it.applied)
		}
	}
	a.mu.Lock()
	a.queue = append([]*applyItem{{hires: hires}}, a.queue...)
	a.progress.Broadcast()
	a.mu.Unlock()
	t := time.NewTimer(applyRetry)
	defer t.Stop()
	select {
	case <-t.C:
		signal(a.wake)
	case <-a.closing:
		// Close tries once more (drain in run); what still fails stays
		// in the journal for the next Open.
	}
}

// close applies what is queued and stops the applier. An error means some
// acknowledged hires are still only in the journal: the next Open copies
// them.
func (a *applier) close() error {
	close(a.closing)
	<-a.done
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopped = true
	a.progress.Broadcast()
	if a.applied.Load() < a.journaled.Load() {
		return fmt.Errorf("hires left in the journal: %w", a.failed())
	}
	return nil
}
