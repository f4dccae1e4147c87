package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Outcome names what became of one delivery attempt.
type Outcome string

// The outcomes of a delivery, one per row of the receiver's HTTP contract.
const (
	OutcomeStored           Outcome = "stored"
	OutcomeRedelivery       Outcome = "redelivery"
	OutcomeTest             Outcome = "test"
	OutcomeMissingSignature Outcome = "missing_signature"
	OutcomeBadSignature     Outcome = "bad_signature"
	OutcomeTooLarge         Outcome = "too_large"
	OutcomeNotAHire         Outcome = "not_a_hire"
	OutcomeStoreError       Outcome = "store_error"
)

// Problem reports whether the outcome is one a person may need to act on.
func (o Outcome) Problem() bool {
	switch o {
	case OutcomeStored, OutcomeRedelivery, OutcomeTest:
		return false
	}
	return true
}

// Delivery is one attempt by Comeet (or anyone) to deliver a hire.
type Delivery struct {
	Seq      uint64    `json:"-"`
	Time     time.Time `json:"time"`
	Remote   string    `json:"remote,omitempty"`
	Outcome  Outcome   `json:"outcome"`
	Status   int       `json:"status"`
	ComeetID string    `json:"comeet_id,omitempty"`
	// Detail is a short technical note (never personal data or secrets).
	Detail string `json:"detail,omitempty"`
	// Body is kept only for signed deliveries that were not a valid hire,
	// so that nothing Comeet sent is lost.
	Body []byte `json:"body,omitempty"`
	// Dropped counts rejected attempts before this one that were not logged
	// one by one because they came faster than the log is written.
	Dropped int `json:"dropped,omitempty"`
}

// Log bounds: the delivery log keeps the newest MaxDeliveries attempts and
// none older than MaxDeliveryAge, whichever is fewer. Hires are never pruned.
const (
	MaxDeliveries  = 10_000
	MaxDeliveryAge = 90 * 24 * time.Hour
)

// maxDeliveries is MaxDeliveries as a variable, so tests can use a smaller bound.
var maxDeliveries uint64 = MaxDeliveries

func putDelivery(tx *bolt.Tx, d Delivery) error {
	if d.Time.IsZero() {
		d.Time = time.Now().UTC()
	}
	val, err := json.Marshal(&d)
	if err != nil {
		return err
	}
	return putDeliveryValue(tx, val, d.Time)
}

// putDeliveryValue appends an encoded Delivery whose time is t.
func putDeliveryValue(tx *bolt.Tx, val []byte, t time.Time) error {
	b := tx.Bucket(bucketDeliveries)
	b.FillPercent = appendFill
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	if err := b.Put(seqKey(seq), val); err != nil {
		return err
	}
	// Prune as we go: a write every so often trims the oldest entries, so
	// the log stays bounded without a background job. A quiet log (a few
	// hires a month) would take years to reach the next multiple of 128,
	// so an oldest entry past the age bound also triggers a prune.
	if seq%128 == 0 || oldestExpired(b, t) {
		return pruneDeliveries(b, seq, t)
	}
	return nil
}

// oldestExpired reports whether the first (oldest) entry is older than
// MaxDeliveryAge at now. It reads only the entry's leading time field, so a
// large kept body costs nothing.
func oldestExpired(b *bolt.Bucket, now time.Time) bool {
	_, v := b.Cursor().First()
	t, ok := deliveryTime(v)
	return ok && t.Before(now.Add(-MaxDeliveryAge))
}

// deliveryTime reads the "time" field that leads every encoded Delivery
// (json.Marshal writes fields in declaration order, and Time is first). It
// runs inside the write transaction on every delivery, so it slices the
// timestamp out rather than starting a JSON decoder.
func deliveryTime(v []byte) (time.Time, bool) {
	rest, ok := bytes.CutPrefix(v, []byte(`{"time":"`))
	if !ok {
		return time.Time{}, false
	}
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:end]))
	return t, err == nil
}

// pruneDeliveries drops entries beyond MaxDeliveries or older than
// MaxDeliveryAge.
// Keys are consecutive sequence numbers and only the oldest are ever
// deleted, so the count is last - first + 1 without a walk.
func pruneDeliveries(b *bolt.Bucket, last uint64, now time.Time) error {
	cutoff := now.Add(-MaxDeliveryAge)
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.First() {
		if last-binary.BigEndian.Uint64(k)+1 <= maxDeliveries {
			if t, ok := deliveryTime(v); ok && !t.Before(cutoff) {
				return nil
			}
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// RecordDelivery writes d to the delivery log and returns once it is durable.
// The receiver uses it for signed payloads that are not a hire, so that
// their bytes are safe before it answers.
func (s *Store) RecordDelivery(d Delivery) error {
	err := s.update(func(tx *bolt.Tx) error { return putDelivery(tx, d) })
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	return nil
}

// LogRejected records a rejected attempt (bad signature, too large) without
// making the caller wait for the disk: a flood of forged requests must not
// cost a transaction each. When attempts come faster than they are written,
// the surplus is counted in the next entry's Dropped field. Rejected
// attempts never carry a body.
func (s *Store) LogRejected(d Delivery) {
	d.Body = nil
	if d.Time.IsZero() {
		d.Time = time.Now().UTC()
	}
	s.rejects.add(d)
}

// Deliveries returns up to limit log entries, newest first (limit <= 0: all).
// With problemsOnly, only attempts whose outcome is a problem are returned.
func (s *Store) Deliveries(problemsOnly bool, limit int) ([]Delivery, error) {
	var out []Delivery
	cutoff := time.Now().Add(-MaxDeliveryAge)
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDeliveries).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var d Delivery
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("read delivery %x: %w", k, err)
			}
			if problemsOnly && !d.Outcome.Problem() {
				continue
			}
			if d.Time.Before(cutoff) {
				continue // past the bound, pruned at the next write
			}
			d.Seq = binary.BigEndian.Uint64(k)
			out = append(out, d)
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// rejectLog buffers rejected attempts and writes them in the background.
type rejectLog struct {
	s       *Store
	mu      sync.Mutex
	pending []Delivery
	dropped int
	closed  bool // set under mu; after it, add drops entries
	wake    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// maxPendingRejects bounds the memory a flood can pin.
const maxPendingRejects = 1024

func newRejectLog(s *Store) *rejectLog {
	r := &rejectLog{s: s, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go r.run()
	return r
}

func (r *rejectLog) add(d Delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		// The store is closed (the receiver reports its 503 here): there
		// is nowhere left to write, and sending on wake would panic.
		return
	}
	if len(r.pending) >= maxPendingRejects {
		r.dropped++
	} else {
		r.pending = append(r.pending, d)
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *rejectLog) run() {
	defer close(r.done)
	for range r.wake {
		r.flush()
	}
	r.flush()
}

func (r *rejectLog) flush() {
	r.mu.Lock()
	batch, dropped := r.pending, r.dropped
	r.pending, r.dropped = nil, 0
	r.mu.Unlock()
	if len(batch) == 0 && dropped == 0 {
		return
	}
	if len(batch) == 0 {
		batch = []Delivery{{Time: time.Now().UTC(), Outcome: OutcomeBadSignature, Status: 401}}
	}
	batch[len(batch)-1].Dropped += dropped
	// Best effort: a log entry lost to a failing disk is not worth
	// blocking the receiver for; the hire path reports its own errors.
	_ = r.s.update(func(tx *bolt.Tx) error {
		for _, d := range batch {
			if err := putDelivery(tx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

// close writes what is pending and stops the background writer.
func (r *rejectLog) close() {
	r.once.Do(func() {
		r.mu.Lock()
		r.closed = true
		close(r.wake)
		r.mu.Unlock()
	})
	<-r.done
}
