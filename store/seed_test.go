package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSeedStore is a fixture, not a check of behaviour: it fills a real
// store with realistic hires for the desktop benchmarks (.ci/bench/ui.sh).
// It runs only when HIREBELL_SEED_DIR names the data folder to fill;
// HIREBELL_SEED_N is how many hires (default 100000). The hires go in
// the way the receiver puts them: DecodeHire of a signed-size Comeet
// payload (about 2.5 KB), then SaveHire from many goroutines at once, so
// the group commit batches them as it would under a delivery storm.
//
//	HIREBELL_SEED_DIR=/tmp/d HIREBELL_SEED_N=1000 go test -run '^TestSeedStore$' -count=1 ./store/
func TestSeedStore(t *testing.T) {
	dir := os.Getenv("HIREBELL_SEED_DIR")
	if dir == "" {
		t.Skip("set HIREBELL_SEED_DIR to fill a store there (benchmark fixture)")
	}
	n := 100_000
	if s := os.Getenv("HIREBELL_SEED_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			t.Fatalf("HIREBELL_SEED_N=%q: want a count", s)
		}
		n = v
	}
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before, err := st.Count()
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	const workers = 256
	var next, fresh, bytes atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				raw, err := seedPayload(i)
				if err != nil {
					errs <- fmt.Errorf("hire %d: %w", i, err)
					return
				}
				h, err := DecodeHire(raw)
				if err != nil {
					errs <- fmt.Errorf("hire %d: decode: %w", i, err)
					return
				}
				res, err := st.SaveHire(h, Delivery{Remote: "127.0.0.1", Status: 200})
				if err != nil {
					errs <- fmt.Errorf("hire %d: %w", i, err)
					return
				}
				if res.New {
					fresh.Add(1)
				}
				bytes.Add(int64(len(raw)))
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	after, err := st.Count()
	if err != nil {
		t.Fatal(err)
	}
	if after != before+int(fresh.Load()) {
		t.Errorf("count went from %d to %d, but %d hires were stored as new", before, after, fresh.Load())
	}
	if n > 0 {
		h, err := st.Get(seedID(n - 1))
		if err != nil {
			t.Fatalf("last seeded hire: %v", err)
		}
		if h.FirstName == "" || h.Position == "" || len(h.Raw) == 0 {
			t.Errorf("last seeded hire is missing fields: %+v", h)
		}
	}
	t.Logf("seeded %d hires (%d new, %d stored in all) in %s, payloads %.0f B on average",
		n, fresh.Load(), after, time.Since(start).Round(time.Millisecond), float64(bytes.Load())/float64(max(n, 1)))
}

var (
	seedFirst = []string{"Maya", "Tom", "Lena", "Noor", "Lior", "Ada", "Ravi", "Kim", "Sam", "Yael",
		"Daniel", "Noa", "Omar", "Zoë", "Émile", "Chen", "Priya", "Jonas", "Aisha", "Mateo",
		"Sofia", "Hiro", "Olga", "Kwame", "Ingrid", "Tariq", "Lucía", "Anders", "Mei", "Farah",
		"Gabriel", "Tamar", "Ioana", "Kofi", "Siobhán", "Dmitri", "Amara", "Björn", "Leila", "Yusuf"}
	seedMiddle = []string{"Ann", "J.", "Marie", "Lee", "Rose", "Karim", "Elena", "Ole"}
	seedLast   = []string{"Okafor", "Levi", "Haddad", "Rosen", "Park", "Menon", "Ben-David", "Cohen",
		"Ñúñez", "Schmidt", "García", "Nakamura", "Kowalski", "Mensah", "Larsen", "Ahmed", "Silva",
		"O'Brien", "Dubois", "Rossi", "Novak", "Jensen", "Kaur", "Tanaka", "Petrov", "Friedman",
		"Abramovich", "Van der Berg", "Żukowski", "Oyelaran", "Lindqvist", "Hernández"}
	// seedPositions pairs each position with its department.
	seedPositions = [][2]string{
		{"Backend Engineer", "R&D"}, {"Frontend Engineer", "R&D"}, {"Platform Engineer", "Infra"},
		{"Site Reliability Engineer", "Infra"}, {"QA Engineer", "R&D"}, {"Data Analyst", "Data"},
		{"Data Engineer", "Data"}, {"Product Manager", "Product"}, {"Product Designer", "Product"},
		{"Support Specialist", "Support"}, {"Customer Success Manager", "Support"},
		{"Accountant", "Finance"}, {"Payroll Specialist", "Finance"}, {"Sales Executive", "Sales"},
		{"Account Executive", "Sales"}, {"Marketing Lead", "Marketing"}, {"Content Writer", "Marketing"},
		{"Legal Counsel", "Legal"}, {"HR Partner", "People"}, {"Recruiter", "People"},
		{"Office Manager", "Operations"}, {"IT Administrator", "Operations"},
	}
	seedLocations  = []string{"Tel Aviv", "Haifa", "London", "Berlin", "New York", "Lisbon", "Remote", "Kraków"}
	seedEmployment = []string{"Full-time", "Full-time", "Full-time", "Part-time", "Contract", "Internship"}
	seedTypes      = []string{"Headcount", "Headcount", "Replacement", "Contractor"}
	seedSeniority  = []string{"Junior", "Mid", "Senior", "Lead", "Principal"}
	seedSources    = [][2]string{{"Careers site", "Web"}, {"LinkedIn", "Job board"},
		{"Employee referral", "Referral"}, {"Agency North", "Agency"}, {"Indeed", "Job board"}, {"Meetup", "Event"}}
	seedSentences = []string{
		"You will join a small team that owns its services from design to production.",
		"We value clear writing, careful reviews and shipping in small steps.",
		"The role reports to the team lead and works closely with product and support.",
		"Our customers are HR and finance teams at companies of every size.",
		"Expect an onboarding buddy, a laptop of your choice and a budget for learning.",
		"Most of the team works in the office three days a week; the rest is up to you.",
		"You will help us grow the team by interviewing and mentoring new colleagues.",
		"On-call is shared across the team, one week in eight, with a paid day off after.",
	}
)

// seedID is the comeet_id of the i-th seeded hire.
func seedID(i int) string { return fmt.Sprintf("S%06X.%02X", i, i%251) }

// seedPerson is Comeet's shape for the hiring manager and the recruiter.
type seedPerson struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
}

// seedPayload is the i-th of a deterministic set of varied, realistic
// Comeet hire payloads of about 2.5 KB.
func seedPayload(i int) ([]byte, error) {
	r := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	first, last := pick(seedFirst), pick(seedLast)
	var middle any // null, as Comeet sends it, for most
	if r.IntN(6) == 0 {
		middle = pick(seedMiddle)
	}
	pos := seedPositions[r.IntN(len(seedPositions))]
	src := seedSources[r.IntN(len(seedSources))]
	hired := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(8*365))
	start := hired.AddDate(0, 0, 7+r.IntN(90))
	created := hired.AddDate(0, 0, -20-r.IntN(120)).Add(time.Duration(r.IntN(86400)) * time.Second)
	mail := strings.ToLower(strings.NewReplacer(" ", "", "'", "").Replace(first + "." + last))
	person := func() seedPerson {
		f, l := pick(seedFirst), pick(seedLast)
		return seedPerson{f, l, strings.ToLower(strings.NewReplacer(" ", "", "'", "").Replace(f+"."+l)) + "@company.example"}
	}
	var desc strings.Builder
	for range 9 + r.IntN(3) {
		desc.WriteString("<p>" + pick(seedSentences) + "</p>")
	}
	var startDate any = start.Format(time.DateOnly)
	if r.IntN(40) == 0 {
		startDate = nil // not agreed yet
	}
	// No resume, picture or files[] links: a seeded store stands for
	// hires received over months, whose documents were fetched (or had
	// expired) long ago. Links here would be 100,000 hires "just received"
	// to a host that does not exist, and every start within the links'
	// minutes of validity would try to download them all, which measures
	// the document queue, not the window.
	p := map[string]any{
		"comeet_id":    seedID(i),
		"person_uid":   fmt.Sprintf("P%07X.%02X", i*7+r.IntN(7), i%97),
		"first_name":   first,
		"middle_name":  middle,
		"last_name":    last,
		"email":        fmt.Sprintf("%s%d@mail.example", mail, i),
		"time_created": created.Format(time.RFC3339),
		"phone":        fmt.Sprintf("0%d-555%04d", 2+r.IntN(8), r.IntN(10000)),
		"mobile_phone": fmt.Sprintf("05%d-555%04d", r.IntN(10), r.IntN(10000)),
		"id_number":    fmt.Sprintf("%09d", r.IntN(1_000_000_000)),
		"linkedin_url": fmt.Sprintf("https://www.linkedin.com/in/%s-%d-example", strings.ReplaceAll(mail, ".", "-"), i),
		"hired_date":   hired.Format(time.DateOnly),
		"start_date":   startDate,
		"source":       map[string]any{"name": src[0], "type": src[1], "comeet_id": fmt.Sprintf("%d.%02X", r.IntN(90), r.IntN(256))},
		"offer_fields": []any{map[string]any{"Salary": strconv.Itoa(9000 + 500*r.IntN(60))},
			map[string]any{"Laptop": pick([]string{"14 inch", "16 inch", "13 inch"})},
			map[string]any{"Equity": strconv.Itoa(100*r.IntN(50)) + " options"}},
		"opening": map[string]any{
			"description":   pos[1] + " team, " + pick([]string{"new headcount", "backfill", "second hire", "growth plan"}),
			"reason":        pick([]string{"new", "replacement", "expansion"}),
			"custom_fields": map[string]any{"Budget": fmt.Sprintf("%d-H%d", hired.Year(), 1+r.IntN(2)), "Approved by": person().FirstName},
		},
		"position": map[string]any{
			"comeet_id":         fmt.Sprintf("%d.%02X", r.IntN(400), r.IntN(256)),
			"name":              pos[0],
			"public_name":       pick(seedSeniority) + " " + pos[0],
			"department":        pos[1],
			"description":       desc.String(),
			"requirements":      "<ul><li>" + pick(seedSentences) + "</li><li>" + pick(seedSentences) + "</li></ul>",
			"position_id":       fmt.Sprintf("%s-%d", strings.ToUpper(pos[1][:min(2, len(pos[1]))]), 100+r.IntN(900)),
			"location":          pick(seedLocations),
			"employment":        pick(seedEmployment),
			"employee_type":     pick(seedTypes),
			"seniority":         pick(seedSeniority),
			"hiring_manager":    person(),
			"leading_recruiter": person(),
			"custom_fields":     map[string]any{"Cost center": strconv.Itoa(1000 + 100*r.IntN(60))},
		},
	}
	return json.Marshal(p)
}
