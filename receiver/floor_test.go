package receiver

import (
	"io"
	"net/http"
	"os"
)

// floorServer is the cheapest receiver that answers 200 only once the
// body is on disk: it verifies the signature and appends the body to a
// preallocated file, one write and one fdatasync for every request waiting
// (group commit), with no JSON and no database. TestLoadComparison runs it
// to show what the disk allows.
type floorServer struct {
	secret []byte
	f      *os.File
	reqs   chan floorReq
	done   chan struct{}
}

type floorReq struct {
	body []byte
	ok   chan error
}

const floorFileSize = 64 << 20

func newFloorServer(path string, secret []byte) (*floorServer, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	// Written once, so that later writes do not change the file's size and
	// fdatasync has no metadata to write (as Hirebell's journal).
	if _, err := f.Write(make([]byte, floorFileSize)); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	s := &floorServer{secret: secret, f: f, reqs: make(chan floorReq, 256), done: make(chan struct{})}
	go s.writer()
	return s, nil
}

func (s *floorServer) writer() {
	defer close(s.done)
	var off int64
	var buf []byte
	batch := make([]floorReq, 0, 256)
	for r := range s.reqs {
		batch = append(batch[:0], r)
	more:
		for len(batch) < cap(batch) {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		buf = buf[:0]
		for _, r := range batch {
			buf = append(buf, r.body...)
		}
		if off+int64(len(buf)) > floorFileSize {
			off = 0
		}
		_, err := s.f.WriteAt(buf, off)
		if err == nil {
			err = fdatasyncFile(s.f)
		}
		off += int64(len(buf))
		for _, r := range batch {
			r.ok <- err
		}
	}
}

func (s *floorServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || Verify(body, r.Header.Get(SignatureHeader), s.secret) != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	req := floorReq{body: body, ok: make(chan error, 1)}
	s.reqs <- req
	if err := <-req.ok; err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	writeReply(w, http.StatusOK, reply{Status: "stored"})
}

func (s *floorServer) close() {
	close(s.reqs)
	<-s.done
	s.f.Close()
}
