package ui

import (
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"hirebell/store"
)

func TestHireNotification(t *testing.T) {
	tests := []struct {
		name           string
		hire           store.Hire
		title, content string
	}{
		{"full", store.Hire{FirstName: "Ada", MiddleName: "K.", LastName: "Lovelace", Position: "Engineer", StartDate: "2027-01-04"},
			"Ada K. Lovelace", "Engineer, starts 4 Jan 2027"},
		{"date as sent when not ISO", store.Hire{FirstName: "Noa", Position: "Designer", StartDate: "next Monday"},
			"Noa", "Designer, starts next Monday"},
		{"no start date", store.Hire{FirstName: "Noa", LastName: "Levi", Position: "Designer"}, "Noa Levi", "Designer"},
		{"no position", store.Hire{FirstName: "Noa", StartDate: "2027-02-01"}, "Noa", "Starts 1 Feb 2027"},
		{"nothing but the id", store.Hire{ComeetID: "X1"}, "New hire", "Hired in Comeet"},
		{"unicode", store.Hire{FirstName: "נועה", LastName: "לוי", Position: "מפתחת"}, "נועה לוי", "מפתחת"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := hireNotification(tt.hire)
			if n.Title != tt.title || n.Content != tt.content {
				t.Errorf("got %q / %q, want %q / %q", n.Title, n.Content, tt.title, tt.content)
			}
		})
	}
}

func TestSummaryNotification(t *testing.T) {
	if got := summaryNotification(5).Title; got != "5 new hires" {
		t.Errorf("title = %q", got)
	}
	if got := summaryNotification(1).Title; got != "1 new hire" {
		t.Errorf("title = %q", got)
	}
}

func TestBurstLimiter(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	t.Run("a few in a second each get their own", func(t *testing.T) {
		b := &burstLimiter{limit: 3, window: time.Second}
		for _, ms := range []int{0, 10, 20} {
			if !b.admit(at(ms)) {
				t.Fatalf("hire at %d ms was held", ms)
			}
		}
		if _, ok := b.due(); ok {
			t.Error("a summary is due though nothing was held")
		}
	})

	t.Run("past the limit they are summarised when the window ends", func(t *testing.T) {
		b := &burstLimiter{limit: 3, window: time.Second}
		sent := 0
		for i := range 10 {
			if b.admit(at(i)) {
				sent++
			}
		}
		if sent != 3 {
			t.Fatalf("%d sent at once, want 3", sent)
		}
		due, ok := b.due()
		if !ok || !due.Equal(at(1000)) {
			t.Fatalf("summary due %v (%v), want one second after the first", due, ok)
		}
		if n := b.flush(due); n != 7 {
			t.Fatalf("summary covers %d, want 7", n)
		}
		if _, ok := b.due(); ok {
			t.Error("still due after flush")
		}
	})

	t.Run("a hire during a held burst joins the summary", func(t *testing.T) {
		b := &burstLimiter{limit: 2, window: time.Second}
		b.admit(at(0))
		b.admit(at(1))
		b.admit(at(2)) // held
		// The window of the first has passed, but the summary has not
		// gone yet: a new hire must not overtake it.
		if b.admit(at(1001)) {
			t.Fatal("a hire overtook the pending summary")
		}
		if n := b.flush(at(1002)); n != 2 {
			t.Fatalf("summary covers %d, want 2", n)
		}
	})

	t.Run("after a quiet second it sends at once again", func(t *testing.T) {
		b := &burstLimiter{limit: 2, window: time.Second}
		b.admit(at(0))
		b.admit(at(1))
		b.admit(at(2))
		b.flush(at(1000))
		// The summary counts as one in its window; one slot is left.
		if !b.admit(at(1500)) {
			t.Fatal("hire after the summary was held")
		}
		if b.admit(at(1600)) {
			t.Fatal("third in the window was sent")
		}
		if due, _ := b.due(); !due.Equal(at(2000)) {
			t.Fatalf("summary due at %v, want one second after the first summary", due)
		}
		if n := b.flush(at(2000)); n != 1 {
			t.Fatalf("flush = %d, want 1", n)
		}
		if !b.admit(at(5000)) {
			t.Fatal("hire after a quiet period was held")
		}
	})
}

func TestNotifierSummarisesABurst(t *testing.T) {
	got := make(chan *fyne.Notification, 32)
	n := newNotifier(func(x *fyne.Notification) { got <- x })
	t.Cleanup(n.close)

	for i := range 8 {
		n.hire(store.Hire{ComeetID: fmt.Sprint(i), FirstName: fmt.Sprintf("Person%d", i)})
	}
	var titles []string
	deadline := time.After(5 * time.Second)
	for len(titles) < burstLimit+1 {
		select {
		case x := <-got:
			titles = append(titles, x.Title)
		case <-deadline:
			t.Fatalf("got %v, want %d single notifications and a summary", titles, burstLimit)
		}
	}
	want := fmt.Sprint([]string{"Person0", "Person1", "Person2", "5 new hires"})
	if fmt.Sprint(titles) != want {
		t.Errorf("notifications = %v, want %v", titles, want)
	}
}

func TestNotifierCloseStopsWorker(t *testing.T) {
	n := newNotifier(func(*fyne.Notification) {})
	n.close()
	n.close() // twice is fine
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		t.Fatal("worker did not stop")
	}
	n.hire(store.Hire{ComeetID: "late"}) // after close: dropped, no panic
}
