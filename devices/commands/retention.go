package commands

import (
	"context"
	"fmt"
	"github.com/facilityd/facilityd/internal/sqlitex"
	"time"
)

// Retention of the command journal. A record is pruned only when every sink's cursor has passed
// it and it is older than the retention (DefaultRetention, a year). A write cut short by a crash
// (pending for ever) goes once it is that old. The newest completed record is kept however old:
// its done_seq is where the next completion counts from, and the cursors stand on it. Deletes
// go in small batches, each its own statement, so a write waits for one batch at most.

// pruneBatch is how many records one delete removes; pruneEvery is how often Run prunes.
const (
	pruneBatch = 500
	pruneEvery = time.Hour
)

// Prune deletes up to limit records older than before that every sink has handled, and
// returns how many it deleted.
func (s *Store) Prune(ctx context.Context, before time.Time, limit int) (int64, error) {
	// Times are RFC 3339 in UTC, compared as text: exact to the second, which is all a year's
	// retention asks.
	res, err := s.db.ExecContext(ctx, `DELETE FROM commands WHERE id IN (
		SELECT id FROM commands WHERE time < ? AND (done_seq IS NULL OR (
			done_seq < (SELECT MAX(done_seq) FROM commands)
			AND done_seq <= COALESCE((SELECT MIN(seq) FROM cursors), done_seq)))
		ORDER BY id LIMIT ?)`, before.UTC().Format(time.RFC3339), limit)
	if err != nil {
		return 0, fmt.Errorf("command journal: prune: %w", err)
	}
	return res.RowsAffected()
}

// PruneAll prunes in batches until nothing more is due, or ctx ends.
func (s *Store) PruneAll(ctx context.Context, before time.Time) (int64, error) {
	return sqlitex.PruneInBatches(ctx, pruneBatch, func(ctx context.Context, limit int) (int64, error) {
		return s.Prune(ctx, before, limit)
	})
}

// maintain prunes the journal every pruneEvery until ctx ends; Run starts it.
func (d *Delivery) maintain(ctx context.Context) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := d.cfg.Store.PruneAll(ctx, d.cfg.Now().Add(-d.cfg.Retention))
			if err != nil && ctx.Err() == nil {
				d.cfg.Log.Error("command journal retention", "err", err)
			} else if n > 0 {
				d.cfg.Log.Info("command journal retention: pruned", "records", n, "retention", d.cfg.Retention)
			}
		}
	}
}
