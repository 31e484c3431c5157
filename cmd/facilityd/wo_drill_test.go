package main

import (
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testutil"
	"github.com/facilityd/facilityd/workorders"
)

// TestDrillReleaseCLI runs the demo's March rescue drill from a shell: `facilityd wo release`
// records the scenario and the car, and the drill closes with its rescue time from the start;
// a release without the scenario or the car is refused before it reaches the API.
func TestDrillReleaseCLI(t *testing.T) {
	// A week before the first drill of 2026 (Monday 16 March, 10:00): its order goes out.
	clock := testutil.NewClock(time.Date(2026, 3, 10, 12, 0, 0, 0, time.Local))
	rig, run := newWORig(t, workorders.Options{Clock: clock.Now}, nil)
	m, cfg, ctx := rig.m, rig.cfg, t.Context()
	if err := m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	drills, err := m.List(ctx, workorders.Filter{Plan: workorders.DrillPlan}, false)
	if err != nil || len(drills) != 1 {
		t.Fatalf("%d drill orders on the demo estate, want one: %v", len(drills), err)
	}
	id := drills[0].ID
	car := ""
	for _, d := range cfg.Devices {
		if d.Kind == "elevator" {
			car = d.ID
			break
		}
	}
	clock.Set(time.Date(2026, 3, 16, 9, 50, 0, 0, time.Local))
	if _, err := run("wo", "accept", id, "--by", "tech-north-1"); err != nil {
		t.Fatalf("accept: %v", err)
	}
	clock.Set(time.Date(2026, 3, 16, 10, 0, 0, 0, time.Local))
	if _, err := run("wo", "start", id, "--by", "tech-north-1"); err != nil {
		t.Fatalf("start: %v", err)
	}
	clock.Step(17 * time.Minute)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no scenario", []string{"wo", "release", id, "--by", "tech-north-1", "--car", car}, `required flag(s) "scenario" not set`},
		{"no car", []string{"wo", "release", id, "--by", "tech-north-1", "--scenario", "stopped between floors 5 and 6"}, `required flag(s) "car" not set`},
		{"a car not in the configuration", []string{"wo", "release", id, "--by", "tech-north-1", "--scenario", "stopped between floors 5 and 6", "--car", "nope"}, "is not an elevator of the configuration"},
	} {
		if _, err := run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	out, err := run("wo", "release", id, "--by", "tech-north-1", "--scenario", "stopped between floors 5 and 6", "--car", car)
	if err != nil || !strings.Contains(out, id+" is closed") || !strings.Contains(out, "car "+car) {
		t.Fatalf("release: %v\n%s", err, out)
	}
	if !strings.Contains(out, "17 min") {
		t.Errorf("release output %q does not give the rescue time", out)
	}
	o := mustGet(t, m, id)
	if o.Drill == nil || o.Drill.RescueTime != 17*time.Minute || o.Drill.Car != car || o.Drill.Scenario != "stopped between floors 5 and 6" {
		t.Fatalf("drill record %+v, want 17 minutes in %s", o.Drill, car)
	}
}
