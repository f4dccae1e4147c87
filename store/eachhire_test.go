package store

import (
	"errors"
	"slices"
	"testing"
)

func TestEachHire(t *testing.T) {
	s, _ := openTemp(t)
	for _, id := range []string{"A", "B", "C"} {
		mustSave(t, s, hireFor(t, id))
	}
	if err := s.MarkSeen("B"); err != nil {
		t.Fatal(err)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	cases := []struct {
		name    string
		stopAt  int // calls before fn fails; -1 never
		wantIDs []string
		wantErr error
	}{
		{"every hire, newest first, as List", -1, []string{"C", "B", "A"}, nil},
		{"an error from fn stops the walk", 2, []string{"C", "B"}, stop},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []Hire
			err := s.EachHire(func(h *Hire) error {
				got = append(got, *h)
				if len(got) == tc.stopAt {
					return stop
				}
				return nil
			})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if !slices.Equal(ids(got), tc.wantIDs) {
				t.Fatalf("ids %q, want %q", ids(got), tc.wantIDs)
			}
			for i, h := range got {
				w := list[i]
				if h.ComeetID != w.ComeetID || h.FirstName != w.FirstName || h.Position != w.Position ||
					h.Seq != w.Seq || h.Seen != w.Seen || !h.ReceivedAt.Equal(w.ReceivedAt) ||
					!h.UpdatedAt.Equal(w.UpdatedAt) || h.Raw != nil {
					t.Errorf("hire %d: %+v, List gives %+v", i, h, w)
				}
			}
		})
	}
}

func TestCountAtMost(t *testing.T) {
	s, _ := openTemp(t)
	steps := []struct {
		name string
		do   func(t *testing.T)
		want int
	}{
		{"empty", func(*testing.T) {}, 0},
		{"three saved", func(t *testing.T) {
			for _, id := range []string{"A", "B", "C"} {
				mustSave(t, s, hireFor(t, id))
			}
		}, 3},
		{"a redelivery is no new hire", func(t *testing.T) { mustSave(t, s, hireFor(t, "B")) }, 3},
		{"a deleted hire still counts", func(t *testing.T) {
			if err := s.Delete("A"); err != nil {
				t.Fatal(err)
			}
		}, 3},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do(t)
			got, err := s.CountAtMost()
			if err != nil || got != st.want {
				t.Fatalf("CountAtMost = %d, %v; want %d", got, err, st.want)
			}
			if n, err := s.Count(); err != nil || n > got {
				t.Errorf("Count = %d, %v: above the bound %d", n, err, got)
			}
		})
	}
}
