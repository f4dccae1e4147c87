package store

import (
	"encoding/csv"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CSVHeader is the header row of the CSV export.
var CSVHeader = []string{
	"comeet_id", "person_uid", "first_name", "middle_name", "last_name",
	"email", "phone", "mobile_phone", "position", "department", "location",
	"employment", "employee_type", "hired_date", "start_date",
	"hiring_manager", "hiring_manager_email", "recruiter", "recruiter_email",
	"source", "source_type", "received_at",
}

// csvRecord fills rec (len(CSVHeader)) with h's cells, neutralised.
func csvRecord(h *Hire, rec []string) {
	cells := [...]string{
		h.ComeetID, h.PersonUID, h.FirstName, h.MiddleName, h.LastName,
		h.Email, h.Phone, h.Mobile, h.Position, h.Department, h.Location,
		h.Employment, h.EmployeeType, h.HiredDate, h.StartDate,
		h.HiringManager, h.ManagerEmail, h.Recruiter, h.RecruiterEmail,
		h.Source, h.SourceType, h.ReceivedAt.UTC().Format(time.RFC3339),
	}
	for i, c := range cells {
		rec[i] = neutralise(c)
	}
}

// neutralise defuses a cell that a spreadsheet would read as a formula
// (OWASP's CSV injection advice): a leading =, +, -, @, tab or CR gets a
// single quote in front, which spreadsheets show as text.
func neutralise(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}

// ExportCSV writes every hire as CSV (header row, newest first, UTF-8,
// RFC 4180 quoting) to w. It streams from one read transaction, so memory
// does not grow with the number of hires.
func (s *Store) ExportCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	rec := make([]string, len(CSVHeader))
	err := s.view(func(tx *bolt.Tx) error {
		return eachHire(tx, func(h *Hire) error {
			csvRecord(h, rec)
			return cw.Write(rec)
		})
	})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
