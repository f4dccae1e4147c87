package store

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestExportCSV(t *testing.T) {
	s, _ := openTemp(t)
	saved := []Hire{
		{ComeetID: "X.1", FirstName: "Plain", LastName: "Person", Position: "Engineer", Raw: []byte(`{}`)},
		{ComeetID: "X.2", FirstName: "Comma, Jr.", LastName: `Say "hi"`, Department: "line1\nline2", Raw: []byte(`{}`)},
		{ComeetID: "X.3", FirstName: "יעל", MiddleName: "🦄", LastName: "Ñúñez", Location: "תל אביב", Raw: []byte(`{}`)},
		{ComeetID: "X.4", FirstName: "=HYPERLINK(\"http://evil\")", LastName: "+1", Email: "-2", Phone: "@SUM(A1)",
			Position: "\tTab", Department: "\rCR", HiringManager: "a=b", Raw: []byte(`{}`)},
	}
	for _, h := range saved {
		mustSave(t, s, h)
	}

	var buf bytes.Buffer
	if err := s.ExportCSV(&buf); err != nil {
		t.Fatalf("ExportCSV: %v", err)
	}
	if !utf8.Valid(buf.Bytes()) {
		t.Error("export is not valid UTF-8")
	}
	if bytes.HasPrefix(buf.Bytes(), []byte("\xef\xbb\xbf")) {
		t.Error("export starts with a BOM")
	}
	r := csv.NewReader(&buf)
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("export does not parse back as CSV: %v", err)
	}
	if len(rows) != 1+len(saved) {
		t.Fatalf("%d rows, want header + %d", len(rows), len(saved))
	}
	header := rows[0]
	for _, name := range []string{"comeet_id", "first_name", "last_name", "email", "position",
		"department", "hired_date", "start_date", "hiring_manager", "received_at"} {
		if !slices.Contains(header, name) {
			t.Errorf("header %v lacks %q", header, name)
		}
	}
	col := func(row []string, name string) string { return row[slices.Index(header, name)] }

	var order []string
	for _, row := range rows[1:] {
		order = append(order, col(row, "comeet_id"))
		if len(row) != len(header) {
			t.Errorf("row %v has %d cells, header %d", row, len(row), len(header))
		}
		at, err := time.Parse(time.RFC3339, col(row, "received_at"))
		if err != nil || at.Location() != time.UTC {
			t.Errorf("received_at %q is not RFC 3339 UTC: %v", col(row, "received_at"), err)
		}
	}
	if got := strings.Join(order, ","); got != "X.4,X.3,X.2,X.1" {
		t.Errorf("rows in order %s, want newest first", got)
	}

	byID := map[string][]string{}
	for _, row := range rows[1:] {
		byID[col(row, "comeet_id")] = row
	}
	tests := []struct {
		name, id, column, want string
	}{
		{"plain", "X.1", "position", "Engineer"},
		{"comma", "X.2", "first_name", "Comma, Jr."},
		{"quotes", "X.2", "last_name", `Say "hi"`},
		{"newline", "X.2", "department", "line1\nline2"},
		{"hebrew", "X.3", "first_name", "יעל"},
		{"emoji", "X.3", "middle_name", "🦄"},
		{"accents", "X.3", "last_name", "Ñúñez"},
		{"rtl location", "X.3", "location", "תל אביב"},
		{"equals", "X.4", "first_name", `'=HYPERLINK("http://evil")`},
		{"plus", "X.4", "last_name", "'+1"},
		{"minus", "X.4", "email", "'-2"},
		{"at", "X.4", "phone", "'@SUM(A1)"},
		{"tab", "X.4", "position", "'\tTab"},
		{"carriage return", "X.4", "department", "'\rCR"},
		{"equals inside is fine", "X.4", "hiring_manager", "a=b"},
		{"empty stays empty", "X.1", "email", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := col(byID[tt.id], tt.column); got != tt.want {
				t.Errorf("%s %s = %q, want %q", tt.id, tt.column, got, tt.want)
			}
		})
	}
}

func TestExportCSVEmpty(t *testing.T) {
	s, _ := openTemp(t)
	var buf bytes.Buffer
	if err := s.ExportCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 1 || !slices.Equal(rows[0], CSVHeader) {
		t.Errorf("empty export = %v, %v; want the header row only", rows, err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestExportCSVWriteError(t *testing.T) {
	s, _ := openTemp(t)
	for i := range 200 { // enough rows to overflow csv.Writer's buffer
		mustSave(t, s, hireFor(t, fmt.Sprintf("E.%d", i)))
	}
	if err := s.ExportCSV(failingWriter{}); err == nil {
		t.Error("ExportCSV to a failing writer returned nil")
	}
}

func BenchmarkExportCSV(b *testing.B) {
	s, _ := openTemp(b)
	fill(b, s, 1000)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.ExportCSV(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
