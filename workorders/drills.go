package workorders

import (
	"context"
	"errors"
	"fmt"
	"html"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/devices"
)

// DrillPlan is the plan id of the estate's entrapment rescue drills: their orders carry it.
const DrillPlan = "elevator-rescue-drill"

// ActionRelease records the moment a drill's "trapped passengers" are released; it resolves
// the drill order with the scenario, the car used and the rescue time from its start.
const ActionRelease Action = "release"

// Drills configures the elevator entrapment rescue drills (电梯困人的救援安全演练). The plans
// ask two a year, held with the security department (结合秩序部门): each drill is ONE order for
// the estate, not one per car, told to the maintenance team and to the security department's
// people, and a drill not held counts as one miss.
type Drills struct {
	// Count is the drills a year: 1, 2, 3, 4, 6 or 12; the plans' number is 2.
	Count int
	// Month is the month of the year's first drill (1-12), Day its day (1-28) and At its
	// local time; the others follow every 12/Count months. Ours: 15 March and 15 September,
	// 10:00, away from the Spring Festival and the summer's peak.
	Month, Day int
	At         string
	// Team is the maintenance team that runs the drill; empty: workorders.default_team.
	Team string
	// Security are the security department's people told of each drill and taking part.
	Security []string
	// Ahead is how long before the drill its order goes out (ours: a week, for the security
	// department to plan its shift); Grace how long after it the drill still counts as held.
	Ahead, Grace time.Duration
}

// DefaultDrills is the plans' two drills a year; the days, the week's notice and the week's
// grace are ours.
func DefaultDrills() Drills {
	return Drills{Count: 2, Month: 3, Day: 15, At: "10:00", Ahead: 7 * 24 * time.Hour, Grace: 7 * 24 * time.Hour}
}

func (d Drills) withDefaults() Drills {
	def := DefaultDrills()
	if d.Count == 0 {
		d.Count = def.Count
	}
	if d.Month == 0 {
		d.Month = def.Month
	}
	if d.Day == 0 {
		d.Day = def.Day
	}
	if d.At == "" {
		d.At = def.At
	}
	if d.Ahead == 0 {
		d.Ahead = def.Ahead
	}
	if d.Grace == 0 {
		d.Grace = def.Grace
	}
	return d
}

// validate names the workorders.drills key of each problem; a negative count turns drills off.
func (d Drills) validate() []error {
	var errs []error
	if d.Count > 0 && 12%d.Count != 0 {
		errs = append(errs, fmt.Errorf("workorders.drills.count: %d drills a year do not fall evenly; use 1, 2, 3, 4, 6 or 12 (the plans: 2)", d.Count))
	}
	if d.Month < 1 || d.Month > 12 {
		errs = append(errs, fmt.Errorf("workorders.drills.month: %d must be 1-12", d.Month))
	}
	if d.Day < 1 || d.Day > 28 {
		errs = append(errs, fmt.Errorf("workorders.drills.day: %d must be 1-28", d.Day))
	}
	if minutes(d.At) < 0 {
		errs = append(errs, fmt.Errorf("workorders.drills.at: %q is not HH:MM", d.At))
	}
	if d.Ahead < 0 || d.Grace < 0 {
		errs = append(errs, errors.New("workorders.drills.ahead, grace: must not be negative"))
	}
	return errs
}

// DrillRecord is what a drill order keeps of the drill: the scenario played, the car used,
// who of the security department took part, and the rescue time from the start to the
// release of the passengers.
type DrillRecord struct {
	Scenario   string        `json:"scenario"`
	Car        string        `json:"car"`
	Security   []string      `json:"security,omitempty"`
	StartedAt  time.Time     `json:"started_at"`
	ReleasedAt time.Time     `json:"released_at"`
	RescueTime time.Duration `json:"rescue_time_ns"`
}

// drillTimes is the drills of year y, moved off days off to the next working day (a drill
// has no maximum interval to keep).
func (m *Manager) drillTimes(y int) []time.Time {
	d := m.cfg.Drills
	if d.Count <= 0 {
		return nil
	}
	loc := m.policy.Calendar.Location()
	var out []time.Time
	for k := 0; k < d.Count; k++ {
		mo := d.Month - 1 + k*12/d.Count
		at := time.Date(y+mo/12, time.Month(mo%12+1), d.Day, 0, 0, 0, 0, loc).Add(time.Duration(minutes(d.At)) * time.Minute)
		out = append(out, m.onCalendar(Plan{}, at))
	}
	return out
}

// drillFault names drill k (from 1) of year y: the order book keeps one order per name.
func drillFault(y, k int) string { return "drill/" + strconv.Itoa(y) + "-" + strconv.Itoa(k) }

// runDrills raises the order of each drill once its notice (Ahead) begins and before it is
// held; a gateway started after a drill's time does not raise it late. A site without
// elevators has no drills.
func (m *Manager) runDrills(ctx context.Context, now time.Time) error {
	d := m.cfg.Drills
	if d.Count <= 0 || !m.hasCars() {
		return nil
	}
	var have map[string]bool
	for _, y := range []int{now.In(m.policy.Calendar.Location()).Year(), now.In(m.policy.Calendar.Location()).Year() + 1} {
		for k, at := range m.drillTimes(y) {
			if now.Before(at.Add(-d.Ahead)) || !now.Before(at) {
				continue
			}
			if have == nil {
				list, err := m.store.List(ctx, Filter{Plan: DrillPlan})
				if err != nil {
					return err
				}
				have = map[string]bool{}
				for _, o := range list {
					have[o.Fault] = true
				}
			}
			fault := drillFault(y, k+1)
			if have[fault] {
				continue
			}
			if _, err := m.raiseDrill(ctx, fault, at, now); err != nil {
				return err
			}
			have[fault] = true
		}
	}
	return nil
}

// raiseDrill stores one drill order for the estate and tells the team, the security
// department and the elevators' maintenance contractors.
func (m *Manager) raiseDrill(ctx context.Context, fault string, at, now time.Time) (*Order, error) {
	d := m.cfg.Drills
	title := m.t("plan." + DrillPlan)
	o := &Order{Kind: string(devices.KindElevator), Fault: fault, Category: "preventive", Priority: alarms.PriorityLow, Source: SourcePreventive,
		Plan: DrillPlan, ScheduledAt: at, DueBy: at.Add(d.Grace), Title: m.t("order.title.drill", "title", title, "at", m.fmtTime(at)), CreatedAt: now}
	m.fill(o)
	if d.Team != "" {
		o.Team = d.Team
	}
	o.Contractor = strings.Join(m.drillContractors(), ", ")
	o.History = []Change{{At: now, By: "system", Action: "create", To: StateNew, Note: m.t("order.note.planned", "at", m.fmtTime(at))}}
	to := recipients(append(append([]string{o.Team}, d.Security...), m.drillContractors()...)...)
	stored, created, err := m.store.Open(ctx, o, func(stored *Order) []Notification {
		return []Notification{{Type: "assigned", Order: stored.ID, To: to,
			Message: m.t("order.notify.drill", "id", stored.ID, "title", title, "at", m.fmtTime(at)), At: now}}
	})
	if err != nil {
		return nil, fmt.Errorf("drill %s: %w", fault, err)
	}
	if created {
		m.kick()
		m.emit(Event{Type: EventCreated, Order: stored, At: now})
	}
	return stored, nil
}

func (m *Manager) hasCars() bool {
	for _, car := range m.policy.Cars {
		if car {
			return true
		}
	}
	return false
}

// drillContractors are the maintenance contractors of the estate's elevators, whose
// technicians release trapped passengers.
func (m *Manager) drillContractors() []string {
	var out []string
	for _, id := range m.order {
		dev := m.ledger[id]
		if dev.Kind == string(devices.KindElevator) && dev.Asset != nil && dev.Asset.Contractor != "" && !slices.Contains(out, dev.Asset.Contractor) {
			out = append(out, dev.Asset.Contractor)
		}
	}
	return out
}

// isDrill tells a drill order of the estate from the per-car orders an earlier release raised
// under the same plan id (fault pm/elevator-rescue-drill), which close as any preventive job.
func isDrill(o *Order) bool { return o.Plan == DrillPlan && strings.HasPrefix(o.Fault, "drill/") }

// checkDrill refuses a release of an order that is not a drill, or without its scenario and
// car, and the plain resolve of a drill, which has no rescue time.
func (p *Policy) checkDrill(o Order, a Action, in Input) error {
	drill := isDrill(&o)
	switch {
	case a == ActionRelease && !drill:
		return fmt.Errorf("%w: release of %s: only a rescue drill's order records a release", ErrInvalid, o.ID)
	case a == ActionResolve && drill:
		return fmt.Errorf("%w: resolve of %s: a rescue drill resolves by its release (release, with scenario and car), which records the rescue time", ErrInvalid, o.ID)
	case a != ActionRelease:
		return nil
	case strings.TrimSpace(in.Scenario) == "":
		return fmt.Errorf("%w: release of %s: say which scenario was played (scenario, e.g. car stopped between floors 5 and 6)", ErrInvalid, o.ID)
	case strings.TrimSpace(in.Car) == "":
		return fmt.Errorf("%w: release of %s: say which car was used (car, an elevator's device id)", ErrInvalid, o.ID)
	case p.Cars != nil && !p.Cars[in.Car]:
		return fmt.Errorf("%w: release of %s: car %q is not an elevator of the configuration", ErrInvalid, o.ID, in.Car)
	}
	return nil
}

// release records a drill's release at now and resolves the order.
func (p *Policy) release(o *Order, in Input, security []string, now time.Time) {
	o.Drill = &DrillRecord{Scenario: strings.TrimSpace(in.Scenario), Car: in.Car, Security: security, StartedAt: o.StartedAt, ReleasedAt: now, RescueTime: now.Sub(o.StartedAt)}
	p.resolve(o, now)
}

// DrillRow is one drill of a summary.
type DrillRow struct {
	Order       string        `json:"order"`
	ScheduledAt time.Time     `json:"scheduled_at"`
	State       State         `json:"state"`
	Held        bool          `json:"held"`
	Missed      bool          `json:"missed"`
	Scenario    string        `json:"scenario,omitempty"`
	Car         string        `json:"car,omitempty"`
	RescueTime  time.Duration `json:"rescue_time_ns,omitempty"`
}

// DrillSummary is a year's (or period's) rescue drills: those planned, held on time or late,
// and missed (one miss per drill, however many cars the estate has).
type DrillSummary struct {
	Planned, Held, Missed int
	Drills                []DrillRow
	// LongestRescue is the longest rescue time of the drills held.
	LongestRescue time.Duration
}

// SummarizeDrills counts the drill orders of list scheduled in [from, to) as of now. A drill
// is held when released by its due time, missed when its due time has passed without a
// release, or when cancelled.
func SummarizeDrills(list []*Order, from, to, now time.Time) DrillSummary {
	var s DrillSummary
	for _, o := range list {
		if !isDrill(o) || o.ScheduledAt.Before(from) || !o.ScheduledAt.Before(to) {
			continue
		}
		row := DrillRow{Order: o.ID, ScheduledAt: o.ScheduledAt, State: o.State}
		if r := o.Drill; r != nil {
			row.Scenario, row.Car, row.RescueTime = r.Scenario, r.Car, r.RescueTime
			row.Held = !r.ReleasedAt.After(o.DueBy)
			if r.RescueTime > s.LongestRescue {
				s.LongestRescue = r.RescueTime
			}
		}
		row.Missed = !row.Held && (o.State == StateCancelled || now.After(o.DueBy))
		s.Planned++
		if row.Held {
			s.Held++
		}
		if row.Missed {
			s.Missed++
		}
		s.Drills = append(s.Drills, row)
	}
	slices.SortFunc(s.Drills, func(a, b DrillRow) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
	return s
}

// Drills is the summary of year's rescue drills, for the report and the console.
func (m *Manager) Drills(ctx context.Context, year int) (DrillSummary, error) {
	list, err := m.store.List(ctx, Filter{Plan: DrillPlan})
	if err != nil {
		return DrillSummary{}, err
	}
	loc := m.policy.Calendar.Location()
	return SummarizeDrills(list, time.Date(year, 1, 1, 0, 0, 0, 0, loc), time.Date(year+1, 1, 1, 0, 0, 0, 0, loc), m.now()), nil
}

// reportDrills is the rescue drills scheduled in a report's period, nil when there were none:
// their orders are raised a week ahead, so they are read by plan, not by creation.
func reportDrills(ctx context.Context, st Store, from, to, now time.Time) (*DrillSummary, error) {
	list, err := st.List(ctx, Filter{Plan: DrillPlan})
	if err != nil {
		return nil, fmt.Errorf("report drills: %w", err)
	}
	s := SummarizeDrills(list, from, to, now)
	if s.Planned == 0 {
		return nil, nil
	}
	return &s, nil
}

// drillsMarkdown writes the report's rescue drill section: held and missed, then each drill
// with its scenario, car and rescue time.
func (r *Report) drillsMarkdown(b *strings.Builder) {
	d := r.Drills
	if d == nil {
		return
	}
	t := r.lang.T
	fmt.Fprintf(b, "\n## %s\n\n%s\n\n| %s | %s | %s | %s | %s |\n| --- | --- | --- | --- | ---: |\n", t("report.drills"),
		t("report.drills.summary", "planned", d.Planned, "held", d.Held, "missed", d.Missed),
		t("report.drills.col.order"), t("report.drills.col.when"), t("report.drills.col.scenario"), t("report.drills.col.car"), t("report.drills.col.rescue"))
	for _, row := range d.Drills {
		scenario := mdCell(row.Scenario)
		switch {
		case row.Missed:
			scenario = t("report.drills.missed")
		case !row.Held:
			scenario = t("report.drills.pending")
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", row.Order, row.ScheduledAt.In(r.From.Location()).Format("2006-01-02 15:04"), scenario, mdCell(row.Car), r.dur(row.RescueTime))
	}
}

// mdCell keeps a free-text value from breaking a Markdown table row.
func mdCell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.NewReplacer("|", "/", "\n", " ").Replace(s)
}

// drillsCSV adds the drill rows to the report's CSV: the period's counts, then each drill's
// outcome (1 held, 0 not) and rescue time in seconds.
func (r *Report) drillsCSV(add func(sec, name, metric string, v any)) {
	d := r.Drills
	if d == nil {
		return
	}
	add("drills", r.Month, "planned", d.Planned)
	add("drills", r.Month, "held", d.Held)
	add("drills", r.Month, "missed", d.Missed)
	add("drills", r.Month, "longest_rescue_seconds", int64(d.LongestRescue.Seconds()))
	for _, row := range d.Drills {
		held := 0
		if row.Held {
			held = 1
		}
		add("drill", row.Order, "held", held)
		add("drill", row.Order, "rescue_seconds", int64(row.RescueTime.Seconds()))
	}
}

// drillsHTML writes the drill section of the report's page.
func (r *Report) drillsHTML(b *strings.Builder) {
	d := r.Drills
	if d == nil {
		return
	}
	t := r.lang.T
	fmt.Fprintf(b, "<h2>%s</h2>\n<p>%s</p>\n<table>\n<tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>\n", t("report.drills"),
		html.EscapeString(t("report.drills.summary", "planned", d.Planned, "held", d.Held, "missed", d.Missed)),
		t("report.drills.col.order"), t("report.drills.col.when"), t("report.drills.col.scenario"), t("report.drills.col.car"), t("report.drills.col.rescue"))
	for _, row := range d.Drills {
		scenario := row.Scenario
		switch {
		case row.Missed:
			scenario = t("report.drills.missed")
		case !row.Held:
			scenario = t("report.drills.pending")
		}
		fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", html.EscapeString(row.Order),
			row.ScheduledAt.In(r.From.Location()).Format("2006-01-02 15:04"), html.EscapeString(scenario), html.EscapeString(row.Car), r.dur(row.RescueTime))
	}
	b.WriteString("</table>\n")
}
