package workorders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/locale"
)

// months between occurrences of a calendar plan.
var everyMonths = map[string]int{"monthly": 1, "quarterly": 3, "semiannual": 6, "yearly": 12}

// NextOccurrence is the first job time of a calendar plan strictly after t, in loc: weekly
// on its weekday, every N days counted from its start date, or monthly to yearly on its day.
// It does not move jobs off days off; Manager.onCalendar does.
func NextOccurrence(p Plan, t time.Time, loc *time.Location) (time.Time, bool) {
	at := minutes(p.At)
	if at < 0 {
		at = 9 * 60
	}
	t = t.In(loc)
	day := func(y int, m time.Month, d int) time.Time {
		return time.Date(y, m, d, 0, 0, 0, 0, loc).Add(time.Duration(at) * time.Minute)
	}
	if n, ok := EveryDays(p.Every); ok || p.Every == "weekly" {
		first := day(2026, 1, 1)
		if p.Start != "" {
			if s, err := time.ParseInLocation(time.DateOnly, p.Start, loc); err == nil {
				first = day(s.Year(), s.Month(), s.Day())
			}
		}
		if p.Every == "weekly" {
			n = 7
			wd, ok := Weekday(p.Weekday)
			if !ok {
				wd = time.Monday
			}
			first = first.AddDate(0, 0, (int(wd)-int(first.Weekday())+7)%7)
		}
		// Whole days from the first job, stepped by calendar days so that the time of day holds
		// across daylight-saving changes.
		days := int(t.Sub(first).Hours()/24) - n
		if days < 0 {
			days = 0
		}
		k := days / n
		for i := 0; i < 1000; i++ {
			job := first.AddDate(0, 0, (k+i)*n)
			if job.After(t) {
				return job, true
			}
		}
		return time.Time{}, false
	}
	step, ok := everyMonths[p.Every]
	if !ok {
		return time.Time{}, false
	}
	first := p.Month
	if first == 0 {
		first = 1
	}
	y := t.Year()
	for i := 0; i < 40; i++ { // scans a little over three years, far more than a year's step needs
		m := time.Month(1 + i)
		yy := y + (int(m)-1)/12
		mm := time.Month((int(m)-1)%12 + 1)
		if (int(mm)-first+120)%step != 0 {
			continue
		}
		job := day(yy, mm, p.Day)
		if job.After(t) {
			return job, true
		}
	}
	return time.Time{}, false
}

// onCalendar moves a job that falls on a day off to the next working day at the same time,
// or to the previous one when the plan says previous_workday (or has a hard maximum), unless
// the plan says keep.
func (m *Manager) onCalendar(p Plan, job time.Time) time.Time {
	if p.OnHoliday == "keep" {
		return job
	}
	cal := m.policy.Calendar
	if p.OnHoliday == "previous_workday" || p.MaxDays > 0 {
		if j, ok := cal.WorkingBefore(job, job.AddDate(0, 0, -60)); ok {
			return j
		}
		return job
	}
	for i := 0; i < 60 && !cal.Working(job); i++ {
		job = job.AddDate(0, 0, 1)
	}
	return job
}

// planMark is where the scheduling of a plan on a device stands: its last job, or (job
// false) the time a new plan counts its first job from.
type planMark struct {
	at  time.Time
	job bool
}

// nextJob is the next job of calendar plan p after mark, on the working calendar.
//
// A plan with a hard maximum (MaxDays) counts each job from the day the previous one was
// actually scheduled, not from its grid, and moves a job off a day off earlier, never later
// and never onto the previous job's day; so no two jobs are further apart than the maximum.
// Its first job has no visit before it to keep to: when moving it earlier would put it in
// the past, it moves later instead.
func (m *Manager) nextJob(p Plan, mark planMark, now time.Time) (time.Time, bool) {
	loc := m.policy.Calendar.Location()
	if p.MaxDays <= 0 || !mark.job {
		next, ok := NextOccurrence(p, mark.at, loc)
		if !ok {
			return time.Time{}, false
		}
		moved := m.onCalendar(p, next)
		if p.MaxDays > 0 && !moved.After(now) {
			later := p
			later.OnHoliday, later.MaxDays = "next_workday", 0
			moved = m.onCalendar(later, next)
		}
		return moved, true
	}
	next := mark.at.In(loc).AddDate(0, 0, planStep(p))
	if p.OnHoliday == "keep" {
		return next, true
	}
	if j, ok := m.policy.Calendar.WorkingBefore(next, mark.at); ok {
		return j, true
	}
	// Every day since the last job is off: keep the day rather than pass the maximum.
	return next, true
}

// maxDue is the latest a job of a plan with a hard maximum may be done and still be on
// time: the end of the day MaxDays after the previous job (prev), or, with no job before
// it, after the day the previous job would have been on the plan's step.
func (m *Manager) maxDue(p Plan, at, prev time.Time) time.Time {
	loc := m.policy.Calendar.Location()
	if prev.IsZero() {
		prev = at.AddDate(0, 0, -planStep(p))
	}
	y, mo, d := prev.In(loc).Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, loc).AddDate(0, 0, p.MaxDays+1)
}

// previousJob is the latest job of a plan on a device scheduled before t, cancelled ones
// included (the next is counted from it, as runPlans counts); zero if none.
func (m *Manager) previousJob(ctx context.Context, plan, dev string, t time.Time) (time.Time, error) {
	list, err := m.store.List(ctx, Filter{Plan: plan, Device: dev})
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, o := range list {
		if o.ScheduledAt.Before(t) && o.ScheduledAt.After(last) {
			last = o.ScheduledAt
		}
	}
	return last, nil
}

// planDevices lists the devices and ledger assets a plan covers, in ledger order.
func (m *Manager) planDevices(p Plan) []string {
	if len(p.Devices) > 0 {
		return p.Devices
	}
	var out []string
	for _, id := range m.order {
		if m.coversID(p, id) {
			out = append(out, id)
		}
	}
	return out
}

// coversID reports whether a plan covers a device or ledger asset: named in its devices, or
// of its kind and profile with all its tags.
func (m *Manager) coversID(p Plan, id string) bool {
	if len(p.Devices) > 0 {
		return slices.Contains(p.Devices, id)
	}
	d, ok := m.ledger[id]
	if !ok || (p.Kind == "" && p.Profile == "" && len(p.Tags) == 0) {
		return false
	}
	if (p.Kind != "" && d.Kind != p.Kind) || (p.Profile != "" && d.Profile != p.Profile) {
		return false
	}
	for k, v := range p.Tags {
		if d.Tags[k] != v {
			return false
		}
	}
	return true
}

func (m *Manager) plan(id string) (Plan, bool) {
	for _, p := range m.cfg.Plans {
		if p.ID == id {
			return p, true
		}
	}
	return Plan{}, false
}

func (m *Manager) ahead(p Plan) time.Duration {
	if p.Ahead > 0 {
		return p.Ahead
	}
	if p.Interrupts != "" {
		return m.noticeLead() + 24*time.Hour
	}
	return 24 * time.Hour
}

func (m *Manager) noticeLead() time.Duration { return m.cfg.NoticeLead }

// LoadMeters restores each meter plan's reading at its last order from the order book, so
// that a restart does not start counting again. New calls it; it is safe to call again.
func (m *Manager) LoadMeters(ctx context.Context) error {
	base := map[string]float64{}
	for _, p := range m.cfg.Plans {
		if p.Meter == "" {
			continue
		}
		list, err := m.store.List(ctx, Filter{Plan: p.ID})
		if err != nil {
			return err
		}
		for _, o := range list {
			if o.MeterValue > 0 {
				base[p.ID+"/"+o.Device] = o.MeterValue
			}
		}
	}
	m.mu.Lock()
	m.meterBase = base
	m.mu.Unlock()
	return nil
}

// runPlans raises the orders of calendar plans whose job is within the plan's lead time.
func (m *Manager) runPlans(ctx context.Context, now time.Time) error {
	var errs []error
	for _, p := range m.cfg.Plans {
		if p.Every == "" {
			continue
		}
		for _, dev := range m.planDevices(p) {
			key := p.ID + "/" + dev
			m.mu.Lock()
			mark, known := m.sched[key]
			m.mu.Unlock()
			if !known {
				l, err := m.lastScheduled(ctx, p.ID, dev)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				// A new plan starts with the next job, not with those before it existed.
				mark = planMark{at: l, job: true}
				if l.IsZero() {
					mark = planMark{at: now}
				}
			}
			next, ok := m.nextJob(p, mark, now)
			if !ok || now.Before(next.Add(-m.ahead(p))) {
				m.mu.Lock()
				m.sched[key] = mark
				m.mu.Unlock()
				continue
			}
			if _, err := m.Schedule(ctx, ScheduleRequest{Plan: p.ID, Device: dev, At: next, By: "system"}); err != nil {
				if !errors.Is(err, ErrNoticeTooLate) {
					errs = append(errs, err)
					continue
				}
				// Started too close to a job to warn residents in time: skip that job rather
				// than cut their supply unannounced; engineering schedules it by hand.
				m.log.Warn("preventive job skipped: too late for the interruption notice", "plan", p.ID, "device", dev, "job", next, "err", err)
				m.enqueue(ctx, "pm_skipped/"+p.ID+"/"+dev+"/"+next.UTC().Format(time.RFC3339), Notification{Type: "pm_skipped", Device: dev, To: recipients(m.cfg.Supervisor), Message: err.Error(), At: now})
			}
			m.mu.Lock()
			m.sched[key] = planMark{at: next, job: true}
			m.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) lastScheduled(ctx context.Context, plan, dev string) (time.Time, error) {
	list, err := m.store.List(ctx, Filter{Plan: plan, Device: dev})
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, o := range list {
		if o.ScheduledAt.After(last) {
			last = o.ScheduledAt
		}
	}
	return last, nil
}

// ScheduleRequest asks for a preventive job of a plan on a device at a time.
type ScheduleRequest struct {
	Plan   string    `json:"plan"`
	Device string    `json:"device"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	// Override is the reason for a water or power interruption announced less than
	// notice_lead before the job (an urgent repair of the supply, say).
	Override string `json:"override,omitempty"`
	// Meter is the meter reading that triggered a meter plan.
	Meter float64 `json:"meter,omitempty"`
}

// ErrNoticeTooLate refuses a job that would cut residents' water or power with less notice
// than they are promised.
var ErrNoticeTooLate = errors.New("interruption notice too late")

// Schedule raises a preventive order for a plan's job. A plan that interrupts water or power
// publishes its notice now, which must be at least notice_lead (a day) before the job; a job
// sooner than that is refused unless the request gives an override reason.
func (m *Manager) Schedule(ctx context.Context, r ScheduleRequest) (*Order, error) {
	p, ok := m.plan(r.Plan)
	if !ok {
		return nil, fmt.Errorf("%w: plan %q is not in workorders.plans", ErrInvalid, r.Plan)
	}
	if _, ok := m.ledger[r.Device]; !ok {
		return nil, fmt.Errorf("%w: device %q is not in the configuration", ErrInvalid, r.Device)
	}
	now := m.now()
	if p.Interrupts != "" {
		if lead := r.At.Sub(now); lead < m.noticeLead() && strings.TrimSpace(r.Override) == "" {
			return nil, fmt.Errorf("%w: plan %s interrupts residents' %s: the job at %s is only %s away and residents must be told %s ahead; schedule it at %s or later, or give an override reason",
				ErrNoticeTooLate, p.ID, p.Interrupts, m.fmtTime(r.At), lead.Round(time.Minute), m.noticeLead(), m.fmtTime(now.Add(m.noticeLead())))
		}
	}
	category := p.Category
	if category == "" {
		category = "preventive"
	}
	grace := p.Grace
	if grace <= 0 {
		grace = 24 * time.Hour
	}
	due := r.At.Add(grace)
	if p.MaxDays > 0 {
		prev, err := m.previousJob(ctx, p.ID, r.Device, r.At)
		if err != nil {
			return nil, err
		}
		limit := m.maxDue(p, r.At, prev)
		// The plans' own jobs keep the maximum by construction (counted from the last job);
		// one past it by hand is refused. A job raised after a skipped one is past it already
		// and is raised all the same, late.
		if !r.At.Before(limit) && r.By != "system" {
			return nil, fmt.Errorf("%w: plan %s allows at most %d days between jobs: the last was at %s, so schedule this one before %s",
				ErrInvalid, p.ID, p.MaxDays, m.fmtTime(prev), m.fmtTime(limit))
		}
		// The grace never counts a job past the maximum as on time.
		if due.After(limit) && limit.After(r.At) {
			due = limit
		}
	}
	title := p.Title
	if title == "" {
		title = p.ID
	}
	if key := "plan." + p.ID; locale.EN.Has(key) && locale.EN.T(key) == p.Title {
		title = m.t(key) // a default plan keeps its default title: in the site's language
	}
	o := &Order{Device: r.Device, Fault: "pm/" + p.ID, Category: category, Priority: alarms.PriorityLow, Source: SourcePreventive,
		Plan: p.ID, ScheduledAt: r.At, DueBy: due, MeterValue: r.Meter, Title: m.t("order.title.planned", "title", title, "device", r.Device), CreatedAt: now}
	m.fill(o)
	// The maintenance company that owns the device's upkeep (对相关维保单位要勤沟通,严要求) is
	// told of each job it must carry out, as it is of the faults.
	if d := m.ledger[r.Device]; d.Asset != nil && d.Asset.Contractor != "" {
		o.Contractor = strings.TrimSpace(d.Asset.Contractor + " " + d.Asset.ContractorPhone)
	}
	o.History = []Change{{At: now, By: r.By, Action: "create", To: StateNew, Note: m.t("order.note.planned", "at", m.fmtTime(r.At))}}
	stored, created, err := m.store.Open(ctx, o, func(stored *Order) []Notification {
		return []Notification{{Type: "assigned", Order: stored.ID, Device: stored.Device, To: recipients(stored.Team, stored.Contractor),
			Message: m.t("order.notify.planned", "id", stored.ID, "title", stored.Title, "at", m.fmtTime(r.At)), At: now}}
	})
	if err != nil {
		return nil, err
	}
	if !created {
		return stored, nil // the previous job of the plan is still open; it counts once
	}
	m.kick()
	m.emit(Event{Type: EventCreated, Order: stored, At: now})
	if p.Interrupts != "" {
		dur := p.Duration
		if dur <= 0 {
			dur = 4 * time.Hour
		}
		n := &Notice{Site: stored.Site, Order: stored.ID, Plan: p.ID, Interrupts: p.Interrupts, Devices: []string{r.Device},
			Zone: stored.Zone, Building: stored.Building, Start: r.At, End: r.At.Add(dur), PublishedAt: now, Override: r.Override,
			Title: m.t("notice.planned."+p.Interrupts, "start", m.fmtTime(r.At), "end", m.fmtTime(r.At.Add(dur)), "title", title)}
		if err := m.publishNotice(ctx, n); err != nil {
			return stored, err
		}
	}
	return stored, nil
}

func (m *Manager) publishNotice(ctx context.Context, n *Notice) error {
	if err := m.store.AddNotice(ctx, n); err != nil {
		return fmt.Errorf("notice %q: %w", n.Title, err)
	}
	m.emit(Event{Type: EventNotice, Notice: n, At: n.PublishedAt})
	if m.opts.Publisher != nil {
		payload, _ := json.Marshal(n)
		if err := m.opts.Publisher.Publish(ctx, "facility/"+n.Site+"/notices", 1, false, payload); err != nil {
			m.log.Warn("publish notice", "order", n.Order, "err", err)
		}
	}
	return nil
}

// Observe feeds meter plans from telemetry: each time a device's meter point (a pump's
// running_hours, an elevator's trips) has grown by the plan's interval since the last order,
// a preventive order is queued for Run. It never blocks.
func (m *Manager) Observe(s *devices.Snapshot) {
	if s == nil || !s.OK() || s.Device == nil || s.Device.Profile == nil {
		return
	}
	for _, p := range m.cfg.Plans {
		if p.Meter == "" || p.MeterEvery <= 0 || !m.covers(p, s.Device) {
			continue
		}
		v, ok := pointValue(s, p.Meter)
		if !ok {
			continue
		}
		key := p.ID + "/" + s.Device.ID
		m.mu.Lock()
		base, known := m.meters[key]
		if !known {
			if b, ok := m.meterBase[key]; ok {
				base, known = b, true
			}
		}
		fire := known && v-base >= p.MeterEvery
		if !known || fire || v < base { // a meter reset starts counting again
			m.meters[key] = v
		}
		m.mu.Unlock()
		if !fire {
			continue
		}
		plan, dev, at := p, s.Device.ID, s.Time
		job := func(ctx context.Context) {
			when := at.Add(m.ahead(plan))
			if _, err := m.Schedule(ctx, ScheduleRequest{Plan: plan.ID, Device: dev, At: when, By: "system", Meter: v}); err != nil {
				m.log.Error("meter plan", "plan", plan.ID, "device", dev, "err", err)
			}
		}
		select {
		case m.jobs <- job:
		default:
			m.log.Warn("work-order queue full: meter plan order dropped", "plan", plan.ID, "device", dev)
		}
	}
}

func (m *Manager) covers(p Plan, d *devices.Device) bool {
	if _, known := m.ledger[d.ID]; !known && len(p.Devices) == 0 {
		return string(d.Kind) == p.Kind && p.Profile == "" && len(p.Tags) == 0
	}
	return m.coversID(p, d.ID)
}

func pointValue(s *devices.Snapshot, name string) (float64, bool) {
	for i, p := range s.Device.Profile.Points {
		if p.Name == name && i < len(s.Values) && s.Values[i].Quality == devices.QualityGood {
			return s.Values[i].Number, true
		}
	}
	return 0, false
}

// NoticeRequest is an unplanned (emergency) cut of water or power to announce at once.
type NoticeRequest struct {
	Interrupts string   `json:"interrupts"`
	Reason     string   `json:"reason"`
	By         string   `json:"by"`
	Zone       string   `json:"zone,omitempty"`
	Building   string   `json:"building,omitempty"`
	Devices    []string `json:"devices,omitempty"`
	// Start is when the supply goes (now when left out); End when it is expected back (left
	// out: until further notice).
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	Title string    `json:"title,omitempty"`
}

// Announce publishes an emergency notice of an unplanned water or power cut at once: stored,
// on MQTT facility/{site}/notices and to the sinks, marked emergency with its reason.
func (m *Manager) Announce(ctx context.Context, r NoticeRequest) (*Notice, error) {
	if r.Interrupts != "water" && r.Interrupts != "power" {
		return nil, fmt.Errorf("%w: interrupts: %q is not water or power", ErrInvalid, r.Interrupts)
	}
	if strings.TrimSpace(r.Reason) == "" {
		return nil, fmt.Errorf("%w: reason: say why the %s is cut (residents are told)", ErrInvalid, r.Interrupts)
	}
	if strings.TrimSpace(r.By) == "" {
		return nil, fmt.Errorf("%w: by: say who issues the notice", ErrInvalid)
	}
	for _, d := range r.Devices {
		if _, ok := m.ledger[d]; !ok {
			return nil, fmt.Errorf("%w: device %q is not in the configuration", ErrInvalid, d)
		}
	}
	now := m.now()
	if r.Start.IsZero() {
		r.Start = now
	}
	if !r.End.IsZero() && !r.End.After(r.Start) {
		return nil, fmt.Errorf("%w: end %s is not after start %s", ErrInvalid, m.fmtTime(r.End), m.fmtTime(r.Start))
	}
	title := r.Title
	if title == "" && r.End.IsZero() {
		title = m.t("notice.emergency_open."+r.Interrupts, "start", m.fmtTime(r.Start), "reason", r.Reason)
	} else if title == "" {
		title = m.t("notice.emergency."+r.Interrupts, "start", m.fmtTime(r.Start), "end", m.fmtTime(r.End), "reason", r.Reason)
	}
	n := &Notice{Site: m.site, Interrupts: r.Interrupts, Devices: append([]string{}, r.Devices...), Zone: r.Zone, Building: r.Building,
		Title: title, Start: r.Start, End: r.End, PublishedAt: now, Emergency: true, Reason: r.Reason, By: r.By}
	if err := m.publishNotice(ctx, n); err != nil {
		return nil, err
	}
	return n, nil
}
