package ui

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"hirebell/store"
)

// hvOpenSample shows one sample hire in the details pane.
func hvOpenSample(t *testing.T, sample string) (*hiresView, fyne.Window, store.Hire) {
	t.Helper()
	test.NewTempApp(t)
	st := hvOpenStore(t)
	h := hvSaveSample(t, st, sample)
	v, w := hvNewView(t, st)
	v.table.Select(widget.TableCellID{Row: 0, Col: 0})
	return v, w, h
}

// hvOpenID opens the hire with comeetID as a click on its row would.
func hvOpenID(t *testing.T, v *hiresView, comeetID string) {
	t.Helper()
	for i := range v.model.visible {
		if v.model.at(i).comeetID() == comeetID {
			v.table.Select(widget.TableCellID{Row: i, Col: 0})
			return
		}
	}
	t.Fatalf("no row for %s", comeetID)
}

// hvDetailRows is the details pane as "key = value" lines, so tests can
// check that a value sits beside its key.
func hvDetailRows(v *hiresView) []string {
	var out []string
	walkVisible(v.details.content(), func(o fyne.CanvasObject) {
		c, ok := o.(*fyne.Container)
		if !ok {
			return
		}
		if _, ok := c.Layout.(*detailFormLayout); !ok {
			return
		}
		for i := 0; i+1 < len(c.Objects); i += 2 {
			key := c.Objects[i].(*widget.Label).Text
			vals := hvTexts(c.Objects[i+1])
			out = append(out, key+" = "+strings.Join(vals, " "))
		}
	})
	return out
}

func TestDetailsShowEveryField(t *testing.T) {
	cases := []struct {
		sample string
		want   []string // "key = value" rows or plain texts
		absent []string
	}{
		{"sample-full.json", []string{
			"Maya Okafor", "Backend Engineer · R&D · Tel Aviv",
			"Email = maya.okafor@mail.example", "Phone = 03-5550199", "Mobile = 054-5550123",
			"LinkedIn = https://www.linkedin.com/in/maya-okafor-example",
			"Position = Backend Engineer", "Department = R&D", "Location = Tel Aviv",
			"Employment = Full-time", "Employee type = Headcount", "Seniority = Senior",
			"Hired = 2026-11-28", "Start date = 2027-01-04",
			"Hiring manager = Daniel Rosen", "Manager email = daniel.rosen@company.example",
			"Recruiter = Noa Levi", "Recruiter email = noa.levi@company.example",
			"Source = Careers site (Web)", "Comeet ID = A1.5C", "Person UID = 3D.77",
			"Received = 3 Dec 2026 09:30", "Deliveries = 1",
			// everything else, generically
			"Time created = 2026-10-02T08:15:00Z", "ID number = 000000018",
			"Comeet ID = 9.11", // source.comeet_id
			"Name = maya_okafor_cv.pdf", "URL = https://files.example/cv/a15c?expires=180",
			"URL = https://files.example/pic/a15c?expires=200",
			"URL = https://portfolio.example/maya",
			"Name = Offer letter.pdf", "URL = https://files.example/offer/a15c", "Type = offer_letter",
			"Salary = 24000", "Laptop = 14 inch",
			"Description = Backend team, second hire", "Reason = new", "Custom fields › Budget = 2027-H1",
			"Comeet ID = 52.0A", "Public name = Senior Backend Engineer",
			"Description = Build the payments platform.", "Requirements = • Go",
			"Position ID = RD-114", "Custom fields › Cost center = 4100",
			"Source", "Resume", "Picture", "Links", "Files", "Offer fields", "Opening", "Other fields",
		}, []string{"Middle name", "First name = Maya", "Hiring manager › Email = daniel.rosen@company.example"}},
		{"tricky-custom-values.json", []string{
			"PTO = 25", "PTO = 26", "Bonus › Amount = 1000", "Bonus › Currency = EUR",
			"Remote = Yes", "#6 = loose string", "#7 = 3",
			"Custom fields › Budget = 2027", "Custom fields › Tags = a, b",
			"Custom fields › Nested › X › #1 = 1", "Custom fields › Nested › X › #2 = 2",
			"#1 › UID = 17", "#1 › Answers › UID = 3", "#1 › Answers › Title = Laptop",
			"#2 › UID = q2", "#2 › Answers = 2027-01-04",
			"Anything = 1, two, 3.0, Yes",
			"Custom fields › Level = 3", "Custom fields › Remote = No", "Custom fields › Skills = SQL, Go",
			"Custom fields › Manager › First name = X",
			"Partner questionnaire", "Unknown future field",
		}, []string{"Car"}},
		{"tricky-numbers.json", []string{
			"Ada 7", "Phone = 35550199", "Mobile = 5.45550123e9",
			"Department › Name = R&D", // an object where a string was expected is not lost
			"Type = Web, Other",
		}, nil},
		{"tricky-position-string.json", []string{
			"Position = Office Manager", "Source = Web", "Start date = 2027-03-01",
		}, nil},
		{"tricky-nulls-everywhere.json", []string{"(no name)", "Comeet ID = E5.00"},
			[]string{"Other fields", "Opening", "Position"}},
		{"tricky-unicode.json", []string{"יעל 🦄 כהן-לוי", "Email = yael@דוגמה.example",
			"Recruiter = 李 小龍", "Hiring manager = Zoë Ñúñez", "Source = Référence été 🚀 (Referrer: Compensated)"}, nil},
		{"tricky-recruit-id.json", []string{"Comeet ID = J9.10", "Recruit ID = 52.0E", "Recruit ID = 9.12"}, nil},
	}
	test.NewTempApp(t)
	st := hvOpenStore(t)
	ids := map[string]string{}
	for _, tc := range cases {
		ids[tc.sample] = hvSaveSample(t, st, tc.sample).ComeetID
	}
	v, _ := hvNewView(t, st)
	for _, tc := range cases {
		t.Run(tc.sample, func(t *testing.T) {
			hvOpenID(t, v, ids[tc.sample])
			rows := hvDetailRows(v)
			texts := hvTexts(v.details.content())
			for _, want := range tc.want {
				if !slices.Contains(rows, want) && !slices.Contains(texts, want) {
					t.Errorf("missing %q", want)
				}
			}
			for _, bad := range tc.absent {
				for _, r := range append(rows, texts...) {
					if r == bad || strings.HasPrefix(r, bad+" = ") {
						t.Errorf("unexpected %q", r)
					}
				}
			}
			if t.Failed() {
				t.Logf("rows:\n%s", strings.Join(rows, "\n"))
			}
		})
	}
}

func TestDetailsLongHTMLIsPlainAndCut(t *testing.T) {
	v, _, _ := hvOpenSample(t, "tricky-big-description.json")
	var desc string
	for _, r := range hvDetailRows(v) {
		if d, ok := strings.CutPrefix(r, "Description = "); ok {
			desc = d
		}
	}
	if !strings.HasPrefix(desc, "Join us to build payments & more. Benefits: ✨ remote, link, \"quotes\", commas, and newlines.") {
		t.Errorf("description not plain text: %.200q", desc)
	}
	if strings.ContainsAny(desc, "<>") || strings.Contains(desc, "&amp;") {
		t.Errorf("tags or entities left: %.200q", desc)
	}
	if n := len([]rune(desc)); n > maxFieldRunes+2 || !strings.HasSuffix(desc, "…") {
		t.Errorf("description not cut: %d runes, ends %q", n, desc[len(desc)-10:])
	}
}

func TestDetailsCopyButtons(t *testing.T) {
	cases := []struct{ name, value string }{
		{"email", "maya.okafor@mail.example"},
		{"phone", "03-5550199"},
		{"mobile", "054-5550123"},
		{"manager email", "daniel.rosen@company.example"},
		{"recruiter email", "noa.levi@company.example"},
		{"comeet id", "A1.5C"},
	}
	v, _, _ := hvOpenSample(t, "sample-full.json")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := hvCopyButtonFor(t, v, tc.value)
			fyne.CurrentApp().Clipboard().SetContent("")
			test.Tap(b)
			if got := fyne.CurrentApp().Clipboard().Content(); got != tc.value {
				t.Errorf("clipboard %q, want %q", got, tc.value)
			}
		})
	}
}

// hvCopyButtonFor finds the copy button beside the value text.
func hvCopyButtonFor(t *testing.T, v *hiresView, value string) *widget.Button {
	t.Helper()
	var found []*widget.Button
	walkVisible(v.details.content(), func(o fyne.CanvasObject) {
		c, ok := o.(*fyne.Container)
		if !ok || len(c.Objects) != 2 {
			return
		}
		l, ok1 := c.Objects[0].(*widget.Label)
		b, ok2 := c.Objects[1].(*widget.Button)
		if ok1 && ok2 && l.Text == value {
			found = append(found, b)
		}
	})
	if len(found) != 1 {
		t.Fatalf("want one copy button for %q, found %d", value, len(found))
	}
	return found[0]
}

func TestDetailsExtraSection(t *testing.T) {
	test.NewTempApp(t)
	st := hvOpenStore(t)
	hvSaveSample(t, st, "sample-full.json")
	v, _ := hvNewView(t, st)
	var got []string
	v.extraDetails = func(h store.Hire) fyne.CanvasObject {
		got = append(got, h.ComeetID+" "+string(h.Raw[:1]))
		return widget.NewLabel("DOCUMENTS")
	}
	v.table.Select(widget.TableCellID{Row: 0, Col: 0})
	if !slices.Equal(got, []string{"A1.5C {"}) {
		t.Fatalf("extraDetails called with %q", got)
	}
	texts := hvTexts(v.details.content())
	docs := slices.Index(texts, "DOCUMENTS")
	if docs < 0 || docs < slices.Index(texts, "Deliveries") || docs > slices.Index(texts, "Other fields") {
		t.Errorf("documents not between the basics and the rest: %q", texts)
	}
}

func TestDetailsEmptyHint(t *testing.T) {
	test.NewTempApp(t)
	v, _ := hvNewView(t, hvOpenStore(t))
	if !slices.Contains(hvTexts(v.details.content()), "Select a hire to see all of their details.") {
		t.Error("no hint when nothing is open")
	}
}

func TestParsePayloadKeepsOrder(t *testing.T) {
	p, err := parsePayload([]byte(`{"z":1,"a":{"y":null,"b":[true,"x"]},"m":"last","m":"wins"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.keys, []string{"z", "a", "m", "m"}) {
		t.Errorf("keys %q", p.keys)
	}
	if got := p.text("m"); got != "wins" {
		t.Errorf("duplicate key: %q", got)
	}
	if got := p.get("a", "b").kids[0].display(); got != "Yes" {
		t.Errorf("bool shows %q", got)
	}
	for _, bad := range []string{`[1]`, `"x"`, `{"a":`, ``} {
		if _, err := parsePayload([]byte(bad)); err == nil {
			t.Errorf("parsePayload(%q) succeeded", bad)
		}
	}
}

func TestPlainFromHTML(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"paragraph", "<p>Build the payments platform.</p>", "Build the payments platform."},
		{"list", "<ul><li>Go</li><li>SQL &amp; more</li></ul>", "• Go\n• SQL & more"},
		{"breaks", "one<br>two<br/>three", "one\ntwo\nthree"},
		{"source newlines are spaces", "<p>a\nb</p><p>c</p>", "a b\nc"},
		{"inline tags vanish", `<b>bold</b> and <a href="https://x">link</a>`, "bold and link"},
		{"entities", "&lt;tag&gt; &quot;q&quot; &#39;s&#39; caf&eacute;", `<tag> "q" 's' café`},
		{"blank lines collapse", "<p>a</p><p></p><p></p><p>b</p>", "a\nb"},
		{"unclosed tag", "a <b", "a <b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := plainFromHTML(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLooksLikeHTML(t *testing.T) {
	cases := map[string]bool{
		"<p>x</p>": true, "a<br/>b": true, "</div>": true, "<!-- c -->": true,
		"a < b > c": false, "3<4": false, "plain": false, "<>": false, "x <y": false,
	}
	for in, want := range cases {
		if got := looksLikeHTML(in); got != want {
			t.Errorf("looksLikeHTML(%q) = %v", in, got)
		}
	}
}

func TestHumanKey(t *testing.T) {
	cases := map[string]string{
		"custom_fields": "Custom fields", "comeet_id": "Comeet ID", "person_uid": "Person UID",
		"linkedin_url": "Linkedin URL", "Cost center": "Cost center", "PTO": "PTO",
		"salary": "Salary", "_x_": "X", "": "", "ünïcode_key": "ünïcode key",
	}
	for in, want := range cases {
		if got := humanKey(in); got != want {
			t.Errorf("humanKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTruncateRunes(t *testing.T) {
	long := strings.Repeat("word ", 200)
	got := truncateRunes(long, 100)
	if n := len([]rune(got)); n > 102 || !strings.HasSuffix(got, " …") || strings.Contains(got, "wo …") {
		t.Errorf("cut badly: %d runes %q", n, got)
	}
	if got := truncateRunes("short", 100); got != "short" {
		t.Errorf("short text changed: %q", got)
	}
	uni := strings.Repeat("é", 50)
	if got := truncateRunes(uni, 10); !strings.HasPrefix(got, strings.Repeat("é", 10)) {
		t.Errorf("runes split: %q", got)
	}
}

func TestDetailsGolden(t *testing.T) {
	v, _, _ := hvOpenSample(t, "sample-full.json")
	pane := v.details.content()
	pane.Resize(fyne.NewSize(460, 2400))
	test.AssertObjectRendersToMarkup(t, "hire_details_full.xml", pane)
}
