package alarms

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/facilityd/facilityd/internal/sqlitex"
)

// Journal is the alarm journal in SQLite (WAL mode, synchronous=FULL: a transition told to
// anyone survives a power loss): every transition with who, when and why, and the position of
// each consumer (delivery.go). An event reaches the sinks and the consumers only once it is
// journalled, and the engine restores its alarms from the journal at start, so a restart
// neither loses an acknowledgement nor sends a notification twice.
type Journal struct {
	db *sql.DB
	// AfterCommit, when set, runs after each commit and before the followers are told: the
	// crash tests stop the process there.
	AfterCommit func(Event)

	mu         sync.Mutex
	head       uint64        // newest seq published to the followers
	wake       chan struct{} // closed and replaced when head moves or the feed closes
	feedClosed bool
}

// journalSchema is the journal's schema, step n at index n-1 (internal/sqlitex). Step 1 is
// the schema every release before versions were recorded made with IF NOT EXISTS, so their
// journals are adopted as version 1 unchanged.
var journalSchema = []sqlitex.Migration{
	{SQL: `CREATE TABLE IF NOT EXISTS events (
		seq      INTEGER PRIMARY KEY AUTOINCREMENT,
		alarm_id TEXT NOT NULL,
		type     TEXT NOT NULL,
		at       INTEGER NOT NULL,
		by       TEXT NOT NULL,
		reason   TEXT NOT NULL,
		notify   INTEGER NOT NULL,
		event    TEXT NOT NULL
	);
	CREATE INDEX IF NOT EXISTS events_alarm ON events(alarm_id, seq);
	CREATE TABLE IF NOT EXISTS cursors (
		name TEXT PRIMARY KEY,
		seq  INTEGER NOT NULL
	);`},
}

// OpenJournal opens (creating it and its directory if needed) the journal at path and brings
// its schema up to date; a journal written by a newer facilityd is refused.
func OpenJournal(path string) (*Journal, error) {
	db, err := sqlitex.Open(path, sqlitex.Options{Name: "alarms.journal"})
	if err != nil {
		return nil, fmt.Errorf("alarm journal: %w", err)
	}
	if err := sqlitex.Migrate(context.Background(), db, "alarms.journal", journalSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("alarm journal: %w", err)
	}
	j := &Journal{db: db, wake: make(chan struct{})}
	var head int64
	if err := db.QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&head); err != nil {
		db.Close()
		return nil, fmt.Errorf("alarm journal %s (alarms.journal): %w", path, err)
	}
	j.head = uint64(head)
	return j, nil
}

// Close closes the journal.
func (j *Journal) Close() error { return j.db.Close() }

// Append stores the event and returns it with its Seq.
func (j *Journal) Append(e Event) (Event, error) {
	out, err := j.AppendAll([]Event{e})
	if err != nil {
		return e, err
	}
	return out[0], nil
}

// AppendAll stores the events in one transaction (one fsync for a batch of transitions) and
// returns them with their Seq; none is stored if any fails.
func (j *Journal) AppendAll(evs []Event) ([]Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	tx, err := j.db.Begin()
	if err != nil {
		return nil, fmt.Errorf("alarm journal: %w", err)
	}
	defer tx.Rollback()
	out := make([]Event, len(evs))
	for i, e := range evs {
		id := e.Alarm.ID
		if e.Type == EventFlood {
			id = "flood/" + e.Alarm.Site
		}
		res, err := tx.Exec(`INSERT INTO events(alarm_id, type, at, by, reason, notify, event) VALUES (?,?,?,?,?,?,'')`,
			id, string(e.Type), e.At.UnixNano(), e.By, e.Reason, e.Notify)
		if err != nil {
			return nil, fmt.Errorf("alarm journal: append %s %s: %w", e.Type, id, err)
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return nil, err
		}
		e.Seq = uint64(seq)
		data, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		if _, err := tx.Exec(`UPDATE events SET event = ? WHERE seq = ?`, string(data), seq); err != nil {
			return nil, fmt.Errorf("alarm journal: append %s %s: %w", e.Type, id, err)
		}
		out[i] = e
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("alarm journal: commit: %w", err)
	}
	if j.AfterCommit != nil {
		for _, e := range out {
			j.AfterCommit(e)
		}
	}
	j.publish(out[len(out)-1].Seq)
	return out, nil
}

// History returns an alarm's events, oldest first; limit 0 is all.
func (j *Journal) History(ctx context.Context, id string, limit int) ([]Event, error) {
	q := `SELECT event FROM (SELECT seq, event FROM events WHERE alarm_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq`
	if limit <= 0 {
		limit = -1
	}
	return j.query(ctx, q, id, limit)
}

// Since returns every event after seq, oldest first, up to limit (0 is all).
func (j *Journal) Since(ctx context.Context, seq uint64, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = -1
	}
	return j.query(ctx, `SELECT event FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, seq, limit)
}

func (j *Journal) query(ctx context.Context, q string, args ...any) ([]Event, error) {
	rows, err := j.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("alarm journal: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var e Event
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return nil, fmt.Errorf("alarm journal: corrupt event: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// restored is what the journal knows of one alarm at start.
type restored struct {
	alarm     Alarm
	announced time.Time
}

// latest returns, per alarm, the alarm as its last event left it and when it was last
// announced (raised or re-alarmed).
func (j *Journal) latest() (map[string]restored, error) {
	rows, err := j.db.Query(`SELECT e.alarm_id, e.event,
		(SELECT MAX(at) FROM events r WHERE r.alarm_id = e.alarm_id AND r.type IN ('raised','realarm'))
		FROM events e WHERE e.seq IN (SELECT MAX(seq) FROM events WHERE type != 'flood' GROUP BY alarm_id)`)
	if err != nil {
		return nil, fmt.Errorf("alarm journal: restore: %w", err)
	}
	defer rows.Close()
	out := map[string]restored{}
	for rows.Next() {
		var id, data string
		var ann sql.NullInt64
		if err := rows.Scan(&id, &data, &ann); err != nil {
			return nil, err
		}
		var e Event
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return nil, fmt.Errorf("alarm journal: restore %s: %w", id, err)
		}
		r := restored{alarm: e.Alarm}
		if ann.Valid {
			r.announced = time.Unix(0, ann.Int64).UTC()
		}
		out[id] = r
	}
	return out, rows.Err()
}

// raisesSince returns, per site, the times of raised events at or after t, and whether a
// flood summary was journalled since t: the engine's flood window after a restart.
func (j *Journal) raisesSince(t time.Time) (map[string][]time.Time, map[string]bool, error) {
	rows, err := j.db.Query(`SELECT type, at, json_extract(event, '$.alarm.site') FROM events WHERE at >= ? AND type IN ('raised', 'flood') ORDER BY seq`, t.UnixNano())
	if err != nil {
		return nil, nil, fmt.Errorf("alarm journal: restore flood window: %w", err)
	}
	defer rows.Close()
	raises, floods := map[string][]time.Time{}, map[string]bool{}
	for rows.Next() {
		var typ string
		var at int64
		var site sql.NullString
		if err := rows.Scan(&typ, &at, &site); err != nil {
			return nil, nil, err
		}
		if typ == string(EventFlood) {
			floods[site.String] = true
			continue
		}
		raises[site.String] = append(raises[site.String], time.Unix(0, at))
	}
	return raises, floods, rows.Err()
}
