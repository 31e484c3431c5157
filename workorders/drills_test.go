package workorders

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/locale"
)

// TestRescueDrills: two drills a year for the estate, one order each however many cars, told
// to the maintenance team, the security department and the elevators' contractor; the
// release records the scenario, the car and the rescue time; a drill not held is one miss.
func TestRescueDrills(t *testing.T) {
	ctx := context.Background()
	cfg, devs := estate()
	devs = append(devs, Device{ID: "E-2", Kind: "elevator", Zone: "north", Building: "B1", Site: "estate"})
	cfg.Drills = Drills{Security: []string{"sec-sun", "sec-qian"}}
	r := newRigWith(t, time.Date(2026, 3, 1, 9, 0, 0, 0, shanghai), cfg, devs)
	tick := func(at time.Time) {
		t.Helper()
		r.clock.Set(at)
		if err := r.m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	drills := func() []*Order {
		t.Helper()
		list, err := r.m.List(ctx, Filter{Plan: DrillPlan}, false)
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	tick(r.clock.Now())
	if n := len(drills()); n != 0 {
		t.Fatalf("%d drill orders two weeks ahead; the notice goes a week ahead", n)
	}
	// 15 March 2026 is a Sunday: the drill is held on Monday 16 March, its order out a week before.
	tick(time.Date(2026, 3, 9, 12, 0, 0, 0, shanghai))
	tick(time.Date(2026, 3, 10, 12, 0, 0, 0, shanghai))
	list := drills()
	if len(list) != 1 {
		t.Fatalf("%d drill orders for an estate with two cars, want one", len(list))
	}
	d := list[0]
	if want := time.Date(2026, 3, 16, 10, 0, 0, 0, shanghai); !d.ScheduledAt.Equal(want) || d.Device != "" {
		t.Fatalf("drill on %s for device %q, want %s for the estate", d.ScheduledAt.In(shanghai), d.Device, want)
	}
	var told []string
	for _, n := range r.notes.ofType("assigned") {
		if n.Order == d.ID {
			told = append(told, n.To...)
		}
	}
	for _, who := range []string{"engineering", "sec-sun", "sec-qian", "Otis Service"} {
		if !slices.Contains(told, who) {
			t.Errorf("drill order told %v; %s missing", told, who)
		}
	}

	r.clock.Set(time.Date(2026, 3, 16, 9, 50, 0, 0, shanghai))
	r.do(t, d.ID, ActionAccept, Input{By: "tech-lin"})
	r.clock.Set(time.Date(2026, 3, 16, 10, 0, 0, 0, shanghai))
	r.do(t, d.ID, ActionStart, Input{By: "tech-lin"})
	r.clock.Set(time.Date(2026, 3, 16, 10, 23, 0, 0, shanghai))
	for _, tc := range []struct {
		name string
		a    Action
		in   Input
		want string
	}{
		{"resolve without a release", ActionResolve, Input{By: "tech-lin"}, "resolves by its release"},
		{"no scenario", ActionRelease, Input{By: "tech-lin", Car: "E-1"}, "which scenario"},
		{"no car", ActionRelease, Input{By: "tech-lin", Scenario: "stopped between floors 5 and 6"}, "which car"},
		{"a pump for a car", ActionRelease, Input{By: "tech-lin", Scenario: "stopped between floors 5 and 6", Car: "P-1"}, "not an elevator"},
	} {
		if _, err := r.m.Transition(ctx, d.ID, tc.a, tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	done := r.do(t, d.ID, ActionRelease, Input{By: "tech-lin", Scenario: "stopped between floors 5 and 6", Car: "E-2"})
	if done.State != StateClosed || done.Drill == nil || done.Drill.RescueTime != 23*time.Minute || done.Drill.Car != "E-2" ||
		!slices.Equal(done.Drill.Security, []string{"sec-sun", "sec-qian"}) {
		t.Fatalf("released drill %s, record %+v", done.State, done.Drill)
	}
	if _, err := r.m.Transition(ctx, (&Order{}).ID, ActionRelease, Input{By: "tech-lin"}); err == nil {
		t.Error("release of no order accepted")
	}
	tick(time.Date(2026, 3, 17, 12, 0, 0, 0, shanghai))
	if n := len(drills()); n != 1 {
		t.Fatalf("%d drill orders after the drill was held, want still one", n)
	}

	// The September drill (Tuesday 15th) is raised and not held: one miss, not one per car.
	tick(time.Date(2026, 9, 10, 12, 0, 0, 0, shanghai))
	tick(time.Date(2026, 9, 23, 12, 0, 0, 0, shanghai))
	s, err := r.m.Drills(ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	if s.Planned != 2 || s.Held != 1 || s.Missed != 1 || s.LongestRescue != 23*time.Minute {
		t.Fatalf("2026 drills: planned %d, held %d, missed %d, longest rescue %s; want 2, 1, 1, 23m", s.Planned, s.Held, s.Missed, s.LongestRescue)
	}
	if row := s.Drills[0]; row.Scenario != "stopped between floors 5 and 6" || row.Car != "E-2" || !row.Held {
		t.Errorf("first drill row %+v", row)
	}

	// The year's report has the drill section, in both languages; March's has only its drill.
	for _, tc := range []struct {
		period string
		lang   locale.Locale
		want   []string
	}{
		{"2026", locale.EN, []string{"## Rescue drills", "2 planned, 1 held, 1 missed", "| stopped between floors 5 and 6 | E-2 | 23m0s |", "| not held (missed) | - | - |"}},
		{"2026", locale.ZhCN, []string{"## 救援演练", "计划 2 次，已举行 1 次，未举行 1 次", "| 未举行（缺失） |"}},
		{"2026-03", locale.EN, []string{"1 planned, 1 held, 0 missed", "2026-03-16 10:00"}},
	} {
		rep, err := BuildReport(ctx, r.m.Store(), "estate", tc.period, shanghai, r.clock.Now(), ReportOptions{Locale: tc.lang})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := rep.WriteMarkdown(&b); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s report (%v) lacks %q:\n%s", tc.period, tc.lang.Chinese(), w, b.String())
			}
		}
		if tc.period != "2026" || tc.lang != locale.EN {
			continue
		}
		var csv, page strings.Builder
		if err := rep.WriteCSV(&csv); err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteHTML(&page); err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"drills,2026,missed,1", "drill," + d.ID + ",rescue_seconds,1380"} {
			if !strings.Contains(csv.String(), w) {
				t.Errorf("report CSV lacks %q:\n%s", w, csv.String())
			}
		}
		if !strings.Contains(page.String(), "<h2>Rescue drills</h2>") || !strings.Contains(page.String(), "<td>23m0s</td>") {
			t.Errorf("report page lacks the drill section:\n%s", page.String())
		}
	}
}

// TestNoDrillsWithoutElevators: a site with no elevators gets no drill orders.
func TestNoDrillsWithoutElevators(t *testing.T) {
	ctx := context.Background()
	cfg, devs := estate()
	cfg.Drills = Drills{}
	var noCars []Device
	for _, d := range devs {
		if d.Kind != "elevator" {
			noCars = append(noCars, d)
		}
	}
	r := newRigWith(t, time.Date(2026, 3, 12, 12, 0, 0, 0, shanghai), cfg, noCars)
	if err := r.m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if list, _ := r.m.List(ctx, Filter{Plan: DrillPlan}, false); len(list) != 0 {
		t.Fatalf("%d drill orders on a site without elevators", len(list))
	}
}

// TestReleaseOnlyForDrills: a pump repair is not released.
func TestReleaseOnlyForDrills(t *testing.T) {
	p := &Policy{}
	o := Order{ID: "WO-1", Plan: "drainage-pump-test", State: StateInProgress}
	if err := p.checkDrill(o, ActionRelease, Input{Scenario: "x", Car: "E-1"}); err == nil || !strings.Contains(err.Error(), "only a rescue drill") {
		t.Fatalf("release of a pump job: %v", err)
	}
	// A per-car drill order of an earlier release resolves as any preventive job, and is not
	// counted among the estate's drills.
	old := Order{ID: "WO-2", Plan: DrillPlan, Fault: "pm/" + DrillPlan, Device: "E-1", State: StateInProgress}
	if err := p.checkDrill(old, ActionResolve, Input{}); err != nil {
		t.Fatalf("resolve of an earlier per-car drill order: %v", err)
	}
	at := time.Date(2026, 3, 16, 10, 0, 0, 0, shanghai)
	old.ScheduledAt, old.DueBy, old.State = at, at.Add(time.Hour), StateClosed
	if s := SummarizeDrills([]*Order{&old}, at.AddDate(0, -1, 0), at.AddDate(0, 1, 0), at.AddDate(0, 0, 10)); s.Planned != 0 || s.Missed != 0 {
		t.Fatalf("an earlier per-car order counted as a drill: %+v", s)
	}
}

func TestDrillsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    Drills
		want string
	}{
		{"uneven count", Drills{Count: 5}, "use 1, 2, 3, 4, 6 or 12"},
		{"bad time", Drills{At: "25:00"}, "drills.at"},
		{"bad day", Drills{Day: 31}, "drills.day"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Drills = tc.d
			if err := Check(c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
