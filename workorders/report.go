package workorders

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/locale"
)

// Count is one row of a breakdown of the month's orders. Rework counts the repairs (orders
// other than preventive jobs and complaints) raised again or reopened: Rework/Repairs is the
// row's rework rate (返修率). Complaints are counted apart: the plans' rework is of equipment
// and of residents' homes, and a complaint is not a repair.
type Count struct {
	Name       string `json:"name"`
	Orders     int    `json:"orders"`
	Resolved   int    `json:"resolved"`
	Repairs    int    `json:"repairs"`
	Rework     int    `json:"rework"`
	Complaints int    `json:"complaints"`
	Breaches   int    `json:"breaches"`
}

// isRepair reports whether o counts among the repairs, the rework rate's denominator:
// neither a preventive job nor a complaint.
func isRepair(o *Order) bool {
	return o.Source != SourcePreventive && o.Category != CategoryComplaint
}

// Workload is one technician's month: the orders assigned to them, those resolved, the hours
// spent on site (from each start to its resolution), those resolved within the time-limit
// table, and the rework among their repairs.
type Workload struct {
	Name     string        `json:"name"`
	Orders   int           `json:"orders"`
	Resolved int           `json:"resolved"`
	Hours    time.Duration `json:"hours"`
	OnTime   int           `json:"on_time"`
	Repairs  int           `json:"repairs"`
	Rework   int           `json:"rework"`
}

// workHours sums the time from each start of the work to the resolution that ended it.
func workHours(o *Order) time.Duration {
	var sum time.Duration
	var from time.Time
	for _, h := range o.History {
		switch h.Action {
		case string(ActionStart):
			from = h.At
		case string(ActionResolve):
			if !from.IsZero() {
				sum += h.At.Sub(from)
			}
			from = time.Time{}
		}
	}
	return sum
}

// Report is the monthly report customer service and engineering review: orders by category
// and zone, mean times to accept and repair, deadline compliance, rework rate, follow-up
// satisfaction and preventive-maintenance compliance.
type Report struct {
	Site string `json:"site"`
	// Month is the period reported: a month (2026-03), a quarter (2026-Q1) or a year (2026).
	Month string `json:"month"`
	lang  locale.Locale
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`

	Orders     int     `json:"orders"`
	ByCategory []Count `json:"by_category"`
	ByZone     []Count `json:"by_zone"`
	ByTeam     []Count `json:"by_team"`
	// ByTechnician is each assignee's workload (维修派工, 责任到人).
	ByTechnician []Workload `json:"by_technician"`
	// Mean times over the orders accepted (created → accepted) and resolved (created →
	// resolved), preventive jobs excluded.
	MeanAccept time.Duration `json:"mean_accept"`
	MeanRepair time.Duration `json:"mean_repair"`
	Accepted   int           `json:"accepted"`
	Resolved   int           `json:"resolved"`
	// AcceptOnTime and CompleteOnTime count the orders that met the time-limit table.
	AcceptOnTime   int `json:"accept_on_time"`
	CompleteOnTime int `json:"complete_on_time"`
	// Arrivals counts the orders with an arrival deadline that someone reached or missed;
	// ArriveOnTime those where the technician was on site in time (到达现场).
	Arrivals     int `json:"arrivals"`
	ArriveOnTime int `json:"arrive_on_time"`
	// Repairs excludes preventive jobs and complaints; Rework counts repairs raised again
	// within the rework window or reopened. Complaints are the month's complaints, apart.
	Repairs    int `json:"repairs"`
	Rework     int `json:"rework"`
	Complaints int `json:"complaints"`
	// FollowUps counts the first level's follow-up calls made in the period (by the time of
	// the call, whenever the order was created), Satisfied those the resident was happy with;
	// Levels gives every level's calls (the sampled checks by quality staff and management
	// too), Target the satisfaction aimed for (0-1).
	FollowUps int          `json:"follow_ups"`
	Satisfied int          `json:"satisfied"`
	Levels    []LevelCalls `json:"levels"`
	Target    float64      `json:"target"`
	// Preventive jobs raised in the month: done on time, late, missed (past due and not
	// done, or cancelled) and still pending.
	PMJobs    int `json:"pm_jobs"`
	PMOnTime  int `json:"pm_on_time"`
	PMLate    int `json:"pm_late"`
	PMMissed  int `json:"pm_missed"`
	PMPending int `json:"pm_pending"`
	// Patrol is the patrol's period, when the site has one; CircuitsFixed counts the dark
	// circuits (lighting orders on a circuit) resolved among the period's orders.
	Patrol        *patrol.Summary `json:"patrol,omitempty"`
	CircuitsFixed int             `json:"circuits_fixed"`
	// Zones compares the zones' public jobs (对各片区公共设施维护状况进行评比), ranked by
	// ZoneScore; HouseholdZones compares their household repairs the same way, apart.
	Zones          []ZoneRow `json:"zones"`
	HouseholdZones []ZoneRow `json:"household_zones"`
	// Drills are the rescue drills scheduled in the period (drills.go), nil when none.
	Drills *DrillSummary `json:"drills,omitempty"`
	// Problems are the follow-up answers of the period found wanting, at every level: what
	// the monthly follow-up report analyses beside the rates (将当月发现的问题汇总分析).
	Problems []Problem `json:"problems"`
	// Charges are the paid work confirmed in the period by category (收费合理性), Materials
	// the parts drawn from the store (领用单) for the month's, quarter's or year's stock-take.
	Charges   []CategoryCharges `json:"charges"`
	Materials []MaterialUse     `json:"materials"`
	// Year is the year's surveys and the owners' overall satisfaction beside the per-call
	// satisfaction, in a yearly report only (report_desk.go).
	Year *YearSummary `json:"year,omitempty"`
}

// LevelCalls is one follow-up level's calls in the month and the residents satisfied.
type LevelCalls struct {
	Level     string `json:"level"`
	Calls     int    `json:"calls"`
	Satisfied int    `json:"satisfied"`
}

// ReportOptions are the site's settings a report needs: the follow-up levels in order (the
// first is the call every order gets) and the satisfaction target, 0-1.
type ReportOptions struct {
	Levels []string
	Target float64
	// Patrol is the patrol's summary of the same period, when the site has a patrol; the
	// report then has a patrol section.
	Patrol *patrol.Summary
	// Locale is the language the report is written in (headings, labels, CSV headers);
	// names from the order book and the CSV's section and metric identifiers stay as they are.
	Locale locale.Locale
}

// ReportOptionsFor takes the report's settings from the configuration, defaults filled in.
func ReportOptionsFor(cfg Config) ReportOptions {
	cfg = cfg.withDefaults()
	o := ReportOptions{Target: cfg.FollowUp.Target}
	for _, l := range cfg.FollowUp.Sampling {
		o.Levels = append(o.Levels, l.Level)
	}
	return o
}

// ParsePeriod reads a report period in loc: a month (2026-03), a quarter (2026-Q1) or a year
// (2026), and returns its bounds [from, to).
func ParsePeriod(period string, loc *time.Location) (from, to time.Time, err error) {
	if t, err := time.ParseInLocation("2006-01", period, loc); err == nil {
		return t, t.AddDate(0, 1, 0), nil
	}
	if y, q, ok := strings.Cut(period, "-Q"); ok && len(q) == 1 && q[0] >= '1' && q[0] <= '4' {
		if t, err := time.ParseInLocation("2006", y, loc); err == nil {
			from := t.AddDate(0, 3*int(q[0]-'1'), 0)
			return from, from.AddDate(0, 3, 0), nil
		}
	}
	if t, err := time.ParseInLocation("2006", period, loc); err == nil {
		return t, t.AddDate(1, 0, 0), nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("%w: period %q is not a month (2026-03), a quarter (2026-Q1) or a year (2026)", ErrInvalid, period)
}

// BuildReport sums up the orders created in period (a month 2026-03, a quarter 2026-Q1 or a
// year 2026, in loc) as they stand at now, and the follow-up calls made in the period.
func BuildReport(ctx context.Context, st Store, site, period string, loc *time.Location, now time.Time, opts ReportOptions) (*Report, error) {
	from, to, err := ParsePeriod(period, loc)
	if err != nil {
		return nil, err
	}
	list, err := st.List(ctx, Filter{From: from, To: to})
	if err != nil {
		return nil, err
	}
	if len(opts.Levels) == 0 {
		def := ReportOptionsFor(Config{})
		opts.Levels, opts.Target = def.Levels, def.Target
	}
	// Calls are counted by the time of the call: the period's calls may be about orders
	// created before it. A year back covers them (ours: the book's retention of duty records).
	called, err := st.List(ctx, Filter{From: from.AddDate(-1, 0, 0), To: to})
	if err != nil {
		return nil, err
	}
	r := &Report{Site: site, Month: period, From: from, To: to, Orders: len(list), Target: opts.Target, Patrol: opts.Patrol, lang: opts.Locale}
	t := newTally(r, opts.Levels, now)
	for _, o := range list {
		t.add(o)
	}
	for _, o := range called {
		t.followUps(o)
	}
	t.finish()
	if r.Drills, err = reportDrills(ctx, st, from, to, now); err != nil {
		return nil, err
	}
	if err := r.desk(ctx, st, called, opts.Levels[0]); err != nil {
		return nil, err
	}
	return r, nil
}

// tally sums orders into a report, one order at a time.
type tally struct {
	r   *Report
	now time.Time
	// levels are the follow-up levels by name; levelOrder their order in the report, the
	// configured ones first, then any met in the history since removed.
	levels               map[string]*LevelCalls
	levelOrder           []string
	cats, zones, teams   map[string]*Count
	public, household    map[string]*ZoneRow
	techs                map[string]*Workload
	acceptSum, repairSum time.Duration
	acceptN, repairN     int
}

func newTally(r *Report, levels []string, now time.Time) *tally {
	t := &tally{r: r, now: now, levels: map[string]*LevelCalls{}, levelOrder: append([]string(nil), levels...),
		cats: map[string]*Count{}, zones: map[string]*Count{}, teams: map[string]*Count{}, techs: map[string]*Workload{},
		public: map[string]*ZoneRow{}, household: map[string]*ZoneRow{}}
	for _, l := range levels {
		t.levels[l] = &LevelCalls{Level: l}
	}
	return t
}

// add counts one order in every section of the report.
func (t *tally) add(o *Order) {
	if o.Fault == LightingRule && o.Instance != "" && o.State.Done() {
		t.r.CircuitsFixed++
	}
	t.count(o)
	t.workload(o)
	if !isDrill(o) {
		t.zone(o).add(o, t.now)
	}
	if o.Category == CategoryComplaint {
		t.r.Complaints++
	}
	if o.Source == SourcePreventive {
		t.preventive(o)
		return
	}
	t.repair(o)
}

// count adds o to its category's, zone's and team's rows. A rescue drill is an estate event
// of no zone: it has its own section, and stays out of the zone rows.
func (t *tally) count(o *Order) {
	breach := o.AcceptBreached || o.CompleteBreached
	repair := isRepair(o)
	rows := []*Count{bump(t.cats, o.Category), bump(t.teams, orNone(o.Team))}
	if !isDrill(o) {
		rows = append(rows, bump(t.zones, orNone(o.Zone)))
	}
	for _, c := range rows {
		c.Orders++
		if o.State.Done() {
			c.Resolved++
		}
		if o.Category == CategoryComplaint {
			c.Complaints++
		}
		if repair {
			c.Repairs++
		}
		if repair && o.Reworked() {
			c.Rework++
		}
		if breach {
			c.Breaches++
		}
	}
}

// workload adds o to its assignee's month (维修派工, 责任到人).
func (t *tally) workload(o *Order) {
	if o.Assignee == "" {
		return
	}
	w := t.techs[o.Assignee]
	if w == nil {
		w = &Workload{Name: o.Assignee}
		t.techs[o.Assignee] = w
	}
	w.Orders++
	w.Hours += workHours(o)
	if o.State.Done() {
		w.Resolved++
		if !o.CompleteBreached {
			w.OnTime++
		}
	}
	if isRepair(o) {
		w.Repairs++
		if o.Reworked() {
			w.Rework++
		}
	}
}

// followUps counts o's follow-up calls made in the period per level; the first level's are
// the report's follow-ups and satisfaction, and its zone's.
func (t *tally) followUps(o *Order) {
	first := t.levelOrder[0]
	for _, h := range o.History {
		if h.Action != string(ActionFollowUp) || h.At.Before(t.r.From) || !h.At.Before(t.r.To) {
			continue
		}
		level := h.Level
		if level == "" {
			level = first // recorded before there were levels
		}
		sat := h.To == StateFollowedUp
		if h.Satisfied != nil {
			sat = *h.Satisfied
		}
		if level == first {
			t.r.FollowUps++
			z := t.zone(o)
			z.FollowUps++
			if sat {
				t.r.Satisfied++
				z.Satisfied++
			}
		}
		lc := t.levels[level]
		if lc == nil { // a level since removed from the configuration
			lc = &LevelCalls{Level: level}
			t.levels[level], t.levelOrder = lc, append(t.levelOrder, level)
		}
		lc.Calls++
		if sat {
			lc.Satisfied++
		}
	}
}

// preventive counts a planned job: on time, late, missed (cancelled or past due) or pending.
func (t *tally) preventive(o *Order) {
	r := t.r
	r.PMJobs++
	switch {
	case o.State.Done() && !o.ResolvedAt.After(o.DueBy):
		r.PMOnTime++
	case o.State.Done():
		r.PMLate++
	case o.State == StateCancelled || t.now.After(o.DueBy):
		r.PMMissed++
	default:
		r.PMPending++
	}
}

// repair counts an order other than a preventive job against its deadlines (arrival,
// acceptance, resolution) and, unless a complaint, among the repairs and their rework.
func (t *tally) repair(o *Order) {
	r := t.r
	if isRepair(o) {
		r.Repairs++
		if o.Reworked() {
			r.Rework++
		}
	}
	if !o.ArriveBy.IsZero() && (!o.ArrivedAt.IsZero() || o.ArriveBreached) {
		r.Arrivals++
		if !o.ArriveBreached {
			r.ArriveOnTime++
		}
	}
	if !o.AcceptedAt.IsZero() {
		r.Accepted++
		t.acceptSum += o.AcceptedAt.Sub(o.CreatedAt)
		t.acceptN++
		if !o.AcceptBreached {
			r.AcceptOnTime++
		}
	}
	if o.State.Done() {
		r.Resolved++
		t.repairSum += o.ResolvedAt.Sub(o.CreatedAt)
		t.repairN++
		if !o.CompleteBreached {
			r.CompleteOnTime++
		}
	}
}

// finish computes the means and puts the sections in their order: rows by name, technicians
// busiest first.
func (t *tally) finish() {
	r := t.r
	if t.acceptN > 0 {
		r.MeanAccept = (t.acceptSum / time.Duration(t.acceptN)).Round(time.Second)
	}
	if t.repairN > 0 {
		r.MeanRepair = (t.repairSum / time.Duration(t.repairN)).Round(time.Second)
	}
	for _, l := range t.levelOrder {
		r.Levels = append(r.Levels, *t.levels[l])
	}
	r.ByCategory, r.ByZone, r.ByTeam = sorted(t.cats), sorted(t.zones), sorted(t.teams)
	r.Zones, r.HouseholdZones = ranked(t.public), ranked(t.household)
	r.ByTechnician = make([]Workload, 0, len(t.techs))
	for _, w := range t.techs {
		r.ByTechnician = append(r.ByTechnician, *w)
	}
	sort.Slice(r.ByTechnician, func(i, j int) bool {
		a, b := r.ByTechnician[i], r.ByTechnician[j]
		if a.Orders != b.Orders {
			return a.Orders > b.Orders
		}
		return a.Name < b.Name
	})
}

func orNone(z string) string {
	if z == "" {
		return "(none)"
	}
	return z
}

func bump(m map[string]*Count, name string) *Count {
	c := m[name]
	if c == nil {
		c = &Count{Name: name}
		m[name] = c
	}
	return c
}

// sorted orders a breakdown by orders, most first, then by name.
func sorted(m map[string]*Count) []Count {
	out := make([]Count, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Orders != out[j].Orders {
			return out[i].Orders > out[j].Orders
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// pct is a share as "87.5%", or "-" when there is nothing to share.
func pct(n, of int) string {
	if of == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + "%"
}

// hours is a duration in hours to one decimal: "2.5".
func hours(d time.Duration) string { return strconv.FormatFloat(d.Hours(), 'f', 1, 64) }

// dur is a duration as Go writes it in English (1h30m0s) and in words in Chinese (1 小时 30 分钟).
func (r *Report) dur(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	if r.lang.Chinese() {
		return r.lang.Duration(d)
	}
	return d.String()
}

// against says whether a satisfaction share meets the target.
func (r *Report) against(n, of int, target float64) string {
	switch {
	case of == 0:
		return r.lang.T("report.no_calls")
	case float64(n) >= target*float64(of):
		return r.lang.T("report.meets_target")
	}
	return r.lang.T("report.below_target")
}

// share is "n/of (pct)".
func share(n, of int) string { return fmt.Sprintf("%d/%d (%s)", n, of, pct(n, of)) }

// kpis are the headline figures in the order the report lists them.
func (r *Report) kpis() [][2]string {
	k := r.headline()
	for _, l := range r.Levels {
		k = append(k, [2]string{r.lang.T("report.kpi.level_satisfaction", "level", r.named("report.level.", l.Level)),
			r.lang.T("report.kpi.level_value", "share", share(l.Satisfied, l.Calls),
				"target", strconv.FormatFloat(100*r.Target, 'f', 0, 64)+"%", "verdict", r.against(l.Satisfied, l.Calls, r.Target))})
	}
	return k
}

func (r *Report) headline() [][2]string {
	t := r.lang.T
	return [][2]string{
		{t("report.kpi.orders"), strconv.Itoa(r.Orders)},
		{t("report.kpi.mean_accept"), r.dur(r.MeanAccept)},
		{t("report.kpi.mean_repair"), r.dur(r.MeanRepair)},
		{t("report.kpi.accept_on_time"), share(r.AcceptOnTime, r.Accepted)},
		{t("report.kpi.arrive_on_time"), share(r.ArriveOnTime, r.Arrivals)},
		{t("report.kpi.complete_on_time"), share(r.CompleteOnTime, r.Resolved)},
		{t("report.kpi.rework_rate"), share(r.Rework, r.Repairs)},
		{t("report.kpi.complaints"), strconv.Itoa(r.Complaints)},
		{t("report.kpi.satisfaction"), share(r.Satisfied, r.FollowUps)},
		{t("report.kpi.pm_on_time"), t("report.kpi.pm_value", "share", share(r.PMOnTime, r.PMJobs), "late", r.PMLate, "missed", r.PMMissed, "pending", r.PMPending)},
	}
}

// WriteMarkdown writes the report as Markdown.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	t := r.lang.T
	fmt.Fprintf(&b, "# %s\n\n", t("report.title", "site", r.Site, "month", r.Month))
	fmt.Fprintf(&b, "| %s | %s |\n| --- | --- |\n", t("report.col.figure"), t("report.col.value"))
	for _, k := range r.kpis() {
		fmt.Fprintf(&b, "| %s | %s |\n", k[0], k[1])
	}
	for _, sec := range []struct {
		key  string
		rows []Count
	}{{"category", r.ByCategory}, {"zone", r.ByZone}, {"team", r.ByTeam}} {
		fmt.Fprintf(&b, "\n## %s\n\n| %s | %s | %s | %s | %s | %s |\n| --- | ---: | ---: | ---: | ---: | ---: |\n",
			t("report.by."+sec.key), t("report.col."+sec.key), t("report.col.orders"), t("report.col.resolved"),
			t("report.col.rework"), t("report.col.rework_rate"), t("report.col.breaches"))
		for _, c := range sec.rows {
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %d |\n", r.rowName(sec.key, c.Name), c.Orders, c.Resolved, c.Rework, pct(c.Rework, c.Repairs), c.Breaches)
		}
	}
	r.zonesMarkdown(&b)
	r.deskMarkdown(&b)
	r.patrolMarkdown(&b)
	r.drillsMarkdown(&b)
	r.yearMarkdown(&b)
	fmt.Fprintf(&b, "\n## %s\n\n| %s |\n| --- | ---: | ---: | ---: | ---: | ---: |\n", t("report.by.technician"), strings.Join(r.technicianColumns(), " | "))
	for _, w := range r.ByTechnician {
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %d (%s) | %s |\n", w.Name, w.Orders, w.Resolved, hours(w.Hours), w.OnTime, pct(w.OnTime, w.Resolved), pct(w.Rework, w.Repairs))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// zoneTables are the two zone comparisons: public jobs, household repairs.
func (r *Report) zoneTables() []struct {
	key  string
	rows []ZoneRow
} {
	return []struct {
		key  string
		rows []ZoneRow
	}{{"public", r.Zones}, {"household", r.HouseholdZones}}
}

// zoneColumns are the headings of a zone comparison.
func (r *Report) zoneColumns() []string {
	var out []string
	for _, k := range []string{"zone", "orders", "accept_on_time", "arrive_on_time", "complete_on_time", "rework_rate", "pm_on_time", "satisfaction", "complaints", "score", "rank"} {
		out = append(out, r.lang.T("report.col."+k))
	}
	return out
}

// zoneCells are a zone's cells under zoneColumns.
func (r *Report) zoneCells(z ZoneRow) []string {
	score, rank := "-", "-"
	if z.Rank > 0 {
		score, rank = strconv.FormatFloat(z.Score, 'f', 1, 64), strconv.Itoa(z.Rank)
	}
	return []string{z.Zone, strconv.Itoa(z.Orders), pct(z.AcceptOnTime, z.AcceptDue), pct(z.ArriveOnTime, z.Arrivals), pct(z.CompleteOnTime, z.CompleteDue),
		pct(z.Rework, z.Repairs), pct(z.PMOnTime, z.PMDue), pct(z.Satisfied, z.FollowUps), strconv.Itoa(z.Complaints), score, rank}
}

func (r *Report) zonesMarkdown(b *strings.Builder) {
	t := r.lang.T
	for _, tab := range r.zoneTables() {
		fmt.Fprintf(b, "\n## %s\n\n| %s |\n| --- |%s\n", t("report.zones."+tab.key), strings.Join(r.zoneColumns(), " | "), strings.Repeat(" ---: |", len(r.zoneColumns())-1))
		for _, z := range tab.rows {
			fmt.Fprintf(b, "| %s |\n", strings.Join(r.zoneCells(z), " | "))
		}
	}
	fmt.Fprintf(b, "\n%s\n", t("report.zones.formula"))
}

// patrolRows are the patrol section's figures, in the order the report lists them.
func (r *Report) patrolRows() [][2]string {
	p, t := r.Patrol, r.lang.T
	rows := [][2]string{{t("report.patrol.alerts"), strconv.Itoa(p.Alerts)}}
	for _, pc := range p.ByPriority {
		rows = append(rows, [2]string{t("report.patrol.alerts_priority", "priority", t("priority."+string(pc.Priority))),
			t("report.patrol.alerts_priority_value", "n", pc.Alerts, "claimed", pc.Claimed, "escalated", pc.Escalated)})
	}
	rows = append(rows,
		[2]string{t("report.patrol.claimed"), share(p.Claimed, p.Alerts)},
		[2]string{t("report.patrol.claim_p50"), r.dur(p.ClaimP50)},
		[2]string{t("report.patrol.claim_p90"), r.dur(p.ClaimP90)},
		[2]string{t("report.patrol.escalated"), strconv.Itoa(p.Escalated)},
		[2]string{t("report.patrol.lighting_checks"), strconv.Itoa(p.LightingChecks)},
		[2]string{t("report.patrol.circuits_found"), strconv.Itoa(p.CircuitsFound)},
		[2]string{t("report.patrol.circuits_ticked"), strconv.Itoa(p.CircuitsTicked)},
		[2]string{t("report.patrol.circuits_fixed"), strconv.Itoa(r.CircuitsFixed)},
	)
	return rows
}

func (r *Report) patrolMarkdown(b *strings.Builder) {
	if r.Patrol == nil {
		return
	}
	t := r.lang.T
	fmt.Fprintf(b, "\n## %s\n\n| %s | %s |\n| --- | --- |\n", t("report.patrol"), t("report.col.figure"), t("report.col.value"))
	for _, k := range r.patrolRows() {
		fmt.Fprintf(b, "| %s | %s |\n", k[0], k[1])
	}
}

// WriteCSV writes the report as CSV rows of section, name, metric, value: one table a
// spreadsheet can pivot.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	t := r.lang.T
	rows := [][]string{{csvText(t("report.csv.section")), csvText(t("report.csv.name")), csvText(t("report.csv.metric")), csvText(t("report.csv.value"))}}
	// The value is always a number (fmt.Sprint of an int), written as is; the other cells are
	// text, some of it typed by people, and neutralised.
	add := func(sec, name, metric string, v any) {
		rows = append(rows, []string{csvText(sec), csvText(name), csvText(metric), fmt.Sprint(v)})
	}
	add("summary", r.Month, "orders", r.Orders)
	add("summary", r.Month, "mean_accept_seconds", int64(r.MeanAccept.Seconds()))
	add("summary", r.Month, "mean_repair_seconds", int64(r.MeanRepair.Seconds()))
	add("summary", r.Month, "accepted", r.Accepted)
	add("summary", r.Month, "accept_on_time", r.AcceptOnTime)
	add("summary", r.Month, "arrivals", r.Arrivals)
	add("summary", r.Month, "arrive_on_time", r.ArriveOnTime)
	add("summary", r.Month, "resolved", r.Resolved)
	add("summary", r.Month, "complete_on_time", r.CompleteOnTime)
	add("summary", r.Month, "repairs", r.Repairs)
	add("summary", r.Month, "rework", r.Rework)
	add("summary", r.Month, "complaints", r.Complaints)
	add("summary", r.Month, "follow_ups", r.FollowUps)
	add("summary", r.Month, "satisfied", r.Satisfied)
	add("summary", r.Month, "satisfaction_target", r.Target)
	for _, l := range r.Levels {
		add("follow_up", l.Level, "calls", l.Calls)
		add("follow_up", l.Level, "satisfied", l.Satisfied)
	}
	add("summary", r.Month, "pm_jobs", r.PMJobs)
	add("summary", r.Month, "pm_on_time", r.PMOnTime)
	add("summary", r.Month, "pm_late", r.PMLate)
	add("summary", r.Month, "pm_missed", r.PMMissed)
	add("summary", r.Month, "pm_pending", r.PMPending)
	for _, sec := range []struct {
		name string
		rows []Count
	}{{"category", r.ByCategory}, {"zone", r.ByZone}, {"team", r.ByTeam}} {
		for _, c := range sec.rows {
			add(sec.name, c.Name, "orders", c.Orders)
			add(sec.name, c.Name, "resolved", c.Resolved)
			add(sec.name, c.Name, "repairs", c.Repairs)
			add(sec.name, c.Name, "rework", c.Rework)
			add(sec.name, c.Name, "complaints", c.Complaints)
			add(sec.name, c.Name, "breaches", c.Breaches)
		}
	}
	for _, tab := range r.zoneTables() {
		sec := "zone_" + tab.key
		for _, z := range tab.rows {
			for _, m := range []struct {
				metric string
				v      any
			}{{"orders", z.Orders}, {"accept_due", z.AcceptDue}, {"accept_on_time", z.AcceptOnTime}, {"arrivals", z.Arrivals}, {"arrive_on_time", z.ArriveOnTime},
				{"complete_due", z.CompleteDue}, {"complete_on_time", z.CompleteOnTime}, {"resolved", z.Resolved}, {"repairs", z.Repairs}, {"rework", z.Rework}, {"pm_due", z.PMDue},
				{"pm_on_time", z.PMOnTime}, {"follow_ups", z.FollowUps}, {"satisfied", z.Satisfied}, {"complaints", z.Complaints}, {"score", z.Score}, {"rank", z.Rank}} {
				add(sec, z.Zone, m.metric, m.v)
			}
		}
	}
	if p := r.Patrol; p != nil {
		add("patrol", r.Month, "alerts", p.Alerts)
		for _, pc := range p.ByPriority {
			add("patrol", string(pc.Priority), "alerts", pc.Alerts)
			add("patrol", string(pc.Priority), "claimed", pc.Claimed)
			add("patrol", string(pc.Priority), "escalated", pc.Escalated)
		}
		add("patrol", r.Month, "claimed", p.Claimed)
		add("patrol", r.Month, "claim_p50_seconds", int64(p.ClaimP50.Seconds()))
		add("patrol", r.Month, "claim_p90_seconds", int64(p.ClaimP90.Seconds()))
		add("patrol", r.Month, "escalated", p.Escalated)
		add("patrol", r.Month, "lighting_checks", p.LightingChecks)
		add("patrol", r.Month, "circuits_found", p.CircuitsFound)
		add("patrol", r.Month, "circuits_ticked", p.CircuitsTicked)
		add("patrol", r.Month, "circuits_fixed", r.CircuitsFixed)
	}
	r.deskCSV(add)
	r.drillsCSV(add)
	r.yearCSV(add)
	for _, w := range r.ByTechnician {
		add("technician", w.Name, "orders", w.Orders)
		add("technician", w.Name, "resolved", w.Resolved)
		add("technician", w.Name, "work_seconds", int64(w.Hours.Seconds()))
		add("technician", w.Name, "complete_on_time", w.OnTime)
		add("technician", w.Name, "repairs", w.Repairs)
		add("technician", w.Name, "rework", w.Rework)
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// WriteHTML writes a self-contained page: the figures and bar charts as inline SVG, with no
// external scripts, styles or fonts, so it opens offline and prints.
func (r *Report) WriteHTML(w io.Writer) error {
	var b strings.Builder
	t := r.lang.T
	title := html.EscapeString(t("report.title", "site", r.Site, "month", r.Month))
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n", r.lang, title)
	b.WriteString("<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}svg{display:block;margin:1em 0}</style>\n</head>\n<body>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n<table>\n", title)
	for _, k := range r.kpis() {
		fmt.Fprintf(&b, "<tr><th>%s</th><td>%s</td></tr>\n", html.EscapeString(k[0]), html.EscapeString(k[1]))
	}
	b.WriteString("</table>\n")
	for _, sec := range []struct {
		title string
		rows  []Count
		key   string
	}{{t("report.chart.category"), r.ByCategory, "category"}, {t("report.chart.zone"), r.ByZone, "zone"}} {
		fmt.Fprintf(&b, "<h2>%s</h2>\n", sec.title)
		var bars []bar
		for _, c := range sec.rows {
			bars = append(bars, bar{r.rowName(sec.key, c.Name), float64(c.Orders), strconv.Itoa(c.Orders)})
		}
		svgBars(&b, sec.title, bars, 0)
	}
	fmt.Fprintf(&b, "<h2>%s</h2>\n", t("report.chart.compliance"))
	ratio := func(n, of int) float64 {
		if of == 0 {
			return 0
		}
		return 100 * float64(n) / float64(of)
	}
	svgBars(&b, t("report.chart.compliance"), []bar{
		{t("report.bar.accept_on_time"), ratio(r.AcceptOnTime, r.Accepted), pct(r.AcceptOnTime, r.Accepted)},
		{t("report.bar.arrive_on_time"), ratio(r.ArriveOnTime, r.Arrivals), pct(r.ArriveOnTime, r.Arrivals)},
		{t("report.bar.complete_on_time"), ratio(r.CompleteOnTime, r.Resolved), pct(r.CompleteOnTime, r.Resolved)},
		{t("report.bar.satisfied"), ratio(r.Satisfied, r.FollowUps), pct(r.Satisfied, r.FollowUps)},
		{t("report.bar.pm_on_time"), ratio(r.PMOnTime, r.PMJobs), pct(r.PMOnTime, r.PMJobs)},
		{t("report.bar.rework"), ratio(r.Rework, r.Repairs), pct(r.Rework, r.Repairs)},
	}, 100)
	if len(r.ByTechnician) > 0 {
		fmt.Fprintf(&b, "<h2>%s</h2>\n<table>\n<tr><th>%s</th></tr>\n", t("report.chart.workload"), strings.Join(r.technicianColumns(), "</th><th>"))
		for _, w := range r.ByTechnician {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%d</td><td>%d</td><td>%s</td><td>%d (%s)</td><td>%s</td></tr>\n", html.EscapeString(w.Name), w.Orders, w.Resolved, hours(w.Hours), w.OnTime, pct(w.OnTime, w.Resolved), pct(w.Rework, w.Repairs))
		}
		b.WriteString("</table>\n")
	}
	for _, tab := range r.zoneTables() {
		fmt.Fprintf(&b, "<h2>%s</h2>\n<table>\n<tr><th>%s</th></tr>\n", t("report.zones."+tab.key), strings.Join(r.zoneColumns(), "</th><th>"))
		for _, z := range tab.rows {
			cells := r.zoneCells(z)
			for i := range cells {
				cells[i] = html.EscapeString(cells[i])
			}
			fmt.Fprintf(&b, "<tr><td>%s</td></tr>\n", strings.Join(cells, "</td><td>"))
		}
		b.WriteString("</table>\n")
	}
	fmt.Fprintf(&b, "<p>%s</p>\n", html.EscapeString(t("report.zones.formula")))
	r.deskHTML(&b)
	if r.Patrol != nil {
		fmt.Fprintf(&b, "<h2>%s</h2>\n<table>\n", t("report.patrol"))
		for _, k := range r.patrolRows() {
			fmt.Fprintf(&b, "<tr><th>%s</th><td>%s</td></tr>\n", html.EscapeString(k[0]), html.EscapeString(k[1]))
		}
		b.WriteString("</table>\n")
	}
	r.drillsHTML(&b)
	r.yearHTML(&b)
	b.WriteString("</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

type bar struct {
	label string
	value float64
	text  string
}

// svgBars draws a horizontal bar chart; max 0 scales to the largest bar.
func svgBars(b *strings.Builder, title string, bars []bar, max float64) {
	if max == 0 {
		for _, x := range bars {
			if x.value > max {
				max = x.value
			}
		}
	}
	if max == 0 {
		max = 1
	}
	const rowH, labelW, barW = 24, 180, 360
	h := rowH*len(bars) + 8
	fmt.Fprintf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"%s\">\n", labelW+barW+80, h, html.EscapeString(title))
	for i, x := range bars {
		y := 4 + i*rowH
		wid := int(float64(barW) * x.value / max)
		fmt.Fprintf(b, "<text x=\"0\" y=\"%d\" font-size=\"13\">%s</text>", y+15, html.EscapeString(x.label))
		fmt.Fprintf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#3b7dd8\"/>", labelW, y+2, wid, rowH-6)
		fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\" font-size=\"13\">%s</text>\n", labelW+wid+6, y+15, html.EscapeString(x.text))
	}
	b.WriteString("</svg>\n")
}

// technicianColumns are the headings of the workload table.
func (r *Report) technicianColumns() []string {
	var out []string
	for _, k := range []string{"technician", "orders", "resolved", "hours", "complete_on_time", "rework_rate"} {
		out = append(out, r.lang.T("report.col."+k))
	}
	return out
}

// named is the catalogue's name for an identifier the configuration may extend (a sampling
// level, a category): the identifier itself when the catalogue has none.
func (r *Report) named(prefix, id string) string {
	if r.lang.Has(prefix + id) {
		return r.lang.T(prefix + id)
	}
	return id
}

// rowName names a breakdown's row: categories in words, zones and teams as configured.
func (r *Report) rowName(section, name string) string {
	if section == "category" {
		return r.named("category.", name)
	}
	return name
}
