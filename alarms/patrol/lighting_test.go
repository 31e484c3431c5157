package patrol

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// panel is a lighting panel's latest values: every circuit commanded as given and on unless
// tripped, with lamp failures where listed.
func panel(t *testing.T, latest *devices.Latest, d *devices.Device, commanded bool, tripped, lampFail []int, at time.Time) {
	t.Helper()
	vals := make([]devices.Value, len(d.Profile.Points))
	for i, p := range d.Profile.Points {
		v := 0.0
		var n int
		switch {
		case p.Name == "on_time":
			v = 18 * 60
		case p.Name == "off_time":
			v = 6 * 60
		case scan(p.Name, "circuit_%02d_command", &n):
			v = b(commanded)
		case scan(p.Name, "circuit_%02d_on", &n):
			v = b(commanded && !slices.Contains(tripped, n))
		case scan(p.Name, "circuit_%02d_lamp_fail", &n):
			v = b(slices.Contains(lampFail, n))
		}
		vals[i] = devices.Value{Number: v}
	}
	latest.Update(&devices.Snapshot{Device: d, Time: at, Values: vals, Comm: devices.CommOnline})
}

func scan(s, format string, n *int) bool {
	var rest string
	k, _ := fmt.Sscanf(s+" end", format+" %s", n, &rest)
	return k == 2 && rest == "end"
}

func b(v bool) float64 {
	if v {
		return 1
	}
	return 0
}

func lightingDevices(t *testing.T) []*devices.Device {
	p, ok := devices.Builtin("lighting")
	if !ok {
		t.Fatal("no built-in lighting profile")
	}
	return []*devices.Device{
		{ID: "LP-1", Kind: devices.KindLighting, Site: "estate", Building: "B1", Zone: "north", Profile: p},
		{ID: "LP-2", Kind: devices.KindLighting, Site: "estate", Building: "B3", Zone: "south", Profile: p},
	}
}

func TestNightLightingCheck(t *testing.T) {
	t.Parallel()
	devs := lightingDevices(t)
	latest := devices.NewLatest(devs)
	var mu sync.Mutex
	var faults []LightingFault
	noon := time.Date(2026, 11, 26, 12, 0, 0, 0, shanghai)
	cfg := testConfig(t)
	r := newRig(t, cfg, noon, Deps{Latest: latest, LightingFault: func(f LightingFault) {
		mu.Lock()
		faults = append(faults, f)
		mu.Unlock()
	}})

	// By day the schedule has the lights off; a failed lamp shows but nothing is due.
	panel(t, latest, devs[0], false, nil, []int{5}, noon)
	panel(t, latest, devs[1], false, nil, nil, noon)
	if items := CheckLighting(latest.List(), noon, shanghai); len(items) != 0 {
		t.Fatalf("by day: %d items, want none", len(items))
	}
	r.s.Tick()
	r.ch.none(t, r.s)
	if n := len(r.s.Checklists()); n != 0 {
		t.Fatalf("by day: %d checklists", n)
	}

	// Sunset in Shanghai on 26 November is about 16:53; the check runs 30 minutes after.
	r.clock.Step(5 * time.Hour) // 17:00
	panel(t, latest, devs[0], true, []int{2}, []int{5}, r.clock.Now())
	panel(t, latest, devs[1], true, nil, []int{11}, r.clock.Now())
	r.s.Tick()
	r.ch.none(t, r.s)

	r.clock.Step(30 * time.Minute) // 17:30
	r.s.Tick()
	m := r.ch.next(t)
	if m.Type != "checklist" || m.Checklist == nil {
		t.Fatalf("after dusk: %s message, want the checklist", m.Type)
	}
	var got []string
	for _, it := range m.Checklist.Items {
		got = append(got, it.ID+" "+it.Zone+" "+it.Fault)
	}
	want := []string{"LP-1:02 north off", "LP-1:05 north lamp_fail", "LP-2:11 south lamp_fail"}
	if !slices.Equal(got, want) {
		t.Fatalf("checklist %v, want %v", got, want)
	}
	if !slices.Equal(ids(m.To), []string{"g1", "g2", "g3"}) {
		t.Errorf("checklist to %v, want the night groups of north and south", ids(m.To))
	}
	mu.Lock()
	if len(faults) != 3 || faults[0].Device != "LP-1" || faults[0].Circuit != 2 || faults[0].Fault != FaultOff {
		t.Errorf("work-order hook got %+v", faults)
	}
	mu.Unlock()

	// Once a night, even across a restart.
	r.clock.Step(time.Hour)
	r.s.Tick()
	r.ch.none(t, r.s)

	c, err := r.s.CheckItem("LP-1:05", "g1", "lamp replaced")
	if err != nil {
		t.Fatal(err)
	}
	if c.Open() != 2 || !c.Items[1].Done || c.Items[1].DoneBy != "g1" {
		t.Errorf("after ticking LP-1:05 off: %d open, item %+v", c.Open(), c.Items[1])
	}
	if _, err := r.s.CheckItem("LP-9:01", "g1", ""); !errors.Is(err, ErrNoItem) {
		t.Errorf("unknown item: err = %v", err)
	}
	if _, err := r.s.CheckItem("LP-1:02", "stranger", ""); !errors.Is(err, ErrUnknownGuard) {
		t.Errorf("unknown guard: err = %v", err)
	}

	// A restart keeps the ticks and does not run tonight's check again.
	r.stop()
	r.stop = nil
	r = newRig(t, cfg, r.clock.Now(), Deps{Latest: latest})
	r.s.Tick()
	r.ch.none(t, r.s)
	cls := r.s.Checklists()
	if len(cls) != 1 || cls[0].Open() != 2 || cls[0].Items[1].DoneBy != "g1" {
		t.Fatalf("after restart: %+v", cls)
	}

	// The next evening, a new checklist.
	r.clock.Step(24 * time.Hour)
	r.s.Tick()
	if m := r.ch.next(t); m.Type != "checklist" || m.Checklist.Date != "2026-11-27" {
		t.Fatalf("next night: %s %+v", m.Type, m.Checklist)
	}
}

func TestLightingCheckFixedTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		at     string
		after  time.Duration
		day    time.Time
		want   string
		wantOK bool
	}{
		{"fixed", "19:30", 0, time.Date(2026, 11, 26, 3, 0, 0, 0, shanghai), "2026-11-26 19:30", true},
		{"after dusk", "", 45 * time.Minute, time.Date(2026, 6, 21, 3, 0, 0, 0, shanghai), "2026-06-21 19:45", true},
		{"none", "", 0, time.Date(2026, 6, 21, 3, 0, 0, 0, shanghai), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := checkTime(tt.day, tt.at, tt.after, 31.2304, 121.4737)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v", ok)
			}
			if ok && got.Format("2006-01-02 15:04") != tt.want {
				t.Errorf("check at %s, want %s", got.Format("2006-01-02 15:04"), tt.want)
			}
		})
	}
}
