package alarms

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/facilityd/facilityd/internal/sqlitex"
)

// A journal written by the first release (events only, no consumer cursors, no version)
// opens with its events and gains the cursors table; one from a newer facilityd is refused.
func TestJournalSchema(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		prepare string
		refused bool
	}{
		{"first release adopted", `CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, alarm_id TEXT NOT NULL,
			type TEXT NOT NULL, at INTEGER NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL, notify INTEGER NOT NULL,
			event TEXT NOT NULL);
			CREATE INDEX events_alarm ON events(alarm_id, seq);
			INSERT INTO events (alarm_id, type, at, by, reason, notify, event) VALUES ('P-1/fault', 'raise', 1, '', '', 1, '{}')`, false},
		{"newer refused", `CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (9)`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "alarms.db")
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(tc.prepare); err != nil {
				t.Fatal(err)
			}
			db.Close()
			j, err := OpenJournal(path)
			if tc.refused {
				if !errors.Is(err, sqlitex.ErrNewerSchema) {
					t.Fatalf("err = %v, want the newer schema refused", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			if j.head != 1 {
				t.Errorf("head %d, want the old journal's event 1", j.head)
			}
			if _, err := j.db.Exec(`INSERT INTO cursors (name, seq) VALUES ('patrol', 1)`); err != nil {
				t.Errorf("no cursors table after adoption: %v", err)
			}
		})
	}
}
