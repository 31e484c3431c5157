package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/devices"
)

// fakeInflux stands in for InfluxDB's HTTP API: it records every write and answers as respond
// says (204 when respond is nil).
type fakeInflux struct {
	respond func(n int, req *http.Request) (*http.Response, error)

	mu     sync.Mutex
	bodies []string
}

func (f *fakeInflux) Do(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	n := len(f.bodies)
	f.bodies = append(f.bodies, string(body))
	f.mu.Unlock()
	if f.respond == nil {
		return reply(http.StatusNoContent, ""), nil
	}
	return f.respond(n, req)
}

func (f *fakeInflux) writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bodies...)
}

// reply is an answer as InfluxDB 1.8 gives it: errors as JSON and in X-Influxdb-Error.
func reply(status int, msg string) *http.Response {
	h := http.Header{}
	body := ""
	if msg != "" {
		h.Set("Content-Type", "application/json")
		h.Set("X-Influxdb-Error", msg)
		body = `{"error":` + strconv.Quote(msg) + `}`
	}
	return &http.Response{StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status),
		Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// logBuffer collects the writer's log for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) lines(substr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.buf.String(), "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return out
}

type harness struct {
	w      *Writer
	influx *fakeInflux
	reg    *prometheus.Registry
	log    *logBuffer
	cancel context.CancelFunc
	done   chan error
}

// startWriter runs a writer against influx inside the calling synctest bubble.
func startWriter(t *testing.T, influx *fakeInflux, cfg Config) *harness {
	t.Helper()
	h := newHarness(t, influx, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.w.Run(ctx) }()
	return h
}

func newHarness(t *testing.T, influx *fakeInflux, cfg Config) *harness {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = "http://influx.invalid:8086"
	}
	if cfg.Bucket == "" {
		cfg.Bucket = "facility"
	}
	h := &harness{influx: influx, reg: prometheus.NewRegistry(), log: &logBuffer{}, done: make(chan error, 1)}
	w, err := newWriter(cfg, h.reg, newTextLogger(h.log), influx)
	if err != nil {
		t.Fatalf("newWriter: %v", err)
	}
	t.Cleanup(w.Close)
	h.w = w
	return h
}

// stop cancels Run and waits for it.
func (h *harness) stop(t *testing.T) {
	t.Helper()
	h.cancel()
	if err := <-h.done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// metric returns the value of a counter or gauge, or the sample count of a histogram, whose
// labels include the given name/value pairs.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

func snap(id string, i int) *devices.Snapshot {
	return &devices.Snapshot{
		Device: &devices.Device{ID: id, Kind: devices.KindPump, Site: "estate1", Profile: testProfile},
		Time:   t0.Add(time.Duration(i) * time.Second),
		Values: []devices.Value{good(1), good(0), good(2), {Text: "x"}, good(float64(i)), good(3)},
	}
}

func countLines(bodies []string) (n int) {
	for _, b := range bodies {
		n += strings.Count(b, "\n") + 1
	}
	return n
}

func TestWriterFlushesOnInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startWriter(t, &fakeInflux{}, Config{FlushInterval: time.Second})
		for i := range 3 {
			if !h.w.Enqueue(snap("P-1", i)) {
				t.Fatal("Enqueue refused with an empty queue")
			}
		}
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		if got := h.influx.writes(); len(got) != 0 {
			t.Fatalf("wrote %d batches before FlushInterval", len(got))
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		got := h.influx.writes()
		if len(got) != 1 {
			t.Fatalf("wrote %d batches after FlushInterval, want 1", len(got))
		}
		lines := strings.Split(got[0], "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "pump,device=P-1,site=estate1 running=true") {
			t.Errorf("batch is not the 3 newline-joined lines:\n%s", got[0])
		}
		if v := metric(t, h.reg, "facilityd_influx_points_written_total"); v != 3 {
			t.Errorf("points written = %v, want 3", v)
		}
		if v := metric(t, h.reg, "facilityd_influx_batch_duration_seconds"); v != 1 {
			t.Errorf("batch duration samples = %v, want 1", v)
		}
		h.stop(t)
	})
}

func TestWriterFlushesFullBatchAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startWriter(t, &fakeInflux{}, Config{BatchSize: 2, FlushInterval: time.Hour})
		for i := range 5 {
			h.w.Enqueue(snap("P-1", i))
		}
		synctest.Wait()
		got := h.influx.writes()
		if len(got) != 2 || countLines(got) != 4 {
			t.Fatalf("wrote %d batches, %d lines; want 2 batches of 2 before any tick", len(got), countLines(got))
		}
		h.stop(t)
		if got := h.influx.writes(); countLines(got) != 5 {
			t.Errorf("after shutdown %d lines written, want 5", countLines(got))
		}
	})
}

func TestWriterRejectedBatchIsDroppedNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		influx := &fakeInflux{respond: func(int, *http.Request) (*http.Response, error) {
			return reply(http.StatusNotFound, `database not found: "facility"`), nil
		}}
		h := startWriter(t, influx, Config{FlushInterval: time.Second})
		h.w.Enqueue(snap("P-1", 0))
		h.w.Enqueue(snap("P-1", 1))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := len(influx.writes()); got != 1 {
			t.Errorf("%d attempts, want 1: a 404 is not worth retrying", got)
		}
		if v := metric(t, h.reg, "facilityd_influx_dropped_total", "reason", "rejected"); v != 2 {
			t.Errorf("dropped{rejected} = %v, want 2", v)
		}
		if v := metric(t, h.reg, "facilityd_influx_write_errors_total"); v != 1 {
			t.Errorf("write errors = %v, want 1", v)
		}
		if logged := h.log.lines("level=ERROR"); len(logged) != 1 || !strings.Contains(logged[0], `database not found: \"facility\"`) {
			t.Errorf("want one error line with the server's message, got %q", logged)
		}
		h.stop(t)
	})
}

func TestWriterRetriesServerErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		err    error
	}{
		{name: "503", status: http.StatusServiceUnavailable},
		{name: "500", status: http.StatusInternalServerError},
		{name: "429", status: http.StatusTooManyRequests},
		{name: "connection refused", err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				influx := &fakeInflux{respond: func(n int, _ *http.Request) (*http.Response, error) {
					if n < 2 {
						if tc.err != nil {
							return nil, tc.err
						}
						return reply(tc.status, "busy"), nil
					}
					return reply(http.StatusNoContent, ""), nil
				}}
				h := startWriter(t, influx, Config{FlushInterval: time.Second})
				h.w.Enqueue(snap("P-1", 0))
				time.Sleep(10 * time.Second) // backoff after 2 failures is at most 1 s + 2 s
				synctest.Wait()
				got := influx.writes()
				if len(got) != 3 || got[0] != got[2] {
					t.Fatalf("%d attempts, want 3 of the same batch", len(got))
				}
				if v := metric(t, h.reg, "facilityd_influx_points_written_total"); v != 1 {
					t.Errorf("points written = %v, want 1", v)
				}
				if v := metric(t, h.reg, "facilityd_influx_write_errors_total"); v != 2 {
					t.Errorf("write errors = %v, want 2", v)
				}
				if l := h.log.lines("succeed again"); len(l) != 1 {
					t.Errorf("want one recovery line, got %q", l)
				}
				h.stop(t)
			})
		})
	}
}

func TestWriterGivesUpAfterRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		influx := &fakeInflux{respond: func(int, *http.Request) (*http.Response, error) {
			return reply(http.StatusBadGateway, ""), nil
		}}
		h := startWriter(t, influx, Config{FlushInterval: time.Second})
		h.w.Enqueue(snap("P-1", 0))
		h.w.Enqueue(snap("P-1", 1))
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if got := len(influx.writes()); got != 1+defaultMaxRetries {
			t.Errorf("%d attempts, want %d", got, 1+defaultMaxRetries)
		}
		if v := metric(t, h.reg, "facilityd_influx_dropped_total", "reason", "retries_exhausted"); v != 2 {
			t.Errorf("dropped{retries_exhausted} = %v, want 2", v)
		}
		h.stop(t)
	})
}

func TestWriterLogsEachKindOfErrorOncePer30s(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		influx := &fakeInflux{respond: func(int, *http.Request) (*http.Response, error) {
			return nil, errors.New("connection refused")
		}}
		h := newHarness(t, influx, Config{FlushInterval: time.Second})
		h.w.maxRetries = 1000
		h.w.retryBase, h.w.retryMax = time.Second, time.Second
		ctx, cancel := context.WithCancel(context.Background())
		h.cancel = cancel
		go func() { h.done <- h.w.Run(ctx) }()

		h.w.Enqueue(snap("P-1", 0))
		time.Sleep(29 * time.Second)
		synctest.Wait()
		attempts := len(influx.writes())
		if attempts < 20 {
			t.Fatalf("only %d attempts in 29 s", attempts)
		}
		if l := h.log.lines("will retry"); len(l) != 1 {
			t.Fatalf("%d attempts logged %d lines in 29 s, want 1", attempts, len(l))
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		l := h.log.lines("will retry")
		if len(l) != 2 {
			t.Fatalf("after 32 s %d lines, want 2", len(l))
		}
		m := regexp.MustCompile(`suppressed=(\d+)`).FindStringSubmatch(l[1])
		if m == nil || m[1] == "0" {
			t.Errorf("second line does not say how many were suppressed: %s", l[1])
		}
		h.stop(t)
	})
}

func TestWriterShutdownDrainsQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, &fakeInflux{}, Config{FlushInterval: time.Hour})
		for i := range 10 {
			h.w.Enqueue(snap("P-1", i))
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // Run starts cancelled: everything queued goes out in the final flush
		if err := h.w.Run(ctx); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := h.influx.writes(); len(got) != 1 || countLines(got) != 10 {
			t.Errorf("final flush wrote %d batches, %d lines; want 1 batch of 10", len(got), countLines(got))
		}
		if h.w.Enqueue(snap("P-1", 11)) {
			t.Error("Enqueue accepted a snapshot after Run returned")
		}
		if v := metric(t, h.reg, "facilityd_influx_dropped_total", "reason", "shutdown"); v != 1 {
			t.Errorf("dropped{shutdown} = %v, want 1", v)
		}
		if err := h.w.Run(context.Background()); err == nil {
			t.Error("second Run did not fail")
		}
	})
}

func TestWriterShutdownIsBoundedByTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		influx := &fakeInflux{respond: func(_ int, req *http.Request) (*http.Response, error) {
			<-req.Context().Done() // an InfluxDB that accepts and never answers
			return nil, req.Context().Err()
		}}
		const timeout = 3 * time.Second
		h := startWriter(t, influx, Config{FlushInterval: time.Second, Timeout: timeout})
		h.w.Enqueue(snap("P-1", 0))
		time.Sleep(1500 * time.Millisecond) // the first write is in flight
		synctest.Wait()
		start := time.Now()
		h.stop(t)
		if took := time.Since(start); took != timeout {
			t.Errorf("Run returned %s after cancel, want the final flush's deadline %s", took, timeout)
		}
		if got := len(influx.writes()); got != 2 {
			t.Errorf("%d attempts, want 2 (the cancelled one and the final one)", got)
		}
		if v := metric(t, h.reg, "facilityd_influx_dropped_total", "reason", "shutdown"); v != 1 {
			t.Errorf("dropped{shutdown} = %v, want 1", v)
		}
		if l := h.log.lines("lost=1"); len(l) != 1 {
			t.Errorf("shutdown does not report the lost line: %q", h.log.lines(""))
		}
	})
}

func TestWriterQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, &fakeInflux{}, Config{QueueSize: 2})
		accepted := 0
		for i := range 5 {
			if h.w.Enqueue(snap("P-1", i)) {
				accepted++
			}
		}
		if accepted != 2 {
			t.Errorf("accepted %d snapshots into a queue of 2", accepted)
		}
		if v := metric(t, h.reg, "facilityd_influx_dropped_total", "reason", "queue_full"); v != 3 {
			t.Errorf("dropped{queue_full} = %v, want 3", v)
		}
		if v := metric(t, h.reg, "facilityd_influx_queue_length"); v != 2 {
			t.Errorf("queue length = %v, want 2", v)
		}
		if h.w.Enqueue(nil) || h.w.Enqueue(&devices.Snapshot{}) {
			t.Error("Enqueue accepted a snapshot without a device")
		}
		if v := metric(t, h.reg, "facilityd_influx_dropped_total", "reason", "invalid"); v != 2 {
			t.Errorf("dropped{invalid} = %v, want 2", v)
		}

		ctx, cancel := context.WithCancel(context.Background())
		h.cancel = cancel
		go func() { h.done <- h.w.Run(ctx) }()
		time.Sleep(time.Second)
		synctest.Wait()
		if l := h.log.lines("queue full"); len(l) != 1 || !strings.Contains(l[0], "dropped=3") {
			t.Errorf("want one queue-full line saying dropped=3, got %q", l)
		}
		h.stop(t)
	})
}

func TestWriterCountsSkippedValues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startWriter(t, &fakeInflux{}, Config{})
		s := snap("P-1", 0)
		s.Values[4].Number = nan()
		h.w.Enqueue(s)
		time.Sleep(time.Second)
		synctest.Wait()
		if v := metric(t, h.reg, "facilityd_influx_skipped_values_total"); v != 1 {
			t.Errorf("skipped values = %v, want 1", v)
		}
		if got := h.influx.writes(); len(got) != 1 || strings.Contains(got[0], "pressure") {
			t.Errorf("NaN written: %q", got)
		}
		h.stop(t)
	})
}

func nan() float64 { zero := 0.0; return zero / zero }

func TestNewWriterConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string
	}{
		{name: "1.8 without auth", cfg: Config{URL: "http://127.0.0.1:8086", Bucket: "facility/autogen"}},
		{name: "no url", cfg: Config{Bucket: "b"}, wantErr: []string{"influx.url: missing"}},
		{name: "not http", cfg: Config{URL: "udp://127.0.0.1:8089", Bucket: "b"}, wantErr: []string{"influx.url"}},
		{name: "no host", cfg: Config{URL: "127.0.0.1:8086", Bucket: "b"}, wantErr: []string{"influx.url"}},
		{name: "no bucket", cfg: Config{URL: "http://h:8086"}, wantErr: []string{"influx.bucket: missing"}},
		{
			name:    "negative sizes",
			cfg:     Config{URL: "http://h:8086", Bucket: "b", BatchSize: -1, QueueSize: -1, Timeout: -1},
			wantErr: []string{"influx.batch_size", "influx.queue_size", "influx.timeout"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := NewWriter(tc.cfg, prometheus.NewRegistry(), nil)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("NewWriter: %v", err)
				}
				defer w.Close()
				want := Config{URL: tc.cfg.URL, Bucket: tc.cfg.Bucket, BatchSize: 5000, FlushInterval: time.Second, Timeout: 10 * time.Second, FinalTimeout: 10 * time.Second, QueueSize: 1000}
				if w.cfg != want {
					t.Errorf("defaults: got %+v, want %+v", w.cfg, want)
				}
				return
			}
			if err == nil {
				t.Fatal("NewWriter accepted a bad config")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}
		})
	}
}

func TestNewWriterRegistersMetricsOnce(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	cfg := Config{URL: "http://127.0.0.1:8086", Bucket: "facility"}
	w, err := NewWriter(cfg, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := NewWriter(cfg, reg, nil); err == nil {
		t.Error("a second writer registered the same metrics without error")
	}
	for _, name := range []string{
		"facilityd_influx_points_written_total", "facilityd_influx_write_errors_total",
		"facilityd_influx_skipped_values_total", "facilityd_influx_queue_length",
	} {
		metric(t, reg, name)
	}
	for _, reason := range []string{"queue_full", "rejected", "retries_exhausted", "shutdown", "invalid"} {
		metric(t, reg, "facilityd_influx_dropped_total", "reason", reason)
	}
}

func TestConfigHidesToken(t *testing.T) {
	t.Parallel()
	cfg := Config{URL: "http://h:8086", Bucket: "b", Token: "s3cret-token"}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "influx", cfg)
	for _, printed := range []string{cfg.String(), buf.String()} {
		if strings.Contains(printed, "s3cret") {
			t.Errorf("token printed: %s", printed)
		}
		if !strings.Contains(printed, "<hidden>") {
			t.Errorf("token not marked hidden: %s", printed)
		}
	}
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		want   bool
	}{
		{name: "network error", status: 0, want: true},
		{name: "429", status: 429, want: true},
		{name: "500", status: 500, want: true},
		{name: "503", status: 503, want: true},
		{name: "400 field type conflict", status: 400, want: false},
		{name: "401", status: 401, want: false},
		{name: "404 database not found", status: 404, want: false},
		{name: "413 too large", status: 413, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := error(&influxhttp.Error{StatusCode: tc.status})
			if tc.status == 0 {
				err = &influxhttp.Error{Err: errors.New("connection refused")}
			}
			if got := retryable(err); got != tc.want {
				t.Errorf("retryable = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLogThrottle(t *testing.T) {
	t.Parallel()
	var buf logBuffer
	th := newLogThrottle(slog.New(slog.NewTextHandler(&buf, nil)), 30*time.Second)
	at := func(s int) time.Time { return time.Unix(0, 0).Add(time.Duration(s) * time.Second) }

	th.record(at(0), "a", slog.LevelWarn, 1, "a failed")
	th.record(at(1), "a", slog.LevelWarn, 1, "a failed")
	th.record(at(2), "a", slog.LevelWarn, 5, "a failed")
	th.record(at(2), "b", slog.LevelError, 1, "b failed") // another kind is not held back
	th.flush(at(29))                                      // period not over: nothing
	if n := len(buf.lines("a failed")); n != 1 {
		t.Fatalf("%d lines of kind a within 30 s, want 1", n)
	}
	if n := len(buf.lines("b failed")); n != 1 {
		t.Fatalf("%d lines of kind b, want 1", n)
	}
	th.record(at(30), "a", slog.LevelWarn, 1, "a failed")
	if l := buf.lines("a failed"); len(l) != 2 || !strings.Contains(l[1], "suppressed=6") {
		t.Fatalf("second line of kind a should count 6 suppressed: %q", l)
	}
	th.record(at(31), "a", slog.LevelWarn, 1, "a failed")
	th.flush(at(59))
	th.flush(at(60))
	if l := buf.lines("a failed (repeated)"); len(l) != 1 || !strings.Contains(l[0], "suppressed=1") {
		t.Fatalf("flush after the period should summarise the held-back event: %q", l)
	}
	th.flush(at(200))
	if n := len(buf.lines("a failed")); n != 3 {
		t.Errorf("flush with nothing held back logged again: %d lines", n)
	}
}

// TestInfluxURLPasswordIsNeverLogged: a password in influx.url (http://user:pass@host) is sent as
// the connection's credentials, and neither the start-up config nor a failed write's log line
// shows it.
func TestInfluxURLPasswordIsNeverLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var auth []string
		var mu sync.Mutex
		influx := &fakeInflux{respond: func(n int, req *http.Request) (*http.Response, error) {
			mu.Lock()
			auth = append(auth, req.Header.Get("Authorization"))
			mu.Unlock()
			if req.URL.User != nil {
				t.Errorf("request URL carries userinfo: %s", req.URL.Redacted())
			}
			if n == 0 {
				return reply(http.StatusServiceUnavailable, "busy"), nil
			}
			return reply(http.StatusNoContent, ""), nil
		}}
		cfg := Config{URL: "http://writer:pa55word@influx.invalid:8086", FlushInterval: time.Second}
		h := startWriter(t, influx, cfg)
		h.log.Write([]byte(fmt.Sprintf("%s\n", cfg)))
		slog.New(slog.NewTextHandler(h.log, nil)).Info("start", "influx", cfg)
		h.w.Enqueue(snap("P-1", 0))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		h.stop(t)
		if l := h.log.lines("pa55word"); len(l) != 0 {
			t.Errorf("password logged: %q", l)
		}
		if l := h.log.lines("write failed"); len(l) == 0 || !strings.Contains(l[0], "influx.invalid") {
			t.Errorf("failed write not logged with its host: %q", l)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(auth) < 2 || auth[0] != "Token writer:pa55word" {
			t.Errorf("Authorization = %q, want the URL's credentials as the 1.8 token", auth)
		}
	})
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{name: "user and password", in: "http://u:secret@h:8086/x", want: "http://xxxxx@h:8086/x"},
		{name: "user only", in: "https://secret@h", want: "https://xxxxx@h"},
		{name: "none", in: "http://h:8086", want: "http://h:8086"},
		{name: "empty", in: "", want: ""},
		{name: "unparsable", in: "http://u:secret@h:bad port", want: "<unparsable URL>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RedactURL(tc.in); got != tc.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestInfluxURLAndTokenBothCredentials(t *testing.T) {
	t.Parallel()
	_, err := NewWriter(Config{URL: "http://u:p@h:8086", Bucket: "b", Token: "t"}, nil, nil)
	if !errors.Is(err, errCredentialsTwice) {
		t.Errorf("NewWriter = %v, want the both-credentials error", err)
	}
}
