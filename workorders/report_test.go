package workorders

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/locale"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// history builds a fixed month of orders through the manager: repairs on time and late, a
// rework, a reopened order, a household repair found wanting on its follow-up call, a paid
// job quoted and charged, parts drawn, preventive jobs on time, late and missed, and the
// estate's rescue drill held with the security department.
func history(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, shanghai)
	r := newRig(t, start, func(c *Config) {
		c.Plans = []Plan{{ID: "fire-check", Title: "Fire-system check", Kind: "fire_panel", Every: "monthly", Day: 5, At: "10:00", Grace: 24 * time.Hour},
			{ID: "drill", Title: "Rescue drill", Devices: []string{"E-1"}, Every: "monthly", Day: 20, At: "10:00", Grace: 24 * time.Hour}}
		c.Drills = Drills{Security: []string{"sec-sun"}} // the plans' two a year: 16 March (15th a Sunday), 15 September
		c.Prices = []PriceItem{{Item: "fan replacement", Unit: "each", Price: 60}, {Item: "labour", Unit: "hour", Price: 35.5}}
	})
	alarm := func(dev, kind, zone, rule string) *Order {
		o, err := r.m.HandleAlarm(ctx, raised(dev, kind, zone, rule, alarms.ClassEquipment, r.clock.Now()))
		if err != nil || o == nil {
			t.Fatalf("alarm %s %s: %v", dev, rule, err)
		}
		return o
	}
	step := r.clock.Step
	// 1. A pump trip handled on time, verified by the supervisor: closed without a call.
	o := alarm("P-1", "pump", "north", "pump_trip")
	step(10 * time.Minute)
	r.do(t, o.ID, ActionAccept, Input{})
	r.do(t, o.ID, ActionArrive, Input{})
	r.do(t, o.ID, ActionStart, Input{})
	r.do(t, o.ID, ActionDraw, Input{Parts: []Line{{Item: "contactor", Qty: 1}}})
	step(2 * time.Hour)
	r.do(t, o.ID, ActionResolve, Input{})
	step(30 * time.Minute)
	r.do(t, o.ID, ActionVerify, Input{By: "sup-li"})
	// 2. The same trip a week later: rework, accepted late.
	step(7 * 24 * time.Hour)
	o = alarm("P-1", "pump", "north", "pump_trip")
	step(40 * time.Minute)
	r.m.Tick(ctx)
	r.do(t, o.ID, ActionAccept, Input{})
	r.do(t, o.ID, ActionStart, Input{})
	step(3 * time.Hour)
	r.do(t, o.ID, ActionResolve, Input{})
	r.do(t, o.ID, ActionReopen, Input{By: "sup-li", Note: "pressure still drops"})
	r.do(t, o.ID, ActionStart, Input{})
	step(time.Hour)
	r.do(t, o.ID, ActionResolve, Input{})
	r.do(t, o.ID, ActionVerify, Input{By: "sup-li"})
	// 3. An elevator fault completed late.
	step(24 * time.Hour)
	o = alarm("E-1", "elevator", "south", "door_fault")
	r.do(t, o.ID, ActionAssign, Input{By: "sup-south", To: "tech-lin"})
	step(5 * time.Minute)
	r.do(t, o.ID, ActionAccept, Input{By: "tech-lin"})
	r.do(t, o.ID, ActionStart, Input{})
	step(5 * time.Hour)
	r.m.Tick(ctx)
	r.do(t, o.ID, ActionResolve, Input{})
	// 4. A household repair, still open; a lamp, cancelled.
	if _, err := r.m.Raise(ctx, RaiseRequest{Zone: "south", Title: "Door lock jammed, 2-0301", By: "cs-liu"}); err != nil {
		t.Fatal(err)
	}
	o = alarm("L-1", "lighting", "south", "lamp_failed")
	r.do(t, o.ID, ActionCancel, Input{Note: "lamp replaced on patrol"})
	// 4b. A tap repaired in home 3-1802, then reported again there: rework of the household.
	h, err := r.m.Raise(ctx, RaiseRequest{Zone: "north", Location: "3-1802", Title: "Kitchen tap leaks", By: "cs-liu"})
	if err != nil {
		t.Fatal(err)
	}
	r.do(t, h.ID, ActionAccept, Input{})
	r.do(t, h.ID, ActionStart, Input{})
	r.do(t, h.ID, ActionResolve, Input{})
	step(24 * time.Hour)
	if again, err := r.m.Raise(ctx, RaiseRequest{Zone: "north", Location: "3-1802", Title: "Kitchen tap leaks again", By: "cs-liu"}); err != nil || !again.Rework {
		t.Fatalf("second repair in 3-1802: %+v %v", again, err)
	}
	// The first tap repair's call: on time and satisfied, but the work was poor; it goes
	// back to engineering, a problem for the month's follow-up report.
	r.do(t, h.ID, ActionFollowUp, Input{By: "cs-liu", Points: &Points{Timeliness: &yes, Quality: &no, Satisfaction: &yes}, Note: "the tap | still drips"})
	// 4b'. The night check finds circuit 05 dark; it is fixed.
	dark, err := r.m.FailedCircuit(ctx, "L-1", "circuit_05", r.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []Action{ActionAccept, ActionStart, ActionResolve} {
		r.do(t, dark.ID, a, Input{By: "tech-lin"})
	}
	// 4c. A complaint, visited the same day, called back by the department head; complaints
	// are called back at the service centre only, never in the quality sample.
	c, err := r.m.Raise(ctx, RaiseRequest{Zone: "north", Location: "3-1802", Category: CategoryComplaint, Title: "Repairer was rude", By: "cs-liu"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []Action{ActionAccept, ActionArrive, ActionStart, ActionResolve} {
		r.do(t, c.ID, a, Input{By: "tech-chen"})
	}
	r.do(t, c.ID, ActionFollowUp, Input{By: "sup-li", Satisfied: &yes})
	if _, err := r.m.Transition(ctx, c.ID, ActionFollowUp, Input{By: "qa-sun", Level: "quality", Satisfied: &yes}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a quality call on a complaint: %v", err)
	}
	// 5. Preventive jobs: the fire check of 5 March was missed; the 20 March drill was done
	// late; the 5 April fire check is raised in March and done on time... in April.
	r.clock.Set(time.Date(2026, 3, 4, 11, 0, 0, 0, shanghai))
	if _, err := r.m.Schedule(ctx, ScheduleRequest{Plan: "fire-check", Device: "FP-1", At: time.Date(2026, 3, 5, 10, 0, 0, 0, shanghai), By: "eng-he"}); err != nil {
		t.Fatal(err)
	}
	d, err := r.m.Schedule(ctx, ScheduleRequest{Plan: "drill", Device: "E-1", At: time.Date(2026, 3, 20, 10, 0, 0, 0, shanghai), By: "eng-he"})
	if err != nil {
		t.Fatal(err)
	}
	// 6. The estate's rescue drill, raised a week ahead by the tick of 9 March, held on 16
	// March with the security department: passengers released after 18 minutes.
	drills, err := r.m.List(ctx, Filter{Plan: DrillPlan}, false)
	if err != nil || len(drills) != 1 {
		t.Fatalf("drill orders %d, want the March drill; %v", len(drills), err)
	}
	r.clock.Set(time.Date(2026, 3, 16, 9, 50, 0, 0, shanghai))
	r.do(t, drills[0].ID, ActionAccept, Input{By: "tech-lin"})
	r.clock.Set(time.Date(2026, 3, 16, 10, 0, 0, 0, shanghai))
	r.do(t, drills[0].ID, ActionStart, Input{By: "tech-lin"})
	r.clock.Set(time.Date(2026, 3, 16, 10, 18, 0, 0, shanghai))
	r.do(t, drills[0].ID, ActionRelease, Input{By: "tech-lin", Scenario: "stopped between floors 5 and 6", Car: "E-1"})
	// 7. A paid job: quoted before the work, the fan drawn from the store, ¥113.25 confirmed.
	req := RaiseRequest{Zone: "south", Title: "Replace the bathroom fan", By: "cs-liu", Intake: Intake{Channel: ChannelPhone, Resident: "Mr Li",
		Home: "2-1-0301", Contact: "139 0000 0000", Kind: KindPaid, Visit: &Window{From: r.clock.Now().Add(4 * time.Hour), To: r.clock.Now().Add(6 * time.Hour)}}}
	paid, err := r.m.Raise(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r.do(t, paid.ID, ActionAccept, Input{By: "tech-lin"})
	step(5 * time.Hour)
	r.do(t, paid.ID, ActionArrive, Input{By: "tech-lin"})
	r.do(t, paid.ID, ActionQuote, Input{By: "tech-lin", Lines: []Line{{Item: "fan replacement", Qty: 1}, {Item: "labour", Qty: 1}}})
	r.do(t, paid.ID, ActionStart, Input{By: "tech-lin"})
	r.do(t, paid.ID, ActionDraw, Input{By: "tech-lin", Parts: []Line{{Item: "fan 100mm", Qty: 1}, {Item: "screw M4", Qty: 4}}})
	step(time.Hour)
	r.do(t, paid.ID, ActionResolve, Input{By: "tech-lin"})
	r.do(t, paid.ID, ActionConfirmCharge, Input{By: "tech-lin", Lines: []Line{{Item: "fan replacement", Qty: 1}, {Item: "labour", Qty: 1.5}}})
	r.clock.Set(time.Date(2026, 3, 23, 10, 0, 0, 0, shanghai))
	r.do(t, d.ID, ActionAccept, Input{})
	r.do(t, d.ID, ActionStart, Input{})
	r.do(t, d.ID, ActionResolve, Input{})
	// An order of April stays out of March's report.
	r.clock.Set(time.Date(2026, 4, 1, 8, 0, 0, 0, shanghai))
	alarm("P-1", "pump", "north", "overcurrent")
	return r
}

func TestMonthlyReport(t *testing.T) {
	r := history(t)
	opts := r.m.ReportOptions()
	opts.Patrol = &patrol.Summary{Alerts: 12, Claimed: 10, Escalated: 1, ClaimP50: 95 * time.Second, ClaimP90: 4 * time.Minute,
		ByPriority:     []patrol.PriorityCount{{Priority: alarms.PriorityCritical, Alerts: 2, Claimed: 1, Escalated: 1}, {Priority: alarms.PriorityHigh, Alerts: 10, Claimed: 9}},
		LightingChecks: 31, CircuitsFound: 3, CircuitsTicked: 2}
	rep, err := BuildReport(context.Background(), r.m.Store(), "estate", "2026-03", shanghai, time.Date(2026, 4, 2, 0, 0, 0, 0, shanghai), opts)
	if err != nil {
		t.Fatal(err)
	}
	// Rework: the pump trip raised again (and reopened, counted once) and the second repair
	// in home 3-1802.
	if rep.CircuitsFixed != 1 {
		t.Fatalf("dark circuits fixed: %d, want 1", rep.CircuitsFixed)
	}
	if rep.Orders != 13 || rep.Rework != 3 || rep.Repairs != 9 || rep.Complaints != 1 || rep.PMMissed != 1 || rep.PMLate != 1 || rep.FollowUps != 2 || rep.Satisfied != 1 ||
		rep.Levels[1] != (LevelCalls{"quality", 0, 0}) {
		t.Fatalf("report %+v", rep)
	}
	// The desk's month: the problem the tap's call found, the fan charged, the parts drawn;
	// the drill with its rescue time.
	if len(rep.Problems) != 1 || rep.Problems[0].Location != "3-1802" || len(rep.Problems[0].Points) != 1 || rep.Problems[0].Points[0] != "quality" {
		t.Fatalf("problems %+v, want the tap's poor quality", rep.Problems)
	}
	if !equalJSON(rep.Charges, []CategoryCharges{{Category: CategoryHousehold, Orders: 1, Total: 11325}}) ||
		!equalJSON(rep.Materials, []MaterialUse{{Part: "contactor", Qty: 1, Orders: 1}, {Part: "fan 100mm", Qty: 1, Orders: 1}, {Part: "screw M4", Qty: 4, Orders: 1}}) {
		t.Fatalf("charges %+v, materials %+v", rep.Charges, rep.Materials)
	}
	if d := rep.Drills; d == nil || d.Held != 1 || d.Drills[0].RescueTime != 18*time.Minute {
		t.Fatalf("drills %+v, want the March drill held in 18 minutes", d)
	}
	if rep.Year != nil {
		t.Fatal("a month's report carries the year's surveys")
	}
	// The same figures in Chinese: a golden report per language. Names the site configured
	// (zones, teams, technicians) stay as configured.
	zh := *rep
	zh.lang = locale.ZhCN
	for _, f := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"report.md.golden", func(b *bytes.Buffer) error { return rep.WriteMarkdown(b) }},
		{"report.csv.golden", func(b *bytes.Buffer) error { return rep.WriteCSV(b) }},
		{"report.html.golden", func(b *bytes.Buffer) error { return rep.WriteHTML(b) }},
		{"report.zh-CN.md.golden", func(b *bytes.Buffer) error { return zh.WriteMarkdown(b) }},
		{"report.zh-CN.csv.golden", func(b *bytes.Buffer) error { return zh.WriteCSV(b) }},
		{"report.zh-CN.html.golden", func(b *bytes.Buffer) error { return zh.WriteHTML(b) }},
	} {
		t.Run(f.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := f.write(&b); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", f.file)
			if *update {
				os.MkdirAll("testdata", 0o755)
				os.WriteFile(path, b.Bytes(), 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if b.String() != string(want) {
				t.Fatalf("%s differs:\n--- got\n%s\n--- want\n%s", f.file, b.String(), want)
			}
		})
	}
	t.Run("html is one self-contained page with charts", func(t *testing.T) {
		var b bytes.Buffer
		if err := rep.WriteHTML(&b); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		if n := strings.Count(page, "<svg"); n != 3 {
			t.Fatalf("%d charts, want 3", n)
		}
		for _, banned := range []string{"<script", "src=", "href=", "@import"} {
			if strings.Contains(page, banned) {
				t.Fatalf("page refers to an external asset: %s", banned)
			}
		}
		// Well-formed enough for an XML parser, so every tag is closed.
		dec := xml.NewDecoder(strings.NewReader(strings.TrimPrefix(page, "<!DOCTYPE html>\n")))
		dec.Strict = false
		for {
			if _, err := dec.Token(); err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("html: %v", err)
				}
				break
			}
		}
		if !strings.Contains(page, "pump_trip") || !strings.Contains(page, "rework") {
			t.Fatal("categories missing from the page")
		}
	})
	t.Run("quarters and years", func(t *testing.T) {
		q, err := BuildReport(context.Background(), r.m.Store(), "estate", "2026-Q1", shanghai, time.Date(2026, 4, 2, 0, 0, 0, 0, shanghai), ReportOptions{})
		if err != nil || q.Orders != rep.Orders || !q.To.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, shanghai)) {
			t.Fatalf("first quarter: %v orders (March has %d), to %v, %v", q.Orders, rep.Orders, q.To, err)
		}
		y, err := BuildReport(context.Background(), r.m.Store(), "estate", "2026", shanghai, time.Date(2027, 1, 2, 0, 0, 0, 0, shanghai), ReportOptions{})
		if err != nil || y.Orders != rep.Orders+1 { // the April order too
			t.Fatalf("the year: %v orders, want %d; %v", y.Orders, rep.Orders+1, err)
		}
		q2, _ := BuildReport(context.Background(), r.m.Store(), "estate", "2026-Q2", shanghai, time.Date(2026, 7, 2, 0, 0, 0, 0, shanghai), ReportOptions{})
		if q2.Orders != 1 {
			t.Fatalf("second quarter: %d orders, want the April one", q2.Orders)
		}
		for _, bad := range []string{"2026-Q5", "2026-13", "26", "2026-Q"} {
			if _, err := BuildReport(context.Background(), r.m.Store(), "estate", bad, shanghai, time.Now(), ReportOptions{}); !errors.Is(err, ErrInvalid) {
				t.Errorf("period %q: %v", bad, err)
			}
		}
	})
	t.Run("a bad month is refused", func(t *testing.T) {
		if _, err := BuildReport(context.Background(), r.m.Store(), "estate", "2026-13", shanghai, time.Now(), ReportOptions{}); err == nil {
			t.Fatal("month 13 accepted")
		}
	})
}

// TestYearlyReport: the year's report carries the surveys: the owners' overall satisfaction
// from the year-end survey against the plans' 80%, beside (not mixed with) the per-call
// satisfaction of the year's follow-up calls, in both languages; a month's report does not.
func TestYearlyReport(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, time.Date(2026, 6, 15, 10, 0, 0, 0, shanghai), func(c *Config) {
		for i := 1; i <= 10; i++ {
			c.Homes = append(c.Homes, Home{Home: fmt.Sprintf("3-1-%02d02", i), Zone: "north"})
		}
	})
	op, err := r.m.StartSurvey(ctx, SurveyRequest{Kind: SurveyOpinion, Year: 2026, Half: 1, By: "cs-liu"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.m.AnswerSurvey(ctx, op.ID, SurveyAnswer{Home: op.Sample[0], Opinion: "more lights in the car park", By: "cs-liu"}); err != nil {
		t.Fatal(err)
	}
	o, err := r.m.Raise(ctx, phoneCall("Kitchen tap drips"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []Action{ActionAccept, ActionArrive, ActionStart, ActionResolve} {
		r.do(t, o.ID, a, Input{By: "tech-chen"})
	}
	r.do(t, o.ID, ActionFollowUp, Input{By: "cs-liu", Points: &Points{Timeliness: &yes, Quality: &yes, Satisfaction: &yes}})
	r.clock.Set(time.Date(2026, 12, 20, 10, 0, 0, 0, shanghai))
	sat, err := r.m.StartSurvey(ctx, SurveyRequest{Kind: SurveySatisfaction, Year: 2026, By: "cs-liu"})
	if err != nil {
		t.Fatal(err)
	}
	for i, home := range sat.Sample {
		happy := i < 7
		if _, err := r.m.AnswerSurvey(ctx, sat.ID, SurveyAnswer{Home: home, Satisfied: &happy, By: "cs-liu"}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2027, 1, 5, 0, 0, 0, 0, shanghai)
	for _, tc := range []struct {
		lang locale.Locale
		want []string
	}{
		{locale.EN, []string{"## The year 2026: residents' satisfaction",
			"| owners' overall satisfaction (year-end survey) | 7/10 (70.0%); target 80%: short of the target |",
			"| per-call satisfaction (the year's follow-up calls) | 1/1 (100.0%) |",
			"| 2026-satisfaction | 10 | 10 | 10 | 7 |", "more lights in the car park"}},
		{locale.ZhCN, []string{"## 2026 年度客户满意率", "| 业主满意率（年终满意度调查） | 7/10 (70.0%)", "未达目标", "| 回访满意率（全年回访） | 1/1 (100.0%) |"}},
	} {
		opts := r.m.ReportOptions()
		opts.Locale = tc.lang
		rep, err := BuildReport(ctx, r.m.Store(), "estate", "2026", shanghai, now, opts)
		if err != nil {
			t.Fatal(err)
		}
		var md, csv bytes.Buffer
		if err := rep.WriteMarkdown(&md); err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteCSV(&csv); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(md.String(), w) {
				t.Errorf("%s yearly report lacks %q:\n%s", tc.lang, w, md.String())
			}
		}
		if !strings.Contains(csv.String(), "year,2026,owners_satisfied,7\n") || !strings.Contains(csv.String(), "year,2026,calls_satisfied,1\n") {
			t.Errorf("%s CSV lacks the year's satisfaction:\n%s", tc.lang, csv.String())
		}
	}
	month, err := BuildReport(ctx, r.m.Store(), "estate", "2026-12", shanghai, now, r.m.ReportOptions())
	if err != nil || month.Year != nil {
		t.Fatalf("December's report: year %+v, %v; the surveys belong to the year's", month.Year, err)
	}
}
