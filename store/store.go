// Package store keeps Hirebell's data in one bbolt file: the hires, their raw
// payloads, the delivery log and the settings.
package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the name of the database file inside the data directory.
const FileName = "hirebell.db"

// ErrLocked is returned by Open when another process holds the database.
var ErrLocked = errors.New("another Hirebell is using this data folder")

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("store is closed")

// ErrNotFound is returned when no hire has the requested comeet_id.
var ErrNotFound = errors.New("hire not found")

var (
	bucketHires      = []byte("hires")      // seq -> Hire (record.go, no raw)
	bucketIDs        = []byte("ids")        // comeet_id -> seq
	bucketPayloads   = []byte("payloads")   // seq -> raw payload
	bucketDeliveries = []byte("deliveries") // seq -> Delivery (JSON)
	bucketSettings   = []byte("settings")   // key -> value
	bucketDocuments  = []byte("documents")  // seq + index -> Document (JSON)
	allBuckets       = [][]byte{bucketHires, bucketIDs, bucketPayloads, bucketDeliveries, bucketSettings, bucketDocuments}
)

// Options tune Open. The zero value is what the app uses.
type Options struct {
	// LockTimeout bounds the wait for another process's lock on the file.
	// Zero means 1 s.
	LockTimeout time.Duration
}

// Store is an open Hirebell database. It is safe for concurrent use.
type Store struct {
	db  *bolt.DB
	dir string

	writes  chan writeReq
	stop    chan struct{}
	stopped chan struct{}
	closeMu sync.RWMutex // held for reading while enqueueing, for writing by Close
	closed  bool

	rejects *rejectLog
	secret  atomic.Pointer[string] // cached webhook secret
	docs    docNotifier
}

// Open opens (creating if needed) the database in dir. The folder is created
// 0700 and the file 0600. When another process has it open, Open gives up
// after opts.LockTimeout with an error wrapping ErrLocked that names dir.
func Open(dir string, opts Options) (*Store, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// The free-page list is saved with each commit (bbolt's default):
	// without it every open walks the whole file, which at 100,000 hires
	// cost the window about half a second and 300 MB of mapped pages.
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      opts.LockTimeout,
		FreelistType: bolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialise %s: %w", path, err)
	}
	s := &Store{
		db:      db,
		dir:     dir,
		writes:  make(chan writeReq, 256),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	s.rejects = newRejectLog(s)
	go s.writer()
	return s, nil
}

// Dir is the data folder the store lives in.
func (s *Store) Dir() string { return s.dir }

// Close finishes pending writes and closes the file. It is safe to call twice.
func (s *Store) Close() error {
	s.rejects.close()
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.closeMu.Unlock()
	<-s.stopped
	return s.db.Close()
}

// writeReq is one unit of work for the group committer.
type writeReq struct {
	fn   func(tx *bolt.Tx) error
	done chan error
}

// maxBatch bounds how many writes share one transaction, so one commit never
// grows without limit under a flood.
const maxBatch = 256

// update runs fn in a write transaction and returns once that transaction
// is durably committed. Concurrent calls share transactions (group commit):
// while one commit is being synced, the next callers queue, and the writer
// takes them all in the following transaction. A lone call on an idle store
// is committed at once, with no timer.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	req := writeReq{fn: fn, done: make(chan error, 1)}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	s.writes <- req
	s.closeMu.RUnlock()
	return <-req.done
}

func (s *Store) writer() {
	defer close(s.stopped)
	batch := make([]writeReq, 0, maxBatch)
	for {
		select {
		case req := <-s.writes:
			batch = append(batch[:0], req)
		case <-s.stop:
			// Close holds no more senders; finish what is queued.
			for {
				select {
				case req := <-s.writes:
					s.commit([]writeReq{req})
				default:
					return
				}
			}
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case req := <-s.writes:
				batch = append(batch, req)
			default:
				break drain
			}
		}
		s.commit(batch)
	}
}

// commit runs a batch in one transaction. If one write fails, the batch is
// rolled back and each write is retried alone, so one bad write cannot fail
// its neighbours.
func (s *Store) commit(batch []writeReq) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, req := range batch {
			if err := req.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for _, req := range batch {
			req.done <- s.db.Update(req.fn)
		}
		return
	}
	for _, req := range batch {
		req.done <- err
	}
}

// SaveResult says what SaveHire did.
type SaveResult struct {
	// Hire is the record as stored.
	Hire Hire
	// New is false when the comeet_id was already stored (a redelivery).
	New bool
}

// SaveHire stores h, keyed by its comeet_id, together with the delivery d,
// and returns once both are durable. A comeet_id seen before keeps its place
// and seen mark, takes the new payload and fields, and is reported as not new.
func (s *Store) SaveHire(h Hire, d Delivery) (SaveResult, error) {
	if h.ComeetID == "" {
		return SaveResult{}, ErrNoComeetID
	}
	now := time.Now().UTC()
	if d.Time.IsZero() {
		d.Time = now
	}
	var res SaveResult
	err := s.update(func(tx *bolt.Tx) (err error) {
		res, err = saveTx(tx, h, d, now)
		return err
	})
	if err != nil {
		return SaveResult{}, fmt.Errorf("save hire: %w", err)
	}
	return res, nil
}

// saveTx is SaveHire's work inside a write transaction.
func saveTx(tx *bolt.Tx, h Hire, d Delivery, now time.Time) (SaveResult, error) {
	var res SaveResult
	ids := tx.Bucket(bucketIDs)
	hires := tx.Bucket(bucketHires)
	payloads := tx.Bucket(bucketPayloads)
	hires.FillPercent, payloads.FillPercent = appendFill, appendFill
	rec := h
	rec.ReceivedAt, rec.UpdatedAt, rec.Deliveries = now, now, 1
	if key := ids.Get([]byte(h.ComeetID)); key != nil {
		var old Hire
		if err := decodeRecord(hires.Get(key), &old); err != nil {
			return res, fmt.Errorf("read stored hire: %w", err)
		}
		rec.Seq = binary.BigEndian.Uint64(key)
		rec.ReceivedAt, rec.Seen, rec.Deliveries = old.ReceivedAt, old.Seen, old.Deliveries+1
	} else {
		seq, err := hires.NextSequence()
		if err != nil {
			return res, err
		}
		rec.Seq = seq
		res.New = true
	}
	key := seqKey(rec.Seq)
	if err := hires.Put(key, appendRecord(nil, &rec)); err != nil {
		return res, err
	}
	if err := ids.Put([]byte(h.ComeetID), key); err != nil {
		return res, err
	}
	if err := payloads.Put(key, h.Raw); err != nil {
		return res, err
	}
	d.ComeetID = h.ComeetID
	if res.New {
		d.Outcome = OutcomeStored
	} else {
		d.Outcome = OutcomeRedelivery
	}
	if err := putDelivery(tx, d); err != nil {
		return res, err
	}
	res.Hire = rec
	return res, nil
}

// List returns every hire, newest first, without raw payloads.
func (s *Store) List() ([]Hire, error) {
	var out []Hire
	err := s.db.View(func(tx *bolt.Tx) error {
		// The sequence counts every hire ever stored: a cheap upper bound.
		out = make([]Hire, 0, tx.Bucket(bucketHires).Sequence())
		return eachHire(tx, func(h *Hire) error {
			out = append(out, *h)
			return nil
		})
	})
	return out, err
}

// EachHire calls fn for every hire, newest first, without raw payloads,
// all inside one read transaction: a listing that keeps only some of
// each hire builds its own compact rows instead of holding every Hire as
// List does. The Hire passed to fn is reused between calls, so copy what
// must outlive the call; its strings stay valid, but each one keeps that
// hire's whole record in memory. fn must not use the store (another
// transaction inside this one can deadlock with a writer); an error from
// fn stops the walk and is returned as it is.
func (s *Store) EachHire(fn func(h *Hire) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return eachHire(tx, fn)
	})
}

// eachHire calls fn for every hire, newest first. The Hire passed to fn is
// reused between calls.
func eachHire(tx *bolt.Tx, fn func(h *Hire) error) error {
	c := tx.Bucket(bucketHires).Cursor()
	var h Hire
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		h = Hire{}
		if err := decodeRecord(v, &h); err != nil {
			return fmt.Errorf("read hire %x: %w", k, err)
		}
		h.Seq = binary.BigEndian.Uint64(k)
		if err := fn(&h); err != nil {
			return err
		}
	}
	return nil
}

// Count returns how many hires are stored.
func (s *Store) Count() (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketHires).Stats().KeyN
		return nil
	})
	return n, err
}

// Empty reports whether no hire is stored. Unlike Count it reads one key,
// so it is cheap at start-up whatever the store holds.
func (s *Store) Empty() (bool, error) {
	var empty bool
	err := s.db.View(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketHires).Cursor().First()
		empty = k == nil
		return nil
	})
	return empty, err
}

// Get returns the hire with the given comeet_id, including its raw payload.
func (s *Store) Get(comeetID string) (Hire, error) {
	var h Hire
	err := s.db.View(func(tx *bolt.Tx) error {
		key := tx.Bucket(bucketIDs).Get([]byte(comeetID))
		if key == nil {
			return ErrNotFound
		}
		if err := decodeRecord(tx.Bucket(bucketHires).Get(key), &h); err != nil {
			return err
		}
		h.Seq = binary.BigEndian.Uint64(key)
		// bbolt's slices die with the transaction: copy.
		h.Raw = append([]byte(nil), tx.Bucket(bucketPayloads).Get(key)...)
		return nil
	})
	return h, err
}

// MarkSeen records that a person has opened the hire.
func (s *Store) MarkSeen(comeetID string) error {
	return s.update(func(tx *bolt.Tx) error {
		key := tx.Bucket(bucketIDs).Get([]byte(comeetID))
		if key == nil {
			return ErrNotFound
		}
		hires := tx.Bucket(bucketHires)
		var h Hire
		if err := decodeRecord(hires.Get(key), &h); err != nil {
			return err
		}
		if h.Seen {
			return nil
		}
		h.Seen = true
		return hires.Put(key, appendRecord(nil, &h))
	})
}

// Delete removes a hire, its payload, its document records and its
// documents folder. Its delivery log entries stay: the log is the record of
// what arrived.
func (s *Store) Delete(comeetID string) error {
	var seq uint64
	err := s.update(func(tx *bolt.Tx) error {
		ids := tx.Bucket(bucketIDs)
		key := ids.Get([]byte(comeetID))
		if key == nil {
			return ErrNotFound
		}
		key = append([]byte(nil), key...)
		seq = binary.BigEndian.Uint64(key)
		if err := tx.Bucket(bucketHires).Delete(key); err != nil {
			return err
		}
		if err := tx.Bucket(bucketPayloads).Delete(key); err != nil {
			return err
		}
		if err := deleteDocuments(tx, seq); err != nil {
			return err
		}
		return ids.Delete([]byte(comeetID))
	})
	if err != nil {
		return err
	}
	s.docs.changed()
	return s.removeHireFolder(seq, comeetID)
}

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

// appendFill is the fill percent for buckets keyed by a growing sequence:
// new keys always go to the last page, so pages split full rather than
// half full, and a commit writes fewer of them.
const appendFill = 1.0
