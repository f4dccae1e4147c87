package ui

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"

	"hirebell/store"
)

// Notification pacing: up to burstLimit hires in any burstWindow each get
// their own notification; the rest of a burst is told in one summary when
// the window has passed.
const (
	burstLimit  = 3
	burstWindow = time.Second
)

// hireNotification is the desktop notification for one new hire: the
// person's name as title, position and start date as body.
func hireNotification(h store.Hire) *fyne.Notification {
	title := h.Name()
	if title == "" {
		title = "New hire"
	}
	pos, start := strings.TrimSpace(h.Position), friendlyDate(h.StartDate)
	var content string
	switch {
	case pos != "" && start != "":
		content = pos + ", starts " + start
	case pos != "":
		content = pos
	case start != "":
		content = "Starts " + start
	default:
		content = "Hired in Comeet"
	}
	return fyne.NewNotification(title, content)
}

// friendlyDate writes an ISO date as people read it ("4 Jan 2027") and
// leaves anything else as Comeet sent it.
func friendlyDate(s string) string {
	s = strings.TrimSpace(s)
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.Format("2 Jan 2006")
	}
	return s
}

// summaryNotification tells of n hires that did not get their own
// notification because they came in a burst.
func summaryNotification(n int) *fyne.Notification {
	title := fmt.Sprintf("%d new hires", n)
	if n == 1 {
		title = "1 new hire"
	}
	return fyne.NewNotification(title, "Open Hirebell to see who joined.")
}

// burstLimiter decides, hire by hire, whether a notification goes out now
// or is held for a summary. It has no clock of its own, so it is tested
// with explicit times. Not safe for concurrent use.
type burstLimiter struct {
	limit  int
	window time.Duration
	sent   []time.Time // notifications sent within the last window
	held   int         // hires waiting for the summary
}

// admit records one hire at now and reports whether it gets its own
// notification right away.
func (b *burstLimiter) admit(now time.Time) bool {
	b.forget(now)
	if b.held == 0 && len(b.sent) < b.limit {
		b.sent = append(b.sent, now)
		return true
	}
	b.held++
	return false
}

// due returns when the held hires should be summarised; ok is false when
// nothing is held.
func (b *burstLimiter) due() (at time.Time, ok bool) {
	if b.held == 0 {
		return time.Time{}, false
	}
	if len(b.sent) == 0 {
		return time.Time{}, true
	}
	return b.sent[0].Add(b.window), true
}

// flush returns how many hires the summary sent at now covers, and counts
// the summary as one notification in the window.
func (b *burstLimiter) flush(now time.Time) int {
	n := b.held
	b.held = 0
	b.forget(now)
	if n > 0 {
		b.sent = append(b.sent, now)
	}
	return n
}

// forget drops sends older than the window.
func (b *burstLimiter) forget(now time.Time) {
	i := 0
	for i < len(b.sent) && now.Sub(b.sent[i]) >= b.window {
		i++
	}
	b.sent = append(b.sent[:0], b.sent[i:]...)
}

// notifier sends the notifications of new hires from its own goroutine:
// sending is a D-Bus round trip, and hires must never wait on it. The
// first hires of a burst go out at once; the rest are summarised.
type notifier struct {
	send func(*fyne.Notification)

	mu      sync.Mutex
	queue   []store.Hire
	stopped bool
	wake    chan struct{} // capacity 1: "the queue has something"
	stop    chan struct{}
	done    chan struct{}
}

// newNotifier starts a notifier that hands notifications to send.
func newNotifier(send func(*fyne.Notification)) *notifier {
	n := &notifier{
		send: send,
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go n.run(&burstLimiter{limit: burstLimit, window: burstWindow})
	return n
}

// hire queues the notification of a new hire. It never blocks.
func (n *notifier) hire(h store.Hire) {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return
	}
	n.queue = append(n.queue, h)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default: // already woken; the worker takes the whole queue
	}
}

// close stops the notifier; hires queued or held are dropped. It does not
// wait for a notification being sent (a D-Bus call that may hang); done is
// closed when the worker has ended.
func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return
	}
	n.stopped = true
	close(n.stop)
}

func (n *notifier) run(lim *burstLimiter) {
	defer close(n.done)
	var timer *time.Timer
	var summary <-chan time.Time
	for {
		select {
		case <-n.stop:
			if timer != nil {
				timer.Stop()
			}
			return
		case <-n.wake:
			n.mu.Lock()
			batch := n.queue
			n.queue = nil
			n.mu.Unlock()
			for _, h := range batch {
				if lim.admit(time.Now()) {
					n.send(hireNotification(h))
				}
			}
			if at, ok := lim.due(); ok && summary == nil {
				timer = time.NewTimer(time.Until(at))
				summary = timer.C
			}
		case <-summary:
			summary, timer = nil, nil
			if k := lim.flush(time.Now()); k > 0 {
				n.send(summaryNotification(k))
			}
		}
	}
}
