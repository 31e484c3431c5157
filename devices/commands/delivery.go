package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Delivery of completed writes to the event stream and InfluxDB's measurement command. The
// sinks read from the command journal, not from a callback in Write: each keeps the delivery
// position (done_seq) of the last record it handled in the journal's cursors table, and after
// a restart resumes from there, so a write completed just before a crash still reaches every
// sink (docs/design.md, Delivery guarantees; alertmanager's nflog, a Kafka consumer's committed
// offset). The cursor moves after the sink has handled the record, never before.

// ErrSink is what NewDelivery returns for a sink it cannot follow.
var ErrSink = errors.New("commands: bad sink")

// Sink is a consumer of completed writes that must not miss one.
type Sink struct {
	// Name keys the sink's durable cursor in the command journal ("event-stream",
	// "influx-command"); renaming a sink starts it afresh at the journal's head.
	Name string
	// Handle applies one completed record. It must be idempotent by Record.ID: the record in
	// hand when the process died is handled again after the restart. An error is retried with
	// backoff, and the records behind it wait, so that order is kept.
	Handle func(context.Context, Record) error
}

// DeliveryConfig is what a Delivery needs.
type DeliveryConfig struct {
	Store *Store
	Sinks []Sink
	// Retention is how long a record every sink has handled is kept (default
	// DefaultRetention); Run prunes hourly.
	Retention time.Duration
	// Now is the clock retention is measured by (default time.Now).
	Now func() time.Time
	// Backoff is the wait before retry number attempt (from 0) of a record a sink failed;
	// default 100 ms doubling to 10 s.
	Backoff func(attempt int) time.Duration
	Log     *slog.Logger
}

// DefaultRetention is how long the command journal keeps a write every sink has handled: a
// year, the estate's practice for duty records (值班记录), as config.DefaultRetention is for
// the alarm journal. The journal is the plant's record of who switched what, and why.
const DefaultRetention = 365 * 24 * time.Hour

// Delivery hands each completed write to every sink, in the order the writes completed.
type Delivery struct {
	cfg DeliveryConfig
}

// NewDelivery checks the sinks and registers a cursor for each that has none yet, at the
// journal's head: a sink added to an existing journal starts with what comes next, not with
// the year behind it. Call it before any write of this run completes (before the API serves),
// so that a record completed and then lost to a crash is still ahead of every cursor.
func NewDelivery(cfg DeliveryConfig) (*Delivery, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: no command journal", ErrSink)
	}
	seen := map[string]bool{}
	for i, s := range cfg.Sinks {
		if s.Name == "" || s.Handle == nil {
			return nil, fmt.Errorf("%w: sink %d needs a name (its cursor) and a Handle", ErrSink, i)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("%w: two sinks named %q would share one cursor", ErrSink, s.Name)
		}
		seen[s.Name] = true
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(attempt int) time.Duration { return min(100*time.Millisecond<<min(attempt, 8), 10*time.Second) }
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	for _, s := range cfg.Sinks {
		if err := cfg.Store.register(s.Name); err != nil {
			return nil, err
		}
	}
	return &Delivery{cfg: cfg}, nil
}

// Run delivers to every sink until ctx ends, and prunes the journal hourly. A record not yet
// handled when ctx ends is delivered at the next start.
func (d *Delivery) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.maintain(ctx)
	}()
	errs := make(chan error, len(d.cfg.Sinks))
	for _, s := range d.cfg.Sinks {
		go func() { errs <- d.follow(ctx, s, true) }()
	}
	var err error
	for range d.cfg.Sinks {
		err = errors.Join(err, <-errs)
	}
	<-done
	return err
}

// CatchUp delivers to every sink what is completed now, and returns once each has handled
// it (or ctx ends): the start of a run, a test.
func (d *Delivery) CatchUp(ctx context.Context) error {
	var err error
	for _, s := range d.cfg.Sinks {
		err = errors.Join(err, d.follow(ctx, s, false))
	}
	return err
}

// deliverBatch is how many records a sink reads from the journal at a time.
const deliverBatch = 256

// follow hands s the completed records past its cursor, in order, moving the cursor after each;
// with wait it then waits for the next completion, else it returns once caught up.
func (d *Delivery) follow(ctx context.Context, s Sink, wait bool) error {
	cur, err := d.cfg.Store.Cursor(s.Name)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		batch, err := d.cfg.Store.completedAfter(ctx, cur, deliverBatch)
		if err != nil {
			d.cfg.Log.Error("command journal: read failed; retrying", "sink", s.Name, "after", cur, "err", err)
			if !sleepCtx(ctx, time.Second) {
				return nil
			}
			continue
		}
		for _, c := range batch {
			if !d.handle(ctx, s, c.Record) {
				return nil
			}
			cur = c.seq
			if err := d.cfg.Store.setCursor(s.Name, cur); err != nil {
				// Handled but not recorded: handled again after a restart (idempotent).
				d.cfg.Log.Error("command journal: sink's position not stored", "sink", s.Name, "seq", cur, "err", err)
			}
		}
		if len(batch) > 0 {
			continue
		}
		if !wait {
			return nil
		}
		select {
		case <-d.cfg.Store.waitAfter(cur):
		case <-ctx.Done():
		}
	}
	return nil
}

// handle runs s.Handle on r until it succeeds; false means ctx ended first, and r stays ahead
// of the cursor.
func (d *Delivery) handle(ctx context.Context, s Sink, r Record) bool {
	for attempt := 0; ; attempt++ {
		err := s.Handle(ctx, r)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if attempt == 0 || attempt%20 == 0 {
			d.cfg.Log.Warn("command record not delivered yet; retrying", "sink", s.Name, "id", r.ID,
				"device", r.Device, "point", r.Point, "attempt", attempt+1, "err", err)
		}
		if !sleepCtx(ctx, d.cfg.Backoff(attempt)) {
			return false
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
