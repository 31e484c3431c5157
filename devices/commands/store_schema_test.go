package commands

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/facilityd/facilityd/internal/sqlitex"
)

// TestJournalFromEarlierReleaseOpens: a command journal written before delivery went through
// the journal opens with its writes listed; the ones it completed (handed to the sinks in
// process back then) are not sent to InfluxDB again, and the next write is.
func TestJournalFromEarlierReleaseOpens(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "commands.db")
	db, err := sqlitex.Open(path, sqlitex.Options{Name: "commands.store"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlitex.Migrate(context.Background(), db, "commands.store", storeSchema[:1]); err != nil {
		t.Fatal(err)
	}
	for _, result := range []string{"confirmed", "pending"} {
		if _, err := db.Exec(`INSERT INTO commands (time, device, kind, point, new, result, by, reason) VALUES
			('2025-01-01T18:00:00Z', 'LP-1', 'lighting', 'circuit_03_command', 'true', ?, 'eng-zhang', 'dark path')`, result); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	store := openStore(t, path)
	defer store.Close()
	if list, err := store.List(context.Background(), "LP-1", 10); err != nil || len(list) != 2 {
		t.Fatalf("earlier writes listed %d (%v), want 2", len(list), err)
	}
	influx := newFakeSink("influx-command", 0)
	d, err := NewDelivery(DeliveryConfig{Store: store, Sinks: []Sink{influx.sink()}})
	if err != nil {
		t.Fatal(err)
	}
	next := switchOn(t, lightingService(t, store), "circuit_04_command")
	if err := d.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := influx.ids(); !slices.Equal(got, []int64{next.ID}) {
		t.Errorf("influx handled %v, want only the write after the upgrade (%d)", got, next.ID)
	}
}
