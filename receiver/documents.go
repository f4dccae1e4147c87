package receiver

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"hirebell/store"
)

// Defaults for FetchOptions.
const (
	DefaultDocumentMaxSize     = 25 << 20
	DefaultDocumentTimeout     = 2 * time.Minute
	DefaultDocumentConcurrency = 3
	DefaultDocumentAttempts    = 5
	DefaultDocumentBackoff     = 2 * time.Second
)

// FetchOptions tune a Fetcher. The zero value is what the app uses.
type FetchOptions struct {
	// AllowHTTP lets plain http links (and redirects) to loopback hosts be
	// fetched. Only for tests (HIREBELL_DOCUMENTS_ALLOW_HTTP=1); https is
	// always required for any other host.
	AllowHTTP bool
	// MaxSize is the largest document kept, in bytes (0: 25 MB). A larger
	// one is cut off and recorded as too large.
	MaxSize int64
	// Timeout bounds one download attempt (0: 2 minutes).
	Timeout time.Duration
	// Concurrency is how many downloads run at once (0: 3).
	Concurrency int
	// MaxAttempts bounds the attempts per document (0: 5). Retries happen
	// only inside the link's validity window.
	MaxAttempts int
	// Backoff is the wait before the first retry; it doubles each time
	// (0: 2 s).
	Backoff time.Duration
	// Validity, when set, replaces Comeet's validity windows (3 minutes for
	// the resume, 200 s for the picture). For tests.
	Validity time.Duration
	// Transport makes the requests (nil: a copy of http.DefaultTransport).
	// Tests pass an httptest TLS server's transport.
	Transport http.RoundTripper
}

// Fetcher downloads the documents linked in hires, in the background, and
// records each outcome in the store. Its methods are safe for concurrent use.
type Fetcher struct {
	st   *store.Store
	opts FetchOptions
	log  *slog.Logger
	hc   *http.Client

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// The work is queued, and opts.Concurrency workers take it in turn: a
	// burst of hires (or a Resume after a crash) costs memory for its
	// queue entries, not a goroutine per document.
	mu       sync.Mutex
	work     *sync.Cond   // signalled when plans or tasks grow, or on Close
	plans    []store.Hire // stored hires whose documents are to be planned
	tasks    []task       // downloads ready for an attempt
	closed   bool
	inflight map[docID]bool  // queued, running or waiting to retry
	partials map[string]bool // temporary files being written now
}

// task is one download attempt to make.
type task struct {
	d       store.Document
	attempt int           // attempts already made in this run
	backoff time.Duration // wait before the retry after this attempt
}

type docID struct {
	seq   uint64
	index uint32
}

// NewFetcher returns a Fetcher that keeps documents in st's data folder.
// log may be nil (slog.Default()).
func NewFetcher(st *store.Store, opts FetchOptions, log *slog.Logger) *Fetcher {
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultDocumentMaxSize
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultDocumentTimeout
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultDocumentConcurrency
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultDocumentAttempts
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultDocumentBackoff
	}
	if log == nil {
		log = slog.Default()
	}
	tr := opts.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	f := &Fetcher{
		st: st, opts: opts, log: log,
		inflight: make(map[docID]bool),
		partials: make(map[string]bool),
	}
	f.work = sync.NewCond(&f.mu)
	f.hc = &http.Client{Transport: tr, CheckRedirect: f.checkRedirect}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.wg.Add(opts.Concurrency)
	for range opts.Concurrency {
		go f.worker()
	}
	return f
}

// Enqueue schedules the documents linked in a stored hire (as returned in
// store.SaveResult.Hire, raw payload included). It never blocks: the
// documents are planned and fetched by the workers. Documents already
// saved are not downloaded again.
func (f *Fetcher) Enqueue(h store.Hire) {
	f.mu.Lock()
	if !f.closed {
		f.plans = append(f.plans, h)
		f.work.Signal()
	}
	f.mu.Unlock()
}

// add counts one goroutine unless the fetcher is closed.
func (f *Fetcher) add() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.wg.Add(1)
	return true
}

// worker plans hires and makes download attempts until Close. Planning
// comes first: it is quick, and it starts the clock-bound downloads.
func (f *Fetcher) worker() {
	defer f.wg.Done()
	for {
		f.mu.Lock()
		for !f.closed && len(f.plans) == 0 && len(f.tasks) == 0 {
			f.work.Wait()
		}
		if f.closed {
			f.mu.Unlock()
			return // what is queued stays pending in the store for Resume
		}
		if len(f.plans) > 0 {
			h := f.plans[0]
			f.plans[0] = store.Hire{}
			f.plans = f.plans[1:]
			f.mu.Unlock()
			f.plan(h)
			continue
		}
		t := f.tasks[0]
		f.tasks[0] = task{}
		f.tasks = f.tasks[1:]
		f.mu.Unlock()
		if f.step(t) {
			f.mu.Lock()
			delete(f.inflight, docID{t.d.HireSeq, t.d.Index})
			f.mu.Unlock()
		}
	}
}

func (f *Fetcher) plan(h store.Hire) {
	links := store.DocumentLinks(h.Raw)
	if len(links) == 0 {
		return
	}
	at := h.UpdatedAt
	if at.IsZero() {
		at = time.Now()
	}
	todo, err := f.st.PlanDocuments(h.ComeetID, links, at, f.window)
	if err != nil {
		f.log.Error("documents not planned", "comeet_id", h.ComeetID, "err", err)
		return
	}
	for _, d := range todo {
		f.start(d)
	}
}

// start queues the download of d unless it is already queued or running.
func (f *Fetcher) start(d store.Document) {
	id := docID{d.HireSeq, d.Index}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.inflight[id] {
		return
	}
	f.inflight[id] = true
	f.push(task{d: d, backoff: f.opts.Backoff})
}

// push queues t; f.mu must be held.
func (f *Fetcher) push(t task) {
	f.tasks = append(f.tasks, t)
	f.work.Signal()
}

// retry queues t again after its wait, without holding a worker meanwhile.
func (f *Fetcher) retry(t task, after time.Duration) {
	time.AfterFunc(after, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.closed {
			f.push(t)
		}
	})
}

// Resume finishes what an earlier run left (after a crash or a quit
// during downloads): leftover partial files are removed, a document whose
// file was fully written but not yet recorded is recorded, documents still
// inside their validity window are fetched again, the rest are recorded as
// expired, and recent hires whose documents were never planned are planned.
// It returns once that work is scheduled; it reads the store, so callers
// that must not wait (start-up) run it on a goroutine. Close waits for it.
func (f *Fetcher) Resume(ctx context.Context) error {
	if !f.add() {
		return nil
	}
	defer f.wg.Done()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	defer context.AfterFunc(f.ctx, stop)() // Close ends it too
	f.removePartials()
	pending, err := f.st.PendingDocuments()
	if err != nil {
		return fmt.Errorf("resume documents: %w", err)
	}
	now := time.Now()
	for _, d := range pending {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if f.recover(d) {
			continue
		}
		if now.Before(d.ValidUntil) {
			f.start(d)
			continue
		}
		d.Status, d.Reason = store.DocFailed, ReasonInterrupted
		f.record(d)
	}
	window := max(f.window(store.KindResume), f.window(store.KindPicture), f.window(store.KindFile))
	hires, err := f.st.UnplannedHires(now.Add(-window))
	if err != nil {
		return fmt.Errorf("resume documents: %w", err)
	}
	// After a burst, that walk read every recent payload; their pages of
	// the data file need not stay counted in the app's memory.
	if err := f.st.ReleaseMappedPages(); err != nil {
		f.log.Warn("release mapped pages", "err", err)
	}
	for _, h := range hires {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f.Enqueue(h)
	}
	return nil
}

// recover records a pending document whose file is complete on disk: files
// are only renamed into place once fully written and synced.
func (f *Fetcher) recover(d store.Document) bool {
	p, err := f.st.DocumentPath(d)
	if err != nil {
		return false
	}
	fh, err := os.Open(p)
	if err != nil {
		return false
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return false
	}
	d.Status, d.Reason, d.Size, d.SHA256, d.SavedAt = store.DocSaved, "", n, hex.EncodeToString(h.Sum(nil)), time.Now()
	f.record(d)
	return true
}

// partialPrefix starts the names of files being written; SafeFileName never
// makes a name with a leading dot, so they cannot collide with a document.
const partialPrefix = ".part-"

// removePartials deletes the partial files an interrupted run left, but
// not those of downloads running now.
func (f *Fetcher) removePartials() {
	root := f.st.DocumentsDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(root, e.Name(), partialPrefix+"*"))
		for _, m := range matches {
			f.mu.Lock()
			busy := f.partials[m]
			f.mu.Unlock()
			if busy {
				continue
			}
			if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
				f.log.Warn("partial document not removed", "err", pathless(err))
			}
		}
	}
}

// Close stops all downloads and waits for them. Documents interrupted stay
// pending, for Resume at the next start. Call it before closing the store.
func (f *Fetcher) Close() error {
	f.mu.Lock()
	f.closed = true
	f.work.Broadcast()
	f.mu.Unlock()
	f.cancel()
	f.wg.Wait()
	return nil
}

func (f *Fetcher) window(kind string) time.Duration {
	if f.opts.Validity > 0 {
		return f.opts.Validity
	}
	return store.Validity(kind)
}

// Plain reasons recorded when a document could not be saved.
const (
	ReasonExpired     = "expired: the link no longer works"
	ReasonTooLarge    = "too large"
	ReasonTimedOut    = "timed out"
	ReasonNetwork     = "network error"
	ReasonNotHTTPS    = "not https: only secure links are downloaded"
	ReasonRedirect    = "redirect to http refused"
	ReasonBadLink     = "the link is not a valid web address"
	ReasonDisk        = "could not write the file"
	ReasonInterrupted = "expired while Hirebell was not running"
	ReasonNoLink      = "the link is no longer in the hire"
)

// attempt is the outcome of one download attempt.
type attempt struct {
	reason string // "" on success
	retry  bool   // worth trying again inside the window
	size   int64
	sum    string
}

// step makes one download attempt for t and records the outcome, or
// queues a retry inside the validity window. It reports whether the
// document is finished with (saved, failed, or gone) in this run.
func (f *Fetcher) step(t task) bool {
	// A redelivery may have brought a fresh link and a new window: read
	// both again for every attempt.
	d, link, ok := f.current(t.d)
	if !ok {
		return true
	}
	if link == "" {
		d.Status, d.Reason = store.DocFailed, ReasonNoLink
		f.record(d)
		return true
	}
	d.Attempts++
	res := f.attempt(d, link)
	if res.reason == "" {
		d.Status, d.Reason, d.Size, d.SHA256, d.SavedAt = store.DocSaved, "", res.size, res.sum, time.Now()
		f.record(d)
		return true
	}
	if f.ctx.Err() != nil {
		return false // closing: stays pending for Resume
	}
	if !res.retry || t.attempt+1 >= f.opts.MaxAttempts || !time.Now().Add(t.backoff).Before(d.ValidUntil) {
		if f.replanned(d) {
			// A redelivery brought a fresh link while this one failed:
			// start over with it.
			f.mu.Lock()
			f.push(task{d: d, backoff: f.opts.Backoff})
			f.mu.Unlock()
			return false
		}
		d.Status, d.Reason = store.DocFailed, res.reason
		f.record(d)
		return true
	}
	f.log.Info("document retry", "comeet_id", d.ComeetID, "document", d.Index, "reason", res.reason, "in", t.backoff)
	f.retry(task{d: d, attempt: t.attempt + 1, backoff: 2 * t.backoff}, t.backoff)
	return false
}

// current re-reads d's record and its link from the hire's latest payload.
// ok is false when there is nothing left to do.
func (f *Fetcher) current(d store.Document) (store.Document, string, bool) {
	cur, err := f.st.Document(d.HireSeq, d.Index)
	if err != nil || cur.Status == store.DocSaved {
		return d, "", false
	}
	cur.Attempts = max(cur.Attempts, d.Attempts)
	h, err := f.st.Get(cur.ComeetID)
	if err != nil {
		return d, "", false
	}
	for _, l := range store.DocumentLinks(h.Raw) {
		if l.Key == cur.Key {
			return cur, l.URL, true
		}
	}
	return cur, "", true
}

// replanned reports whether d was planned again (by a redelivery) since
// its record was read.
func (f *Fetcher) replanned(d store.Document) bool {
	cur, err := f.st.Document(d.HireSeq, d.Index)
	return err == nil && cur.Status == store.DocPending && cur.ValidUntil.After(d.ValidUntil)
}

// record stores d's outcome; if its hire was deleted meanwhile, its file is
// removed instead.
func (f *Fetcher) record(d store.Document) {
	err := f.st.UpdateDocument(d)
	switch {
	case errors.Is(err, store.ErrNoDocument):
		if p, perr := f.st.DocumentPath(d); perr == nil {
			os.Remove(p)
			os.Remove(filepath.Dir(p)) // only if empty
		}
	case err != nil:
		f.log.Error("document outcome not recorded", "comeet_id", d.ComeetID, "document", d.Index, "err", err)
	default:
		f.log.Info("document", "comeet_id", d.ComeetID, "document", d.Index, "kind", d.Kind,
			"status", string(d.Status), "reason", d.Reason, "size", d.Size, "attempts", d.Attempts)
	}
}

// errRedirectHTTP is returned by CheckRedirect for a redirect to a link
// that is not allowed.
var errRedirectHTTP = errors.New("redirect to http refused")

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("too many redirects")
	}
	if !f.allowed(req.URL) {
		return errRedirectHTTP
	}
	return nil
}

// allowed reports whether u may be fetched: https, or http to a loopback
// host when the option allows it.
func (f *Fetcher) allowed(u *url.URL) bool {
	switch u.Scheme {
	case "https":
		return u.Host != ""
	case "http":
		return f.opts.AllowHTTP && isLoopback(u.Hostname())
	}
	return false
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// attempt downloads link once into a temporary file next to d's final
// place, then renames it into place.
func (f *Fetcher) attempt(d store.Document, link string) attempt {
	u, err := url.Parse(link)
	if err != nil {
		return attempt{reason: ReasonBadLink}
	}
	if (u.Scheme == "https" || u.Scheme == "http") && u.Host == "" {
		return attempt{reason: ReasonBadLink}
	}
	if !f.allowed(u) {
		return attempt{reason: ReasonNotHTTPS}
	}
	final, err := f.st.DocumentPath(d)
	if err != nil {
		return attempt{reason: ReasonDisk}
	}

	ctx, cancel := context.WithTimeout(f.ctx, f.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return attempt{reason: ReasonBadLink}
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		return netFailure(ctx, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return attempt{reason: fmt.Sprintf("%s (HTTP %d)", ReasonExpired, resp.StatusCode)}
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return attempt{reason: fmt.Sprintf("HTTP status %d", resp.StatusCode), retry: true}
	case resp.StatusCode != http.StatusOK:
		return attempt{reason: fmt.Sprintf("HTTP status %d", resp.StatusCode)}
	}
	if resp.ContentLength > f.opts.MaxSize {
		return attempt{reason: f.tooLarge()}
	}

	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f.diskFailure(d, err)
	}
	tmp, err := os.CreateTemp(dir, partialPrefix+"*") // 0600
	if err != nil {
		return f.diskFailure(d, err)
	}
	f.mu.Lock()
	f.partials[tmp.Name()] = true
	f.mu.Unlock()
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
		f.mu.Lock()
		delete(f.partials, tmp.Name())
		f.mu.Unlock()
	}()
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, sum), io.LimitReader(resp.Body, f.opts.MaxSize+1))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return f.diskFailure(d, err)
		}
		return netFailure(ctx, err)
	}
	if n > f.opts.MaxSize {
		return attempt{reason: f.tooLarge()}
	}
	if err := tmp.Sync(); err != nil {
		return f.diskFailure(d, err)
	}
	if err := tmp.Close(); err != nil {
		return f.diskFailure(d, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return f.diskFailure(d, err)
	}
	keep = true
	syncDir(dir)
	return attempt{size: n, sum: hex.EncodeToString(sum.Sum(nil))}
}

func (f *Fetcher) tooLarge() string {
	if f.opts.MaxSize >= 1_000_000 {
		return fmt.Sprintf("%s: over %d MB", ReasonTooLarge, f.opts.MaxSize/1_000_000)
	}
	return fmt.Sprintf("%s: over %d KB", ReasonTooLarge, f.opts.MaxSize/1000)
}

// diskFailure logs a file system error without its path (which holds the
// document's name, often a person's).
func (f *Fetcher) diskFailure(d store.Document, err error) attempt {
	err = pathless(err)
	f.log.Error("document not written", "comeet_id", d.ComeetID, "document", d.Index, "err", err)
	if errors.Is(err, syscall.ENOSPC) {
		return attempt{reason: ReasonDisk + ": the disk is full"}
	}
	return attempt{reason: ReasonDisk}
}

// pathless drops the paths from a file system error.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// netFailure names a transport error in plain words. The error itself is
// never recorded: it carries the link, whose query is a credential.
func netFailure(ctx context.Context, err error) attempt {
	if errors.Is(err, errRedirectHTTP) {
		return attempt{reason: ReasonRedirect}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return attempt{reason: ReasonTimedOut, retry: true}
	}
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &dnsErr):
		return attempt{reason: ReasonNetwork + ": the server's name was not found", retry: true}
	case errors.As(err, &certErr):
		return attempt{reason: ReasonNetwork + ": the server's certificate is not trusted"}
	case errors.Is(err, syscall.ECONNREFUSED):
		return attempt{reason: ReasonNetwork + ": connection refused", retry: true}
	}
	return attempt{reason: ReasonNetwork, retry: true}
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: not supported everywhere
		d.Close()
	}
}
