package patrol

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// fakePanels stands in for the commands service and the panels behind it: a circuit switched
// on reads back on, unless its breaker has tripped.
type fakePanels struct {
	latest  *devices.Latest
	tripped map[string][]int // device → circuits whose breaker has tripped

	mu    sync.Mutex
	calls []string // "device point by"
	why   []string
}

func (f *fakePanels) Switch(_ context.Context, device, point string, on bool, by, reason string) (string, error) {
	f.mu.Lock() // held to the update: each read-back has the panel's every value, as a poll's
	defer f.mu.Unlock()
	f.calls = append(f.calls, device+" "+point+" "+by)
	f.why = append(f.why, reason)
	st, ok := f.latest.Get(device)
	if !ok {
		return "", fmt.Errorf("unknown device %s", device)
	}
	var n int
	if !scan(point, "circuit_%02d_command", &n) || !on {
		return "", fmt.Errorf("not a circuit command: %s", point)
	}
	vals := slices.Clone(st.Values)
	for i, p := range st.Device.Profile.Points {
		switch p.Name {
		case point:
			vals[i].Number = 1
		case fmt.Sprintf("circuit_%02d_on", n):
			vals[i].Number = b(!slices.Contains(f.tripped[device], n))
		}
	}
	f.latest.Update(&devices.Snapshot{Device: st.Device, Time: st.ValuesTime, Values: vals, Comm: devices.CommOnline})
	return "confirmed", nil
}

func (f *fakePanels) switched() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.calls)
	sort.Strings(out)
	f.calls = nil
	return out
}

// setPoint changes one latest value of a device, as a poll that read it would.
func setPoint(t *testing.T, latest *devices.Latest, device, point string, v float64) {
	t.Helper()
	st, _ := latest.Get(device)
	_, idx, ok := st.Device.Profile.Point(point)
	if !ok {
		t.Fatalf("%s has no point %s", device, point)
	}
	vals := slices.Clone(st.Values)
	vals[idx].Number = v
	latest.Update(&devices.Snapshot{Device: st.Device, Time: st.ValuesTime, Values: vals, Comm: devices.CommOnline})
}

// TestNightLightingSwitchOn: with switch_on, at dusk plus after_dusk the circuits scheduled
// for the night that are off are switched on by "system", once a night, before the check;
// the ones that stay dark (a tripped breaker) are on the checklist, the ones lit now are not.
func TestNightLightingSwitchOn(t *testing.T) {
	t.Parallel()
	devs := lightingDevices(t)
	latest := devices.NewLatest(devs)
	sw := &fakePanels{latest: latest, tripped: map[string][]int{"LP-1": {2}}}
	cfg := testConfig(t)
	cfg.Lighting.SwitchOn = true
	noon := time.Date(2026, 11, 26, 12, 0, 0, 0, shanghai)
	r := newRig(t, cfg, noon, Deps{Latest: latest, Switcher: sw})

	// By day nothing is switched. At 17:00 (dusk about 16:53, the schedule at 18:00) LP-1 is
	// still off as its schedule has it; LP-2 is on, but for circuit 7 switched off by hand.
	panel(t, latest, devs[0], false, nil, []int{5}, noon)
	panel(t, latest, devs[1], true, nil, nil, noon)
	setPoint(t, latest, "LP-2", "circuit_07_command", 0)
	setPoint(t, latest, "LP-2", "circuit_07_on", 0)
	r.s.Tick()
	r.clock.Step(5 * time.Hour) // 17:00
	r.s.Tick()
	if got := sw.switched(); len(got) != 0 {
		t.Fatalf("before dusk + 30 min: switched %v", got)
	}
	r.ch.none(t, r.s)

	r.clock.Step(30 * time.Minute) // 17:30
	r.s.Tick()
	got := sw.switched()
	var want []string
	for n := 1; n <= 24; n++ {
		want = append(want, fmt.Sprintf("LP-1 circuit_%02d_command system", n))
	}
	want = append(want, "LP-2 circuit_07_command system")
	if !slices.Equal(got, want) {
		t.Fatalf("switched on:\n%v\nwant\n%v", got, want)
	}
	if !strings.Contains(sw.why[0], "night lighting check 2026-11-26") {
		t.Errorf("reason %q does not name the check and its night", sw.why[0])
	}
	m := r.ch.next(t)
	if m.Type != "checklist" {
		t.Fatalf("after switching: %s message, want the checklist", m.Type)
	}
	var items []string
	for _, it := range m.Checklist.Items {
		items = append(items, it.ID+" "+it.Fault)
	}
	if want := []string{"LP-1:02 off", "LP-1:05 lamp_fail"}; !slices.Equal(items, want) {
		t.Errorf("checklist %v, want %v: the tripped circuit stays dark, the others are lit", items, want)
	}

	// Once a night: a circuit switched off again later is left so, across a restart too.
	setPoint(t, latest, "LP-2", "circuit_07_command", 0)
	r.clock.Step(time.Hour)
	r.s.Tick()
	r = r.restart(t, cfg)
	r.s.deps.Latest, r.s.deps.Switcher = latest, sw
	r.s.Tick()
	if got := sw.switched(); len(got) != 0 {
		t.Errorf("later that night: switched %v again", got)
	}

	// The next evening it is switched on again.
	r.clock.Step(24 * time.Hour)
	r.s.Tick()
	if got := sw.switched(); !slices.Equal(got, []string{"LP-2 circuit_07_command system"}) {
		t.Errorf("next night: switched %v, want LP-2's circuit 7", got)
	}
}

// TestNightLightingSwitchOnOff: without switch_on nothing is written, and the check is as it
// was: circuits commanded off are not on the checklist.
func TestNightLightingSwitchOnOff(t *testing.T) {
	t.Parallel()
	devs := lightingDevices(t)
	latest := devices.NewLatest(devs)
	sw := &fakePanels{latest: latest}
	evening := time.Date(2026, 11, 26, 17, 30, 0, 0, shanghai)
	r := newRig(t, testConfig(t), evening, Deps{Latest: latest, Switcher: sw})
	panel(t, latest, devs[0], false, nil, nil, evening)
	panel(t, latest, devs[1], false, nil, nil, evening)
	r.s.Tick()
	if got := sw.switched(); len(got) != 0 {
		t.Errorf("switch_on false: switched %v", got)
	}
	if m := r.ch.next(t); m.Type != "checklist" || len(m.Checklist.Items) != 0 {
		t.Errorf("checklist %+v, want an empty one", m.Checklist)
	}
}

func TestScheduledTonight(t *testing.T) {
	t.Parallel()
	const at = 17*60 + 23 // dusk plus 30 minutes in Shanghai in November
	tests := []struct {
		name    string
		on, off int
		want    bool
	}{
		{"evening to morning, not yet on", 18 * 60, 6 * 60, true},
		{"evening to morning, on", 17 * 60, 6 * 60, true},
		{"later this evening", 22 * 60, 23 * 60, true},
		{"by day, still on", 8 * 60, 18 * 60, true},
		{"by day, over", 8 * 60, 17 * 60, false},
		{"after midnight only", 0, 5 * 60, false},
		{"never (on = off)", 18 * 60, 18 * 60, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tonight(tt.on, tt.off, at); got != tt.want {
				t.Errorf("tonight(%d, %d, %d) = %v, want %v", tt.on, tt.off, at, got, tt.want)
			}
		})
	}
}

// TestLightingCheckWaitsForPanels: a daemon started after dusk does not check an empty cache
// (and skip the night): it waits for the panels' first answers, for at most a minute.
func TestLightingCheckWaitsForPanels(t *testing.T) {
	t.Parallel()
	devs := lightingDevices(t)
	latest := devices.NewLatest(devs)
	evening := time.Date(2026, 11, 26, 21, 0, 0, 0, shanghai)
	r := newRig(t, testConfig(t), evening, Deps{Latest: latest})
	r.s.Tick()
	r.ch.none(t, r.s)
	panel(t, latest, devs[0], true, []int{3}, nil, evening)
	r.clock.Step(time.Second)
	r.s.Tick()
	r.ch.none(t, r.s) // LP-2 not heard from yet

	r.clock.Step(time.Minute)
	r.s.Tick()
	if m := r.ch.next(t); m.Type != "checklist" || len(m.Checklist.Items) != 1 || m.Checklist.Items[0].ID != "LP-1:03" {
		t.Fatalf("a minute on, with LP-2 silent: %s %+v, want the checklist with LP-1:03", m.Type, m.Checklist)
	}
}
