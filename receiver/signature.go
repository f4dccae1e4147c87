// Package receiver is Hirebell's intake: it checks Comeet's signature,
// stores each hire through the store and answers Comeet per its contract,
// and exposes the handler locally and over a public tunnel.
package receiver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// SignatureHeader is the header Comeet signs deliveries in.
const SignatureHeader = "Signature"

// signaturePrefix comes before the hex MAC in the header value.
const signaturePrefix = "sha256 "

// ErrMissingSignature is returned by Verify when the header is absent or empty.
var ErrMissingSignature = errors.New("signature header missing")

// ErrMalformedSignature is returned by Verify when the header is not
// "sha256 " followed by 64 lowercase hex digits.
var ErrMalformedSignature = errors.New("signature header malformed")

// ErrBadSignature is returned by Verify when the signature is well formed
// but does not match the body and secret.
var ErrBadSignature = errors.New("signature does not match")

// ErrNoSecret is returned by Verify when no secret is configured: a
// receiver without a secret cannot tell Comeet from anyone else.
var ErrNoSecret = errors.New("no webhook secret configured")

// Sign returns the Signature header value Comeet would send for body.
func Sign(body, secret []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks header, the value of the Signature header, against body
// signed with secret, comparing in constant time. It follows Comeet's
// documented form exactly ("sha256 " and lowercase hex): anything else is
// malformed. No error it returns contains the expected signature.
func Verify(body []byte, header string, secret []byte) error {
	if len(secret) == 0 {
		return ErrNoSecret
	}
	if header == "" {
		return ErrMissingSignature
	}
	hexMAC, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok || len(hexMAC) != 2*sha256.Size || !isLowerHex(hexMAC) {
		return ErrMalformedSignature
	}
	got, err := hex.DecodeString(hexMAC)
	if err != nil {
		return ErrMalformedSignature
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
