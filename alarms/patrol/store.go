package patrol

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/facilityd/facilityd/internal/sqlitex"
)

// Store keeps alerts, the events already handled and the lighting checklists in SQLite, so
// that a restart neither re-sends an alert nor forgets a claim.
type Store struct{ db *sql.DB }

// storeSchema is the patrol store's schema, step n at index n-1 (internal/sqlitex). Step 1 is
// the schema the releases before versions were recorded made with IF NOT EXISTS at each
// start, so their stores are adopted as version 1 (and those from before the outbox get it).
var storeSchema = []sqlitex.Migration{
	{SQL: `
CREATE TABLE IF NOT EXISTS alerts (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS checklists (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
	id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, alert TEXT NOT NULL,
	guard TEXT NOT NULL DEFAULT '', data TEXT NOT NULL, created INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0,
	state TEXT NOT NULL DEFAULT 'pending', result TEXT NOT NULL DEFAULT '', done_at INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (channel, state, next_at);`},
}

// OpenStore opens (or creates, with its folder) the database at path, in WAL mode, and
// brings its schema up to date; a store written by a newer facilityd is refused.
func OpenStore(path string) (*Store, error) {
	db, err := sqlitex.Open(path, sqlitex.Options{Name: "patrol.store"})
	if err != nil {
		return nil, err
	}
	if err := sqlitex.Migrate(context.Background(), db, "patrol.store", storeSchema); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Seen reports whether the alarm event seq has been handled before.
func (s *Store) Seen(seq uint64) (bool, error) {
	var n int
	err := s.db.QueryRow(`SELECT count(*) FROM events WHERE seq = ?`, int64(seq)).Scan(&n)
	return n > 0, err
}

// Commit records that event seq was handled and saves the alerts it changed, in one
// transaction. seq 0 saves the alerts only.
func (s *Store) Commit(seq uint64, alerts ...Alert) error {
	return s.CommitWith(seq, alerts, nil)
}

// CommitWith is Commit that also puts the messages the change sends into the outbox, in the
// same transaction: a message is sent because its alert changed, and only then.
func (s *Store) CommitWith(seq uint64, alerts []Alert, out []Outgoing) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, o := range out {
		data, err := json.Marshal(o.Message)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO outbox (channel, alert, guard, data, created) VALUES (?, ?, ?, ?, ?)`,
			o.Channel, o.Message.Alert, o.Guard, string(data), o.Message.At.UnixNano()); err != nil {
			return err
		}
	}
	if seq != 0 {
		if _, err := tx.Exec(`INSERT OR IGNORE INTO events (seq) VALUES (?)`, int64(seq)); err != nil {
			return err
		}
	}
	for _, a := range alerts {
		data, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO alerts (id, seq, data) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data`, a.ID, int64(a.Seq), string(data)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Alerts loads every stored alert.
func (s *Store) Alerts() ([]Alert, error) {
	rows, err := s.db.Query(`SELECT data FROM alerts ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var a Alert
		if err := json.Unmarshal([]byte(data), &a); err != nil {
			return nil, fmt.Errorf("patrol store: alert: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetMeta sets a meta value, e.g. the date of the last lighting check, so a restart does not
// run tonight's check twice.
func (s *Store) SetMeta(key, value string) error {
	_, err := s.db.Exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// SaveChecklist stores a checklist and, when key is not empty, a meta value in the same
// transaction.
func (s *Store) SaveChecklist(c Checklist, key, value string) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO checklists (id, data) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data`, c.ID, string(data)); err != nil {
		return err
	}
	if key != "" {
		if _, err := tx.Exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Checklists loads every stored checklist.
func (s *Store) Checklists() ([]Checklist, error) {
	rows, err := s.db.Query(`SELECT data FROM checklists ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Checklist
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var c Checklist
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return nil, fmt.Errorf("patrol store: checklist: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Meta reads a meta value ("" if unset).
func (s *Store) Meta(key string) (string, error) {
	var v string
	err := s.db.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return v, err
}

// Delete removes alerts and checklists by id; the seqs of their events stay recorded, so a
// replay of an old journal still sends nothing.
func (s *Store) Delete(alertIDs, checklistIDs []string) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, id := range alertIDs {
		if _, err := tx.Exec(`DELETE FROM alerts WHERE id = ?`, id); err != nil {
			return err
		}
	}
	for _, id := range checklistIDs {
		if _, err := tx.Exec(`DELETE FROM checklists WHERE id = ?`, id); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Outgoing is one message for one channel (and, on a personal channel, one guard) in the
// outbox.
type Outgoing struct {
	ID       int64
	Channel  string
	Guard    string
	Message  Message
	Attempts int
}

// Outbox states: pending until sent, given up (failed), merged into a summary, or not sent
// because the alert no longer needed it (skipped).
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
	OutboxMerged  = "merged"
	OutboxSkipped = "skipped"
)

// Pending lists channel's pending messages due by now, oldest first, at most limit.
func (s *Store) Pending(channel string, now time.Time, limit int) ([]Outgoing, error) {
	rows, err := s.db.Query(`SELECT id, guard, data, attempts FROM outbox WHERE channel = ? AND state = 'pending' AND next_at <= ? ORDER BY id LIMIT ?`,
		channel, now.UnixNano(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Outgoing
	for rows.Next() {
		o := Outgoing{Channel: channel}
		var data string
		if err := rows.Scan(&o.ID, &o.Guard, &data, &o.Attempts); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(data), &o.Message); err != nil {
			return nil, fmt.Errorf("patrol store: outbox %d: %w", o.ID, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Done records what became of outbox messages: sent, failed, merged or skipped, with a word
// on why.
func (s *Store) Done(state, result string, now time.Time, ids ...int64) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, id := range ids {
		if _, err := tx.Exec(`UPDATE outbox SET state = ?, result = ?, done_at = ? WHERE id = ?`, state, result, now.UnixNano(), id); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Retry puts an outbox message back for another try at next.
func (s *Store) Retry(id int64, attempts int, next time.Time, result string) error {
	_, err := s.db.Exec(`UPDATE outbox SET attempts = ?, next_at = ?, result = ? WHERE id = ?`, attempts, next.UnixNano(), result, id)
	return err
}

// LastSent is the newest alert sent to guard on channel whose alert is still in ids (the
// alerts that may be claimed): what a bare "1" replied to an SMS claims.
func (s *Store) LastSent(channel, guard string, open func(alert string) bool) (string, error) {
	rows, err := s.db.Query(`SELECT alert FROM outbox WHERE channel = ? AND guard = ? AND state = 'sent' ORDER BY id DESC LIMIT 50`, channel, guard)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", err
		}
		if open(id) {
			return id, nil
		}
	}
	return "", rows.Err()
}

// OutboxCounts counts outbox messages by channel and state, for tests and the records.
func (s *Store) OutboxCounts() (map[string]int, error) {
	rows, err := s.db.Query(`SELECT channel, state, count(*) FROM outbox GROUP BY channel, state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var ch, st string
		var n int
		if err := rows.Scan(&ch, &st, &n); err != nil {
			return nil, err
		}
		out[ch+"/"+st] = n
	}
	return out, rows.Err()
}

// PruneOutbox deletes messages done before before: the outbox is a queue, not the record
// (the alerts keep who was told).
func (s *Store) PruneOutbox(before time.Time) error {
	_, err := s.db.Exec(`DELETE FROM outbox WHERE state != 'pending' AND done_at < ?`, before.UnixNano())
	return err
}
