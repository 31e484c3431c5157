package alarms

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testutil"
)

// clock is the shared stepped clock (internal/testutil) starting at time.Unix(0, 0), as
// prometheus rules/alerting_test.go; set takes the offset from then, so that the tests read
// as times of day in UTC.
type clock struct{ *testutil.Clock }

func newClock() *clock                   { return &clock{testutil.NewClock(time.Unix(0, 0).UTC())} }
func (c *clock) now() time.Time          { return c.Now() }
func (c *clock) advance(d time.Duration) { c.Step(d) }
func (c *clock) set(d time.Duration)     { c.Set(time.Unix(0, 0).UTC().Add(d)) }

// recorder is a Sink that keeps what it receives.
type recorder struct{ events []Event }

func (r *recorder) AlarmEvent(e Event) { r.events = append(r.events, e) }

// take returns the events received since the last take, as "type id" strings, with "!" when
// the event notifies.
func (r *recorder) take() []string {
	var out []string
	for _, e := range r.events {
		out = append(out, short(e))
	}
	r.events = nil
	return out
}

func short(e Event) string {
	s := string(e.Type) + " " + e.Alarm.ID
	if e.Notify {
		s += " !"
	}
	return s
}

func device(t testing.TB, id, profile, building string, tags map[string]string) *devices.Device {
	t.Helper()
	p, ok := devices.Builtin(profile)
	if !ok {
		t.Fatalf("no profile %s", profile)
	}
	return &devices.Device{ID: id, Kind: p.Kind, Site: "estate", Building: building, Zone: "north", Profile: p, Tags: tags}
}

// snapshot is a good poll of d with every point 0 except those given.
func snapshot(d *devices.Device, at time.Time, vals map[string]float64) *devices.Snapshot {
	s := &devices.Snapshot{Device: d, Time: at, Comm: devices.CommOnline, Values: make([]devices.Value, len(d.Profile.Points))}
	for name, v := range vals {
		_, i, ok := d.Profile.Point(name)
		if !ok {
			panic("no point " + name)
		}
		s.Values[i].Number = v
	}
	return s
}

// silent is a failed poll of an offline device: every value comm_fail.
func silent(d *devices.Device, at time.Time) *devices.Snapshot {
	s := &devices.Snapshot{Device: d, Time: at, Comm: devices.CommOffline, Err: errors.New("i/o timeout"), Values: make([]devices.Value, len(d.Profile.Points))}
	for i := range s.Values {
		s.Values[i].Quality = devices.QualityCommFail
	}
	return s
}

type harness struct {
	t     testing.TB
	eng   *Engine
	clk   *clock
	rec   *recorder
	j     *Journal
	path  string
	cfg   Config
	devs  []*devices.Device
	state map[string]map[string]float64
}

func newHarness(t testing.TB, cfg Config, devs ...*devices.Device) *harness {
	t.Helper()
	h := &harness{t: t, clk: newClock(), rec: &recorder{}, path: filepath.Join(t.TempDir(), "alarms.db"), cfg: cfg, devs: devs, state: map[string]map[string]float64{}}
	h.open()
	return h
}

func (h *harness) open() {
	h.t.Helper()
	j, err := OpenJournal(h.path)
	if err != nil {
		h.t.Fatal(err)
	}
	h.j = j
	h.t.Cleanup(func() { j.Close() })
	eng, err := New(h.cfg, h.devs, j, h.clk.now, h.rec)
	if err != nil {
		h.t.Fatal(err)
	}
	h.eng = eng
}

func (h *harness) restart() {
	h.t.Helper()
	if err := h.j.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.open()
}

func (h *harness) dev(id string) *devices.Device {
	for _, d := range h.devs {
		if d.ID == id {
			return d
		}
	}
	h.t.Fatalf("no device %s", id)
	return nil
}

// set changes points of a device (keeping the others) and observes the snapshot.
func (h *harness) set(id string, kv ...any) {
	h.t.Helper()
	m := h.state[id]
	if m == nil {
		m = map[string]float64{}
		h.state[id] = m
	}
	for i := 0; i+1 < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case int:
			m[kv[i].(string)] = float64(v)
		case float64:
			m[kv[i].(string)] = v
		case bool:
			m[kv[i].(string)] = 0
			if v {
				m[kv[i].(string)] = 1
			}
		}
	}
	h.eng.Observe(snapshot(h.dev(id), h.clk.now(), m))
}

func (h *harness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) alarm(id string) Alarm {
	h.t.Helper()
	a, err := h.eng.Get(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

func join(s []string) string { return strings.Join(s, "; ") }

var _ = fmt.Sprint
