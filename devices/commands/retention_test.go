package commands

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestCommandJournalRetention: a year on, a write every sink has handled is gone from the
// journal, and one a sink has not handled yet (InfluxDB away) is still there; a write cut short
// by a crash a year ago goes too; the newest completed write stays, since the next one counts
// its position from it.
func TestCommandJournalRetention(t *testing.T) {
	t.Parallel()
	store := openStore(t, filepath.Join(t.TempDir(), "commands.db"))
	defer store.Close()
	events, influx := newFakeSink("event-stream", 0), newFakeSink("influx-command", 0)
	d, err := NewDelivery(DeliveryConfig{Store: store, Sinks: []Sink{events.sink(), influx.sink()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	old := now.Add(-DefaultRetention - 24*time.Hour)
	journal := func(at time.Time, complete bool) int64 {
		r := Record{Time: at, Device: "LP-1", Kind: "lighting", Point: "circuit_01_command", New: true, By: "eng-wu", Reason: "night round"}
		if err := store.begin(ctx, &r); err != nil {
			t.Fatal(err)
		}
		if complete {
			r.Result, r.Done = ResultConfirmed, at
			if err := store.finish(&r); err != nil {
				t.Fatal(err)
			}
		}
		return r.ID
	}
	handledOld := journal(old, true)
	cutShort := journal(old, false)
	if err := d.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	// InfluxDB is away from here on: only the event stream moves.
	unhandledOld := journal(old, true)
	if err := (&Delivery{cfg: DeliveryConfig{Store: store, Sinks: []Sink{events.sink()}, Backoff: noBackoff}}).CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	recent := journal(now.Add(-time.Hour), true)

	n, err := store.PruneAll(ctx, now.Add(-DefaultRetention))
	if err != nil {
		t.Fatal(err)
	}
	list, err := store.List(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var kept []int64
	for _, r := range list {
		kept = append(kept, r.ID)
	}
	slices.Sort(kept)
	if want := []int64{unhandledOld, recent}; !slices.Equal(kept, want) || n != 2 {
		t.Errorf("after pruning %d, journal holds %v, want %v (pruned %d and %d)", n, kept, want, handledOld, cutShort)
	}

	// Every sink has handled everything: the old records go, the newest stays however old.
	if err := d.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PruneAll(ctx, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if list, _ = store.List(ctx, "", 100); len(list) != 1 || list[0].ID != recent {
		t.Errorf("journal holds %+v, want only the newest write %d", list, recent)
	}
	next := journal(now, true)
	if err := d.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if got := influx.ids(); got[len(got)-1] != next {
		t.Errorf("influx handled %v, want the write after the prune (%d) last", got, next)
	}
}
