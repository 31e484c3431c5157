package daemon

import (
	"reflect"
	"testing"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/workorders"
)

// TestDrillsConfig: the drills a file leaves out are the plans' two a year, told to the
// supervisors of the patrol's shifts; workorders.drills.security names others instead.
func TestDrillsConfig(t *testing.T) {
	cfg := parseWO(t, "")
	cfg.Patrol.Shifts = []config.PatrolShift{{Name: "night", Supervisor: "sup-night"}, {Name: "day", Supervisor: "sup-day"}, {Name: "late", Supervisor: "sup-night"}}
	wc, err := workOrdersConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := workorders.DefaultDrills()
	want.Security = []string{"sup-night", "sup-day"}
	if !reflect.DeepEqual(wc.Drills, want) {
		t.Errorf("drills %+v, want %+v", wc.Drills, want)
	}
	cfg = parseWO(t, "workorders: {drills: {count: 4, security: [sec-chief]}}\n")
	cfg.Patrol.Shifts = []config.PatrolShift{{Name: "night", Supervisor: "sup-night"}}
	if wc, err = workOrdersConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if wc.Drills.Count != 4 || !reflect.DeepEqual(wc.Drills.Security, []string{"sec-chief"}) {
		t.Errorf("drills %+v, want 4 a year told to sec-chief", wc.Drills)
	}
	cfg = parseWO(t, "workorders: {drills: {count: 5}}\n")
	if _, err := workOrdersConfig(cfg); err == nil {
		t.Error("5 drills a year accepted")
	}
}
