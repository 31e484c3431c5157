package devices

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
)

func testProfile(t *testing.T) *Profile {
	t.Helper()
	p, err := ParseProfile("test", []byte(`
name: t
kind: generic
points:
  - {name: pressure, table: input, address: 0, type: float32, unit: bar}
  - {name: running,  table: coil,  address: 0, type: bool}
  - {name: model,    table: holding, address: 0, type: string, length: 4}
`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func snap(d *Device, at time.Time, pressure float64, ok bool) *Snapshot {
	s := &Snapshot{Device: d, Time: at, Comm: CommOnline}
	if ok {
		s.Values = []Value{{Number: pressure}, {Number: 1}, {Text: "X"}}
	} else {
		s.Comm, s.Err = CommRetrying, errTest
	}
	return s
}

var errTest = errorString("timeout")

type errorString string

func (e errorString) Error() string { return string(e) }

func TestHistory(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name     string
		window   time.Duration
		interval time.Duration
		budget   int
		polls    int // one a second from t0; poll 5 fails
		since    time.Time
		want     []float64 // pressure values, NaN for the gap
		capacity int
	}{
		{name: "every poll kept", window: time.Hour, interval: time.Second, budget: 1 << 20, polls: 8, since: t0.Add(-time.Second),
			want: []float64{0, 1, 2, 3, 4, math.NaN(), 6, 7}, capacity: 3600},
		{name: "since cuts the oldest", window: time.Hour, interval: time.Second, budget: 1 << 20, polls: 8, since: t0.Add(5500 * time.Millisecond),
			want: []float64{6, 7}, capacity: 3600},
		// 2 numeric points × 16 bytes × 1800 samples = 57600 bytes: half an hour's worth at 1 s,
		// so the ring keeps one sample every 2 s over the whole hour.
		{name: "budget thins samples, keeps the hour", window: time.Hour, interval: time.Second, budget: 57600, polls: 8, since: t0.Add(-time.Second),
			want: []float64{0, 2, 4, 6}, capacity: 1800},
		{name: "the ring wraps, oldest dropped", window: 4 * time.Second, interval: time.Second, budget: 1 << 20, polls: 8, since: t0.Add(-time.Second),
			want: []float64{4, math.NaN(), 6, 7}, capacity: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Device{ID: "D-1", Profile: testProfile(t), Interval: tt.interval}
			h := NewHistory([]*Device{d}, tt.window, tt.budget)
			if got := h.Capacity("D-1"); got != tt.capacity {
				t.Fatalf("capacity %d samples a point, want %d", got, tt.capacity)
			}
			if max := h.MaxBytes([]*Device{d}); max > tt.budget {
				t.Errorf("rings may take %d bytes, over the budget of %d", max, tt.budget)
			}
			for i := range tt.polls {
				h.Record(snap(d, t0.Add(time.Duration(i)*time.Second), float64(i), i != 5))
			}
			got, ok := h.Since("D-1", "pressure", tt.since)
			if !ok {
				t.Fatal("no pressure history")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d samples %v, want %v", len(got), got, tt.want)
			}
			for i, s := range got {
				w := tt.want[i]
				if math.IsNaN(w) != math.IsNaN(s.Value) || !math.IsNaN(w) && w != s.Value {
					t.Errorf("sample %d = %v, want %v", i, s.Value, w)
				}
				if i > 0 && s.Time <= got[i-1].Time {
					t.Errorf("samples out of order: %v", got)
				}
			}
			if _, ok := h.Since("D-1", "model", tt.since); !ok {
				t.Error("a string point of a known device should answer ok with no samples")
			}
			if _, ok := h.Since("D-9", "pressure", tt.since); ok {
				t.Error("an unknown device answered ok")
			}
		})
	}
}

// TestHistoryReload: after a configuration reload a remaining device keeps its samples, a new
// one is charted from its first poll, and a removed one is forgotten.
func TestHistoryReload(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	kept := &Device{ID: "D-1", Profile: testProfile(t), Interval: time.Second}
	gone := &Device{ID: "D-2", Profile: testProfile(t), Interval: time.Second}
	h := NewHistory([]*Device{kept, gone}, time.Hour, 1<<20)
	h.Record(snap(kept, t0, 1, true))
	h.Record(snap(gone, t0, 2, true))

	added := &Device{ID: "D-3", Profile: testProfile(t), Interval: time.Second}
	h.SetDevices([]*Device{kept, added})
	h.Record(snap(kept, t0.Add(time.Second), 3, true))
	h.Record(snap(added, t0.Add(time.Second), 4, true))

	for _, tt := range []struct {
		name, device string
		want         []float64
		known        bool
	}{
		{name: "kept", device: "D-1", want: []float64{1, 3}, known: true},
		{name: "added", device: "D-3", want: []float64{4}, known: true},
		{name: "removed", device: "D-2", known: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := h.Since(tt.device, "pressure", t0.Add(-time.Second))
			if ok != tt.known || len(got) != len(tt.want) {
				t.Fatalf("%s: %v (known %v), want %v (known %v)", tt.device, got, ok, tt.want, tt.known)
			}
			for i, s := range got {
				if s.Value != tt.want[i] {
					t.Errorf("%s sample %d = %v, want %v", tt.device, i, s.Value, tt.want[i])
				}
			}
		})
	}
}

// TestHistoryFleetStaysInBudget: the rings of a large fleet take no more memory than the
// budget says, headers and maps included (a ring a point once took three times its samples).
func TestHistoryFleetStaysInBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: wide\nkind: generic\npoints:\n")
	for i := range 50 {
		fmt.Fprintf(&b, "  - {name: r%02d, table: input, address: %d, type: uint16}\n", i, i)
	}
	p, err := ParseProfile("wide", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	devs := make([]*Device, 2000)
	for i := range devs {
		devs[i] = &Device{ID: fmt.Sprintf("dev-%05d", i), Profile: p, Interval: time.Second}
	}
	const budget = 4 << 20
	values := make([]Value, 50)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h := NewHistory(devs, time.Hour, budget)
	t0 := time.Unix(1_700_000_000, 0)
	for step := range 3 {
		for _, d := range devs {
			h.Record(&Snapshot{Device: d, Time: t0.Add(time.Duration(step) * time.Hour), Values: values, Comm: CommOnline})
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if used := int64(after.HeapAlloc) - int64(before.HeapAlloc); used > budget {
		t.Errorf("rings of 2,000 devices x 50 points take %d bytes, over the budget of %d", used, budget)
	}
	if got, ok := h.Since("dev-01999", "r49", t0.Add(-time.Second)); !ok || len(got) != 2 {
		t.Errorf("last point of the last device: %d samples (known %v), want the 2 the budget allows", len(got), ok)
	}
	runtime.KeepAlive(h)
}

// TestHistoryReloadedProfile: a device whose profile a reload changed starts a new ring when its
// numeric points changed, and keeps its samples, read by the new layout, when only a string
// point moved.
func TestHistoryReloadedProfile(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	d := &Device{ID: "D-1", Profile: testProfile(t), Interval: time.Second}
	h := NewHistory([]*Device{d}, time.Hour, 1<<20)
	h.Record(snap(d, t0, 1, true))

	moved, err := ParseProfile("test", []byte(`
name: t
kind: generic
points:
  - {name: model,    table: holding, address: 0, type: string, length: 4}
  - {name: pressure, table: input, address: 0, type: float32, unit: bar}
  - {name: running,  table: coil,  address: 0, type: bool}
`))
	if err != nil {
		t.Fatal(err)
	}
	d2 := &Device{ID: "D-1", Profile: moved, Interval: time.Second}
	h.SetDevices([]*Device{d2})
	h.Record(&Snapshot{Device: d2, Time: t0.Add(time.Second), Comm: CommOnline, Values: []Value{{Text: "X"}, {Number: 2}, {Number: 0}}})
	got, _ := h.Since("D-1", "pressure", t0.Add(-time.Second))
	if len(got) != 2 || got[0].Value != 1 || got[1].Value != 2 {
		t.Errorf("pressure after the string point moved: %v, want 1 then 2", got)
	}

	renamed, err := ParseProfile("test", []byte(`
name: t
kind: generic
points:
  - {name: head, table: input, address: 0, type: float32, unit: m}
`))
	if err != nil {
		t.Fatal(err)
	}
	d3 := &Device{ID: "D-1", Profile: renamed, Interval: time.Second}
	h.SetDevices([]*Device{d3})
	h.Record(&Snapshot{Device: d3, Time: t0.Add(2 * time.Second), Comm: CommOnline, Values: []Value{{Number: 7}}})
	if got, ok := h.Since("D-1", "pressure", t0.Add(-time.Second)); !ok || len(got) != 0 {
		t.Errorf("a point the new profile no longer has: %v (known %v), want none", got, ok)
	}
	if got, _ := h.Since("D-1", "head", t0.Add(-time.Second)); len(got) != 1 || got[0].Value != 7 {
		t.Errorf("the new profile's point: %v, want 7", got)
	}
}
