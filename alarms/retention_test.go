package alarms

import (
	"context"
	"testing"
	"time"
)

// busyDay journals a day of a busy site at once: n transitions over alarms alarm ids, raised
// and cleared in turn, spread over the day from start. It writes rows as AppendAll does (the
// event's JSON carries its seq) in one statement, so that a year of them takes seconds.
func busyDay(t *testing.T, j *Journal, start time.Time, n, alarms int) {
	t.Helper()
	from := j.Head()
	step := int64(24*time.Hour) / int64(n)
	_, err := j.db.Exec(`WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < ?)
		INSERT INTO events(alarm_id, type, at, by, reason, notify, event)
		SELECT 'P-' || (i % ?) || '/pump_trip', CASE (i / ?) % 2 WHEN 0 THEN 'raised' ELSE 'cleared' END, ? + i * ?, 'system', '', 1, '' FROM k`,
		n, alarms, alarms, start.UnixNano(), step)
	if err != nil {
		t.Fatal(err)
	}
	_, err = j.db.Exec(`UPDATE events SET event = json_object('seq', seq, 'type', type, 'by', by, 'notify', json('true'),
		'at', strftime('%Y-%m-%dT%H:%M:%fZ', at / 1e9, 'unixepoch'), 'alarm', json_object('id', alarm_id, 'site', 'estate')) WHERE seq > ?`, from)
	if err != nil {
		t.Fatal(err)
	}
	var head int64
	if err := j.db.QueryRow(`SELECT MAX(seq) FROM events`).Scan(&head); err != nil {
		t.Fatal(err)
	}
	j.publish(uint64(head))
}

func countEvents(t *testing.T, j *Journal) int {
	t.Helper()
	var n int
	if err := j.db.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestJournalRetentionYear: a year of a busy site (400 transitions a day over 50 alarms; the
// bound is the same at 2,000, only slower to build)
// with three consumers, one of which stops handling for the last 45 days. The journal keeps
// about the retention's worth, never an event the laggard has not handled, and each alarm's
// last state; the laggard then catches up with every event in order, and the next prune
// brings the journal back to the retention's worth.
func TestJournalRetentionYear(t *testing.T) {
	ctx := context.Background()
	const days, laggardStops = 365, 320
	perDay, alarms := 400, 50
	if raceEnabled {
		// The race detector's instrumentation of the pure-Go SQLite makes the busy year take
		// minutes; a quieter year keeps the same bounds, which are relative to the day's count.
		perDay, alarms = 40, 10
	}
	const retention = 30 * 24 * time.Hour
	j, err := OpenJournal(t.TempDir() + "/alarms.db")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	h := j.Head()
	if err := j.Register("workorders", "patrol", "northbound"); err != nil {
		t.Fatal(err)
	}
	day0 := time.Unix(0, 0).UTC()
	now := day0
	prune := func() {
		t.Helper()
		for {
			n, err := j.Prune(ctx, now.Add(-retention), 20*pruneBatch)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
		}
	}
	for d := range days {
		busyDay(t, j, now, perDay, alarms)
		now = now.Add(24 * time.Hour)
		h = j.Head()
		for _, c := range []string{"workorders", "patrol"} {
			if err := j.setCursor(c, h); err != nil {
				t.Fatal(err)
			}
		}
		if d < laggardStops {
			if err := j.setCursor("northbound", h); err != nil {
				t.Fatal(err)
			}
		}
		if d%7 == 6 {
			prune()
		}
	}
	prune()
	lag, err := j.Cursor("northbound")
	if err != nil {
		t.Fatal(err)
	}
	unhandled := int(h - lag)
	if unhandled != (days-laggardStops)*perDay {
		t.Fatalf("laggard is %d events behind, want %d", unhandled, (days-laggardStops)*perDay)
	}
	if got := countEvents(t, j); got < unhandled || got > unhandled+perDay+2*alarms {
		t.Fatalf("%d events kept; want what the laggard has not handled (%d) and little more", got, unhandled)
	}

	// The laggard catches up after the prune: every event after its cursor, in order, read
	// as Follow reads them (a batch at a time); its cursor then moves to the head.
	next := lag + 1
	for cur := lag; cur < h; {
		evs, err := j.since(ctx, cur)
		if err != nil || len(evs) == 0 {
			t.Fatalf("laggard stuck at %d of %d: %v", cur, h, err)
		}
		for _, e := range evs {
			if e.Seq != next {
				t.Fatalf("laggard got seq %d, want %d: an event it had not handled was pruned", e.Seq, next)
			}
			next++
		}
		cur = evs[len(evs)-1].Seq
	}
	if got := int(next - lag - 1); got != unhandled {
		t.Fatalf("laggard caught up with %d events, want %d", got, unhandled)
	}
	if err := j.setCursor("northbound", h); err != nil {
		t.Fatal(err)
	}

	prune()
	want := int(retention/(24*time.Hour)) * perDay
	if n := countEvents(t, j); n < want || n > want+perDay+2*alarms {
		t.Fatalf("%d events kept after the catch-up, want about the retention's %d", n, want)
	}
	latest, err := j.latest()
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != alarms {
		t.Fatalf("the engine would restore %d alarms, want all %d", len(latest), alarms)
	}
}

// TestJournalPruneKeepsState: an alarm raised once, long ago, and acknowledged keeps its
// raise and its last event however old: the engine restores it as it was.
func TestJournalPruneKeepsState(t *testing.T) {
	h := newHarness(t, builtinConfig(), estate(t)...)
	h.must(h.j.Register("workorders"))
	h.set("P-1", "fault", 1, "overload", 1)
	h.clk.advance(time.Minute)
	h.must(h.eng.Ack("P-1/pump_trip", "op-zhang", "seen"))
	for range 3 {
		h.clk.advance(time.Minute)
		h.must(h.eng.Shelve("P-1/pump_trip", "op-zhang", "pump replaced", time.Minute, false))
		h.clk.advance(time.Minute)
		h.must(h.eng.Unshelve("P-1/pump_trip", "op-zhang", "back"))
	}
	h.must(h.j.setCursor("workorders", h.j.Head()))
	h.clk.advance(2 * 365 * 24 * time.Hour)
	n, err := h.j.PruneAll(context.Background(), h.clk.now().Add(-365*24*time.Hour))
	h.must(err)
	evs, err := h.j.History(context.Background(), "P-1/pump_trip", 0)
	h.must(err)
	if n == 0 || len(evs) != 2 || evs[0].Type != EventRaised {
		t.Fatalf("pruned %d; kept %+v, want the raise and the last event", n, evs)
	}
	h.restart()
	if a := h.alarm("P-1/pump_trip"); a.State != StateAcknowledged || !a.Active {
		t.Fatalf("restored %s active=%v, want an acknowledged active alarm", a.State, a.Active)
	}
}
