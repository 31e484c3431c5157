package alarms

import (
	"context"
	"fmt"
	"github.com/facilityd/facilityd/internal/sqlitex"
	"log/slog"
	"time"
)

// Retention of the journal. An event is pruned only when every named consumer's cursor has
// passed it and it is older than the retention (alarms.retention, a year by default: the
// estate keeps duty records a year). Two events of each alarm are kept however old, because
// the engine restores from them at start: its last event (its state) and its last raise or
// re-alarm (when it was last announced). Deletes go in small batches, each its own statement,
// so an append waits for one batch at most, never for the whole prune.

// pruneBatch is how many events one delete removes; pruneEvery is how often Run prunes.
const (
	pruneBatch = 500
	pruneEvery = time.Hour
)

// Prune deletes up to limit events older than before that every named consumer has handled,
// keeping each alarm's last event and last announcement, and returns how many it deleted. With
// no named consumer, the head published to the followers is the bound.
func (j *Journal) Prune(ctx context.Context, before time.Time, limit int) (int64, error) {
	floor := j.Head()
	var least *int64
	if err := j.db.QueryRowContext(ctx, `SELECT MIN(seq) FROM cursors`).Scan(&least); err != nil {
		return 0, fmt.Errorf("alarm journal: prune: %w", err)
	}
	if least != nil && uint64(*least) < floor {
		floor = uint64(*least)
	}
	// Each candidate is checked against later events of its own alarm through the index
	// events_alarm(alarm_id, seq): a batch costs its own rows, not the journal's size.
	res, err := j.db.ExecContext(ctx, `DELETE FROM events WHERE seq IN (
		SELECT e.seq FROM events e WHERE e.seq <= ? AND e.at < ?
			AND EXISTS (SELECT 1 FROM events n WHERE n.alarm_id = e.alarm_id AND n.seq > e.seq)
			AND (e.type NOT IN ('raised', 'realarm') OR EXISTS (SELECT 1 FROM events n
				WHERE n.alarm_id = e.alarm_id AND n.seq > e.seq AND n.type IN ('raised', 'realarm')))
		ORDER BY e.seq LIMIT ?)`, floor, before.UnixNano(), limit)
	if err != nil {
		return 0, fmt.Errorf("alarm journal: prune: %w", err)
	}
	return res.RowsAffected()
}

// PruneAll prunes in batches until nothing more is due, or ctx ends.
func (j *Journal) PruneAll(ctx context.Context, before time.Time) (int64, error) {
	return sqlitex.PruneInBatches(ctx, pruneBatch, func(ctx context.Context, limit int) (int64, error) {
		return j.Prune(ctx, before, limit)
	})
}

// maintain prunes the journal every pruneEvery until ctx ends; Run starts it.
func (e *Engine) maintain(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := e.journal.PruneAll(ctx, e.clock().Add(-e.cfg.Retention))
			if err != nil && ctx.Err() == nil {
				log.Error("alarm journal retention", "err", err)
			} else if n > 0 {
				log.Info("alarm journal retention: pruned", "events", n, "retention", e.cfg.Retention)
			}
		}
	}
}
