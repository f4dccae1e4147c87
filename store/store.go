// Package store keeps Hirebell's data in one bbolt file: the hires, their raw
// payloads, the delivery log and the settings. A hire reaches the disk
// first in a journal beside it (journal.go, apply.go), which is how SaveHire
// returns after one fdatasync rather than a whole bbolt commit.
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
	bucketMeta       = []byte("meta")       // the store's own bookkeeping
	allBuckets       = [][]byte{bucketHires, bucketIDs, bucketPayloads, bucketDeliveries, bucketSettings, bucketDocuments, bucketMeta}
)

// Options tune Open. The zero value is what the app uses.
type Options struct {
	// LockTimeout bounds the wait for another process's lock on the file.
	// Zero means 1 s.
	LockTimeout time.Duration

	// linger replaces applyLinger when set (tests).
	linger time.Duration
}

// Store is an open Hirebell database. It is safe for concurrent use.
//
// Writes go through one goroutine, the sequencer (writer). A hire is made
// durable in the journal (journal.go) and acknowledged; the applier
// (apply.go) then copies it into bbolt. Every other write waits for its own
// bbolt commit, behind the hires sequenced before it, and every read first
// waits until the hires acknowledged so far are in bbolt, so callers never
// see the two stages.
type Store struct {
	db  *bolt.DB
	dir string

	writes  chan writeReq
	stop    chan struct{}
	stopped chan struct{}
	closeMu sync.RWMutex // held for reading while enqueueing, for writing by Close
	closed  bool

	seq sequencer // owned by the writer goroutine
	app applier

	rejects *rejectLog
	secret  atomic.Pointer[string] // cached webhook secret
	docs    docNotifier
}

// Open opens (creating if needed) the database in dir. The folder is created
// 0700 and the files 0600. When another process has it open, Open gives up
// after opts.LockTimeout with an error wrapping ErrLocked that names dir.
// Hires acknowledged before a crash but not yet copied from the journal are
// copied now.
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
	// The journal is opened under bbolt's lock: a second process never
	// gets this far.
	j, err := openJournal(dir)
	if err != nil {
		db.Close()
		return nil, err
	}
	last, err := replay(db, j)
	if err == nil {
		err = j.reset()
	}
	if err != nil {
		j.close()
		db.Close()
		return nil, fmt.Errorf("recover %s: %w", filepath.Join(dir, JournalFileName), err)
	}
	s := &Store{
		db:      db,
		dir:     dir,
		writes:  make(chan writeReq, 256),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	if err := s.seq.init(db, j, last); err != nil {
		j.close()
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if opts.linger <= 0 {
		opts.linger = applyLinger
	}
	s.app.init(db, last, opts.linger)
	s.rejects = newRejectLog(s)
	go s.app.run()
	go s.writer()
	return s, nil
}

// Dir is the data folder the store lives in.
func (s *Store) Dir() string { return s.dir }

// Close finishes pending writes and closes the files. It is safe to call
// twice.
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
	// Every acknowledged hire is now in bbolt, or still in the journal
	// for the next Open when bbolt refused it.
	err := s.app.close()
	if err == nil {
		err = s.seq.j.markEmpty()
	}
	return errors.Join(err, s.seq.j.close(), s.db.Close())
}

// writeReq is one unit of work for the sequencer: a hire to journal (save)
// or a function to run in a bbolt write transaction (fn).
type writeReq struct {
	save *saveReq
	fn   func(tx *bolt.Tx) error
	// hires is set when fn changes hires (seen marks, deletions): the
	// sequencer then waits for it before sequencing the next hire.
	hires bool
	done  chan error
}

// saveReq is SaveHire's request and, once done, its result.
type saveReq struct {
	hire Hire
	d    Delivery
	now  time.Time
	res  SaveResult
}

// maxBatch and maxBatchBytes bound how many writes are sequenced together,
// so one journal write never grows without limit under a flood (of large
// payloads, for the second).
const (
	maxBatch      = 256
	maxBatchBytes = 32 << 20
)

// size is about how many bytes req puts in the journal.
func (req writeReq) size() int {
	if req.save == nil {
		return 0
	}
	return len(req.save.hire.Raw)
}

// update runs fn in a write transaction and returns once that transaction
// is durably committed, after every hire acknowledged before the call.
// Concurrent calls share transactions where they can.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	return s.enqueue(writeReq{fn: fn})
}

// updateHires is update for a fn that changes the hires, ids or payloads
// buckets.
func (s *Store) updateHires(fn func(tx *bolt.Tx) error) error {
	return s.enqueue(writeReq{fn: fn, hires: true})
}

func (s *Store) enqueue(req writeReq) error {
	req.done = make(chan error, 1)
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	s.writes <- req
	s.closeMu.RUnlock()
	return <-req.done
}

// writer takes every write queued since its last round and sequences them
// together (group commit): while one journal write is being synced, the
// next callers queue. A lone write on an idle store goes at once, with no
// timer.
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
					s.seq.run([]writeReq{req}, &s.app)
				default:
					return
				}
			}
		}
		size := batch[0].size()
	drain:
		for len(batch) < maxBatch && size < maxBatchBytes {
			select {
			case req := <-s.writes:
				batch = append(batch, req)
				size += req.size()
			default:
				break drain
			}
		}
		s.seq.run(batch, &s.app)
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
	if h.ComeetID == "" || len(h.ComeetID) > MaxComeetID {
		// A journaled hire must always fit in bbolt: an id over bbolt's
		// key limit would be acknowledged, then refused forever.
		return SaveResult{}, ErrNoComeetID
	}
	now := time.Now().UTC()
	if d.Time.IsZero() {
		d.Time = now
	}
	req := &saveReq{hire: h, d: d, now: now}
	if err := s.enqueue(writeReq{save: req}); err != nil {
		return SaveResult{}, fmt.Errorf("save hire: %w", err)
	}
	return req.res, nil
}

// view runs fn in a read transaction that sees every write acknowledged
// before the call.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	if err := s.app.caughtUp(); err != nil {
		return err
	}
	return s.db.View(fn)
}

// List returns every hire, newest first, without raw payloads.
func (s *Store) List() ([]Hire, error) {
	var out []Hire
	err := s.view(func(tx *bolt.Tx) error {
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
	return s.view(func(tx *bolt.Tx) error {
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
	err := s.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketHires).Stats().KeyN
		return nil
	})
	return n, err
}

// Empty reports whether no hire is stored. Unlike Count it reads one key,
// so it is cheap at start-up whatever the store holds.
func (s *Store) Empty() (bool, error) {
	var empty bool
	err := s.view(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketHires).Cursor().First()
		empty = k == nil
		return nil
	})
	return empty, err
}

// Get returns the hire with the given comeet_id, including its raw payload.
func (s *Store) Get(comeetID string) (Hire, error) {
	var h Hire
	err := s.view(func(tx *bolt.Tx) error {
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
	return s.updateHires(func(tx *bolt.Tx) error {
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
	err := s.updateHires(func(tx *bolt.Tx) error {
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
