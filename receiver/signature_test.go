package receiver

import (
	"errors"
	"strings"
	"testing"
)

// The known answer was computed outside Go:
//
//	printf '%s' '{"comeet_id":"19E.98","first_name":"Dana"}' |
//	    openssl dgst -sha256 -hmac "It's a Secret to Everybody"
const (
	kaBody   = `{"comeet_id":"19E.98","first_name":"Dana"}`
	kaSecret = "It's a Secret to Everybody"
	kaHex    = "ca75af3518c4a9d5fda1227b32237f032a47bd814bc2a71f3c604c4e798ff761"
)

func TestSignKnownAnswer(t *testing.T) {
	if got, want := Sign([]byte(kaBody), []byte(kaSecret)), "sha256 "+kaHex; got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
	if err := Verify([]byte(kaBody), "sha256 "+kaHex, []byte(kaSecret)); err != nil {
		t.Errorf("Verify of the known answer: %v", err)
	}
}

// flipHex changes the i-th hex digit to another lowercase hex digit.
func flipHex(s string, i int) string {
	c := byte('0')
	if s[i] == '0' {
		c = '1'
	}
	return s[:i] + string(c) + s[i+1:]
}

// verifyCase is one mutation of the valid signed fixture (kaBody, kaSecret).
type verifyCase struct {
	name   string
	body   string
	header string
	secret string
	want   error
}

func verifyCases() []verifyCase {
	valid := "sha256 " + kaHex
	return []verifyCase{
		{"valid", kaBody, valid, kaSecret, nil},
		{"no header", kaBody, "", kaSecret, ErrMissingSignature},
		{"empty hex", kaBody, "sha256 ", kaSecret, ErrMalformedSignature},
		{"blank", kaBody, " ", kaSecret, ErrMalformedSignature},
		{"hex only", kaBody, kaHex, kaSecret, ErrMalformedSignature},
		{"wrong prefix sha1", kaBody, "sha1 " + kaHex, kaSecret, ErrMalformedSignature},
		{"prefix upper case", kaBody, "SHA256 " + kaHex, kaSecret, ErrMalformedSignature},
		{"sha256= form", kaBody, "sha256=" + kaHex, kaSecret, ErrMalformedSignature},
		{"two spaces", kaBody, "sha256  " + kaHex, kaSecret, ErrMalformedSignature},
		{"trailing space", kaBody, valid + " ", kaSecret, ErrMalformedSignature},
		{"upper case hex", kaBody, "sha256 " + strings.ToUpper(kaHex), kaSecret, ErrMalformedSignature},
		{"truncated", kaBody, valid[:len(valid)-1], kaSecret, ErrMalformedSignature},
		{"truncated to half", kaBody, valid[:len(valid)-32], kaSecret, ErrMalformedSignature},
		{"one digit too many", kaBody, valid + "0", kaSecret, ErrMalformedSignature},
		{"not hex", kaBody, "sha256 " + strings.Repeat("g", 64), kaSecret, ErrMalformedSignature},
		{"two signatures", kaBody, valid + "," + valid, kaSecret, ErrMalformedSignature},
		{"one hex digit changed", kaBody, "sha256 " + flipHex(kaHex, 10), kaSecret, ErrBadSignature},
		{"other secret", kaBody, valid, kaSecret + "!", ErrBadSignature},
		{"secret with newline", kaBody, valid, kaSecret + "\n", ErrBadSignature},
		{"body changed by one byte", strings.Replace(kaBody, "Dana", "Dina", 1), valid, kaSecret, ErrBadSignature},
		{"body with trailing newline", kaBody + "\n", valid, kaSecret, ErrBadSignature},
		{"empty body", "", valid, kaSecret, ErrBadSignature},
		{"no secret configured", kaBody, valid, "", ErrNoSecret},
		{"no secret and no header", kaBody, "", "", ErrNoSecret},
	}
}

func TestVerify(t *testing.T) {
	for _, tt := range verifyCases() {
		t.Run(tt.name, func(t *testing.T) {
			var secret []byte
			if tt.secret != "" {
				secret = []byte(tt.secret)
			}
			err := Verify([]byte(tt.body), tt.header, secret)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestVerifyErrorsLeakNothing: no error names the expected signature (in
// any case) or the secret.
func TestVerifyErrorsLeakNothing(t *testing.T) {
	for _, tt := range verifyCases() {
		if tt.want == nil {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			err := Verify([]byte(tt.body), tt.header, []byte(tt.secret))
			if err == nil {
				t.Fatal("no error")
			}
			assertNoSecrets(t, "error", err.Error(), []byte(tt.body), tt.secret)
		})
	}
}

// assertNoSecrets fails when text contains the signature expected for body
// under secret, or the secret itself.
func assertNoSecrets(t *testing.T, what, text string, body []byte, secret string) {
	t.Helper()
	lower := strings.ToLower(text)
	if secret != "" {
		want := strings.TrimPrefix(Sign(body, []byte(secret)), signaturePrefix)
		if strings.Contains(lower, want) {
			t.Errorf("%s contains the expected signature: %q", what, text)
		}
		if strings.Contains(text, secret) {
			t.Errorf("%s contains the secret: %q", what, text)
		}
	}
	if strings.Contains(lower, kaHex) {
		t.Errorf("%s contains the fixture's signature: %q", what, text)
	}
}

func FuzzVerify(f *testing.F) {
	for _, tt := range verifyCases() {
		f.Add([]byte(tt.body), tt.header, []byte(tt.secret))
	}
	f.Add([]byte{}, "sha256 ", []byte{0})
	f.Fuzz(func(t *testing.T, body []byte, header string, secret []byte) {
		err := Verify(body, header, secret)
		if err == nil && header != Sign(body, secret) {
			t.Fatalf("Verify accepted %q, but the only valid header is %q", header, Sign(body, secret))
		}
		if err != nil && !errors.Is(err, ErrNoSecret) && !errors.Is(err, ErrMissingSignature) &&
			!errors.Is(err, ErrMalformedSignature) && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Verify error %v is none of the sentinels", err)
		}
		signed := Verify(body, Sign(body, secret), secret)
		if len(secret) == 0 {
			if !errors.Is(signed, ErrNoSecret) {
				t.Fatalf("Verify with no secret: %v, want ErrNoSecret", signed)
			}
			return
		}
		if signed != nil {
			t.Fatalf("Sign output does not verify: %v", signed)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	body := []byte(strings.Repeat("x", 2500))
	secret := []byte(strings.Repeat("k", 64))
	header := Sign(body, secret)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := Verify(body, header, secret); err != nil {
			b.Fatal(err)
		}
	}
}
