package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
)

// trace records what the fake stages did, in order.
type trace struct {
	mu  sync.Mutex
	log []string
}

func (t *trace) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.log = append(t.log, s)
}

func (t *trace) events() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.log)
}

// before says whether a happened before b in the trace.
func (t *trace) before(a, b string) bool {
	ev := t.events()
	i, j := slices.Index(ev, a), slices.Index(ev, b)
	return i >= 0 && j >= 0 && i < j
}

// fakeSource emits one snapshot when it starts and runs until ctx ends (or fails with err).
type fakeSource struct {
	tr   *trace
	emit func(*devices.Snapshot)
	err  error
}

func (s *fakeSource) Run(ctx context.Context) error {
	s.tr.add("source started")
	s.emit(&devices.Snapshot{Device: &devices.Device{ID: "P-1"}})
	if s.err != nil {
		return s.err
	}
	<-ctx.Done()
	s.tr.add("source stopped")
	return nil
}

// fakeReader queues what it is given and drains it once its input closes; with stuck it never
// returns until ctx ends (a writer that cannot flush).
type fakeReader struct {
	tr     *trace
	name   string
	mu     sync.Mutex
	got    int
	closed chan struct{}
	stuck  bool
	// drained runs once the input is drained (the engine closes the journal's feed then).
	drained func()
	// onClose runs when the input closes, on the runner's goroutine.
	onClose func()
}

func newFakeReader(tr *trace, name string) *fakeReader {
	return &fakeReader{tr: tr, name: name, closed: make(chan struct{})}
}

func (r *fakeReader) Enqueue(*devices.Snapshot) {
	r.mu.Lock()
	r.got++
	r.mu.Unlock()
}

func (r *fakeReader) CloseInput() {
	if r.onClose != nil {
		r.onClose()
	}
	r.tr.add(r.name + " input closed")
	close(r.closed)
}

func (r *fakeReader) Run(ctx context.Context) error {
	if r.stuck {
		<-ctx.Done()
		r.tr.add(r.name + " cancelled")
		return nil
	}
	select {
	case <-r.closed:
		r.tr.add(r.name + " drained")
		if r.drained != nil {
			r.drained()
		}
	case <-ctx.Done():
		r.tr.add(r.name + " cancelled")
	}
	return nil
}

// fakeService runs until ctx ends.
func fakeService(tr *trace, name string) Service {
	return RunFunc(func(ctx context.Context) error {
		<-ctx.Done()
		tr.add(name + " stopped")
		return nil
	})
}

// testDaemon is a daemon of fake stages, with a journal of its own when a stage follows it.
func testDaemon(p *pipeline, timeout time.Duration, log *bytes.Buffer) *Daemon {
	d := &Daemon{
		cfg:    &config.Config{ShutdownTimeout: timeout},
		log:    slog.New(slog.NewTextHandler(log, nil)),
		stages: p,
	}
	d.fanout.Store(&p.fanout)
	return d
}

// TestRunnerStopsInOrder: at the stop, the sources end first (and the API with them), the
// reading consumers' inputs close only after every source has returned, each drains, the
// engine's drain closes the journal's feed, the journal consumers return and the services stop
// last; the snapshot a source emitted reached every reading consumer and observer through the
// one fan-out.
func TestRunnerStopsInOrder(t *testing.T) {
	tr := &trace{}
	j, err := alarms.OpenJournal(filepath.Join(t.TempDir(), "alarms.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	writer, engine := newFakeReader(tr, "writer"), newFakeReader(tr, "engine")
	engine.drained = j.CloseFeed // as engineStage does
	// The API is told to stop with the sources: its context is done by the time the runner
	// closes the readers' inputs (when its goroutine gets to record it is up to the scheduler).
	var apiCtx atomic.Pointer[context.Context]
	apiService := RunFunc(func(ctx context.Context) error {
		apiCtx.Store(&ctx)
		<-ctx.Done()
		tr.add("api stopped")
		return nil
	})
	apiStopping := false
	writer.onClose = func() {
		if c := apiCtx.Load(); c != nil && (*c).Err() != nil {
			apiStopping = true
		}
	}
	observed := 0
	p := &pipeline{
		fanout:   []Observer{func(*devices.Snapshot) { observed++ }, writer.Enqueue, engine.Enqueue},
		readers:  []named[ReadingConsumer]{{name: "influx writer", v: writer}, {name: "alarm engine", v: engine}},
		journal:  []JournalConsumer{alarms.ConsumerFunc("", func(context.Context, alarms.Event) error { return nil })},
		services: []named[Service]{{name: "work orders", v: fakeService(tr, "orders")}, {name: "api", v: apiService, stopsWithSources: true}},
	}
	var log bytes.Buffer
	d := testDaemon(p, 5*time.Second, &log)
	d.journal = j
	started := make(chan struct{})
	src := &fakeSource{tr: tr, emit: func(s *devices.Snapshot) { d.handle(s); close(started) }}
	p.sources = []named[Source]{{name: "modbus pollers", v: src}}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if observed != 1 || writer.got != 1 || engine.got != 1 {
		t.Errorf("fan-out: observer %d, writer %d, engine %d snapshots; want 1 each", observed, writer.got, engine.got)
	}
	for _, order := range [][2]string{
		{"source stopped", "writer input closed"},
		{"source stopped", "engine input closed"},
		{"writer input closed", "writer drained"},
		{"engine drained", "orders stopped"},
	} {
		if !tr.before(order[0], order[1]) {
			t.Errorf("%q did not happen before %q: %v", order[0], order[1], tr.events())
		}
	}
	if !apiStopping {
		t.Errorf("the API was not yet told to stop when the readers' inputs closed; it stops with the sources: %v", tr.events())
	}
	for _, line := range []string{"stopping: sources stop, then each stage drains into the next", "msg=stopped"} {
		if !strings.Contains(log.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, log.String())
		}
	}
}

// TestRunnerFailures: a stage that fails stops the daemon with its name in the error; a stage
// that does not drain within shutdown_timeout is cancelled, and Run says so.
func TestRunnerFailures(t *testing.T) {
	tests := []struct {
		name      string
		sourceErr error
		stuck     bool
		wantErr   string
		wantLog   string
	}{
		{name: "a source fails", sourceErr: errors.New("dial 10.0.0.9:502: refused"), wantErr: "sources: dial 10.0.0.9:502: refused", wantLog: "msg=stopped"},
		{name: "a consumer does not drain", stuck: true, wantErr: "shutdown took longer than shutdown_timeout 50ms", wantLog: "shutdown_timeout passed before everything drained"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := &trace{}
			writer := newFakeReader(tr, "writer")
			writer.stuck = tc.stuck
			p := &pipeline{
				fanout:  []Observer{writer.Enqueue},
				readers: []named[ReadingConsumer]{{name: "influx writer", v: writer}},
			}
			var log bytes.Buffer
			d := testDaemon(p, 50*time.Millisecond, &log)
			started := make(chan struct{})
			src := &fakeSource{tr: tr, err: tc.sourceErr, emit: func(s *devices.Snapshot) { d.handle(s); close(started) }}
			p.sources = []named[Source]{{name: "modbus pollers", v: src}}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			<-started
			if tc.sourceErr == nil {
				cancel()
			}
			err := <-done
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Run: %v, want an error with %q", err, tc.wantErr)
			}
			if !strings.Contains(log.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, log.String())
			}
		})
	}
}

// TestStageTableKinds: every entry of the stage table is of exactly one kind and named, so
// that the runner starts and stops each the way its kind says.
func TestStageTableKinds(t *testing.T) {
	for _, s := range stageTable {
		kinds := 0
		for _, set := range []bool{s.observe != nil, s.reading != nil, s.journal != nil, s.service != nil, s.source != nil} {
			if set {
				kinds++
			}
		}
		if s.name == "" || kinds != 1 {
			t.Errorf("stage %q has %d kinds, want a name and exactly one", s.name, kinds)
		}
		if s.stopsWithSources && s.service == nil {
			t.Errorf("stage %q stops with the sources but is not a service", s.name)
		}
	}
}
