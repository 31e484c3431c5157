package workorders

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// holidayFile reads a holiday file of testdata: a date and off or work on each line.
func holidayFile(t *testing.T, name string) (off, work []string) {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch fields[1] {
		case "off":
			off = append(off, fields[0])
		case "work":
			work = append(work, fields[0])
		default:
			t.Fatalf("%s: %q is not off or work", name, sc.Text())
		}
	}
	return off, work
}

// runYear steps a site with one elevator through 2026 a day at a time, as the daemon's
// checks do, doing each maintenance job as soon as it is raised, and returns the jobs.
func runYear(t *testing.T, plan Plan, holidays, workdays []string) []*Order {
	t.Helper()
	ctx := context.Background()
	cfg, devs := estate()
	cfg.Calendar.Holidays, cfg.Calendar.Workdays = holidays, workdays
	cfg.Plans = []Plan{plan}
	r := newRigWith(t, time.Date(2025, 12, 29, 12, 0, 0, 0, shanghai), cfg, devs)
	for day := r.clock.Now(); day.Year() < 2027; day = day.AddDate(0, 0, 1) {
		r.clock.Set(day)
		for len(r.events) > 0 { // the rig's sink holds a hundred events
			<-r.events
		}
		if err := r.m.Tick(ctx); err != nil {
			t.Fatalf("%s: %v", day.Format(time.DateOnly), err)
		}
		open, err := r.m.List(ctx, Filter{Plan: plan.ID, State: StateNew}, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range open {
			for _, a := range []Action{ActionAccept, ActionStart, ActionResolve} {
				r.do(t, o.ID, a, Input{By: "tech-lin"})
			}
		}
		for len(r.events) > 0 {
			<-r.events
		}
	}
	list, err := r.m.List(ctx, Filter{Plan: plan.ID}, false)
	if err != nil {
		t.Fatal(err)
	}
	var out []*Order
	for _, o := range list {
		if o.ScheduledAt.In(shanghai).Year() == 2026 {
			out = append(out, o)
		}
	}
	slicesSortByScheduled(out)
	return out
}

func slicesSortByScheduled(list []*Order) {
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].ScheduledAt.Before(list[j-1].ScheduledAt); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
}

// days is the number of calendar days from a's date to b's, in Shanghai.
func days(a, b time.Time) int {
	da := time.Date(a.In(shanghai).Year(), a.In(shanghai).Month(), a.In(shanghai).Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.In(shanghai).Year(), b.In(shanghai).Month(), b.In(shanghai).Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

// TestElevatorMaintenanceYear: over the whole of 2026, with weekends and the year's public
// holidays, the elevator's maintenance is never more than 15 days after the previous visit
// (TSG T5002-2017), never on a day off, and its grace never counts a late visit as on time.
// The old rule, moving a job to the next working day, gave the four 17-day gaps of the
// weekends-only calendar; the test shows them first, so it can tell the rules apart.
func TestElevatorMaintenanceYear(t *testing.T) {
	var plan Plan
	for _, p := range DefaultPlans() {
		if p.ID == "elevator-maintenance" {
			plan = p
		}
	}
	if plan.MaxDays != 15 {
		t.Fatalf("the default elevator plan has max_days %d, want 15", plan.MaxDays)
	}
	old := plan
	old.MaxDays = 0
	var gaps17 []string
	jobs := runYear(t, old, nil, nil)
	for i := 1; i < len(jobs); i++ {
		if days(jobs[i-1].ScheduledAt, jobs[i].ScheduledAt) > 15 {
			gaps17 = append(gaps17, jobs[i].ScheduledAt.In(shanghai).Format("2 Jan"))
		}
	}
	if got := strings.Join(gaps17, ", "); got != "2 Feb, 18 May, 31 Aug, 14 Dec" {
		t.Fatalf("moved to the next working day, the 2026 gaps over 15 days end %s; the issue names 2 Feb, 18 May, 31 Aug, 14 Dec", got)
	}

	off, work := holidayFile(t, "holidays-cn-2026.txt")
	cal, err := NewCalendar(WorkCalendar{Timezone: "Asia/Shanghai", Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "18:00", Holidays: off, Workdays: work})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		holidays, work []string
	}{
		{"weekends only", nil, nil},
		{"weekends and the 2026 public holidays", off, work},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cal
			if tc.holidays == nil {
				c, _ = NewCalendar(WorkCalendar{Timezone: "Asia/Shanghai", Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "18:00"})
			}
			jobs := runYear(t, plan, tc.holidays, tc.work)
			if len(jobs) < 24 {
				t.Fatalf("%d jobs in 2026; half-monthly maintenance needs at least 24", len(jobs))
			}
			if first, last := jobs[0].ScheduledAt, jobs[len(jobs)-1].ScheduledAt; days(time.Date(2025, 12, 31, 0, 0, 0, 0, shanghai), first) > 15 || days(last, time.Date(2027, 1, 1, 0, 0, 0, 0, shanghai)) > 15 {
				t.Fatalf("the year's jobs run from %s to %s: the year is not covered", first.In(shanghai).Format(time.DateOnly), last.In(shanghai).Format(time.DateOnly))
			}
			for i, o := range jobs {
				at := o.ScheduledAt.In(shanghai)
				if !c.Working(at) {
					t.Errorf("job %s on %s, a day off", o.ID, at.Format("Mon 2006-01-02"))
				}
				if at.Hour() != 10 || at.Minute() != 0 {
					t.Errorf("job %s at %s, want 10:00", o.ID, at.Format("15:04"))
				}
				if i == 0 {
					continue
				}
				prev := jobs[i-1].ScheduledAt
				if gap := days(prev, at); gap > 15 || gap < 1 {
					t.Errorf("job %s on %s is %d days after the previous one (%s); at most 15", o.ID, at.Format("Mon 2006-01-02"), gap, prev.In(shanghai).Format("Mon 2006-01-02"))
				}
				if days(prev, o.DueBy.Add(-time.Second)) > 15 {
					t.Errorf("job %s counts as on time until %s, more than 15 days after the previous one (%s)", o.ID, o.DueBy.In(shanghai).Format("Mon 2006-01-02 15:04"), prev.In(shanghai).Format("Mon 2006-01-02"))
				}
			}
		})
	}
}

// TestMaxDaysSchedule: a job with a hard maximum moves to the previous working day, a
// hand-scheduled job past the maximum is refused with the latest day allowed, and the
// grace stops at the maximum.
func TestMaxDaysSchedule(t *testing.T) {
	ctx := context.Background()
	plan := Plan{ID: "lift", Title: "Lift", Devices: []string{"E-1"}, Every: "15d", MaxDays: 15, At: "10:00", Grace: 3 * 24 * time.Hour}
	r := newRig(t, time.Date(2026, 1, 12, 8, 0, 0, 0, shanghai), func(c *Config) { c.Plans = []Plan{plan} })
	// Friday 16 January is on the plan's step from 1 January.
	if err := r.m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	r.clock.Set(time.Date(2026, 1, 15, 12, 0, 0, 0, shanghai))
	if err := r.m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	list, _ := r.m.List(ctx, Filter{Plan: "lift"}, false)
	if len(list) != 1 || !list[0].ScheduledAt.Equal(time.Date(2026, 1, 16, 10, 0, 0, 0, shanghai)) {
		t.Fatalf("first job %+v, want Fri 16 Jan 10:00", list)
	}
	// Grace of 3 days would reach Monday 19 January; 15 days after the 1st step ends then too,
	// so the due time is the end of 16 January + 0 days past the maximum: 17 Jan 00:00.
	if want := time.Date(2026, 1, 17, 0, 0, 0, 0, shanghai); !list[0].DueBy.Equal(want) {
		t.Errorf("first job due %s, want %s", list[0].DueBy.In(shanghai), want)
	}
	for _, a := range []Action{ActionAccept, ActionStart, ActionResolve} {
		r.do(t, list[0].ID, a, Input{By: "tech-lin"})
	}
	// 31 January is a Saturday: the next job is Friday 30 January, not Monday 2 February.
	r.clock.Set(time.Date(2026, 1, 29, 12, 0, 0, 0, shanghai))
	if err := r.m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	list, _ = r.m.List(ctx, Filter{Plan: "lift", State: StateNew}, false)
	if len(list) != 1 || !list[0].ScheduledAt.Equal(time.Date(2026, 1, 30, 10, 0, 0, 0, shanghai)) {
		t.Fatalf("second job %+v, want Fri 30 Jan 10:00", list)
	}
	if want := time.Date(2026, 2, 1, 0, 0, 0, 0, shanghai); !list[0].DueBy.Equal(want) {
		t.Errorf("second job due %s, want %s (the end of the 15th day after 16 January)", list[0].DueBy.In(shanghai), want)
	}
	_, err := r.m.Schedule(ctx, ScheduleRequest{Plan: "lift", Device: "E-1", At: time.Date(2026, 2, 15, 10, 0, 0, 0, shanghai), By: "engineering-supervisor"})
	if err == nil || !strings.Contains(err.Error(), "at most 15 days") {
		t.Fatalf("a job 16 days after the last: %v, want refused", err)
	}
	// A cancelled job is one missed, and the plan goes on from its day: 15 days after 30
	// January is Saturday 14 February, so the next job is Friday 13 February.
	r.do(t, list[0].ID, ActionCancel, Input{By: "engineering-supervisor", Note: "lift out of use"})
	r.clock.Set(time.Date(2026, 2, 12, 12, 0, 0, 0, shanghai))
	if err := r.m.Tick(ctx); err != nil {
		t.Fatalf("the job after a cancelled one: %v", err)
	}
	list, _ = r.m.List(ctx, Filter{Plan: "lift", State: StateNew}, false)
	if len(list) != 1 || !list[0].ScheduledAt.Equal(time.Date(2026, 2, 13, 10, 0, 0, 0, shanghai)) {
		t.Fatalf("after a cancelled job: %+v, want Fri 13 Feb 10:00", list)
	}
}

func TestMaxDaysValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		plan Plan
		want string
	}{
		{"monthly", Plan{ID: "a", Kind: "elevator", Every: "monthly", Day: 1, MaxDays: 15}, "needs a plan every N days or weekly"},
		{"longer step", Plan{ID: "a", Kind: "elevator", Every: "20d", MaxDays: 15}, "make every at most 15d"},
		{"moved later", Plan{ID: "a", Kind: "elevator", Every: "15d", MaxDays: 15, OnHoliday: "next_workday"}, "would move a job past max_days"},
		{"negative", Plan{ID: "a", Kind: "elevator", Every: "15d", MaxDays: -1}, "must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Plans = []Plan{tc.plan}
			if err := Check(c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestYearlyPlans: the default plans are annual, quarterly and monthly (年、季、月), with a
// yearly item for every kind of plant, each raised for its devices in its month.
func TestYearlyPlans(t *testing.T) {
	ctx := context.Background()
	periods := map[string]bool{}
	yearly := map[string]Plan{}
	for _, p := range DefaultPlans() {
		periods[p.Every] = true
		if p.Every == "yearly" {
			yearly[p.Kind] = p
		}
	}
	for _, every := range []string{"yearly", "quarterly", "monthly"} {
		if !periods[every] {
			t.Errorf("no %s default plan", every)
		}
	}
	for _, tc := range []struct {
		kind, device string
		month        time.Month
	}{
		{"pump", "P-1", time.April}, {"elevator", "E-1", time.June}, {"fire_panel", "FP-1", time.September}, {"lighting", "L-1", time.October},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			p, ok := yearly[tc.kind]
			if !ok {
				t.Fatalf("no yearly default plan for %s", tc.kind)
			}
			r := newRig(t, time.Date(2026, 1, 5, 9, 0, 0, 0, shanghai), func(c *Config) { c.Plans = []Plan{p} })
			for day := r.clock.Now(); day.Year() == 2026; day = day.AddDate(0, 0, 1) {
				r.clock.Set(day)
				if err := r.m.Tick(ctx); err != nil {
					t.Fatal(err)
				}
			}
			list, _ := r.m.List(ctx, Filter{Plan: p.ID}, false)
			var got []string
			for _, o := range list {
				if o.Device == tc.device {
					got = append(got, o.ScheduledAt.In(shanghai).Format("2006-01-02"))
					if at := o.ScheduledAt.In(shanghai); at.Month() != tc.month || !r.m.policy.Calendar.Working(at) {
						t.Errorf("%s's %s on %s; want a working day of %s", tc.device, p.ID, at.Format("Mon 2006-01-02"), tc.month)
					}
				}
			}
			if len(got) != 1 {
				t.Fatalf("%s's %s jobs in 2026: %v, want one", tc.device, p.ID, got)
			}
		})
	}
}

// TestContractorToldOfMaintenance: a preventive job on a device whose ledger entry names a
// maintenance contractor is sent to the contractor as well as the team, for pumps as for
// elevators; a device without one goes to the team only.
func TestContractorToldOfMaintenance(t *testing.T) {
	ctx := context.Background()
	cfg, devs := estate()
	for i := range devs {
		if devs[i].ID == "P-1" {
			devs[i].Asset = &Asset{Make: "Grundfos", Contractor: "Grundfos Care", ContractorPhone: "400-2"}
		}
	}
	cfg.Plans = []Plan{{ID: "round", Title: "Round", Devices: []string{"E-1", "P-1", "P-2"}, Every: "weekly", Weekday: "wed", At: "09:00"}}
	r := newRigWith(t, time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai), cfg, devs)
	if err := r.m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	list, _ := r.m.List(ctx, Filter{Plan: "round"}, false)
	if len(list) != 3 {
		t.Fatalf("%d orders, want 3", len(list))
	}
	told := map[string][]string{}
	for _, n := range r.notes.ofType("assigned") {
		told[n.Device] = append(told[n.Device], n.To...)
	}
	for _, tc := range []struct {
		device string
		want   []string
	}{
		{"E-1", []string{"south-team", "Otis Service 400-1"}},
		{"P-1", []string{"north-team", "Grundfos Care 400-2"}},
		{"P-2", []string{"north-team"}},
	} {
		if got := told[tc.device]; strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s's job told %v, want %v", tc.device, got, tc.want)
		}
	}
}
