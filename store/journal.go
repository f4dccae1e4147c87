package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// The journal is how a hire becomes durable before bbolt has it. Comeet
// waits for the 200 of each hire, and a bbolt commit costs two fdatasyncs
// plus a write per touched page; a journal entry costs one write at the
// end of a preallocated file and one fdatasync, shared by every hire that
// arrived meanwhile. The applier (apply.go) then copies the entries into
// bbolt in larger transactions, recording in the same transaction the
// last entry applied, so each entry is applied exactly once. Open replays
// whatever the journal holds past that point, so an acknowledged hire
// survives kill -9 and power loss alike.
//
// The file is a run of frames from offset 0:
//
//	crc32c (4 bytes) of everything after it
//	body length (4 bytes)
//	lsn (8 bytes): entry number, one more than the previous frame's
//	body
//
// all big-endian. The file is zero-filled to journalSize when created,
// so appending a frame does not change the file's size and fdatasync has
// no metadata to write. Once every entry is applied the writer starts
// again from offset 0; frames left over from before are told apart by
// their lsn, which does not follow on. A torn last frame fails its
// checksum: it was never acknowledged.

const (
	// JournalFileName is the journal's name inside the data directory.
	JournalFileName = "hirebell.journal"

	journalSize    = 4 << 20 // preallocated size
	journalResetAt = 2 << 20 // start again from 0 past this offset once applied
	frameHeader    = 16
	maxFrameBody   = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errJournalGap is returned by Open when the journal's first entry comes
// after entries the database never applied: the file was replaced or cut.
var errJournalGap = errors.New("journal does not follow on from the database")

type journal struct {
	f    *os.File
	path string
	off  int64 // where the next frame goes
	size int64 // current file size
	buf  []byte
}

func openJournal(dir string) (*journal, error) {
	path := filepath.Join(dir, JournalFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open journal: %w", err)
	}
	return &journal{f: f, path: path, size: fi.Size()}, nil
}

// scan calls fn for each frame from the start of the file, in order, while
// the frames are intact and their lsns follow on. body is only valid during
// the call.
func (j *journal) scan(fn func(lsn uint64, body []byte) error) error {
	r := bufio.NewReaderSize(io.NewSectionReader(j.f, 0, j.size), 256<<10)
	var hdr [frameHeader]byte
	var body []byte
	var prev uint64
	for first := true; ; first = false {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil // end of file, or a header cut short
		}
		sum := binary.BigEndian.Uint32(hdr[0:])
		n := binary.BigEndian.Uint32(hdr[4:])
		lsn := binary.BigEndian.Uint64(hdr[8:])
		if n == 0 || n > maxFrameBody || (!first && lsn != prev+1) {
			return nil
		}
		if cap(body) < int(n) {
			body = make([]byte, n)
		}
		body = body[:n]
		if _, err := io.ReadFull(r, body); err != nil {
			return nil
		}
		crc := crc32.Update(crc32.Checksum(hdr[4:], castagnoli), castagnoli, body)
		if crc != sum {
			return nil
		}
		if err := fn(lsn, body); err != nil {
			return err
		}
		prev = lsn
	}
}

// appendFrame adds a frame to the pending write.
func (j *journal) appendFrame(lsn uint64, body []byte) {
	start := len(j.buf)
	j.buf = append(j.buf, make([]byte, frameHeader)...)
	binary.BigEndian.PutUint32(j.buf[start+4:], uint32(len(body)))
	binary.BigEndian.PutUint64(j.buf[start+8:], lsn)
	j.buf = append(j.buf, body...)
	binary.BigEndian.PutUint32(j.buf[start:], crc32.Checksum(j.buf[start+4:], castagnoli))
}

// commit writes the pending frames and waits until they are on disk. On
// failure the frames are dropped and the offset stays, so the next commit
// writes over whatever part of them landed.
func (j *journal) commit() error {
	buf := j.buf
	j.buf = j.buf[:0]
	if len(buf) == 0 {
		return nil
	}
	if _, err := j.f.WriteAt(buf, j.off); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if err := fdatasync(j.f); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	j.off += int64(len(buf))
	j.size = max(j.size, j.off)
	if cap(j.buf) > 1<<20 {
		j.buf = nil // a batch of large payloads: do not keep its buffer
	}
	return nil
}

// reset starts the journal again from offset 0. The caller has made sure
// every entry in it is applied. A file smaller than journalSize (a new one)
// is zero-filled to it; one that grew far past it is cut back.
func (j *journal) reset() error {
	j.off = 0
	switch {
	case j.size < journalSize:
		zeros := make([]byte, journalSize-j.size)
		if _, err := j.f.WriteAt(zeros, j.size); err != nil {
			return fmt.Errorf("preallocate journal: %w", err)
		}
	case j.size > 4*journalSize:
		if err := j.f.Truncate(journalSize); err != nil {
			return fmt.Errorf("shrink journal: %w", err)
		}
	default:
		return nil
	}
	j.size = journalSize
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	return nil
}

// markEmpty overwrites the first frame's header, so that the next Open
// reads nothing. The caller has made sure every entry is applied.
func (j *journal) markEmpty() error {
	if j.size < frameHeader {
		return nil
	}
	if _, err := j.f.WriteAt(make([]byte, frameHeader), 0); err != nil {
		return fmt.Errorf("clear journal: %w", err)
	}
	j.off = 0
	return fdatasync(j.f)
}

func (j *journal) close() error { return j.f.Close() }
