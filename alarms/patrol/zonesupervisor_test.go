package patrol

import (
	"slices"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// TestChecklistToZoneSecuritySupervisor: the night lighting checklist reaches the security
// supervisor of each zone it touches (片区安全主管参与其中) with the zone's guards, and not the
// supervisor of a zone with nothing on it.
func TestChecklistToZoneSecuritySupervisor(t *testing.T) {
	t.Parallel()
	devs := lightingDevices(t)
	latest := devices.NewLatest(devs)
	cfg := testConfig(t)
	cfg.Guards = append(cfg.Guards, Guard{ID: "sec-n", Name: "North security supervisor", Handset: "H-20"}, Guard{ID: "sec-s", Name: "South security supervisor", Handset: "H-21"})
	cfg.Groups[0].Supervisor, cfg.Groups[1].Supervisor = "sec-n", "sec-s"
	at := time.Date(2026, 11, 26, 17, 0, 0, 0, shanghai)
	r := newRig(t, cfg, at, Deps{Latest: latest})
	panel(t, latest, devs[0], true, []int{2}, nil, at) // a dark circuit in the north
	panel(t, latest, devs[1], true, nil, nil, at)      // the south all lit
	r.clock.Step(time.Hour)
	r.s.Tick()
	m := r.ch.next(t)
	if m.Type != "checklist" {
		t.Fatalf("%s message, want the checklist", m.Type)
	}
	if got := ids(m.To); !slices.Equal(got, []string{"g1", "g2", "sec-n"}) {
		t.Errorf("checklist to %v, want the north night group and its security supervisor sec-n", got)
	}
}
