package patrol

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/internal/testutil"
	"github.com/facilityd/facilityd/locale"
)

// fakeChannel records what it is sent.
type fakeChannel struct {
	name string
	got  chan Message
}

func newFakeChannel(name string) *fakeChannel {
	return &fakeChannel{name: name, got: make(chan Message, 100)}
}
func (f *fakeChannel) Name() string { return f.name }
func (f *fakeChannel) Send(_ context.Context, m Message) error {
	f.got <- m
	return nil
}

// next waits for the next message (the dispatcher delivers on its own goroutine).
func (f *fakeChannel) next(t *testing.T) Message {
	t.Helper()
	select {
	case m := <-f.got:
		return m
	case <-time.After(5 * time.Second):
		t.Fatalf("channel %s: no message", f.name)
	}
	return Message{}
}

// none checks that nothing more was sent: it first pushes a marker through the same queue.
func (f *fakeChannel) none(t *testing.T, s *Service) {
	t.Helper()
	s.dispatch.Enqueue(Message{Type: "marker", channels: []string{f.name}})
	if m := f.next(t); m.Type != "marker" {
		t.Fatalf("channel %s: unexpected %s of alert %s to %v", f.name, m.Type, m.Alert, m.To)
	}
}

type fakeAcker struct {
	mu   sync.Mutex
	acks []string
}

func (f *fakeAcker) Ack(alarmID, by, note string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acks = append(f.acks, alarmID+" by "+by)
	return nil
}

// Shanghai has no DST: local times in tests stay simple.
var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// testConfig is a site with two zones, a day and a night shift crossing midnight, and the
// YAML's defaults (config.DefaultPatrol) for everything else.
func testConfig(t *testing.T) *Config {
	cfg := Config{
		Site: "estate", Locale: locale.EN, Location: shanghai, Latitude: 31.2304, Longitude: 121.4737,
		Store: filepath.Join(t.TempDir(), "patrol.db"), Retention: 365 * 24 * time.Hour,
		Escalation: Escalation{
			LifeSafety: Timing{Resend: 30 * time.Second, Escalate: 60 * time.Second},
			Critical:   Timing{Resend: 30 * time.Second, Escalate: 60 * time.Second},
			High:       Timing{Resend: 2 * time.Minute, Escalate: 5 * time.Minute},
			Medium:     Timing{Escalate: 15 * time.Minute},
		},
		Lighting: Lighting{Shift: "night", AfterDusk: 30 * time.Minute},
		Webhook:  WebhookConfig{Timeout: 5 * time.Second, Retries: 5, BackoffMin: 500 * time.Millisecond, BackoffMax: 30 * time.Second},
		Phones: Phones{
			RatePerMinute: 20, Burst: 5, Retries: 5, SelfTest: "09:00", Call: Call{Ring: 30 * time.Second},
			SMS: SMS{Modem: Modem{Baud: 115200}, Gateway: SMSGateway{Method: "POST", ContentType: "application/json", Timeout: 10 * time.Second}},
		},
	}
	cfg.Shifts = []Shift{
		{Name: "night", Start: "18:00", End: "08:00", Supervisor: "sup-n", Fallback: "chief"},
		{Name: "day", Start: "08:00", End: "18:00", Supervisor: "sup-d", Fallback: "chief"},
	}
	cfg.Guards = []Guard{
		{ID: "g1", Name: "Wang", Handset: "H-01"}, {ID: "g2", Name: "Li", Handset: "H-02"},
		{ID: "g3", Name: "Zhao", Handset: "H-03"}, {ID: "g4", Name: "Sun", Handset: "H-04"},
		{ID: "sup-n", Name: "Night supervisor", Handset: "H-10"}, {ID: "sup-d", Name: "Day supervisor", Handset: "H-11"},
		{ID: "chief", Name: "Security chief", Handset: "H-99"},
	}
	cfg.Groups = []Group{
		{Name: "north-night", Shift: "night", Zones: []string{"north"}, Guards: []string{"g1", "g2"}},
		{Name: "south-night", Shift: "night", Zones: []string{"south"}, Guards: []string{"g3"}},
		{Name: "day", Shift: "day", Zones: []string{"north", "south"}, Guards: []string{"g4"}},
	}
	return &cfg
}

// night is 23:00 local on 26 November 2026.
var night = time.Date(2026, 11, 26, 23, 0, 0, 0, shanghai)

type rig struct {
	s     *Service
	clock *testutil.Clock
	ch    *fakeChannel
	acker *fakeAcker
	stop  func()
}

// newRig runs a service with one fake channel named "mqtt" (and "console", "webhook" dropped).
func newRig(t *testing.T, cfg *Config, start time.Time, deps Deps) *rig {
	t.Helper()
	r := &rig{clock: testutil.NewClock(start), ch: newFakeChannel("mqtt"), acker: &fakeAcker{}}
	deps.Now = r.clock.Now
	deps.Channels = []Channel{r.ch}
	deps.Acker = r.acker
	deps.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(*cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.dispatch.Run(ctx) }()
	r.s = s
	r.stop = func() { cancel(); <-done; s.Close() }
	t.Cleanup(func() {
		if r.stop != nil {
			r.stop()
		}
	})
	return r
}

// restart stops the service and opens a new one on the same store.
func (r *rig) restart(t *testing.T, cfg *Config) *rig {
	t.Helper()
	r.stop()
	r.stop = nil
	return newRig(t, cfg, r.clock.Now(), Deps{})
}

var seq atomic.Uint64

func nextSeq() uint64 { return seq.Add(1) }

func raised(id, zone string, p alarms.Priority, c alarms.Class) alarms.Event {
	return alarms.Event{Seq: nextSeq(), Type: alarms.EventRaised, Notify: true, By: "system", Alarm: alarms.Alarm{
		ID: id, Site: "estate", Zone: zone, Priority: p, Class: c, Message: id + " in " + zone, State: alarms.StateUnacknowledged, Active: true,
	}}
}

func next(e alarms.Event, typ alarms.EventType) alarms.Event {
	e.Seq, e.Type = nextSeq(), typ
	return e
}

func ids(gs []Guard) []string {
	out := []string{}
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func counterValue(t *testing.T, m *Metrics, labels ...string) float64 {
	t.Helper()
	var pb dto.Metric
	if err := m.sent.WithLabelValues(labels...).Write(&pb); err != nil {
		t.Fatal(err)
	}
	return pb.GetCounter().GetValue()
}
