package workorders

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// The outbox. Every notification is a row of workorder_outbox, inserted in the transaction of
// the order change that causes it (Open, Insert, Update take its Notes), or on its own with a
// dedupe key (Enqueue) when no order changes. The Manager's Run delivers the rows through the
// Notifier and the handsets; nothing is sent from a request handler or a timer. A row is
// delivered at least once: a crash between the change and the delivery leaves it pending, and
// it goes out at the next start. It is delivered once in effect because its id travels with
// it (Notification.ID: the MQTT payload and the event stream carry it), so a receiver that
// sees an id again drops it.
//
// Gateways sharing one PostgreSQL order book claim rows with a lease (claimed_by,
// claimed_until) in a short transaction whose select is FOR UPDATE SKIP LOCKED: two gateways
// claiming at once take different rows, and neither waits for the other's notifier. A row
// whose claimer died is claimed again once its lease runs out. The lease is not held by a
// transaction, so a slow notifier never holds a lock on the order book.

// Notes builds the notifications of an order change from the order as stored (its id known);
// the store calls it inside the change's transaction.
type Notes func(stored *Order) []Notification

// notes is the Notes that returns ns, whatever the stored order; nil for none.
func notes(ns ...Notification) Notes {
	if len(ns) == 0 {
		return nil
	}
	return func(*Order) []Notification { return ns }
}

// OutboxStore is the durable outbox of notifications, beside the orders in the order book.
type OutboxStore interface {
	// Enqueue writes a notification that no order change causes (a warranty reminder, a
	// skipped preventive job). A non-empty key makes it once ever: a key already in the
	// outbox writes nothing and returns false (another gateway's timer, or a restart, got
	// there first).
	Enqueue(ctx context.Context, key string, n Notification) (bool, error)
	// Claim leases to owner, until now+lease, up to limit notifications due at now that no
	// live lease holds, oldest first, with their ID and the attempts made so far.
	Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Claimed, error)
	// Delivered records a claimed notification as delivered at at. A lease lost meanwhile
	// (another gateway claimed it again) records nothing: that gateway records it.
	Delivered(ctx context.Context, owner string, id int64, at time.Time) error
	// Retry gives a claimed notification back, due again at next, with the cause kept.
	Retry(ctx context.Context, owner string, id int64, next time.Time, cause string) error
	// Backlog is the number of notifications not delivered yet.
	Backlog(ctx context.Context) (int, error)
	// Prune deletes up to limit rows kept only for the record: delivered notifications
	// delivered before before, and applied alarm raises raised before before. It returns how
	// many it deleted; an undelivered notification is never deleted.
	Prune(ctx context.Context, before time.Time, limit int) (int64, error)
}

// Claimed is a notification claimed from the outbox.
type Claimed struct {
	Notification
	// Attempts is how many deliveries failed before this one.
	Attempts int
}

// Enqueue implements OutboxStore.
func (s *SQLStore) Enqueue(ctx context.Context, key string, n Notification) (bool, error) {
	var dedupe any
	if key != "" {
		dedupe = key
	}
	data, err := json.Marshal(n)
	if err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO workorder_outbox (created_at, dedupe, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
		ms(n.At), dedupe, string(data))
	if err != nil {
		return false, fmt.Errorf("workorder outbox: enqueue %s: %w", n.Type, err)
	}
	added, err := res.RowsAffected()
	return added > 0, err
}

// addNotes writes the notifications notes makes of stored, in the caller's transaction.
func (s *SQLStore) addNotes(ctx context.Context, tx querier, notes Notes, stored *Order) error {
	if notes == nil {
		return nil
	}
	for _, n := range notes(stored) {
		data, err := json.Marshal(n)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO workorder_outbox (created_at, data) VALUES (?, ?)`), ms(n.At), string(data)); err != nil {
			return fmt.Errorf("workorder outbox: %s of %s: %w", n.Type, stored.ID, err)
		}
	}
	return nil
}

// Claim implements OutboxStore.
func (s *SQLStore) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Claimed, error) {
	lock := ""
	if s.postgres {
		// PostgreSQL 9.5+, SELECT ... FOR UPDATE SKIP LOCKED: rows another gateway is
		// claiming right now are skipped, not waited for; one it has just claimed is
		// re-checked against claimed_until and left out.
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := s.db.QueryContext(ctx, s.q(`UPDATE workorder_outbox SET claimed_by = ?, claimed_until = ?
		WHERE claimed_until <= ? AND delivered_at = 0 AND id IN (
			SELECT id FROM workorder_outbox WHERE delivered_at = 0 AND next_at <= ? AND claimed_until <= ? ORDER BY id LIMIT ?`+lock+`)
		RETURNING id, data, attempts`),
		owner, ms(now.Add(lease)), ms(now), ms(now), ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("workorder outbox: claim: %w", err)
	}
	defer rows.Close()
	var out []Claimed
	for rows.Next() {
		var c Claimed
		var data string
		if err := rows.Scan(&c.ID, &data, &c.Attempts); err != nil {
			return nil, err
		}
		id := c.ID
		if err := json.Unmarshal([]byte(data), &c.Notification); err != nil {
			return nil, fmt.Errorf("workorder outbox: notification %d unreadable: %w", id, err)
		}
		c.ID = id
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Claimed) int { return int(a.ID - b.ID) })
	return out, nil
}

// Delivered implements OutboxStore.
func (s *SQLStore) Delivered(ctx context.Context, owner string, id int64, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE workorder_outbox SET delivered_at = ?, claimed_until = 0, last_error = '' WHERE id = ? AND claimed_by = ? AND delivered_at = 0`),
		max(ms(at), 1), id, owner)
	if err != nil {
		return fmt.Errorf("workorder outbox: notification %d delivered: %w", id, err)
	}
	return nil
}

// Retry implements OutboxStore.
func (s *SQLStore) Retry(ctx context.Context, owner string, id int64, next time.Time, cause string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE workorder_outbox SET attempts = attempts + 1, next_at = ?, claimed_until = 0, last_error = ? WHERE id = ? AND claimed_by = ? AND delivered_at = 0`),
		ms(next), cause, id, owner)
	if err != nil {
		return fmt.Errorf("workorder outbox: notification %d retry: %w", id, err)
	}
	return nil
}

// Backlog implements OutboxStore.
func (s *SQLStore) Backlog(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM workorder_outbox WHERE delivered_at = 0`).Scan(&n)
	return n, err
}

// Prune implements OutboxStore: one small transaction per table, so that a prune never holds
// the order book for long.
func (s *SQLStore) Prune(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM workorder_outbox WHERE id IN (
		SELECT id FROM workorder_outbox WHERE delivered_at > 0 AND delivered_at < ? ORDER BY id LIMIT ?)`), ms(before), limit)
	if err != nil {
		return 0, fmt.Errorf("workorder outbox: prune: %w", err)
	}
	outbox, _ := res.RowsAffected()
	// A raise is kept so that the alarm journal delivering it again is not a second
	// occurrence; a year after it was raised the journal's cursor has long passed it.
	res, err = s.db.ExecContext(ctx, s.q(`DELETE FROM workorder_alarm_events WHERE (alarm_id, raised_at) IN (
		SELECT alarm_id, raised_at FROM workorder_alarm_events WHERE raised_at < ? ORDER BY raised_at LIMIT ?)`), ms(before), limit)
	if err != nil {
		return outbox, fmt.Errorf("workorder raises: prune: %w", err)
	}
	raises, _ := res.RowsAffected()
	return outbox + raises, nil
}

// Outbox delivery settings: a claim is small and its lease outlasts every send of the batch,
// so that a healthy gateway never loses a lease to another in mid-delivery.
const (
	outboxBatch   = 8
	outboxSend    = 10 * time.Second // one notification's deadline
	outboxLease   = 2 * outboxBatch * outboxSend
	outboxPoll    = 5 * time.Second // how often rows left by another gateway or due again are looked for
	outboxBackoff = 5 * time.Second
	outboxMaxWait = 10 * time.Minute
	pruneEvery    = time.Hour
	pruneBatch    = 500
)

// retryAfter is the wait before attempt n+1 of a delivery: 5 s doubling to at most 10 minutes.
func retryAfter(attempts int) time.Duration {
	return min(outboxBackoff<<min(attempts, 10), outboxMaxWait)
}

// ownerID names this process's claims: host, pid and a random part, so that a restarted
// gateway does not take its dead predecessor's leases for its own.
func ownerID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// DeliverOutbox delivers every notification due now, oldest first, and returns how many were
// delivered. A failed one is given back with a backoff (retryAfter) and the others go on:
// notifications of different orders do not wait for each other. Run calls it whenever an
// order change wrote to the outbox and every few seconds; tests call it after stepping the
// clock.
func (m *Manager) DeliverOutbox(ctx context.Context) (int, error) {
	delivered := 0
	for {
		now := m.now()
		batch, err := m.store.Claim(ctx, m.owner, now, outboxLease, outboxBatch)
		if err != nil || len(batch) == 0 {
			return delivered, err
		}
		for _, c := range batch {
			if ctx.Err() != nil {
				return delivered, nil // the lease runs out and the row goes out later
			}
			if m.deliver(ctx, c) {
				delivered++
			}
		}
	}
}

// deliver sends one claimed notification and records the outcome.
func (m *Manager) deliver(ctx context.Context, c Claimed) bool {
	sctx, cancel := context.WithTimeout(ctx, outboxSend)
	err := m.send(sctx, c.Notification)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		next := m.now().Add(retryAfter(c.Attempts))
		if c.Attempts == 0 || c.Attempts%10 == 0 {
			m.log.Warn("work-order notification not delivered yet; retrying", "id", c.ID, "type", c.Type, "order", c.Order,
				"attempt", c.Attempts+1, "next", next, "err", err)
		}
		if rerr := m.store.Retry(ctx, m.owner, c.ID, next, err.Error()); rerr != nil {
			m.log.Error("work-order outbox", "id", c.ID, "err", rerr)
		}
		return false
	}
	if err := m.store.Delivered(ctx, m.owner, c.ID, m.now()); err != nil {
		// Sent but not recorded: sent again later, with the same id.
		m.log.Error("work-order notification sent but not recorded; it will be sent again", "id", c.ID, "err", err)
		return false
	}
	return true
}

// send delivers a notification to the notifier and, for an assigned technician, to their
// handset. Either failing fails the whole: it is sent again to both, with the same id.
func (m *Manager) send(ctx context.Context, n Notification) error {
	var errs []error
	if m.opts.Notifier != nil {
		if err := m.opts.Notifier.Notify(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("notifier: %w", err))
		}
	}
	if err := m.toHandset(ctx, n); err != nil {
		errs = append(errs, err)
	}
	if err := m.toResident(ctx, n); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// kick wakes the outbox delivery of Run; it never blocks.
func (m *Manager) kick() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// runOutbox delivers the outbox until ctx ends: at once when kicked, else every outboxPoll.
func (m *Manager) runOutbox(ctx context.Context) {
	t := time.NewTicker(outboxPoll)
	defer t.Stop()
	for {
		if _, err := m.DeliverOutbox(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("work-order outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-t.C:
		}
	}
}

// Prune deletes, in small batches, the delivered notifications and the applied alarm raises
// older than workorders.retention. Run calls it every hour.
func (m *Manager) Prune(ctx context.Context) (int64, error) {
	before := m.now().Add(-m.cfg.Retention)
	var total int64
	for ctx.Err() == nil {
		n, err := m.store.Prune(ctx, before, pruneBatch)
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
	return total, nil
}
