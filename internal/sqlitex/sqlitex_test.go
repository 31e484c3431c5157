package sqlitex

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func open(t *testing.T, path string, opts Options) *sql.DB {
	t.Helper()
	db, err := Open(path, opts)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRow(`PRAGMA ` + name).Scan(&v); err != nil {
		t.Fatalf("pragma %s: %v", name, err)
	}
	return v
}

// Every store gets WAL and synchronous=FULL (a committed row survives a power cut); the
// order book's longer wait and foreign keys are its own.
func TestOpenPragmas(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		opts        Options
		busy, fkeys string
	}{
		{"journal defaults", Options{Name: "alarms.journal"}, "5000", "0"},
		{"order book", Options{Name: "workorders.store", BusyTimeout: 10 * time.Second, ForeignKeys: true, ImmediateTx: true}, "10000", "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := open(t, filepath.Join(t.TempDir(), "s.db"), tc.opts)
			want := map[string]string{"journal_mode": "wal", "synchronous": "2", "busy_timeout": tc.busy, "foreign_keys": tc.fkeys}
			for p, w := range want {
				if got := pragma(t, db, p); got != w {
					t.Errorf("%s = %s, want %s", p, got, w)
				}
			}
			if n := db.Stats().MaxOpenConnections; n != 1 {
				t.Errorf("%d connections allowed, want 1 (one writer per process)", n)
			}
		})
	}
}

// A state directory that does not exist yet is made, as the journal always made its own.
func TestOpenMakesFolder(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state", "sub", "alarms.db")
	db := open(t, path, Options{Name: "alarms.journal"})
	if _, err := db.Exec(`CREATE TABLE x (a)`); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("no database file: %v", err)
	}
}

// A folder that cannot be made is named with the setting that points there.
func TestOpenFolderIsAFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(filepath.Join(file, "patrol.db"), Options{Name: "patrol.store"})
	if err == nil || !strings.Contains(err.Error(), "patrol.store") || !strings.Contains(err.Error(), "folder") {
		t.Fatalf("err = %v, want patrol.store and its folder named", err)
	}
}

var steps = []Migration{
	{SQL: `CREATE TABLE IF NOT EXISTS alerts (id TEXT PRIMARY KEY, data TEXT NOT NULL)`},
	{SQL: `ALTER TABLE alerts ADD COLUMN zone TEXT NOT NULL DEFAULT ''`},
	{SQL: `CREATE TABLE claims (alert TEXT NOT NULL, guard TEXT NOT NULL); CREATE INDEX claims_alert ON claims (alert)`},
}

func version(t *testing.T, db *sql.DB) int {
	t.Helper()
	v, err := Version(context.Background(), db, "")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A new file gets every step, and opening it again changes nothing.
func TestMigrateFresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "p.db"), Options{})
	for range 2 {
		if err := Migrate(ctx, db, "patrol.store", steps); err != nil {
			t.Fatal(err)
		}
	}
	if v := version(t, db); v != 3 {
		t.Errorf("version %d, want 3", v)
	}
	if _, err := db.Exec(`INSERT INTO alerts (id, data, zone) VALUES ('A1', '{}', 'north'); INSERT INTO claims VALUES ('A1', 'li')`); err != nil {
		t.Errorf("the schema of all three steps: %v", err)
	}
}

// A file made by a release that ran CREATE TABLE IF NOT EXISTS at each start, before
// versions were recorded, keeps its rows and goes on from version 1.
func TestMigrateAdoptsPreMigrationDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	old := open(t, path, Options{})
	if _, err := old.Exec(steps[0].SQL + `; INSERT INTO alerts VALUES ('A1', '{"claimed":true}')`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db := open(t, path, Options{})
	if err := Migrate(ctx, db, "patrol.store", steps); err != nil {
		t.Fatalf("an old store must open: %v", err)
	}
	var data, zone string
	if err := db.QueryRow(`SELECT data, zone FROM alerts WHERE id = 'A1'`).Scan(&data, &zone); err != nil || data != `{"claimed":true}` {
		t.Errorf("the old alert: %q %q %v", data, zone, err)
	}
	if v := version(t, db); v != 3 {
		t.Errorf("version %d, want 3", v)
	}
}

// A file a newer facilityd migrated is refused, naming the setting, the file, both versions
// and what to do, and left as it is.
func TestMigrateRefusesNewerDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	db := open(t, path, Options{})
	newer := append(append([]Migration{}, steps...), Migration{SQL: `CREATE TABLE a (x)`}, Migration{SQL: `CREATE TABLE b (x)`},
		Migration{SQL: `CREATE TABLE c (x)`}, Migration{SQL: `CREATE TABLE d (x)`})
	if err := Migrate(ctx, db, "patrol.store", newer); err != nil {
		t.Fatal(err)
	}
	err := Migrate(ctx, db, "patrol.store", steps)
	var ne *NewerSchemaError
	if !errors.As(err, &ne) || !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("err = %v, want a NewerSchemaError", err)
	}
	want := "patrol.store " + path + " was written by a newer facilityd (schema 7, this one knows 3): restore a backup or upgrade"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	if v := version(t, db); v != 7 {
		t.Errorf("version %d after refusing, want 7 untouched", v)
	}
}

// A step that fails takes the steps before it in the same run with it: the file stays at
// its old version with its old tables, and the error names the step.
func TestMigrateFailingStepRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "p.db"), Options{})
	if err := Migrate(ctx, db, "patrol.store", steps[:1]); err != nil {
		t.Fatal(err)
	}
	broken := append(append([]Migration{}, steps[:2]...), Migration{SQL: `CREATE TABLE claims (`})
	err := Migrate(ctx, db, "patrol.store", broken)
	if err == nil || !strings.Contains(err.Error(), "schema step 3 of 3") || !strings.Contains(err.Error(), "stays at schema 1") {
		t.Fatalf("err = %v, want step 3 named and schema 1 kept", err)
	}
	if v := version(t, db); v != 1 {
		t.Errorf("version %d, want 1", v)
	}
	if _, err := db.Exec(`SELECT zone FROM alerts`); err == nil {
		t.Error("step 2's column is there: the failed run was not rolled back")
	}
	if err := Migrate(ctx, db, "patrol.store", steps); err != nil {
		t.Errorf("the fixed binary must migrate the same file: %v", err)
	}
}

// Two processes opening one file together (two gateways on one order book) both end at the
// last version, each step applied once.
func TestMigrateTwoOpenersAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wo.db")
	a, b := open(t, path, Options{}), open(t, path, Options{})
	errs := make(chan error, 2)
	for _, db := range []*sql.DB{a, b} {
		go func() { errs <- Migrate(ctx, db, "workorders.store", steps) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	var rows int
	if err := a.QueryRow(`SELECT count(*) FROM ` + DefaultTable).Scan(&rows); err != nil || rows != 3 {
		t.Errorf("%d version rows (%v), want 3: a step ran twice or not at all", rows, err)
	}
}

// The version table is put into SQL text, so only a plain name is taken.
func TestMigrateRejectsOddTableName(t *testing.T) {
	t.Parallel()
	db := open(t, filepath.Join(t.TempDir(), "p.db"), Options{})
	err := Migrations{Name: "x", Table: "v; DROP TABLE alerts", Steps: steps}.Apply(context.Background(), db)
	if err == nil {
		t.Fatal("an odd table name was accepted")
	}
}
