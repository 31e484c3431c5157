package patrol

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/internal/sqlitex"
)

// A store from before the outbox keeps its alerts and gains the outbox; a store from a newer
// facilityd is refused with a message naming patrol.store and its file.
func TestStoreSchema(t *testing.T) {
	t.Parallel()
	t.Run("before the outbox", func(t *testing.T) {
		t.Parallel()
		path := prepare(t, `CREATE TABLE alerts (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, data TEXT NOT NULL);
			CREATE TABLE events (seq INTEGER PRIMARY KEY);
			CREATE TABLE checklists (id TEXT PRIMARY KEY, data TEXT NOT NULL);
			CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
			INSERT INTO events VALUES (42)`)
		s, err := OpenStore(path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if seen, err := s.Seen(42); err != nil || !seen {
			t.Errorf("event 42 forgotten (%v): its alert would be sent again", err)
		}
		if err := s.CommitWith(0, nil, nil); err != nil {
			t.Error(err)
		}
		var n int
		if err := s.db.QueryRow(`SELECT count(*) FROM outbox`).Scan(&n); err != nil {
			t.Errorf("no outbox after adoption: %v", err)
		}
	})
	t.Run("newer refused", func(t *testing.T) {
		t.Parallel()
		path := prepare(t, `CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (7)`)
		_, err := OpenStore(path)
		want := "patrol.store " + path + " was written by a newer facilityd (schema 7, this one knows 1): restore a backup or upgrade"
		if !errors.Is(err, sqlitex.ErrNewerSchema) || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v\nwant %s", err, want)
		}
	})
}

func prepare(t *testing.T, schema string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "patrol.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(schema); err != nil {
		t.Fatal(err)
	}
	return path
}
