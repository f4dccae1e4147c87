package store

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Label is the outcome in a few words, for a column.
func (o Outcome) Label() string {
	switch o {
	case OutcomeStored:
		return "Stored"
	case OutcomeRedelivery:
		return "Redelivery"
	case OutcomeTest:
		return "Test hire"
	case OutcomeMissingSignature:
		return "No signature"
	case OutcomeBadSignature:
		return "Bad signature"
	case OutcomeTooLarge:
		return "Too large"
	case OutcomeNotAHire:
		return "Not a hire"
	case OutcomeStoreError:
		return "Could not save"
	}
	return strings.ReplaceAll(string(o), "_", " ")
}

// Explain says in a plain sentence what the outcome means.
func (o Outcome) Explain() string {
	switch o {
	case OutcomeStored:
		return "A new hire was received and saved."
	case OutcomeRedelivery:
		return "Comeet sent a hire that was already saved; its record was updated and no second notification was shown."
	case OutcomeTest:
		return "Hirebell's own test hire came back through the public URL, so Comeet can reach Hirebell."
	case OutcomeMissingSignature:
		return "Refused: the request carried no signature. Either Comeet has no Secret Key set, or the request did not come from Comeet."
	case OutcomeBadSignature:
		return "Refused: the signature did not match Hirebell's secret. The secret in Comeet differs from the one in Setup, or the request did not come from Comeet."
	case OutcomeTooLarge:
		return "Refused: the request was larger than Hirebell accepts. Nothing was saved."
	case OutcomeNotAHire:
		return "Signed by Comeet, but not a hire (no comeet_id). It was kept and can be viewed raw."
	case OutcomeStoreError:
		return "Hirebell could not save this hire and asked Comeet to try again. Nothing was stored."
	}
	return "Unknown outcome " + string(o) + "."
}

// Finding is one problem that the recent delivery log points to.
type Finding struct {
	// Outcome is the kind of problem.
	Outcome Outcome
	// Count is how many attempts had it (including attempts counted in
	// Dropped), First and Last when the first and latest came.
	Count       int
	First, Last time.Time
	// Sources is how many different addresses they came from.
	Sources int
	// Message says what happened and what to do, in plain words.
	Message string
}

// Diagnose summarises the problems in a delivery log (newest first, as
// Deliveries returns it) that came after the latest successful delivery:
// problems older than a success were evidently fixed. There is at most one
// finding per outcome, the most pressing first.
func Diagnose(ds []Delivery) []Finding {
	byOutcome := map[Outcome]*Finding{}
	sources := map[Outcome]map[string]bool{}
	for _, d := range ds {
		if !d.Outcome.Problem() {
			break // everything older came before a success
		}
		f := byOutcome[d.Outcome]
		if f == nil {
			f = &Finding{Outcome: d.Outcome, Last: d.Time}
			byOutcome[d.Outcome] = f
			sources[d.Outcome] = map[string]bool{}
		}
		f.Count += 1 + d.Dropped
		f.First = d.Time
		if host := remoteHost(d.Remote); host != "" {
			sources[d.Outcome][host] = true
		}
	}
	var out []Finding
	for _, o := range []Outcome{OutcomeStoreError, OutcomeBadSignature, OutcomeMissingSignature, OutcomeNotAHire, OutcomeTooLarge} {
		if f := byOutcome[o]; f != nil {
			f.Sources = len(sources[o])
			f.Message = f.message()
			out = append(out, *f)
			delete(byOutcome, o)
		}
	}
	for _, f := range byOutcome { // outcomes added later
		f.Sources = len(sources[f.Outcome])
		f.Message = f.message()
		out = append(out, *f)
	}
	return out
}

// remoteHost drops the port from a remote address.
func remoteHost(remote string) string {
	if i := strings.LastIndexByte(remote, ':'); i > 0 && !strings.HasSuffix(remote, "]") {
		return strings.Trim(remote[:i], "[]")
	}
	return remote
}

func (f *Finding) message() string {
	n, were := fmt.Sprintf("%d deliveries", f.Count), "were"
	if f.Count == 1 {
		n, were = "1 delivery", "was"
	}
	when := "at " + f.Last.Local().Format("Jan 2 15:04")
	if first := f.First.Local().Format("Jan 2 15:04"); f.Count > 1 && first != f.Last.Local().Format("Jan 2 15:04") {
		when = "from " + first + " to " + f.Last.Local().Format("Jan 2 15:04")
	}
	strangers := ""
	if f.Sources > 3 {
		strangers = fmt.Sprintf(" They came from %d different addresses, so some may be strangers probing the URL; all were refused and nothing was stored.", f.Sources)
	}
	switch f.Outcome {
	case OutcomeBadSignature:
		return fmt.Sprintf("%s %s refused because the signature did not match (%s). The secret in Comeet does not match; copy it again from Setup into the Secret Key on Comeet's Integrations page.%s", n, were, when, strangers)
	case OutcomeMissingSignature:
		return fmt.Sprintf("%s %s refused for lack of a signature (%s). Comeet has no Secret Key set: paste the secret from Setup into Comeet's Integrations page.%s", n, were, when, strangers)
	case OutcomeTooLarge:
		return fmt.Sprintf("%s %s refused as too large (%s). A hire is far smaller than the limit; if Comeet sent these, its payload carries something unusual.", n, were, when)
	case OutcomeNotAHire:
		return fmt.Sprintf("%s %s signed by Comeet but not a hire (%s). Each was kept: open it with View raw. Check that this URL is set as Comeet's Hires API (create employee) webhook and not another Comeet webhook.", n, were, when)
	case OutcomeStoreError:
		return fmt.Sprintf("%s could not be saved (%s); Comeet was asked to try again. Check that the disk has free space and the data folder is writable, then ask the recruiter to mark the hire as hired again.", n, when)
	}
	return fmt.Sprintf("%s: %s (%s).", n, f.Outcome.Label(), when)
}

// HireNames maps the comeet_ids of the given deliveries to the people's
// names, for showing names next to log entries. Deleted hires are left out.
func (s *Store) HireNames(ds []Delivery) (map[string]string, error) {
	names := map[string]string{}
	err := s.view(func(tx *bolt.Tx) error {
		ids, hires := tx.Bucket(bucketIDs), tx.Bucket(bucketHires)
		for _, d := range ds {
			if d.ComeetID == "" {
				continue
			}
			if _, done := names[d.ComeetID]; done {
				continue
			}
			key := ids.Get([]byte(d.ComeetID))
			if key == nil {
				continue
			}
			var h Hire
			if err := decodeRecord(hires.Get(key), &h); err != nil {
				return fmt.Errorf("read hire %x: %w", key, err)
			}
			names[d.ComeetID] = h.Name()
		}
		return nil
	})
	return names, err
}

// PrintLog writes the whole delivery log for a terminal (see WriteLog); it
// is what `hirebell log [--problems]` prints.
func (s *Store) PrintLog(w io.Writer, problemsOnly bool) error {
	ds, err := s.Deliveries(false, 0)
	if err != nil {
		return fmt.Errorf("read the delivery log: %w", err)
	}
	names, err := s.HireNames(ds)
	if err != nil {
		return fmt.Errorf("read hire names: %w", err)
	}
	return WriteLog(w, ds, names, problemsOnly)
}

// WriteLog prints a delivery log (all of it, newest first, as Deliveries
// returns it) for a terminal: the diagnosis first, then one line per attempt
// (only the problems with problemsOnly) with its time, source address,
// outcome, HTTP status and the hire's name (from names, by comeet_id) or
// comeet_id. Text from the network is stripped of control characters, so a
// crafted name cannot drive the terminal.
func WriteLog(w io.Writer, ds []Delivery, names map[string]string, problemsOnly bool) error {
	if len(ds) == 0 {
		_, err := fmt.Fprintln(w, "No deliveries yet.")
		return err
	}
	findings := Diagnose(ds)
	for _, f := range findings {
		if _, err := fmt.Fprintf(w, "! %s\n", f.Message); err != nil {
			return err
		}
	}
	if len(findings) > 0 {
		fmt.Fprintln(w)
	}
	if problemsOnly {
		var problems []Delivery
		for _, d := range ds {
			if d.Outcome.Problem() {
				problems = append(problems, d)
			}
		}
		if len(problems) == 0 {
			_, err := fmt.Fprintf(w, "No problems among the %d deliveries.\n", len(ds))
			return err
		}
		ds = problems
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tFROM\tOUTCOME\tSTATUS\tHIRE\tNOTE")
	for _, d := range ds {
		hire := printable(names[d.ComeetID])
		if hire == "" {
			hire = printable(d.ComeetID)
		}
		var notes []string
		if d.Dropped > 0 {
			notes = append(notes, fmt.Sprintf("+%d more not logged one by one", d.Dropped))
		}
		if len(d.Body) > 0 {
			notes = append(notes, fmt.Sprintf("body kept (%d bytes)", len(d.Body)))
		}
		status := "-"
		if d.Status != 0 {
			status = fmt.Sprint(d.Status)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Time.Local().Format("2006-01-02 15:04:05"),
			printable(d.Remote), d.Outcome.Label(), status, hire, strings.Join(notes, "; "))
	}
	return tw.Flush()
}

// printable drops control characters and tabs (which would break columns).
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		return dropControl(r)
	}, s)
}
