package sqlitex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultTable is where a store records its schema version when Migrations.Table is empty.
const DefaultTable = "schema_version"

// Migration is one step of a store's schema. A step's number is its place in the list,
// counting from 1; a released step is never edited, moved or removed, only followed by new
// ones, since databases in the field record the number they reached.
type Migration struct {
	// SQL is run as one Exec: several statements separated by semicolons are allowed on
	// SQLite (the modernc driver runs them all); PostgreSQL takes one statement a step.
	SQL string
}

// Migrations is one store's schema: its steps and where the version reached is recorded.
type Migrations struct {
	// Name is the store's configuration key (alarms.journal, patrol.store), used in errors.
	Name string
	// Table records the version: one row per step applied, the highest is the version. Empty
	// means DefaultTable. The order book keeps its own (workorder_schema), since on
	// PostgreSQL it may share a database with other programs.
	Table string
	// Steps are the migrations, step i+1 at index i.
	Steps []Migration
	// Lock, when set, runs first inside the migration transaction. The PostgreSQL order book
	// takes an advisory lock there so that two gateways starting together migrate one after
	// the other.
	Lock func(ctx context.Context, tx *sql.Tx) error
}

// ErrNewerSchema is what a NewerSchemaError matches with errors.Is.
var ErrNewerSchema = errors.New("database schema is newer than this facilityd knows")

// NewerSchemaError refuses a database that a newer facilityd has migrated past the steps
// this binary knows: opening it would run old code on tables it does not understand. The
// way out is a person's: restore the backup taken before the upgrade, or upgrade again.
type NewerSchemaError struct {
	Name string // configuration key, e.g. patrol.store
	File string // the database file, when SQLite reports one
	Have int    // the version recorded in the database
	Know int    // the highest version this binary has steps for
}

func (e *NewerSchemaError) Error() string {
	where := e.Name
	if e.File != "" {
		where += " " + e.File
	}
	return fmt.Sprintf("%s was written by a newer facilityd (schema %d, this one knows %d): restore a backup or upgrade",
		where, e.Have, e.Know)
}

// Is makes errors.Is(err, ErrNewerSchema) true.
func (e *NewerSchemaError) Is(target error) bool { return target == ErrNewerSchema }

// Migrate brings db forward to the last of steps, recording the version in DefaultTable.
// See Migrations.Apply.
func Migrate(ctx context.Context, db *sql.DB, name string, steps []Migration) error {
	return Migrations{Name: name, Steps: steps}.Apply(ctx, db)
}

// Apply runs the steps the database has not had yet, in order, forward only, all in one
// transaction: a step that fails leaves the database as it was, at its old version. A
// database with a higher version than len(Steps) is refused with a *NewerSchemaError.
//
// A database made before its store recorded versions has no version table and so is at
// version 0; step 1 of such a store repeats the CREATE TABLE IF NOT EXISTS statements that
// made it, which adopts the file unchanged as version 1 (adding only the tables a later
// release of that time added, as opening it always did).
func (m Migrations) Apply(ctx context.Context, db *sql.DB) error {
	table := m.Table
	if table == "" {
		table = DefaultTable
	}
	if !identifier(table) {
		return fmt.Errorf("%s: version table %q is not a plain SQL name", m.Name, table)
	}
	err := m.apply(ctx, db, table)
	// In WAL mode a statement that reads and then writes while another connection has just
	// written gets SQLITE_BUSY at once, without the busy timeout (SQLite's "busy snapshot"):
	// two processes opening one store together (the daemon and `facilityd report`) meet it.
	// Every step runs in one transaction, so trying again is safe.
	for try := 1; err != nil && busy(err) && try < 50 && ctx.Err() == nil; try++ {
		time.Sleep(time.Duration(try) * 10 * time.Millisecond)
		err = m.apply(ctx, db, table)
	}
	var newer *NewerSchemaError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &newer):
		newer.File = databaseFile(ctx, db)
		return err
	default:
		return fmt.Errorf("%s%s: %w", m.Name, fileOf(ctx, db), err)
	}
}

// apply is Apply without the store's name on its errors.
func (m Migrations) apply(ctx context.Context, db *sql.DB, table string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("record the schema version: %w", err)
	}
	// Read first without a transaction: a store already up to date (the daemon's next
	// start, a report opening the store beside the daemon) takes no write lock at all.
	version, err := Version(ctx, db, table)
	if err != nil {
		return fmt.Errorf("read the schema version: %w", err)
	}
	if err := m.check(version); err != nil || version == len(m.Steps) {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	if m.Lock != nil {
		if err := m.Lock(ctx, tx); err != nil {
			return fmt.Errorf("lock for migration: %w", err)
		}
	}
	// A write first, even one that changes nothing, takes SQLite's write lock now, waiting
	// out busy_timeout; taken after the read below, it could fail at once as BUSY when
	// another process migrates at the same moment.
	if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET version = version WHERE 1 = 0`); err != nil {
		return fmt.Errorf("lock for migration: %w", err)
	}
	// Read again under the lock: another gateway may have migrated meanwhile.
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+table).Scan(&version); err != nil {
		return fmt.Errorf("read the schema version: %w", err)
	}
	if err := m.check(version); err != nil || version == len(m.Steps) {
		return err
	}
	if err := m.steps(ctx, tx, table, version); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit schema %d: %w", len(m.Steps), err)
	}
	return nil
}

// check refuses a version beyond the steps this binary has.
func (m Migrations) check(version int) error {
	if version > len(m.Steps) {
		return &NewerSchemaError{Name: m.Name, Have: version, Know: len(m.Steps)}
	}
	return nil
}

// steps runs the steps after version inside tx, recording each.
func (m Migrations) steps(ctx context.Context, tx *sql.Tx, table string, version int) error {
	for v := version + 1; v <= len(m.Steps); v++ {
		if _, err := tx.ExecContext(ctx, m.Steps[v-1].SQL); err != nil {
			return fmt.Errorf("schema step %d of %d failed, the database stays at schema %d: %w",
				v, len(m.Steps), version, err)
		}
		// The version is a number of ours, never input: written inline it needs no
		// placeholder, which SQLite (?) and PostgreSQL ($1) spell differently.
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (version) VALUES (`+strconv.Itoa(v)+`)`); err != nil {
			return fmt.Errorf("record schema %d: %w", v, err)
		}
	}
	return nil
}

// Version is the schema version recorded in db's table (DefaultTable when empty), 0 if none.
func Version(ctx context.Context, db *sql.DB, table string) (int, error) {
	if table == "" {
		table = DefaultTable
	}
	if !identifier(table) {
		return 0, fmt.Errorf("version table %q is not a plain SQL name", table)
	}
	var v int
	err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+table).Scan(&v)
	return v, err
}

// databaseFile is the file of SQLite's main database, or "" (PostgreSQL, or in memory).
func databaseFile(ctx context.Context, db *sql.DB) string {
	rows, err := db.QueryContext(ctx, `PRAGMA database_list`)
	if err != nil {
		return ""
	}
	defer rows.Close()
	for rows.Next() {
		var seq int
		var name, file string
		if rows.Scan(&seq, &name, &file) == nil && name == "main" {
			return file
		}
	}
	return ""
}

// fileOf is databaseFile as it reads after a store's name: " FILE", or "".
func fileOf(ctx context.Context, db *sql.DB) string {
	if f := databaseFile(ctx, db); f != "" {
		return " " + f
	}
	return ""
}

// identifier reports whether s is a bare lower-case SQL name, safe to put into a statement.
func identifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r == '_':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// busy reports an error of a database another connection holds (SQLITE_BUSY, SQLITE_LOCKED).
func busy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_LOCKED")
}
