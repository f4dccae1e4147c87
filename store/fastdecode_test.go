package store

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// decodeBoth decodes raw with decodeFast (when it answers) and with
// encoding/json, and fails t when they disagree.
func decodeBoth(t *testing.T, raw []byte) (fast bool) {
	t.Helper()
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return false
	}
	var p payload
	if !decodeFast(trimmed, &p) {
		return false
	}
	got, gotErr := hireOf(&p, raw)
	want, wantErr := decodeSlow(trimmed, raw)
	if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeFast and encoding/json disagree on %q:\nfast %+v (%v)\njson %+v (%v)", raw, got, gotErr, want, wantErr)
	}
	return true
}

// TestDecodeFastTakesCommonPayloads checks that the samples, Comeet's
// shape, go through the fast decoder and decode as encoding/json does;
// and that what it must leave to encoding/json, it does.
func TestDecodeFastTakesCommonPayloads(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !decodeBoth(t, raw) {
			t.Errorf("%s: left to encoding/json", filepath.Base(file))
		}
	}
	for _, s := range []string{
		`{"comeet_id":"A","position":"x"}`,
		`{"comeet_id":"A","position":{"name":"x"},"position":{"department":"y"}}`,
		`{"comeet_id":"A","position":{"hiring_manager":{"first_name":"M"}},"position":null}`,
		`{"comeet_id":" Jos\u00e9 ","first_name":12.5e3,"last_name":true,"email":["x"]}`,
		`{"comeet_id":"A","custom":{"שדה":"ערך","k\"q":[1,{"a":null}]}}`,
		"{\"comeet_id\":\"A\",\"first_name\":\"bad \xff utf8\"}",
	} {
		if !decodeBoth(t, []byte(s)) {
			t.Errorf("%s: left to encoding/json", s)
		}
	}
	for _, s := range []string{
		`{"comeet_id":"A"`,           // invalid: encoding/json gives the error
		`{"comeet_id":"A"} x`,        // trailing data
		`{"Comeet_ID":"A"}`,          // case-folded key
		`{"comeet\u005fid":"A"}`,     // escaped key
		`{"comeet_id":01}`,           // invalid number
		`{"comeet_id":"A","x":[1,]}`, // invalid array
		`{"comeet_id":"A","x":"\q"}`, // invalid escape
		"{\"comeet_id\":\"A\x01\"}",  // control character
		`{"comeet_id":"A","x":tru}`,  // invalid literal
		`{"comeet_id":"A",}`,         // trailing comma
		`{"comeet_id":"A","x":1.}`,   // invalid number
		`{"comeet_id":"A","x":-}`,    // invalid number
	} {
		var p payload
		if decodeFast([]byte(s), &p) {
			t.Errorf("decodeFast accepted %s", s)
		}
	}
}

// FuzzDecodeFast checks decodeFast against encoding/json on any input:
// whenever the fast decoder answers, the Hire is the same.
func FuzzDecodeFast(f *testing.F) {
	addSamples(f)
	for _, s := range []string{
		`{}`, `{"comeet_id":null}`, `{"recruit_id":"R","comeet_id":""}`,
		`{"comeet_id":"A","position":"x"}`, `{"comeet_id":1e999}`, `{"comeet_id":"\ud800"}`,
		`{"comeet_id":"A","position":{"hiring_manager":[]}}`, `{"comeet_id":"A"`,
		`{"comeet_id":"A","source":{"name":"x","type":{"a":[true,false,null]}}}`,
		`{"comeet_id":"A","position":{"leading_recruiter":{"email":" e@x "}},"position":{"name":"P"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		decodeBoth(t, raw)
	})
}

func BenchmarkDecodeHireJSON(b *testing.B) {
	raw := readTestdata(b, "sample-full.json")
	trimmed := bytes.TrimSpace(raw)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := decodeSlow(trimmed, raw); err != nil {
			b.Fatal(err)
		}
	}
}
