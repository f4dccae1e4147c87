package store

import (
	"encoding/binary"
	"errors"
	"time"
)

// The hires bucket holds each Hire in a compact binary form rather than
// JSON: the app lists every hire at start-up, and at 100,000 hires JSON
// decoding dominated both the wait for the window and the memory held.
//
//	version byte (1)
//	per text field, in hireFields order: uvarint length, bytes
//	received_at, updated_at: varint Unix nanoseconds
//	deliveries: uvarint
//	flags: byte (bit 0: seen)
//
// Decoding copies the value into one string and slices every field out of
// it: one allocation per hire.
const recordVersion = 1

// errBadRecord is returned when a stored hire cannot be decoded.
var errBadRecord = errors.New("malformed hire record")

// numTextFields is how many string fields a Hire record holds.
const numTextFields = 23

// textFields lists h's string fields in their stored order. Append new
// fields at the end only: the order is the file format.
func (h *Hire) textFields() [numTextFields]*string {
	return [numTextFields]*string{
		&h.ComeetID, &h.PersonUID, &h.FirstName, &h.MiddleName, &h.LastName,
		&h.Email, &h.Phone, &h.Mobile,
		&h.Position, &h.Department, &h.Location, &h.Employment, &h.EmployeeType,
		&h.HiringManager, &h.ManagerEmail, &h.Recruiter, &h.RecruiterEmail,
		&h.HiredDate, &h.StartDate, &h.Source, &h.SourceType,
		&h.Seniority, &h.LinkedIn,
	}
}

// appendRecord appends h's stored form to buf.
func appendRecord(buf []byte, h *Hire) []byte {
	buf = append(buf, recordVersion)
	for _, f := range h.textFields() {
		buf = binary.AppendUvarint(buf, uint64(len(*f)))
		buf = append(buf, *f...)
	}
	buf = binary.AppendVarint(buf, h.ReceivedAt.UnixNano())
	buf = binary.AppendVarint(buf, h.UpdatedAt.UnixNano())
	buf = binary.AppendUvarint(buf, uint64(h.Deliveries))
	var flags byte
	if h.Seen {
		flags |= 1
	}
	return append(buf, flags)
}

// decodeRecord fills h from a stored record. v may be a bbolt slice: it is
// copied, never kept.
func decodeRecord(v []byte, h *Hire) error {
	if len(v) == 0 || v[0] != recordVersion {
		return errBadRecord
	}
	s := string(v) // the one copy every field points into
	pos := 1
	for _, f := range h.textFields() {
		n, w := binary.Uvarint(v[pos:])
		if w <= 0 || uint64(len(v)-pos-w) < n {
			return errBadRecord
		}
		pos += w
		*f = s[pos : pos+int(n)]
		pos += int(n)
	}
	var ints [2]int64
	for i := range ints {
		n, w := binary.Varint(v[pos:])
		if w <= 0 {
			return errBadRecord
		}
		ints[i], pos = n, pos+w
	}
	h.ReceivedAt, h.UpdatedAt = time.Unix(0, ints[0]).UTC(), time.Unix(0, ints[1]).UTC()
	n, w := binary.Uvarint(v[pos:])
	if w <= 0 || pos+w >= len(v) {
		return errBadRecord
	}
	h.Deliveries = int(n)
	h.Seen = v[pos+w]&1 != 0
	return nil
}
