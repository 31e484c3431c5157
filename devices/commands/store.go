package commands

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/facilityd/facilityd/internal/sqlitex"
)

// Store is the command journal: one row per write, inserted as pending before the write goes
// out and completed with its result, so a write under way when facilityd dies is still on
// record. It is opened with synchronous=FULL, like the alarm journal: a committed row
// survives a power cut. A completed row is given the next delivery sequence number (done_seq),
// which the sinks follow with their own cursors (delivery.go).
type Store struct {
	db *sql.DB

	mu   sync.Mutex
	head int64         // newest done_seq committed
	wake chan struct{} // closed and replaced when head moves
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
	// Step 2: delivery through the journal. done_seq orders the completed records as they were
	// completed (a write that started later may finish first); the sinks' cursors in cursors
	// name the last done_seq each handled. Records completed by an earlier release were handed
	// to the sinks in process then, so they get a position (their id, below any later one) and
	// each cursor starts past them.
	{SQL: `ALTER TABLE commands ADD COLUMN done_seq INTEGER;
	UPDATE commands SET done_seq = id WHERE result != 'pending';
	CREATE UNIQUE INDEX commands_done_seq ON commands(done_seq);
	CREATE TABLE cursors (
		name TEXT PRIMARY KEY,
		seq  INTEGER NOT NULL
	);`},
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
	st := &Store{db: db, wake: make(chan struct{})}
	if err := db.QueryRow(`SELECT COALESCE(MAX(done_seq), 0) FROM commands`).Scan(&st.head); err != nil {
		db.Close()
		return nil, fmt.Errorf("command journal %s (commands.store): %w", path, err)
	}
	return st, nil
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

// newText is the value written as journalled: a relinquished BACnet point's is JSON null
// (the column has no SQL NULL: every write had a value before relinquish).
func newText(v any) any {
	if v == nil {
		return "null"
	}
	return jsonText(v)
}

// begin journals a write about to go out, as pending.
func (s *Store) begin(ctx context.Context, r *Record) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO commands (time, device, kind, point, old, new, result, by, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Time.UTC().Format(time.RFC3339Nano), r.Device, r.Kind, r.Point, jsonText(r.Old), newText(r.New), string(ResultPending), r.By, r.Reason)
	if err != nil {
		return fmt.Errorf("command journal: %w", err)
	}
	r.ID, err = res.LastInsertId()
	return err
}

// finish records a write's result and gives it the next delivery position, in one statement:
// a record is complete and due to the sinks, or neither. The store has one connection
// (internal/sqlitex), so two writes finishing together take positions one after the other.
func (s *Store) finish(r *Record) error {
	var seq int64
	err := s.db.QueryRow(`UPDATE commands SET read_back = ?, result = ?, error = ?, exception = ?, done = ?,
		done_seq = (SELECT COALESCE(MAX(done_seq), 0) + 1 FROM commands)
		WHERE id = ? AND done_seq IS NULL RETURNING done_seq`,
		jsonText(r.ReadBack), string(r.Result), r.Error, r.Exception, r.Done.UTC().Format(time.RFC3339Nano), r.ID).Scan(&seq)
	if err != nil {
		return fmt.Errorf("command journal: complete write %d: %w", r.ID, err)
	}
	s.publish(seq)
	return nil
}

// publish moves the head to seq and wakes the followers.
func (s *Store) publish(seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq <= s.head {
		return
	}
	s.head = seq
	close(s.wake)
	s.wake = make(chan struct{})
}

// Head is the delivery position of the newest completed write.
func (s *Store) Head() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head
}

// waitAfter returns a channel closed once the head passes seq.
func (s *Store) waitAfter(seq int64) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head > seq {
		closed := make(chan struct{})
		close(closed)
		return closed
	}
	return s.wake
}

// recordColumns are the columns scanRecord reads, in its order.
const recordColumns = `id, time, device, kind, point, old, new, read_back, result, error, exception, by, reason, done`

// List returns the latest writes, newest first: all of them, or one device's when device is
// set.
func (s *Store) List(ctx context.Context, device string, limit int) ([]Record, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+recordColumns+`
		FROM commands WHERE ? = '' OR device = ? ORDER BY id DESC LIMIT ?`, device, device, limit)
	if err != nil {
		return nil, fmt.Errorf("command journal: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// scanner is a *sql.Rows or a *sql.Row.
type scanner interface{ Scan(dest ...any) error }

// scanRecord reads one row of recordColumns, then any extra columns into extra.
func scanRecord(row scanner, extra ...any) (Record, error) {
	var r Record
	var at, result string
	var old, nw, back, done sql.NullString
	dest := append([]any{&r.ID, &at, &r.Device, &r.Kind, &r.Point, &old, &nw, &back, &result, &r.Error, &r.Exception, &r.By, &r.Reason, &done}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Record{}, fmt.Errorf("command journal: %w", err)
	}
	r.Time, _ = time.Parse(time.RFC3339Nano, at)
	if done.Valid {
		r.Done, _ = time.Parse(time.RFC3339Nano, done.String)
	}
	r.Result = Result(result)
	r.Old, r.New, r.ReadBack = unjson(old), unjson(nw), unjson(back)
	return r, nil
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
