package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotObject is returned by DecodeHire when the payload is not a JSON object.
var ErrNotObject = errors.New("payload is not a JSON object")

// ErrNoComeetID is returned by DecodeHire when the payload has neither a
// comeet_id nor a recruit_id, or one too long to be an id.
var ErrNoComeetID = errors.New("payload has no comeet_id")

// MaxComeetID is the longest comeet_id accepted, in bytes. Comeet's ids are
// a few characters; the bound keeps every id a valid database key.
const MaxComeetID = 1024

// Hire is one new employee as Hirebell keeps it: the fields people sort,
// search and export, flattened out of Comeet's payload, plus the payload
// itself. Every string field is empty when Comeet sent it null or not at all.
// The store keeps it in the binary form of record.go.
type Hire struct {
	ComeetID   string
	PersonUID  string
	FirstName  string
	MiddleName string
	LastName   string
	Email      string
	Phone      string
	Mobile     string

	Position       string
	Department     string
	Location       string
	Employment     string
	EmployeeType   string
	HiringManager  string
	ManagerEmail   string
	Recruiter      string
	RecruiterEmail string
	HiredDate      string
	StartDate      string
	Source         string
	SourceType     string
	Seniority      string
	LinkedIn       string

	// ReceivedAt is when the first delivery of this comeet_id was stored (UTC).
	ReceivedAt time.Time
	// UpdatedAt is when the latest delivery was stored (UTC).
	UpdatedAt time.Time
	// Deliveries counts how many times Comeet sent this comeet_id.
	Deliveries int
	// Seen is set once a person has opened the hire in the app.
	Seen bool

	// Seq orders hires by first receipt; it is assigned by the store.
	Seq uint64
	// Raw is the payload exactly as Comeet sent it (the latest delivery).
	// List leaves it empty; Get fills it.
	Raw []byte
	// TestNonce is set when the payload is Hirebell's own self-test
	// (field "hirebell_test"); such a payload is never stored as a hire.
	TestNonce string
}

// Name is the person's name as people write it: first (middle) last.
func (h *Hire) Name() string {
	return joinNonEmpty(h.FirstName, h.MiddleName, h.LastName)
}

// text is a JSON value read as a string: strings as they are, numbers and
// booleans as written, null/objects/arrays as empty. Comeet documents
// strings everywhere, but a tolerant reader must not fail a hire because a
// customer-defined field turned out to be a number.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(strings.TrimSpace(s))
	case '{', '[', 'n':
		*t = ""
	default:
		*t = text(b)
	}
	return nil
}

// person is Comeet's shape for the hiring manager and the recruiter.
type person struct {
	FirstName text `json:"first_name"`
	LastName  text `json:"last_name"`
	Email     text `json:"email"`
}

func (p *person) name() string {
	if p == nil {
		return ""
	}
	return joinNonEmpty(string(p.FirstName), string(p.LastName))
}

func (p *person) email() string {
	if p == nil {
		return ""
	}
	return string(p.Email)
}

// payload is the subset of Comeet's candidate model that Hirebell flattens.
// Pointers to objects tolerate null; unknown fields are ignored here and kept
// in the raw bytes.
type payload struct {
	ComeetID    text             `json:"comeet_id"`
	RecruitID   text             `json:"recruit_id"`
	PersonUID   text             `json:"person_uid"`
	FirstName   text             `json:"first_name"`
	MiddleName  text             `json:"middle_name"`
	LastName    text             `json:"last_name"`
	Email       text             `json:"email"`
	Phone       text             `json:"phone"`
	MobilePhone text             `json:"mobile_phone"`
	LinkedIn    text             `json:"linkedin_url"`
	HiredDate   text             `json:"hired_date"`
	StartDate   text             `json:"start_date"`
	TestNonce   text             `json:"hirebell_test"`
	Source      *payloadSource   `json:"source"`
	Position    *payloadPosition `json:"position"`
}

type payloadSource struct {
	Name text `json:"name"`
	Type text `json:"type"`
}

type payloadPosition struct {
	Name             text    `json:"name"`
	Department       text    `json:"department"`
	Location         text    `json:"location"`
	Employment       text    `json:"employment"`
	EmployeeType     text    `json:"employee_type"`
	Seniority        text    `json:"seniority"`
	HiringManager    *person `json:"hiring_manager"`
	LeadingRecruiter *person `json:"leading_recruiter"`
}

// DecodeHire reads a Comeet hire payload. It fails only when the body is not
// a JSON object or names no hire (no comeet_id or recruit_id); any field of
// an unexpected type is read as empty rather than rejected, because a hire
// that Comeet considers made must never bounce on a detail.
func DecodeHire(raw []byte) (Hire, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Hire{}, ErrNotObject
	}
	var p payload
	if decodeFast(trimmed, &p) {
		return hireOf(&p, raw)
	}
	return decodeSlow(trimmed, raw)
}

// decodeSlow is DecodeHire with encoding/json, for the payloads that
// decodeFast leaves to it.
func decodeSlow(trimmed, raw []byte) (Hire, error) {
	var p payload
	if err := json.Unmarshal(trimmed, &p); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return Hire{}, fmt.Errorf("%w: %v", ErrNotObject, err)
		}
		// A nested object of the wrong type (say "position": "x"): keep
		// what decoded; encoding/json carries on past type errors.
	}
	return hireOf(&p, raw)
}

// hireOf makes the Hire of a decoded payload.
func hireOf(p *payload, raw []byte) (Hire, error) {
	id := string(p.ComeetID)
	if id == "" {
		id = string(p.RecruitID)
	}
	if id == "" {
		return Hire{}, ErrNoComeetID
	}
	if len(id) > MaxComeetID {
		return Hire{}, fmt.Errorf("%w: its comeet_id is %d bytes long, over %d", ErrNoComeetID, len(id), MaxComeetID)
	}
	h := Hire{
		ComeetID:   id,
		PersonUID:  string(p.PersonUID),
		FirstName:  string(p.FirstName),
		MiddleName: string(p.MiddleName),
		LastName:   string(p.LastName),
		Email:      string(p.Email),
		Phone:      string(p.Phone),
		Mobile:     string(p.MobilePhone),
		LinkedIn:   string(p.LinkedIn),
		HiredDate:  string(p.HiredDate),
		StartDate:  string(p.StartDate),
		TestNonce:  string(p.TestNonce),
		Raw:        raw,
	}
	if s := p.Source; s != nil {
		h.Source, h.SourceType = string(s.Name), string(s.Type)
	}
	if pos := p.Position; pos != nil {
		h.Position = string(pos.Name)
		h.Department = string(pos.Department)
		h.Location = string(pos.Location)
		h.Employment = string(pos.Employment)
		h.EmployeeType = string(pos.EmployeeType)
		h.Seniority = string(pos.Seniority)
		h.HiringManager, h.ManagerEmail = pos.HiringManager.name(), pos.HiringManager.email()
		h.Recruiter, h.RecruiterEmail = pos.LeadingRecruiter.name(), pos.LeadingRecruiter.email()
	}
	return h, nil
}

func joinNonEmpty(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p)
	}
	return b.String()
}
