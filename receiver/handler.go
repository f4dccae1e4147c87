package receiver

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"hirebell/store"
)

// HookPath is the path Comeet posts hires to.
const HookPath = "/hooks/comeet"

// DefaultMaxBody is the largest body accepted when Config.MaxBody is zero.
const DefaultMaxBody = 4 << 20

// Config wires a Receiver.
type Config struct {
	// Store keeps the hires and the delivery log. Required.
	Store *store.Store
	// Secret returns the current webhook secret. It is called for every
	// request, so a rotated secret applies at once. Required.
	Secret func() []byte
	// MaxBody is the body size limit in bytes; zero means DefaultMaxBody.
	MaxBody int64
	// OnHire, if set, is called after a hire was stored and its 200 sent.
	// It runs on the request's goroutine and must not block.
	OnHire func(store.SaveResult)
	// Logger gets one line per delivery; nil means slog.Default().
	Logger *slog.Logger
}

// Receiver is the HTTP handler for Comeet's hire webhook.
type Receiver struct {
	cfg Config
	log *slog.Logger

	testsMu sync.Mutex
	tests   map[string]chan struct{}
}

// New returns a Receiver for cfg.
func New(cfg Config) *Receiver {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	r := &Receiver{cfg: cfg, log: cfg.Logger, tests: make(map[string]chan struct{})}
	if r.log == nil {
		r.log = slog.Default()
	}
	return r
}

// reply is the small JSON body of every answer. DisplayMessage is shown to
// the recruiter by Comeet when the status is an error.
type reply struct {
	Status         string `json:"status"`
	ComeetID       string `json:"comeet_id,omitempty"`
	DisplayMessage string `json:"display_message,omitempty"`
}

// Messages Comeet shows the recruiter. None echoes a signature or secret.
const (
	msgMissingSignature = "Hirebell refused this hire because the request was not signed. In Comeet's Integrations page, set the Secret Key to the secret shown in Hirebell's Setup panel."
	msgBadSignature     = "Hirebell refused this hire because its signature does not match. Copy the secret from Hirebell's Setup panel into Comeet's Integrations page again."
	msgTooLarge         = "Hirebell refused this hire because the request is larger than it accepts."
	msgNotAHire         = "Hirebell received this request but it is not a hire (it has no comeet_id). It was kept for review."
	msgStoreError       = "Hirebell could not save this hire right now. Nothing was lost; please try again in a minute."
	msgNotFound         = "Not found. Comeet's hire webhook is at " + HookPath + "."
	msgMethod           = "Only POST is accepted here."
	msgUnreadable       = "Hirebell did not receive the whole request, so nothing was saved. Please try again."
)

// ServeHTTP implements the contract in DESIGN.md.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != HookPath {
		writeReply(w, http.StatusNotFound, reply{Status: "not_found", DisplayMessage: msgNotFound})
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeReply(w, http.StatusMethodNotAllowed, reply{Status: "method_not_allowed", DisplayMessage: msgMethod})
		return
	}
	start := time.Now()
	d := store.Delivery{Time: start.UTC(), Remote: req.RemoteAddr}
	status, comeetID := r.intake(w, req, &d)
	r.log.Info("delivery",
		"outcome", string(d.Outcome),
		"status", status,
		"comeet_id", comeetID,
		"remote", req.RemoteAddr,
		"duration_ms", float64(time.Since(start).Microseconds())/1000)
}

// intake handles one POST to the hook path and returns the status sent.
func (r *Receiver) intake(w http.ResponseWriter, req *http.Request, d *store.Delivery) (int, string) {
	st := r.cfg.Store
	if req.ContentLength > r.cfg.MaxBody {
		return r.reject(w, d, store.OutcomeTooLarge, http.StatusRequestEntityTooLarge, msgTooLarge)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return r.reject(w, d, store.OutcomeTooLarge, http.StatusRequestEntityTooLarge, msgTooLarge)
		}
		// The client went away or stalled past the read timeout. Answer
		// anyway: with no answer net/http would send an empty 200, and a
		// sender still listening would take the hire as made.
		d.Detail = "body could not be read"
		return r.reject(w, d, store.OutcomeNotAHire, http.StatusBadRequest, msgUnreadable)
	}
	switch err := Verify(body, req.Header.Get(SignatureHeader), r.cfg.Secret()); {
	case err == nil:
	case errors.Is(err, ErrMissingSignature):
		return r.reject(w, d, store.OutcomeMissingSignature, http.StatusUnauthorized, msgMissingSignature)
	default:
		d.Detail = err.Error()
		return r.reject(w, d, store.OutcomeBadSignature, http.StatusUnauthorized, msgBadSignature)
	}

	hire, err := store.DecodeHire(body)
	if err != nil {
		// Signed by Comeet but not a hire: keep the bytes before answering.
		d.Outcome, d.Status, d.Detail, d.Body = store.OutcomeNotAHire, http.StatusBadRequest, err.Error(), body
		if err := st.RecordDelivery(*d); err != nil {
			return r.storeFailed(w, d, err)
		}
		writeReply(w, http.StatusBadRequest, reply{Status: "not_a_hire", DisplayMessage: msgNotAHire})
		return http.StatusBadRequest, ""
	}
	if hire.TestNonce != "" {
		return r.selfTest(w, d, hire)
	}

	d.Status = http.StatusOK
	res, err := st.SaveHire(hire, *d)
	if err != nil {
		return r.storeFailed(w, d, err)
	}
	d.Outcome = store.OutcomeStored
	status := "stored"
	if !res.New {
		d.Outcome, status = store.OutcomeRedelivery, "already_stored"
	}
	writeReply(w, http.StatusOK, reply{Status: status, ComeetID: hire.ComeetID})
	if f, ok := w.(http.Flusher); ok {
		f.Flush() // the 200 leaves now; the UI hears about the hire after
	}
	if r.cfg.OnHire != nil {
		r.cfg.OnHire(res)
	}
	return http.StatusOK, hire.ComeetID
}

// reject answers a request that is not trusted. Its attempt is logged
// without the body and without waiting for the disk, so a flood of forged
// requests never costs a transaction each.
func (r *Receiver) reject(w http.ResponseWriter, d *store.Delivery, o store.Outcome, status int, msg string) (int, string) {
	d.Outcome, d.Status = o, status
	r.cfg.Store.LogRejected(*d)
	writeReply(w, status, reply{Status: string(o), DisplayMessage: msg})
	return status, ""
}

func (r *Receiver) storeFailed(w http.ResponseWriter, d *store.Delivery, err error) (int, string) {
	r.log.Error("store write failed", "err", err)
	d.Outcome, d.Status, d.Detail = store.OutcomeStoreError, http.StatusServiceUnavailable, err.Error()
	r.cfg.Store.LogRejected(*d) // best effort: the store is failing
	w.Header().Set("Retry-After", "30")
	writeReply(w, http.StatusServiceUnavailable, reply{Status: string(store.OutcomeStoreError), DisplayMessage: msgStoreError})
	return http.StatusServiceUnavailable, ""
}

// selfTest answers Hirebell's own test hire: logged, never stored as a
// hire, and reported to whoever is waiting for it.
func (r *Receiver) selfTest(w http.ResponseWriter, d *store.Delivery, h store.Hire) (int, string) {
	d.Outcome, d.Status, d.ComeetID = store.OutcomeTest, http.StatusOK, h.ComeetID
	if err := r.cfg.Store.RecordDelivery(*d); err != nil {
		return r.storeFailed(w, d, err)
	}
	writeReply(w, http.StatusOK, reply{Status: "test_received", ComeetID: h.ComeetID})
	r.testsMu.Lock()
	ch, ok := r.tests[h.TestNonce]
	delete(r.tests, h.TestNonce)
	r.testsMu.Unlock()
	if ok {
		close(ch)
	}
	return http.StatusOK, h.ComeetID
}

// ExpectTest registers a self-test nonce. The returned channel is closed
// when a correctly signed test hire carrying that nonce has been received;
// cancel forgets the nonce.
func (r *Receiver) ExpectTest(nonce string) (arrived <-chan struct{}, cancel func()) {
	ch := make(chan struct{})
	r.testsMu.Lock()
	r.tests[nonce] = ch
	r.testsMu.Unlock()
	return ch, func() {
		r.testsMu.Lock()
		delete(r.tests, nonce)
		r.testsMu.Unlock()
	}
}

func writeReply(w http.ResponseWriter, status int, rep reply) {
	body, _ := json.Marshal(rep) // a struct of strings always marshals
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
