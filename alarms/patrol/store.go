package patrol

import (
	"database/sql"
	"encoding/json"
	"fmt"

	_ "modernc.org/sqlite" // pure-Go SQLite driver
)

// Store keeps alerts, the events already handled and the lighting checklists in SQLite, so
// that a restart neither re-sends an alert nor forgets a claim.
type Store struct{ db *sql.DB }

// OpenStore opens (or creates) the database at path, in WAL mode.
func OpenStore(path string) (*Store, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, fmt.Errorf("patrol.store %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`
CREATE TABLE IF NOT EXISTS alerts (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS checklists (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("patrol.store %s: %w", path, err)
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
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
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
