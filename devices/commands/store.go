package commands

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/facilityd/facilityd/internal/sqlitex"
)

// Store is the command journal: one row per write, inserted as pending before the write goes
// out and completed with its result, so a write under way when facilityd dies is still on
// record. It is opened with synchronous=FULL, like the alarm journal: a committed row
// survives a power cut.
type Store struct {
	db *sql.DB
}

// storeSchema is the command journal's schema, step n at index n-1 (internal/sqlitex). Step 1
// is the table the releases before versions were recorded made with IF NOT EXISTS, so their
// journals are adopted as version 1 unchanged.
var storeSchema = []sqlitex.Migration{
	{SQL: `CREATE TABLE IF NOT EXISTS commands (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		time TEXT NOT NULL,
		device TEXT NOT NULL,
		kind TEXT NOT NULL,
		point TEXT NOT NULL,
		old TEXT,
		new TEXT NOT NULL,
		read_back TEXT,
		result TEXT NOT NULL,
		error TEXT NOT NULL DEFAULT '',
		exception INTEGER NOT NULL DEFAULT 0,
		by TEXT NOT NULL,
		reason TEXT NOT NULL,
		done TEXT
	)`},
}

// OpenStore opens (creating it and its folder if needed) the journal at path and brings its
// schema up to date; a journal written by a newer facilityd is refused.
func OpenStore(path string) (*Store, error) {
	db, err := sqlitex.Open(path, sqlitex.Options{Name: "commands.store"})
	if err != nil {
		return nil, err
	}
	if err := sqlitex.Migrate(context.Background(), db, "commands.store", storeSchema); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the journal.
func (s *Store) Close() error { return s.db.Close() }

func jsonText(v any) any {
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// begin journals a write about to go out, as pending.
func (s *Store) begin(ctx context.Context, r *Record) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO commands (time, device, kind, point, old, new, result, by, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Time.UTC().Format(time.RFC3339Nano), r.Device, r.Kind, r.Point, jsonText(r.Old), jsonText(r.New), string(ResultPending), r.By, r.Reason)
	if err != nil {
		return fmt.Errorf("command journal: %w", err)
	}
	r.ID, err = res.LastInsertId()
	return err
}

// finish records a write's result.
func (s *Store) finish(r *Record) error {
	_, err := s.db.Exec(`UPDATE commands SET read_back = ?, result = ?, error = ?, exception = ?, done = ? WHERE id = ?`,
		jsonText(r.ReadBack), string(r.Result), r.Error, r.Exception, r.Done.UTC().Format(time.RFC3339Nano), r.ID)
	if err != nil {
		return fmt.Errorf("command journal: %w", err)
	}
	return nil
}

// List returns the latest writes, newest first: all of them, or one device's when device is
// set.
func (s *Store) List(ctx context.Context, device string, limit int) ([]Record, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, time, device, kind, point, old, new, read_back, result, error, exception, by, reason, done
		FROM commands WHERE ? = '' OR device = ? ORDER BY id DESC LIMIT ?`, device, device, limit)
	if err != nil {
		return nil, fmt.Errorf("command journal: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var at, result string
		var old, nw, back, done sql.NullString
		if err := rows.Scan(&r.ID, &at, &r.Device, &r.Kind, &r.Point, &old, &nw, &back, &result, &r.Error, &r.Exception, &r.By, &r.Reason, &done); err != nil {
			return nil, fmt.Errorf("command journal: %w", err)
		}
		r.Time, _ = time.Parse(time.RFC3339Nano, at)
		if done.Valid {
			r.Done, _ = time.Parse(time.RFC3339Nano, done.String)
		}
		r.Result = Result(result)
		r.Old, r.New, r.ReadBack = unjson(old), unjson(nw), unjson(back)
		out = append(out, r)
	}
	return out, rows.Err()
}

func unjson(s sql.NullString) any {
	if !s.Valid {
		return nil
	}
	var v any
	if json.Unmarshal([]byte(s.String), &v) != nil {
		return s.String
	}
	return v
}
