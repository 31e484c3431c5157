package workorders

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/internal/testutil"
)

// bookSource names one order book that a test can open, close and open again: a process that
// dies and restarts, or several gateways sharing it.
type bookSource struct {
	name   string
	driver string
	source func(t *testing.T) string
}

func bookSources() []bookSource {
	return []bookSource{
		{"sqlite", "sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "wo.db") }},
		{"postgres", "postgres", freshPostgres},
	}
}

// gateway is one facilityd's work-order manager over a store of its own.
func gateway(t *testing.T, st Store, clock *testutil.Clock, n Notifier, pub Publisher) *Manager {
	t.Helper()
	cfg, devs := estate()
	m, err := New(cfg, "estate", devs, st, Options{Clock: clock.Now, Notifier: n, Publisher: pub})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func deliverAll(t *testing.T, m *Manager) int {
	t.Helper()
	n, err := m.DeliverOutbox(context.Background())
	if err != nil {
		t.Fatalf("deliver the outbox: %v", err)
	}
	return n
}

// TestOutboxCrashBeforeDelivery: an order is raised and assigned, and facilityd dies before
// its Run delivered anything. After the restart the team and the technician hear of it once
// each, with ids that stay the same, and nothing more on the next round.
func TestOutboxCrashBeforeDelivery(t *testing.T) {
	for _, b := range bookSources() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			src := b.source(t)
			clock := testutil.NewClock(time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai))
			before := &fakeNotifier{}
			st, err := OpenStore(ctx, b.driver, src)
			if err != nil {
				t.Fatal(err)
			}
			m := gateway(t, st, clock, before, &fakePublisher{})
			o, err := m.HandleAlarm(ctx, raised("P-1", "pump", "north", "pump_trip", alarms.ClassEquipment, clock.Now()))
			if err != nil || o == nil {
				t.Fatalf("order from alarm: %v %v", o, err)
			}
			if _, err := m.Transition(ctx, o.ID, ActionAssign, Input{By: "sup-li", To: "tech-chen"}); err != nil {
				t.Fatal(err)
			}
			st.Close() // the process dies: Run never delivered

			if len(before.sent) != 0 {
				t.Fatalf("sent from the request path: %+v", before.sent)
			}
			st2 := mustOpen(t, b.driver, src)
			after, pub := &fakeNotifier{}, &fakePublisher{}
			m2 := gateway(t, st2, clock, after, pub)
			if n := deliverAll(t, m2); n != 2 {
				t.Fatalf("delivered %d after the restart, want the order's and the assignment's", n)
			}
			if n := deliverAll(t, m2); n != 0 {
				t.Fatalf("delivered %d more on the next round", n)
			}
			created, assigned := after.sent[0], after.sent[1]
			if created.Order != o.ID || created.To[0] != "north-team" || assigned.Assignee != "tech-chen" {
				t.Fatalf("delivered %+v", after.sent)
			}
			if created.ID == 0 || assigned.ID == created.ID {
				t.Fatalf("outbox ids %d and %d must be set and distinct", created.ID, assigned.ID)
			}
			if h := pub.on(HandsetTopic("estate", "h-chen")); len(h) != 1 {
				t.Fatalf("the technician's handset heard %d times, want once", len(h))
			}
			if n, _ := st2.Backlog(ctx); n != 0 {
				t.Fatalf("backlog %d after delivery", n)
			}
		})
	}
}

// flaky fails every delivery until told otherwise, recording the ids it was tried with.
type flaky struct {
	mu    sync.Mutex
	fails int
	tried []int64
}

func (f *flaky) fail(n Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tried = append(f.tried, n.ID)
	if f.fails > 0 {
		f.fails--
		return errors.New("broker away")
	}
	return nil
}

// TestOutboxRetriesUntilDelivered: a notifier that fails twice then works delivers the
// notification once, under one id, after a backoff the clock measures, and no later round
// sends it again.
func TestOutboxRetriesUntilDelivered(t *testing.T) {
	for _, b := range bookSources() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			clock := testutil.NewClock(time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai))
			f := &flaky{fails: 2}
			note := &fakeNotifier{fail: f.fail}
			m := gateway(t, mustOpen(t, b.driver, b.source(t)), clock, note, nil)
			if _, err := m.Raise(ctx, RaiseRequest{Location: "3-1802", Title: "kitchen tap drips", By: "cs-liu"}); err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				name      string
				step      time.Duration
				delivered int
				tries     int
			}{
				{"the first try fails", 0, 0, 1},
				{"no retry before the backoff", retryAfter(0) - time.Second, 0, 1},
				{"the second try fails", time.Second, 0, 2},
				{"the third try, after a longer backoff, works", retryAfter(1), 1, 3},
				{"nothing later", time.Hour, 0, 3},
			}
			for _, s := range steps {
				clock.Step(s.step)
				if n := deliverAll(t, m); n != s.delivered || len(f.tried) != s.tries {
					t.Fatalf("%s: delivered %d, tried %d times; want %d, %d", s.name, n, len(f.tried), s.delivered, s.tries)
				}
			}
			if got := note.ofType("assigned"); len(got) != 1 {
				t.Fatalf("delivered %d times, want once", len(got))
			}
			if f.tried[0] != f.tried[1] || f.tried[1] != f.tried[2] {
				t.Fatalf("a retry must keep its id: %v", f.tried)
			}
		})
	}
}

// TestOutboxSharedBookDeliversOnce: two gateways on one order book deliver its notifications
// together, and each goes out from exactly one of them.
func TestOutboxSharedBookDeliversOnce(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			clock := testutil.NewClock(time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai))
			s1, s2 := b.open(t)
			n1, n2 := &fakeNotifier{}, &fakeNotifier{}
			g1, g2 := gateway(t, s1, clock, n1, nil), gateway(t, s2, clock, n2, nil)
			const orders = 40
			for i := range orders {
				if _, err := g1.Raise(ctx, RaiseRequest{Location: fmt.Sprintf("3-%d", 1800+i), Title: "no hot water", By: "cs-liu"}); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			for _, g := range []*Manager{g1, g2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := g.DeliverOutbox(ctx); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			seen := map[int64]bool{}
			for _, n := range append(append([]Notification{}, n1.sent...), n2.sent...) {
				if seen[n.ID] {
					t.Fatalf("notification %d delivered twice", n.ID)
				}
				seen[n.ID] = true
			}
			if len(seen) != orders {
				t.Fatalf("delivered %d notifications, want %d", len(seen), orders)
			}
		})
	}
}

// blockingNotifier holds every delivery until released.
type blockingNotifier struct {
	entered chan Notification
	release chan struct{}
}

func (b *blockingNotifier) Notify(ctx context.Context, n Notification) error {
	b.entered <- n
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestRequestDoesNotWaitForNotifier: raising an order returns while the notifier is stuck;
// Run delivers the notification by itself.
func TestRequestDoesNotWaitForNotifier(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	clock := testutil.NewClock(time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai))
	bn := &blockingNotifier{entered: make(chan Notification, 1), release: make(chan struct{})}
	m := gateway(t, mustOpen(t, "sqlite", filepath.Join(t.TempDir(), "wo.db")), clock, bn, nil)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	raisedOrder := make(chan *Order, 1)
	go func() {
		o, err := m.Raise(ctx, RaiseRequest{Location: "3-1802", Title: "door lock broken", By: "cs-liu"})
		if err != nil {
			t.Error(err)
		}
		raisedOrder <- o
	}()
	watchdog := time.NewTimer(10 * time.Second) // fails the test, never paces it
	defer watchdog.Stop()
	var o *Order
	select {
	case o = <-raisedOrder:
	case <-watchdog.C:
		t.Fatal("Raise waits for the notifier")
	}
	select {
	case n := <-bn.entered:
		if n.Order != o.ID || n.ID == 0 {
			t.Fatalf("Run delivered %+v for %s", n, o.ID)
		}
	case <-watchdog.C:
		t.Fatal("Run never delivered the notification")
	}
	close(bn.release)
}

// TestWarrantyReminderOnceAcrossRestart: the reminder of a warranty's end is sent once, not
// again by the next process's first check.
func TestWarrantyReminderOnceAcrossRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wo.db")
	clock := testutil.NewClock(time.Date(2026, 3, 20, 10, 0, 0, 0, shanghai)) // E-1's warranty ends 2026-04-15
	total := 0
	for run := range 2 {
		note := &fakeNotifier{}
		m := gateway(t, mustOpen(t, "sqlite", path), clock, note, nil)
		if err := m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		deliverAll(t, m)
		total += len(note.ofType("warranty"))
		if total != 1 {
			t.Fatalf("run %d: %d warranty reminders in all, want 1", run+1, total)
		}
	}
}

// TestOutboxRetention: a year and more of a busy order book keeps about the retention's worth
// of delivered notifications, and every undelivered one however old.
func TestOutboxRetention(t *testing.T) {
	ctx := context.Background()
	clock := testutil.NewClock(time.Date(2025, 1, 1, 8, 0, 0, 0, shanghai))
	st := mustOpen(t, "sqlite", filepath.Join(t.TempDir(), "wo.db"))
	stuck := &fakeNotifier{fail: func(n Notification) error {
		if n.Type == "stuck" {
			return errors.New("no such handset")
		}
		return nil
	}}
	m := gateway(t, st, clock, stuck, nil)
	m.cfg.Retention = 30 * 24 * time.Hour
	if _, err := st.Enqueue(ctx, "", Notification{Type: "stuck", At: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	const perDay, days = 6, 400
	for day := range days {
		for i := range perDay {
			if _, err := st.Enqueue(ctx, "", Notification{Type: "breach", Order: fmt.Sprintf("WO-%d", day*perDay+i), At: clock.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		deliverAll(t, m)
		if day%7 == 0 {
			if _, err := m.Prune(ctx); err != nil {
				t.Fatal(err)
			}
		}
		clock.Step(24 * time.Hour)
	}
	if _, err := m.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := st.(*SQLStore).db.QueryRow(`SELECT COUNT(*) FROM workorder_outbox`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if want := 30 * perDay; rows < want || rows > want+perDay+1 {
		t.Fatalf("%d rows after %d days, want about the retention's %d", rows, days, want)
	}
	if n, _ := st.Backlog(ctx); n != 1 {
		t.Fatalf("the undelivered notification must stay: backlog %d", n)
	}
}

// TestRaisesRetention: an alarm raise applied long ago is pruned after the retention, one
// applied recently stays and still keeps a redelivery from counting twice.
func TestRaisesRetention(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2025, 1, 1, 8, 0, 0, 0, shanghai)
	r := newRig(t, start, nil)
	old := raised("P-1", "pump", "north", "pump_trip", alarms.ClassEquipment, start)
	if _, err := r.m.HandleAlarm(ctx, old); err != nil {
		t.Fatal(err)
	}
	r.clock.Step(400 * 24 * time.Hour)
	recent := raised("P-2", "pump", "north", "pump_trip", alarms.ClassEquipment, r.clock.Now())
	if _, err := r.m.HandleAlarm(ctx, recent); err != nil {
		t.Fatal(err)
	}
	deliverAll(t, r.m)
	if _, err := r.m.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	var raises int
	if err := r.m.store.(*SQLStore).db.QueryRow(`SELECT COUNT(*) FROM workorder_alarm_events`).Scan(&raises); err != nil {
		t.Fatal(err)
	}
	if raises != 1 {
		t.Fatalf("%d raises kept, want the recent one", raises)
	}
	if again, err := r.m.HandleAlarm(ctx, recent); err != nil || again != nil {
		t.Fatalf("the recent raise delivered again: %v %v, want nothing", again, err)
	}
}
