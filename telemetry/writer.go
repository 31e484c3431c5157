package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/backoff"
)

// Reasons a line is dropped, the values of the reason label of facilityd_influx_dropped_total.
const (
	// DropQueueFull: Enqueue found the queue full, because InfluxDB is slow or away.
	DropQueueFull = "queue_full"
	// DropRejected: InfluxDB answered 4xx (database not found, field type conflict, bad
	// credentials): sending the same batch again cannot succeed.
	DropRejected = "rejected"
	// DropRetriesExhausted: the batch failed on every retry.
	DropRetriesExhausted = "retries_exhausted"
	// DropShutdown: the final flush at shutdown failed, or Enqueue was called after it.
	DropShutdown = "shutdown"
	// DropInvalid: Enqueue was given a nil snapshot or one without a device.
	DropInvalid = "invalid"
	// DropSpoolFailed: the spool could not store a batch (disk full, I/O error).
	DropSpoolFailed = "spool_failed"
)

// Retry policy for a failed batch. Only one failed batch is held at a time: while it waits,
// new lines collect up to BatchSize, then the queue fills and Enqueue drops.
const (
	defaultMaxRetries = 5
	defaultRetryBase  = time.Second
	defaultRetryMax   = 30 * time.Second
)

// Writer batches snapshots into InfluxDB. Enqueue may be called from any goroutine at any time;
// Run does the writing and must run exactly once. Close releases the HTTP client after Run has
// returned.
type Writer struct {
	cfg    Config
	log    *slog.Logger
	client influxdb2.Client
	api    api.WriteAPIBlocking
	m      *metrics

	// The queue: Enqueue appends under mu and wakes Run only once a batch's worth waits
	// (kick); otherwise Run takes what is queued at each tick. A poll costs an append, not a
	// goroutine wake-up.
	mu      sync.Mutex
	pending []item
	kick    chan struct{}
	stopped bool
	chunk   []item // Run's: the items it is encoding
	// inputClosed is closed by CloseInput.
	inputClosed chan struct{}
	running     atomic.Bool
	queueFull   atomic.Uint64 // snapshots Enqueue refused for a full queue; Run logs them
	closeOnce   sync.Once

	// Retry policy; tests shorten it.
	maxRetries          int
	retryBase, retryMax time.Duration
	now                 func() time.Time

	// Owned by the Run goroutine.
	buf           []byte // encoded lines not yet sent, each ending in '\n'
	lines         int    // lines in buf
	retry         *batch // a failed batch waiting for its next attempt, or nil
	retryTimer    *time.Timer
	retryC        <-chan time.Time // retryTimer.C while retry waits, else nil
	failures      int              // writes failed in a row, for the recovery message
	queueFullSeen uint64
	throttle      *logThrottle
	oldest        int64 // earliest timestamp in buf, Unix ns

	// With a spool (all owned by Run): down is set by a failed write and cleared by a
	// successful one; while down, batches go straight to the spool and the replay is the probe.
	down         bool
	replayTimer  *time.Timer
	replayC      <-chan time.Time
	replayFailed int // replays failed in a row, for the backoff
}

// downFlush is how often pending lines are spooled (fsync'd) while InfluxDB is away.
const downFlush = 200 * time.Millisecond

// batch is one write: the newline-joined lines as the client takes them.
type batch struct {
	body     string
	lines    int
	oldest   int64 // earliest timestamp, Unix ns
	attempts int   // failed attempts so far
}

// NewWriter checks cfg, applies its defaults, creates the InfluxDB client and registers the
// writer's metrics on reg (nil: not registered). It does not contact InfluxDB: the first write
// does, so facilityd starts even while InfluxDB is away.
func NewWriter(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Writer, error) {
	return newWriter(cfg, reg, log, nil)
}

// newWriter is NewWriter with the HTTP doer that tests put in place of the network.
func newWriter(cfg Config, reg prometheus.Registerer, log *slog.Logger, doer influxhttp.Doer) (*Writer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg, err := cfg.splitCredentials()
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Writer{
		cfg:         cfg,
		log:         log,
		kick:        make(chan struct{}, 1),
		inputClosed: make(chan struct{}),
		maxRetries:  defaultMaxRetries,
		retryBase:   defaultRetryBase,
		retryMax:    defaultRetryMax,
		now:         time.Now,
		throttle:    newLogThrottle(log, logPeriod),
	}
	w.m = newMetrics(func() float64 {
		w.mu.Lock()
		defer w.mu.Unlock()
		return float64(len(w.pending))
	})
	if reg != nil {
		if err := w.m.register(reg); err != nil {
			return nil, fmt.Errorf("telemetry: register metrics: %w", err)
		}
	}

	// The client's own timeout is a backstop: each write has a context deadline of Timeout.
	secs := uint((cfg.Timeout + time.Second - 1) / time.Second)
	opts := influxdb2.DefaultOptions().
		SetApplicationName("facilityd").
		SetHTTPRequestTimeout(max(secs, 1))
	if doer != nil {
		opts.HTTPOptions().SetHTTPDoer(doer)
	}
	w.client = influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
	w.api = w.client.WriteAPIBlocking(cfg.Org, cfg.Bucket)
	return w, nil
}

// Enqueue hands a snapshot to the writer without ever blocking: when the queue is full (InfluxDB
// slow or away) it drops the snapshot, counts it and returns false. The writer reads s later from
// its own goroutine, so the caller must not change s after handing it over.
func (w *Writer) Enqueue(s *devices.Snapshot) bool {
	if s == nil || s.Device == nil {
		w.m.dropInvalid.Inc()
		return false
	}
	return w.put(item{snap: s})
}

// item is one entry of the queue: a snapshot, or a line already in line protocol.
type item struct {
	snap *devices.Snapshot
	line string
	at   time.Time
}

// put queues it without blocking, or drops and counts it when the queue is full or closed.
func (w *Writer) put(it item) bool {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		w.m.dropShutdown.Inc()
		return false
	}
	n := len(w.pending)
	if n >= w.cfg.QueueSize {
		w.mu.Unlock()
		w.m.dropQueueFull.Inc()
		w.queueFull.Add(1)
		return false
	}
	w.pending = append(w.pending, it)
	w.mu.Unlock()
	if (n+1)%w.cfg.BatchSize == 0 {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// drain moves queued items onto the pending lines, flushing each full batch; while a failed
// batch waits for its retry, it takes no more than fills one batch and leaves the rest queued,
// where put counts what does not fit.
func (w *Writer) drain(ctx context.Context) {
	for {
		if w.lines >= w.cfg.BatchSize {
			if w.retry != nil {
				return
			}
			w.flush(ctx)
			continue
		}
		w.mu.Lock()
		k := min(w.cfg.BatchSize-w.lines, len(w.pending))
		w.chunk = append(w.chunk[:0], w.pending[:k]...)
		n := copy(w.pending, w.pending[k:])
		clear(w.pending[n:])
		w.pending = w.pending[:n]
		w.mu.Unlock()
		if k == 0 {
			return
		}
		for _, it := range w.chunk {
			w.add(it)
		}
		clear(w.chunk)
	}
}

// EnqueueLine hands one line of line protocol, taken at `at`, to the writer, for the records
// that are not readings: alarm transitions (measurement alarm), work-order events (workorder).
// It never blocks, and goes through the same batches, retries and spool as the readings.
func (w *Writer) EnqueueLine(line string, at time.Time) bool {
	line = strings.TrimRight(line, "\n")
	if line == "" || strings.ContainsRune(line, '\n') {
		w.m.dropInvalid.Inc()
		return false
	}
	return w.put(item{line: line, at: at})
}

// Run writes queued snapshots until ctx is cancelled. A batch goes out when BatchSize lines
// are waiting or every FlushInterval, each write with its own deadline of Timeout. On
// cancellation Run stops accepting snapshots, drains the queue, makes a final flush with a
// fresh deadline of Timeout and returns nil; what it could not write by then is counted and
// logged as lost. Run returns an error only if it is called twice.
func (w *Writer) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("telemetry: Writer.Run called twice")
	}
	tick := time.NewTicker(w.cfg.FlushInterval)
	defer tick.Stop()
	// While InfluxDB is away the pending lines go to the spool more often than a batch to
	// InfluxDB would: a crash then loses at most downFlush of readings, not FlushInterval.
	downTick := time.NewTicker(min(downFlush, w.cfg.FlushInterval))
	defer downTick.Stop()
	w.retryTimer = time.NewTimer(time.Hour)
	w.retryTimer.Stop()
	defer w.retryTimer.Stop()
	w.replayTimer = time.NewTimer(time.Hour)
	w.replayTimer.Stop()
	defer w.replayTimer.Stop()
	w.scheduleReplay(0)

	w.log.Info("influx writer started", "influx", w.cfg)
	for {
		kick := w.kick
		if w.lines >= w.cfg.BatchSize {
			// A full batch waits for the failed one before it: leave snapshots in the queue,
			// where Enqueue counts what does not fit.
			kick = nil
		}
		select {
		case <-ctx.Done():
			w.shutdown()
			return nil
		case <-w.inputClosed:
			w.shutdown()
			return nil
		case <-kick:
			w.drain(ctx)
		case <-w.retryC:
			w.retryC = nil
			b := w.retry
			w.retry = nil
			w.send(ctx, b)
			if w.retry == nil {
				w.drain(ctx)
			}
		case <-w.replayC:
			w.replayC = nil
			w.replay(ctx)
		case <-downTick.C:
			if w.down && w.cfg.Spool != nil && w.retry == nil {
				w.drain(ctx)
				w.flush(ctx)
			}
		case <-tick.C:
			w.noteQueueFull()
			w.drain(ctx)
			if w.retry == nil {
				w.flush(ctx)
			}
			w.throttle.flush(w.now())
		}
	}
}

// CloseInput ends the writer's input: Run drains the queue, makes its final flush and returns.
// Call it once every source of snapshots has stopped; Enqueue after it drops and counts.
func (w *Writer) CloseInput() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.stopped = true
		close(w.inputClosed)
	}
}

// Close releases the InfluxDB client's connections. Call it after Run has returned.
func (w *Writer) Close() {
	w.closeOnce.Do(w.client.Close)
}

// add encodes one queued item onto the pending lines.
func (w *Writer) add(it item) {
	if it.snap == nil {
		w.buf = append(append(w.buf, it.line...), '\n')
		if ts := it.at.UnixNano(); w.lines == 0 || ts < w.oldest {
			w.oldest = ts
		}
		w.lines++
		return
	}
	s := it.snap
	var skipped int
	var err error
	w.buf, skipped, err = AppendSnapshot(w.buf, s)
	if err != nil {
		w.m.dropInvalid.Inc()
		return
	}
	if ts := s.Time.UnixNano(); w.lines == 0 || ts < w.oldest {
		w.oldest = ts
	}
	w.lines++
	if skipped > 0 {
		w.m.skippedValues.Add(float64(skipped))
		w.throttle.record(w.now(), "skipped_values", slog.LevelWarn, skipped,
			"influx: values line protocol cannot hold (NaN, Inf, enum out of range, point named time or comm_ok) were left out",
			slog.String("device", s.Device.ID), slog.Int("values", skipped))
	}
}

// take turns the pending lines into a batch and empties the buffer for reuse.
func (w *Writer) take() *batch {
	// The client keeps the string, possibly beyond the write: copy out of the reused buffer.
	b := &batch{body: string(w.buf[:len(w.buf)-1]), lines: w.lines, oldest: w.oldest}
	w.buf, w.lines = w.buf[:0], 0
	return b
}

// flush sends the pending lines, if any.
func (w *Writer) flush(ctx context.Context) {
	if w.lines == 0 {
		return
	}
	w.send(ctx, w.take())
}

// send writes b and settles its fate: written, held for a retry, or dropped and counted.
func (w *Writer) send(ctx context.Context, b *batch) {
	if w.cfg.Spool != nil && w.down {
		// InfluxDB is away: straight to disk; the replay finds out when it is back.
		w.spool(b)
		return
	}
	err := w.write(ctx, b)
	if err == nil {
		w.recovered()
		return
	}
	if w.cfg.Spool != nil && retryable(err) {
		w.m.writeErrors.Inc()
		w.failures++
		w.down = true
		w.throttle.record(w.now(), "write_failed", slog.LevelWarn, 1,
			"influx write failed; batches go to the spool until InfluxDB answers again",
			slog.String("url", w.cfg.URL), slog.Int("lines", b.lines), slog.String("error", err.Error()))
		w.spool(b)
		return
	}
	if ctx.Err() != nil {
		// Cancelled mid-write: not InfluxDB's fault; the final flush sends it once more.
		w.retry = b
		return
	}
	w.m.writeErrors.Inc()
	w.failures++
	now := w.now()
	if !retryable(err) {
		w.m.dropRejected.Add(float64(b.lines))
		w.throttle.record(now, DropRejected, slog.LevelError, 1,
			"influx rejected a batch; its lines are dropped (check influx.bucket, and point types against what the measurement already holds)",
			slog.Int("lines", b.lines), slog.String("error", err.Error()))
		return
	}
	b.attempts++
	if b.attempts > w.maxRetries {
		w.m.dropRetriesExhausted.Add(float64(b.lines))
		w.throttle.record(now, DropRetriesExhausted, slog.LevelError, 1,
			"influx write failed on every retry; its lines are dropped",
			slog.Int("lines", b.lines), slog.Int("attempts", b.attempts), slog.String("error", err.Error()))
		return
	}
	delay := w.backoff(b.attempts, err)
	w.retry = b
	w.retryTimer.Reset(delay)
	w.retryC = w.retryTimer.C
	w.throttle.record(now, "write_failed", slog.LevelWarn, 1,
		"influx write failed; will retry",
		slog.String("url", w.cfg.URL), slog.Int("lines", b.lines), slog.Int("attempt", b.attempts),
		slog.Duration("retry_in", delay), slog.String("error", err.Error()))
}

// spool appends b to the spool (fsync'd) and makes sure a replay is scheduled. A batch the
// spool cannot take (disk full, I/O error) is dropped and counted.
func (w *Writer) spool(b *batch) {
	err := w.cfg.Spool.Append(Record{Points: b.lines, Oldest: time.Unix(0, b.oldest), Lines: []byte(b.body)})
	if err != nil {
		w.m.dropSpoolFailed.Add(float64(b.lines))
		w.throttle.record(w.now(), DropSpoolFailed, slog.LevelError, 1,
			"spool append failed; the batch is dropped (check spool.dir: disk full or unwritable?)",
			slog.Int("lines", b.lines), slog.String("error", err.Error()))
		return
	}
	if w.replayC == nil {
		w.scheduleReplay(w.replayDelay())
	}
}

// scheduleReplay arms the replay timer if there is a spool with something in it.
func (w *Writer) scheduleReplay(d time.Duration) {
	if w.cfg.Spool == nil || w.cfg.Spool.Empty() {
		w.replayC = nil
		return
	}
	w.replayTimer.Reset(d)
	w.replayC = w.replayTimer.C
}

// replayDelay is the wait before the next replay attempt while InfluxDB is down.
func (w *Writer) replayDelay() time.Duration {
	if w.replayFailed == 0 {
		return w.retryBase
	}
	return w.backoff(w.replayFailed, nil)
}

// replay sends the oldest spooled record. On success the cursor advances durably and the next
// record follows after points/ReplayRate seconds, so a long backlog never crowds out live
// batches (which go straight to InfluxDB while it is up) nor floods InfluxDB. On failure
// InfluxDB counts as down again and the replay backs off.
func (w *Writer) replay(ctx context.Context) {
	sp := w.cfg.Spool
	r, ok, err := sp.Next()
	if err != nil {
		w.log.Error("spool: cannot read the next record; skipping it", "error", err.Error())
		_ = sp.Skip()
		w.scheduleReplay(0)
		return
	}
	if !ok {
		return
	}
	b := &batch{body: string(r.Lines), lines: r.Points}
	err = w.write(ctx, b)
	switch {
	case err == nil:
		if err := sp.Commit(); err != nil {
			w.log.Error("spool: cannot store the replay cursor; the record may be sent again after a restart", "error", err.Error())
		}
		w.replayFailed = 0
		if w.down {
			w.down = false
			w.recovered()
		}
		if sp.Empty() {
			w.log.Info("spool replayed: InfluxDB holds every spooled reading")
		}
		w.scheduleReplay(time.Duration(float64(r.Points) / float64(sp.ReplayRate()) * float64(time.Second)))
	case ctx.Err() != nil:
		// Shutting down: the record stays in the spool for the next start.
	case !retryable(err):
		w.m.writeErrors.Inc()
		w.m.dropRejected.Add(float64(r.Points))
		w.throttle.record(w.now(), DropRejected, slog.LevelError, 1,
			"influx rejected a spooled batch; its lines are dropped",
			slog.Int("lines", r.Points), slog.String("error", err.Error()))
		_ = sp.Skip()
		w.scheduleReplay(0)
	default:
		w.m.writeErrors.Inc()
		w.down = true
		w.replayFailed++
		w.scheduleReplay(w.replayDelay())
	}
}

// write makes one attempt at b with its own deadline.
func (w *Writer) write(ctx context.Context, b *batch) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	start := time.Now()
	err := w.api.WriteRecord(ctx, b.body)
	w.m.batchDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		return err
	}
	w.m.pointsWritten.Add(float64(b.lines))
	return nil
}

// recovered logs the end of a run of failed writes.
func (w *Writer) recovered() {
	if w.failures == 0 {
		return
	}
	w.log.Info("influx writes succeed again", "url", w.cfg.URL, "failed_writes", w.failures)
	w.failures = 0
}

// backoff is the wait before attempt n+1: exponential from retryBase (1 s) up to retryMax
// (30 s), ours, with jitter so gateways sharing one InfluxDB do not retry in step
// (internal/backoff), and never less than the server's Retry-After.
func (w *Writer) backoff(attempts int, err error) time.Duration {
	d := backoff.Jitter(backoff.Delay(attempts, w.retryBase, w.retryMax))
	var he *influxhttp.Error
	if errors.As(err, &he) && he.RetryAfter > 0 {
		d = max(d, min(time.Duration(he.RetryAfter)*time.Second, w.retryMax))
	}
	return d
}

// retryable reports whether sending the same batch again may succeed: on network errors and
// timeouts (no status), 5xx and 429 it may; on any other 4xx (database not found, field type
// conflict, unauthorised, a line InfluxDB cannot parse) it cannot.
func retryable(err error) bool {
	var he *influxhttp.Error
	if !errors.As(err, &he) || he.StatusCode == 0 {
		return true
	}
	return he.StatusCode == http.StatusTooManyRequests || he.StatusCode >= 500
}

// noteQueueFull logs snapshots Enqueue dropped since the last tick.
func (w *Writer) noteQueueFull() {
	n := w.queueFull.Load()
	if n == w.queueFullSeen {
		return
	}
	delta := int(n - w.queueFullSeen)
	w.queueFullSeen = n
	w.throttle.record(w.now(), DropQueueFull, slog.LevelWarn, delta,
		"influx writer queue full: snapshots dropped (InfluxDB slow or away, or influx.queue_size too small)",
		slog.Int("dropped", delta), slog.Int("queue_size", w.cfg.QueueSize))
}

// shutdown stops Enqueue, drains the queue and writes everything once more, all within one
// deadline of Timeout.
func (w *Writer) shutdown() {
	w.mu.Lock()
	if !w.stopped {
		w.stopped = true
		close(w.inputClosed)
	}
	rest := w.pending
	w.pending = nil
	w.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.FinalTimeout)
	defer cancel()
	lost := 0
	if w.retry != nil {
		lost += w.sendFinal(ctx, w.retry)
		w.retry = nil
	}
	for _, it := range rest {
		w.add(it)
		if w.lines >= w.cfg.BatchSize {
			lost += w.sendFinal(ctx, w.take())
		}
	}
	if w.lines > 0 {
		lost += w.sendFinal(ctx, w.take())
	}
	w.noteQueueFull()
	w.throttle.flush(w.now().Add(logPeriod))
	if lost > 0 {
		w.log.Error("influx writer stopped; lines not written at shutdown are lost", "lost", lost)
		return
	}
	w.log.Info("influx writer stopped")
}

// sendFinal makes the one last attempt at b and returns the number of lines lost.
func (w *Writer) sendFinal(ctx context.Context, b *batch) int {
	if w.cfg.Spool != nil && w.down {
		w.spool(b)
		return 0
	}
	err := w.write(ctx, b)
	if err == nil {
		return 0
	}
	if w.cfg.Spool != nil && (retryable(err) || ctx.Err() != nil) {
		w.down = true
		w.spool(b)
		return 0
	}
	w.m.writeErrors.Inc()
	if retryable(err) {
		w.m.dropShutdown.Add(float64(b.lines))
	} else {
		w.m.dropRejected.Add(float64(b.lines))
	}
	w.log.Error("influx final write failed", "lines", b.lines, "error", err.Error())
	return b.lines
}

// metrics are the writer's Prometheus figures.
type metrics struct {
	pointsWritten prometheus.Counter
	writeErrors   prometheus.Counter
	dropped       *prometheus.CounterVec
	skippedValues prometheus.Counter
	batchDuration prometheus.Histogram
	queueLength   prometheus.GaugeFunc

	dropQueueFull, dropRejected, dropRetriesExhausted, dropShutdown, dropInvalid, dropSpoolFailed prometheus.Counter
}

func newMetrics(queueLength func() float64) *metrics {
	m := &metrics{
		pointsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_influx_points_written_total",
			Help: "Lines (one per device poll, all its fields) InfluxDB accepted.",
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_influx_write_errors_total",
			Help: "Writes to InfluxDB that failed, retries included.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_influx_dropped_total",
			Help: "Lines never written to InfluxDB, by reason: queue_full, rejected (4xx), retries_exhausted, shutdown, invalid, spool_failed.",
		}, []string{"reason"}),
		skippedValues: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_influx_skipped_values_total",
			Help: "Point values left out of their line because line protocol cannot hold them (NaN, Inf, enum codes beyond int64).",
		}),
		batchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "facilityd_influx_batch_duration_seconds",
			Help:    "Time one write of a batch to InfluxDB took, failed ones included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15), // 1 ms to 16 s
		}),
		queueLength: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "facilityd_influx_queue_length",
			Help: "Snapshots waiting for the InfluxDB writer.",
		}, queueLength),
	}
	m.dropQueueFull = m.dropped.WithLabelValues(DropQueueFull)
	m.dropRejected = m.dropped.WithLabelValues(DropRejected)
	m.dropRetriesExhausted = m.dropped.WithLabelValues(DropRetriesExhausted)
	m.dropShutdown = m.dropped.WithLabelValues(DropShutdown)
	m.dropInvalid = m.dropped.WithLabelValues(DropInvalid)
	m.dropSpoolFailed = m.dropped.WithLabelValues(DropSpoolFailed)
	return m
}

func (m *metrics) register(reg prometheus.Registerer) error {
	cs := []prometheus.Collector{
		m.pointsWritten, m.writeErrors, m.dropped, m.skippedValues, m.batchDuration, m.queueLength,
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return err
		}
	}
	return nil
}
