package commands

import (
	"context"
	"fmt"
)

// The sinks' positions in the command journal (delivery.go): one row of cursors per sink,
// the done_seq of the last record it handled.

// register records a cursor at the head for a sink that has none yet.
func (s *Store) register(name string) error {
	if _, err := s.db.Exec(`INSERT OR IGNORE INTO cursors(name, seq) VALUES (?, (SELECT COALESCE(MAX(done_seq), 0) FROM commands))`, name); err != nil {
		return fmt.Errorf("command journal: register sink %s: %w", name, err)
	}
	return nil
}

// Cursor returns the delivery position of the last record the named sink handled.
func (s *Store) Cursor(name string) (int64, error) {
	var seq int64
	if err := s.db.QueryRow(`SELECT seq FROM cursors WHERE name = ?`, name).Scan(&seq); err != nil {
		return 0, fmt.Errorf("command journal: cursor of sink %s: %w (not registered?)", name, err)
	}
	return seq, nil
}

// setCursor moves the named sink's cursor forward to seq, never back.
func (s *Store) setCursor(name string, seq int64) error {
	if _, err := s.db.Exec(`UPDATE cursors SET seq = ? WHERE name = ? AND seq < ?`, seq, name, seq); err != nil {
		return fmt.Errorf("command journal: cursor of sink %s: %w", name, err)
	}
	return nil
}

// completed is a completed record with its delivery position.
type completed struct {
	Record
	seq int64
}

// completedAfter returns up to limit completed records past seq, in delivery order.
func (s *Store) completedAfter(ctx context.Context, seq int64, limit int) ([]completed, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+recordColumns+`, done_seq
		FROM commands WHERE done_seq > ? ORDER BY done_seq LIMIT ?`, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("command journal: %w", err)
	}
	defer rows.Close()
	var out []completed
	for rows.Next() {
		var c completed
		if c.Record, err = scanRecord(rows, &c.seq); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
