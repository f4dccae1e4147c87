package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func fullHire() Hire {
	h := Hire{
		ReceivedAt: time.Date(2026, 12, 3, 9, 30, 0, 123456789, time.UTC),
		UpdatedAt:  time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC),
		Deliveries: 3,
		Seen:       true,
	}
	for i, f := range h.textFields() {
		*f = fmt.Sprintf("field %d — שלום 🎉", i)
	}
	return h
}

func TestRecordRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		hire Hire
	}{
		{"every field set", fullHire()},
		{"only the id", Hire{ComeetID: "B2.01", ReceivedAt: time.Unix(0, 0).UTC(), UpdatedAt: time.Unix(0, 0).UTC()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got Hire
			if err := decodeRecord(appendRecord(nil, &tc.hire), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.hire) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tc.hire)
			}
		})
	}
}

func TestRecordRejectsDamage(t *testing.T) {
	h := fullHire()
	rec := appendRecord(nil, &h)
	cases := map[string][]byte{
		"empty":         nil,
		"wrong version": append([]byte{9}, rec[1:]...),
		"no flags":      rec[:len(rec)-1],
		"cut in a text": rec[:20],
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			var got Hire
			if err := decodeRecord(v, &got); !errors.Is(err, errBadRecord) {
				t.Fatalf("decode: %v, want errBadRecord", err)
			}
		})
	}
	// Every prefix of a record fails cleanly, never panics.
	for n := range len(rec) {
		var got Hire
		if decodeRecord(rec[:n], &got) == nil {
			t.Fatalf("a record cut to %d of %d bytes decoded", n, len(rec))
		}
	}
}

func BenchmarkList(b *testing.B) {
	st, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const n = 10_000
	var wg = make(chan struct{}, 32)
	for i := range n {
		wg <- struct{}{}
		go func() {
			defer func() { <-wg }()
			h := fullHire()
			h.ComeetID = fmt.Sprintf("L.%d", i)
			if _, err := st.SaveHire(h, Delivery{}); err != nil {
				b.Error(err)
			}
		}()
	}
	for range cap(wg) {
		wg <- struct{}{}
	}
	b.ReportAllocs()
	for b.Loop() {
		hs, err := st.List()
		if err != nil || len(hs) != n {
			b.Fatalf("list: %d hires, %v", len(hs), err)
		}
	}
}

func TestDeliveryTimeReadsMarshalledDeliveries(t *testing.T) {
	when := time.Date(2026, 3, 1, 12, 0, 0, 987654321, time.UTC)
	v, err := json.Marshal(&Delivery{Time: when, Outcome: OutcomeStored, Body: []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := deliveryTime(v); !ok || !got.Equal(when) {
		t.Fatalf("deliveryTime(%s) = %v, %v; want %v", v, got, ok, when)
	}
	for _, bad := range []string{``, `{}`, `{"time":"yesterday"}`, `{"time":"2026-03-01T12:00:00Z`, `{"outcome":"stored","time":"2026-03-01T12:00:00Z"}`} {
		if _, ok := deliveryTime([]byte(bad)); ok {
			t.Errorf("deliveryTime(%q) succeeded", bad)
		}
	}
}

func TestUnplannedHires(t *testing.T) {
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	withLink := func(id string) []byte {
		return []byte(`{"comeet_id":"` + id + `","resume":{"name":"cv.pdf","url":"https://files.example/` + id + `"}}`)
	}
	save := func(id string, raw []byte) {
		t.Helper()
		if _, err := st.SaveHire(Hire{ComeetID: id, Raw: raw}, Delivery{}); err != nil {
			t.Fatal(err)
		}
	}
	save("U.1", withLink("U.1"))
	mid := time.Now().UTC()
	time.Sleep(2 * time.Millisecond)           // later hires' ReceivedAt must pass mid
	save("U.2", []byte(`{"comeet_id":"U.2"}`)) // no documents
	save("U.3", withLink("U.3"))
	save("U.4", withLink("U.4"))
	if _, err := st.PlanDocuments("U.4", DocumentLinks(withLink("U.4")), time.Now(), Validity); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		since time.Time
		want  []string
	}{
		{"all", time.Time{}, []string{"U.3", "U.1"}},
		{"since mid", mid, []string{"U.3"}},
		{"none", time.Now().Add(time.Hour), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs, err := st.UnplannedHires(tc.since)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range hs {
				got = append(got, h.ComeetID)
				if !bytes.Equal(h.Raw, withLink(h.ComeetID)) {
					t.Errorf("%s: raw payload %q", h.ComeetID, h.Raw)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
