package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// flat is the subset of Hire that decoding fills, for comparison.
type flat struct {
	ComeetID, PersonUID, FirstName, MiddleName, LastName, Email, Phone, Mobile string
	Position, Department, Location, Employment, EmployeeType                   string
	HiringManager, ManagerEmail, Recruiter, RecruiterEmail                     string
	HiredDate, StartDate, Source, SourceType, TestNonce                        string
}

func flatten(h Hire) flat {
	return flat{
		h.ComeetID, h.PersonUID, h.FirstName, h.MiddleName, h.LastName, h.Email, h.Phone, h.Mobile,
		h.Position, h.Department, h.Location, h.Employment, h.EmployeeType,
		h.HiringManager, h.ManagerEmail, h.Recruiter, h.RecruiterEmail,
		h.HiredDate, h.StartDate, h.Source, h.SourceType, h.TestNonce,
	}
}

func TestDecodeHireTestdata(t *testing.T) {
	tests := []struct {
		file string
		want flat
	}{
		{"sample-full.json", flat{
			ComeetID: "A1.5C", PersonUID: "3D.77", FirstName: "Maya", LastName: "Okafor",
			Email: "maya.okafor@mail.example", Phone: "03-5550199", Mobile: "054-5550123",
			Position: "Backend Engineer", Department: "R&D", Location: "Tel Aviv",
			Employment: "Full-time", EmployeeType: "Headcount",
			HiringManager: "Daniel Rosen", ManagerEmail: "daniel.rosen@company.example",
			Recruiter: "Noa Levi", RecruiterEmail: "noa.levi@company.example",
			HiredDate: "2026-11-28", StartDate: "2027-01-04", Source: "Careers site", SourceType: "Web",
		}},
		{"sample-minimal.json", flat{ComeetID: "B2.01", FirstName: "Tom", Position: "Office Manager"}},
		{"sample-nulls.json", flat{
			ComeetID: "C3.9E", PersonUID: "4E.02", FirstName: "Lena", Position: "Support Specialist",
			Department: "Support", HiringManager: "Omar Haddad", HiredDate: "2026-12-01",
		}},
		{"tricky-unicode.json", flat{
			ComeetID: "D4.11", PersonUID: "5F.01", FirstName: "יעל", MiddleName: "🦄", LastName: "כהן-לוי",
			Email: "yael@דוגמה.example", Phone: "+972-3-555-0100",
			Position: "מפתחת Backend", Department: "מחקר ופיתוח", Location: "תל אביב",
			HiringManager: "Zoë Ñúñez", ManagerEmail: "zoe@company.example", Recruiter: "李 小龍",
			HiredDate: "2026-12-01", StartDate: "2027-02-01",
			Source: "Référence été 🚀", SourceType: "Referrer: Compensated",
		}},
		{"tricky-nulls-everywhere.json", flat{ComeetID: "E5.00"}},
		{"tricky-numbers.json", flat{
			ComeetID: "F6.42", PersonUID: "1234", FirstName: "Ada", LastName: "7", Email: "false",
			Phone: "35550199", Mobile: "5.45550123e9", HiredDate: "20261201", StartDate: "true",
			Source: "99", Position: "404", Location: "-1", Employment: "Full-time", HiringManager: "1 Two",
		}},
		{"tricky-position-string.json", flat{ComeetID: "G7.01", FirstName: "Sam", LastName: "Park", StartDate: "2027-03-01"}},
		{"tricky-custom-values.json", flat{ComeetID: "H8.77", FirstName: "Ravi", LastName: "Menon", Position: "Data Analyst"}},
		{"tricky-recruit-id.json", flat{
			ComeetID: "J9.10", PersonUID: "6A.02", FirstName: "Kim", Source: "Agency X", SourceType: "Agency", Position: "Designer",
		}},
		{"tricky-rehire-1.json", flat{ComeetID: "K1.01", PersonUID: "7B.55", FirstName: "Lior", LastName: "Ben-David", HiredDate: "2024-03-01", Position: "QA Engineer"}},
		{"tricky-rehire-2.json", flat{ComeetID: "K1.99", PersonUID: "7B.55", FirstName: "Lior", LastName: "Ben-David", HiredDate: "2026-12-02", Position: "QA Lead"}},
		{"tricky-big-description.json", flat{ComeetID: "L2.00", FirstName: "Noor", LastName: "Haddad", Position: "Platform Engineer", Department: "Infra"}},
	}
	samples, _ := filepath.Glob(filepath.Join("testdata", "sample-*.json"))
	tricky, _ := filepath.Glob(filepath.Join("testdata", "tricky-*.json"))
	if files := append(samples, tricky...); len(files) != len(tests) {
		t.Errorf("testdata has %d files, the table covers %d: add the new ones", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := readTestdata(t, tt.file)
			h, err := DecodeHire(raw)
			if err != nil {
				t.Fatalf("DecodeHire: %v", err)
			}
			if got := flatten(h); got != tt.want {
				t.Errorf("decoded\n got %+v\nwant %+v", got, tt.want)
			}
			if string(h.Raw) != string(raw) {
				t.Error("Raw is not the payload byte for byte")
			}
		})
	}
}

func TestDecodeHireBigDescriptionStores(t *testing.T) {
	raw := readTestdata(t, "tricky-big-description.json")
	if len(raw) < 200<<10 {
		t.Fatalf("fixture is %d bytes, want over 200 KB", len(raw))
	}
	s, dir := openTemp(t)
	h, err := DecodeHire(raw)
	if err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, h)
	s = reopen(t, s, dir)
	got, err := s.Get("L2.00")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Raw) != string(raw) {
		t.Errorf("200 KB payload came back as %d bytes", len(got.Raw))
	}
}

func TestDecodeHireErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want error
	}{
		{"empty", "", ErrNotObject},
		{"whitespace", " \n\t", ErrNotObject},
		{"array", `[{"comeet_id":"A"}]`, ErrNotObject},
		{"string", `"A"`, ErrNotObject},
		{"number", `42`, ErrNotObject},
		{"null", `null`, ErrNotObject},
		{"truncated", `{"comeet_id":"A"`, ErrNotObject},
		{"trailing garbage", `{"comeet_id":"A"} x`, ErrNotObject},
		{"form encoded", `comeet_id=A`, ErrNotObject},
		{"empty object", `{}`, ErrNoComeetID},
		{"null id", `{"comeet_id":null}`, ErrNoComeetID},
		{"empty id", `{"comeet_id":""}`, ErrNoComeetID},
		{"blank id", `{"comeet_id":"   "}`, ErrNoComeetID},
		{"object id", `{"comeet_id":{"v":"A"}}`, ErrNoComeetID},
		{"array id", `{"comeet_id":["A"]}`, ErrNoComeetID},
		{"id only nested", `{"position":{"comeet_id":"52.0A"}}`, ErrNoComeetID},
		{"both ids empty", `{"comeet_id":"","recruit_id":null}`, ErrNoComeetID},
		// Over bbolt's 32 KB key limit: it could never be stored.
		{"id too long", `{"comeet_id":"` + strings.Repeat("9", 40<<10) + `"}`, ErrNoComeetID},
		{"id just too long", `{"recruit_id":"` + strings.Repeat("A", MaxComeetID+1) + `"}`, ErrNoComeetID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := DecodeHire([]byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Errorf("DecodeHire(%q) = %+v, %v; want %v", tt.body, h, err, tt.want)
			}
		})
	}
}

func TestDecodeHireTolerance(t *testing.T) {
	tests := []struct {
		name string
		body string
		want flat
	}{
		{"leading whitespace", " \n{\"comeet_id\":\"A\"}\n", flat{ComeetID: "A"}},
		{"recruit_id only", `{"recruit_id":"R"}`, flat{ComeetID: "R"}},
		{"comeet_id wins over recruit_id", `{"comeet_id":"C","recruit_id":"R"}`, flat{ComeetID: "C"}},
		{"recruit_id when comeet_id null", `{"comeet_id":null,"recruit_id":"R"}`, flat{ComeetID: "R"}},
		{"numeric id", `{"comeet_id":12345}`, flat{ComeetID: "12345"}},
		{"id trimmed", `{"comeet_id":"  A.1 "}`, flat{ComeetID: "A.1"}},
		{"escaped unicode", `{"comeet_id":"A","first_name":"\u05d9\u05e2\u05dc \ud83d\ude00"}`, flat{ComeetID: "A", FirstName: "יעל 😀"}},
		{"position null", `{"comeet_id":"A","position":null}`, flat{ComeetID: "A"}},
		{"position array", `{"comeet_id":"A","position":["x"],"first_name":"B"}`, flat{ComeetID: "A", FirstName: "B"}},
		{"source string", `{"comeet_id":"A","source":"Web","last_name":"L"}`, flat{ComeetID: "A", LastName: "L"}},
		{"manager string", `{"comeet_id":"A","position":{"name":"P","hiring_manager":"Dan"}}`, flat{ComeetID: "A", Position: "P"}},
		{"manager first name only", `{"comeet_id":"A","position":{"hiring_manager":{"first_name":"Dan","last_name":null}}}`, flat{ComeetID: "A", HiringManager: "Dan"}},
		{"self-test nonce", `{"comeet_id":"T","hirebell_test":"n0nce"}`, flat{ComeetID: "T", TestNonce: "n0nce"}},
		{"duplicate key last wins", `{"comeet_id":"A","first_name":"x","first_name":"y"}`, flat{ComeetID: "A", FirstName: "y"}},
		{"unknown fields", `{"comeet_id":"A","future":{"deep":[1,{"x":null}]},"n":1e400}`, flat{ComeetID: "A"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := DecodeHire([]byte(tt.body))
			if err != nil {
				t.Fatalf("DecodeHire(%q): %v", tt.body, err)
			}
			if got := flatten(h); got != tt.want {
				t.Errorf("decoded\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestHireName(t *testing.T) {
	tests := []struct {
		name string
		h    Hire
		want string
	}{
		{"first only", Hire{FirstName: "Tom"}, "Tom"},
		{"first last", Hire{FirstName: "Maya", LastName: "Okafor"}, "Maya Okafor"},
		{"with middle", Hire{FirstName: "A", MiddleName: "B", LastName: "C"}, "A B C"},
		{"no first", Hire{LastName: "C"}, "C"},
		{"none", Hire{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.h.Name(); got != tt.want {
				t.Errorf("Name() = %q, want %q", got, tt.want)
			}
		})
	}
}

// addSamples seeds a fuzz corpus with the sample payloads in testdata.
func addSamples(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
}

func FuzzDecodeHire(f *testing.F) {
	addSamples(f)
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"comeet_id":null}`, `{"recruit_id":"R"}`,
		`{"comeet_id":"A","position":"x"}`, `{"comeet_id":1e999}`, `{"comeet_id":"\ud800"}`,
		`{"comeet_id":"A","position":{"hiring_manager":[]}}`, `{"comeet_id":"A"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, err := DecodeHire(raw)
		if err != nil {
			if !errors.Is(err, ErrNotObject) && !errors.Is(err, ErrNoComeetID) {
				t.Fatalf("DecodeHire error %v wraps neither sentinel", err)
			}
			return
		}
		if h.ComeetID == "" {
			t.Fatalf("DecodeHire(%q) succeeded with an empty ComeetID", raw)
		}
		if strings.TrimSpace(h.ComeetID) != h.ComeetID {
			t.Fatalf("ComeetID %q not trimmed", h.ComeetID)
		}
	})
}

func BenchmarkDecodeHire(b *testing.B) {
	raw := readTestdata(b, "sample-full.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := DecodeHire(raw); err != nil {
			b.Fatal(err)
		}
	}
}
