package alarms

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Consumer is a reader of the journal that must not miss an event: patrol alerts, work
// orders, the InfluxDB alarm measurement, the MQTT alarm topics, the console's event stream.
// It reads from the journal, not from a callback: it keeps the last sequence number it
// handled, durably, and resumes from there after a restart (alertmanager's nflog, a Kafka
// consumer's committed offset).
type Consumer struct {
	// Name keys the consumer's durable cursor in the journal. Empty: the cursor lives in
	// memory and starts at the journal's head, for a consumer whose audience does not outlive
	// the process (the event stream).
	Name string
	// Handle applies one event. It must be idempotent by Event.Seq: the event in hand when the
	// process died is handled again after the restart. An error is retried with backoff, and
	// the events behind it wait, so that order is kept.
	Handle func(context.Context, Event) error
}

// ConsumerFunc is a Consumer with a durable cursor named name.
func ConsumerFunc(name string, handle func(context.Context, Event) error) Consumer {
	return Consumer{Name: name, Handle: handle}
}

// Register records a durable cursor for each named consumer that has none yet, at the
// journal's head: a consumer added to an existing journal starts with what comes next, not
// with the whole history. Call it before anything is journalled in this run (before the
// engine runs), so that an event journalled and then lost to a crash is still ahead of every
// cursor at the next start.
func (j *Journal) Register(names ...string) error {
	for _, n := range names {
		if n == "" {
			continue
		}
		if _, err := j.db.Exec(`INSERT OR IGNORE INTO cursors(name, seq) VALUES (?, (SELECT COALESCE(MAX(seq), 0) FROM events))`, n); err != nil {
			return fmt.Errorf("alarm journal: register consumer %s: %w", n, err)
		}
	}
	return nil
}

// Cursor returns the last sequence number the named consumer handled.
func (j *Journal) Cursor(name string) (uint64, error) {
	var seq int64
	err := j.db.QueryRow(`SELECT seq FROM cursors WHERE name = ?`, name).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("alarm journal: cursor of %s: %w (not registered?)", name, err)
	}
	return uint64(seq), nil
}

func (j *Journal) setCursor(name string, seq uint64) error {
	_, err := j.db.Exec(`UPDATE cursors SET seq = ? WHERE name = ? AND seq < ?`, seq, name, seq)
	if err != nil {
		return fmt.Errorf("alarm journal: cursor of %s: %w", name, err)
	}
	return nil
}

// Head is the sequence number of the newest event the journal has published to its
// followers.
func (j *Journal) Head() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.head
}

// publish makes events up to seq visible to the followers and wakes them.
func (j *Journal) publish(seq uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if seq <= j.head {
		return
	}
	j.head = seq
	if j.feedClosed {
		return // wake stays closed; the followers are draining or gone
	}
	close(j.wake)
	j.wake = make(chan struct{})
}

// CloseFeed tells the followers that nothing more is coming in this run: each delivers what is
// journalled and returns. Events journalled after it (an acknowledgement during shutdown) are
// kept and delivered at the next start.
func (j *Journal) CloseFeed() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.feedClosed {
		j.feedClosed = true
		close(j.wake)
	}
}

// waitAfter returns a channel closed once the head passes seq or the feed closes, and whether
// the follower is done: the feed is closed and nothing is left past seq.
func (j *Journal) waitAfter(seq uint64) (<-chan struct{}, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.head > seq {
		closed := make(chan struct{})
		close(closed)
		return closed, false
	}
	return j.wake, j.feedClosed
}

// followBatch is how many events a follower reads from the journal at a time.
const followBatch = 256

// Follow delivers the journal's events to c, in order, from c's cursor on, and after each
// event handled moves the cursor (durably, for a named consumer). It returns nil once the feed
// is closed and c has caught up, or when ctx ends; an event not handled by then is delivered
// at the next start. During the drain after CloseFeed an event that fails is not retried: the
// stop is not held up by a broker or an InfluxDB that is away.
func (j *Journal) Follow(ctx context.Context, c Consumer, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	cur := j.Head()
	if c.Name != "" {
		var err error
		if cur, err = j.Cursor(c.Name); err != nil {
			return err
		}
	}
	for {
		evs, err := j.since(ctx, cur)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Error("alarm journal: read failed; retrying", "consumer", c.Name, "after", cur, "err", err)
			if !sleepCtx(ctx, time.Second) {
				return nil
			}
			continue
		}
		for _, e := range evs {
			if !j.handle(ctx, c, e, log) {
				return nil
			}
			cur = e.Seq
			if c.Name != "" {
				if err := j.setCursor(c.Name, cur); err != nil {
					// Handled but not recorded: handled again after a restart (idempotent).
					log.Error("alarm journal: consumer's position not stored", "consumer", c.Name, "seq", cur, "err", err)
				}
			}
		}
		if len(evs) > 0 {
			continue
		}
		wake, done := j.waitAfter(cur)
		if done {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil
		}
	}
}

// handle runs c.Handle on e until it succeeds; false means give up (ctx ended, or the feed
// closed with e failing): e stays ahead of the cursor.
func (j *Journal) handle(ctx context.Context, c Consumer, e Event, log *slog.Logger) bool {
	for attempt := 0; ; attempt++ {
		err := c.Handle(ctx, e)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if attempt == 0 || attempt%20 == 0 {
			log.Warn("alarm event not delivered yet; retrying", "consumer", c.Name, "seq", e.Seq,
				"alarm", e.Alarm.ID, "type", e.Type, "attempt", attempt+1, "err", err)
		}
		j.mu.Lock()
		closed := j.feedClosed
		j.mu.Unlock()
		if closed {
			log.Warn("stopping with an alarm event not delivered; it is delivered at the next start", "consumer", c.Name, "seq", e.Seq)
			return false
		}
		if !sleepCtx(ctx, min(100*time.Millisecond<<min(attempt, 8), 10*time.Second)) {
			return false
		}
	}
}

// since returns the published events after seq, oldest first, at most followBatch.
func (j *Journal) since(ctx context.Context, seq uint64) ([]Event, error) {
	head := j.Head()
	if head <= seq {
		return nil, nil
	}
	return j.query(ctx, `SELECT event FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`, seq, head, followBatch)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
