package receiver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// The steps a self-test can fail at, in SelfTestReport.Step.
const (
	StepDNS       = "dns"       // the host name does not resolve
	StepConnect   = "connect"   // nothing answers (receiver down, network)
	StepTLS       = "tls"       // the HTTPS certificate or handshake failed
	StepTunnel    = "tunnel"    // ngrok answered with its own error
	StepSignature = "signature" // the receiver refused the signature (401)
	StepStore     = "store"     // the receiver could not save (503)
	StepReceiver  = "receiver"  // another answer, or the hire never came back here
)

// selfTestArrivalWait is how long SelfTest waits, after a 200, for the
// receiver to report the nonce. The receiver reports it before answering,
// so only a different receiver makes this wait run out.
const selfTestArrivalWait = 3 * time.Second

// SelfTestReport is the outcome of SelfTest.
type SelfTestReport struct {
	// OK is true when the signed test hire went out and came back through
	// this receiver.
	OK bool
	// Step is where it failed, one of the Step constants; empty when OK.
	Step string
	// Message is a plain sentence for the user: what happened and, on
	// failure, what to do.
	Message string
	// Elapsed is the time from sending to the answer (or the failure).
	Elapsed time.Duration
}

// SelfTest posts a signed sample hire carrying "hirebell_test": nonce to
// baseURL+HookPath, waits for rcv.ExpectTest(nonce) to fire, and reports
// the first step that failed. The sample goes through the real signature
// check and decoding; the receiver logs it as a test and never stores it
// as a hire. A nil client means a client with a 20-second timeout.
func SelfTest(ctx context.Context, baseURL string, secret []byte, rcv *Receiver, client *http.Client) SelfTestReport {
	start := time.Now()
	report := func(ok bool, step, msg string) SelfTestReport {
		return SelfTestReport{OK: ok, Step: step, Message: msg, Elapsed: time.Since(start)}
	}
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	base, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return report(false, StepConnect, fmt.Sprintf("%q is not a web address, so there is nothing to test.", baseURL))
	}
	target := strings.TrimSuffix(base.String(), "/") + HookPath
	host := base.Hostname()

	nonce, err := newNonce()
	if err != nil {
		return report(false, StepReceiver, "Hirebell could not make a test hire: "+err.Error()+".")
	}
	body := sampleHire(nonce)
	arrived, cancel := rcv.ExpectTest(nonce)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return report(false, StepConnect, fmt.Sprintf("%q is not a web address, so there is nothing to test.", baseURL))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(body, secret))
	req.Header.Set("User-Agent", "Hirebell-SelfTest/1")
	// Free ngrok domains show browsers a warning page first; this is not
	// a browser, but say so in case ngrok guesses otherwise.
	req.Header.Set("ngrok-skip-browser-warning", "1")

	resp, err := client.Do(req)
	if err != nil {
		step, msg := classifySendError(err, host)
		return report(false, step, msg)
	}
	defer resp.Body.Close()
	var reply struct {
		Status         string `json:"status"`
		DisplayMessage string `json:"display_message"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(raw, &reply) // a missing or foreign body is judged by its status

	if code := resp.Header.Get("ngrok-error-code"); code != "" {
		return report(false, StepTunnel, tunnelErrorMessage(code, resp.StatusCode))
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return report(false, StepSignature, "The receiver at "+host+" refused the test hire's signature: it checks a different secret. "+
			"If another copy of Hirebell answers at this address, stop it; otherwise restart Hirebell so that it uses the secret shown in Setup.")
	case http.StatusServiceUnavailable:
		return report(false, StepStore, "The receiver got the test hire but could not write to its data file. "+
			"Check that the disk is not full and the data folder is writable, then try again.")
	default:
		msg := fmt.Sprintf("%s answered HTTP %d instead of accepting the test hire", host, resp.StatusCode)
		if reply.DisplayMessage != "" {
			msg += ": " + reply.DisplayMessage
		} else {
			msg += ". Something other than Hirebell may be answering at this address."
		}
		return report(false, StepReceiver, msg)
	}

	wait := time.NewTimer(selfTestArrivalWait)
	defer wait.Stop()
	select {
	case <-arrived:
		return report(true, "", fmt.Sprintf("The test hire went to %s and came back to this Hirebell in %d ms. Comeet can reach it.",
			target, time.Since(start).Milliseconds()))
	case <-wait.C:
	case <-ctx.Done():
	}
	return report(false, StepReceiver, "The address answered, but the test hire did not reach this Hirebell: "+
		"another computer is probably serving the same address (another copy of Hirebell, or ngrok with the same domain). "+
		"Stop the other one, or use a different domain in Setup.")
}

// classifySendError names the step at which a request that got no answer
// failed.
func classifySendError(err error, host string) (step, msg string) {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var unknownCA x509.UnknownAuthorityError
	var invalidCert x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.As(err, &dnsErr):
		return StepDNS, "The address " + host + " could not be found (DNS). Check the internet connection; " +
			"if the address is new, wait a minute and try again."
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &unknownCA), errors.As(err, &invalidCert):
		return StepTLS, "The HTTPS certificate of " + host + " could not be verified. A proxy or antivirus may be " +
			"intercepting secure connections, or the address is not the one ngrok gave."
	case errors.As(err, &recordErr), errors.As(err, &alert),
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"): // net/http does not wrap it
		return StepTLS, "The secure (HTTPS) connection to " + host + " failed. Check that the address starts with " +
			"the right scheme (https for ngrok, http for the local address)."
	case errors.Is(err, syscall.ECONNREFUSED):
		return StepConnect, "Nothing is listening at " + host + ": Hirebell's receiver is not running there. " +
			"Start Hirebell (or check the address and port) and try again."
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), isTimeout(err):
		return StepConnect, "No answer from " + host + " in time. Check the internet connection and try again."
	}
	return StepConnect, "Could not connect to " + host + ". Check the internet connection and the address, then try again."
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// tunnelErrorMessage explains an answer that came from ngrok's edge rather
// than from Hirebell.
func tunnelErrorMessage(code string, status int) string {
	switch code {
	case "ERR_NGROK_3200":
		return "ngrok answered that this address is offline: the tunnel from this computer is not connected. " +
			"Check the tunnel status in Setup."
	case "ERR_NGROK_8012", "ERR_NGROK_3004":
		return "ngrok reached this computer but could not get an answer from Hirebell's receiver. Restart Hirebell and try again."
	case "ERR_NGROK_6024":
		return "ngrok showed its browser warning page instead of passing the hire on. Comeet is not affected; " +
			"try again, or send a real test from Comeet."
	case "ERR_NGROK_725", "ERR_NGROK_734":
		return "ngrok refused the request because the account's monthly limit is used up (" + code + "). " +
			"Check the usage on the ngrok dashboard."
	}
	return fmt.Sprintf("ngrok answered with its own error %s (HTTP %d) instead of passing the hire on. "+
		"See https://ngrok.com/docs/errors/%s.", code, status, strings.ToLower(code))
}

func newNonce() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random nonce: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// sampleHire returns a Comeet-shaped hire for the self-test. It is
// obviously fictional, names the test in comeet_id, and carries the nonce
// that makes the receiver treat it as a test.
func sampleHire(nonce string) []byte {
	today := time.Now().UTC()
	hire := map[string]any{
		"comeet_id":    "TEST." + nonce,
		"person_uid":   "TEST." + nonce,
		"first_name":   "Test",
		"middle_name":  nil,
		"last_name":    "Hire",
		"email":        "test.hire@hirebell.invalid",
		"time_created": today.Format(time.RFC3339),
		"phone":        nil,
		"mobile_phone": nil,
		"hired_date":   today.Format(time.DateOnly),
		"start_date":   today.AddDate(0, 0, 14).Format(time.DateOnly),
		"source":       map[string]any{"name": "Hirebell self-test", "type": "Other", "comeet_id": nil},
		"resume":       nil,
		"picture":      nil,
		"links":        []any{},
		"files":        []any{},
		"offer_fields": []any{},
		"position": map[string]any{
			"comeet_id":      "TEST.0",
			"name":           "Self-test (not a real hire)",
			"department":     "Hirebell",
			"location":       "Nowhere",
			"employment":     "Full-time",
			"hiring_manager": map[string]any{"first_name": "Test", "last_name": "Manager", "email": "test.manager@hirebell.invalid"},
		},
		"hirebell_test": nonce,
	}
	body, _ := json.Marshal(hire) // maps of strings always marshal
	return body
}
