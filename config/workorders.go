package config

import (
	"errors"
	"fmt"
	"path"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/internal/webhook"

	"github.com/facilityd/facilityd/workorders"
)

// WorkOrders configures the work-order book: where orders are kept, how alarms map to orders,
// the maintenance time-limit table (维护时限表), the working calendar, the teams responsible for
// each zone (片区责任制), follow-up (回访), rework and preventive maintenance. Lists left empty
// get the defaults of workorders.Default (the estate's mappings, time-limit table and plans).
type WorkOrders struct {
	Store    WorkOrderStore     `mapstructure:"store" yaml:"store"`
	Mappings []WorkOrderMapping `mapstructure:"mappings" yaml:"mappings,omitempty"`
	Limits   []TimeLimit        `mapstructure:"limits" yaml:"limits,omitempty"`
	Calendar WorkCalendar       `mapstructure:"calendar" yaml:"calendar"`
	Zones    []ZoneTeam         `mapstructure:"zones" yaml:"zones,omitempty"`
	// Technicians are the people orders are dispatched to (维修派工, 责任到人).
	Technicians []Technician `mapstructure:"technicians" yaml:"technicians,omitempty"`
	// Duty is who answers emergency repairs (应急维修) when, round the clock: the first shift
	// on at the call takes the order.
	Duty []DutyShift `mapstructure:"duty" yaml:"duty,omitempty"`
	// Prices is the price list of paid work (有偿服务收费标准): each paid job is quoted and
	// confirmed from it. The estate fills it in; none is assumed.
	Prices []PriceItem `mapstructure:"prices" yaml:"prices,omitempty"`
	// DefaultTeam takes the orders of a zone no entry of zones names.
	DefaultTeam string `mapstructure:"default_team" yaml:"default_team"`
	// Supervisor is told of breaches in zones without a supervisor of their own.
	Supervisor string   `mapstructure:"supervisor" yaml:"supervisor"`
	FollowUp   FollowUp `mapstructure:"follow_up" yaml:"follow_up"`
	// VerifyFrom is the least urgent priority whose alarm-raised equipment repairs wait for
	// the supervisor's verification before they close; less urgent ones close when resolved.
	// Empty: every alarm-raised repair is verified.
	VerifyFrom string `mapstructure:"verify_from" yaml:"verify_from"`
	// ReworkWindow is how long after a repair the same fault on the same device counts as
	// rework (返修). The plans count rework but give no window; 30 days is ours, a month in
	// which a repeat of the same fault points at the repair rather than at wear.
	ReworkWindow time.Duration `mapstructure:"rework_window" yaml:"rework_window"`
	// OOSExemptKinds are device kinds never put out of service while an order is in progress:
	// every alarm of a fire panel matters for life safety.
	OOSExemptKinds []string `mapstructure:"oos_exempt_kinds" yaml:"oos_exempt_kinds,omitempty"`
	// NoticeLead is the least time between publishing a water or power interruption notice
	// and the job; the estate's plans promise residents a day.
	NoticeLead time.Duration `mapstructure:"notice_lead" yaml:"notice_lead"`
	// WarrantyReminder is how long before a warranty ends engineering is reminded.
	WarrantyReminder time.Duration `mapstructure:"warranty_reminder" yaml:"warranty_reminder"`
	// CheckInterval is how often deadlines, follow-ups and plans are checked.
	CheckInterval time.Duration `mapstructure:"check_interval" yaml:"check_interval"`
	// Retention is how long the outbox keeps a delivered notification, and the book an alarm
	// raise it applied; undelivered notifications are kept however old. The default, a year
	// (8760h), is the estate's practice for duty records. Orders themselves are never pruned.
	Retention time.Duration   `mapstructure:"retention" yaml:"retention"`
	Plans     []PMPlan        `mapstructure:"plans" yaml:"plans,omitempty"`
	Drills    WorkOrderDrills `mapstructure:"drills" yaml:"drills"`
	// Ledger adds equipment that is not polled (water tanks, extinguishers) to the equipment
	// ledger, so that plans can cover it.
	Ledger []LedgerAsset `mapstructure:"ledger" yaml:"ledger,omitempty"`
	// Homes are the residents' homes with their warranty ends: each resident gets an SMS a
	// month before (the plans: 保修期满前一个月,统一发短信提醒客户), through patrol.phones.sms when it
	// is configured, else through the zone's butler.
	Homes []Home `mapstructure:"homes" yaml:"homes,omitempty"`
	// SurveySample is how many homes the half-yearly opinion survey and the year-end
	// satisfaction survey ask, drawn from homes. The plans give no number; 100 is ours: about
	// 100 answers tell 80% from 72% at 95% confidence. 0 takes 100.
	SurveySample int              `mapstructure:"survey_sample" yaml:"survey_sample"`
	Webhook      WorkOrderWebhook `mapstructure:"webhook" yaml:"webhook"`
}

// Home is a resident's home and the end of its warranty.
type Home struct {
	// Home is building-unit-room, 3-1-1802.
	Home     string `mapstructure:"home" yaml:"home"`
	Zone     string `mapstructure:"zone" yaml:"zone,omitempty"`
	Resident string `mapstructure:"resident" yaml:"resident,omitempty"`
	// Phone is the resident's mobile, which the reminder is texted to.
	Phone string `mapstructure:"phone" yaml:"phone,omitempty"`
	// WarrantyEnd is a date, 2027-06-30.
	WarrantyEnd string `mapstructure:"warranty_end" yaml:"warranty_end"`
}

// WorkOrderStore says where orders are kept: a SQLite file (the default, one gateway) or a
// PostgreSQL database that several gateways share.
type WorkOrderStore struct {
	// Driver is "sqlite" or "postgres".
	Driver string `mapstructure:"driver" yaml:"driver"`
	// Path is the SQLite file; default state_dir/workorders.db.
	Path string `mapstructure:"path" yaml:"path"`
	// DSN is the PostgreSQL connection string (postgres://user:pass@host/db).
	DSN Secret `mapstructure:"dsn" yaml:"dsn"`
}

// WorkOrderMapping turns an alarm into an order. Class, Kind and Rule are matched as globs
// (empty matches all); the first mapping that matches wins. Category "none" raises no order.
type WorkOrderMapping struct {
	Class    string `mapstructure:"class" yaml:"class,omitempty"`
	Kind     string `mapstructure:"kind" yaml:"kind,omitempty"`
	Rule     string `mapstructure:"rule" yaml:"rule,omitempty"`
	Category string `mapstructure:"category" yaml:"category"`
	// Team overrides the zone's team (e.g. engineering IT for communication loss).
	Team     string `mapstructure:"team" yaml:"team,omitempty"`
	Priority string `mapstructure:"priority" yaml:"priority"`
	// ConfinedSpace marks every order of the category as confined-space work: start needs a
	// permit with the gas test and the attendant (POST .../permit).
	ConfinedSpace bool `mapstructure:"confined_space" yaml:"confined_space,omitempty"`
}

// TimeLimit is one row of the maintenance time-limit table: for a category and priority
// (empty priority: any), the time to accept an order, to arrive on site (到达现场) and to
// complete it, the last two counted from acceptance, or from the call when FromCall is set
// (life safety). With WorkingHours the times count working hours of the calendar only.
type TimeLimit struct {
	Category string        `mapstructure:"category" yaml:"category"`
	Priority string        `mapstructure:"priority" yaml:"priority,omitempty"`
	Accept   time.Duration `mapstructure:"accept" yaml:"accept"`
	// Arrive is the time to be on site; zero sets no arrival deadline (preventive jobs).
	Arrive   time.Duration `mapstructure:"arrive" yaml:"arrive,omitempty"`
	Complete time.Duration `mapstructure:"complete" yaml:"complete"`
	// FromCall counts every deadline from the call (the alarm raised), not from acceptance.
	// Orders from life-safety alarms always do.
	FromCall bool `mapstructure:"from_call" yaml:"from_call,omitempty"`
	// SameDay makes arrival and completion due by the close of the working day (of the call,
	// or the next one when the call comes after hours), whatever Arrive and Complete say.
	SameDay      bool `mapstructure:"same_day" yaml:"same_day,omitempty"`
	WorkingHours bool `mapstructure:"working_hours" yaml:"working_hours,omitempty"`
	// Basis cites the rule the limit comes from, shown in docs/workorders.md and the API.
	Basis string `mapstructure:"basis" yaml:"basis,omitempty"`
}

// WorkCalendar is the working time non-urgent limits count: working days, the daily hours,
// public holidays and the weekend days worked in exchange (调休).
type WorkCalendar struct {
	// Timezone is an IANA name; the estate's local time.
	Timezone string `mapstructure:"timezone" yaml:"timezone"`
	// Days are the working weekdays: mon, tue, wed, thu, fri, sat, sun.
	Days  []string `mapstructure:"days" yaml:"days,omitempty"`
	Start string   `mapstructure:"start" yaml:"start"`
	End   string   `mapstructure:"end" yaml:"end"`
	// Holidays are dates (2026-10-01) off work; Workdays are dates worked although not in Days.
	Holidays []string `mapstructure:"holidays" yaml:"holidays,omitempty"`
	Workdays []string `mapstructure:"workdays" yaml:"workdays,omitempty"`
}

// ZoneTeam is one zone's responsibility (片区责任制): its maintenance team, its butler (管家)
// who speaks to residents, and the supervisor breaches escalate to.
type ZoneTeam struct {
	Zone       string `mapstructure:"zone" yaml:"zone"`
	Team       string `mapstructure:"team" yaml:"team"`
	Butler     string `mapstructure:"butler" yaml:"butler,omitempty"`
	Supervisor string `mapstructure:"supervisor" yaml:"supervisor,omitempty"`
}

// Technician is one person of a maintenance team: orders of the team are assigned to them, and
// notifications of their orders reach their handset (MQTT QoS 1 on
// facility/{site}/handsets/{handset}).
type Technician struct {
	ID      string `mapstructure:"id" yaml:"id"`
	Name    string `mapstructure:"name" yaml:"name"`
	Team    string `mapstructure:"team" yaml:"team"`
	Handset string `mapstructure:"handset" yaml:"handset"`
}

// DutyShift is one technician's duty for emergency repairs: from start to end (HH:MM; an end
// before the start runs past midnight) on the days it starts (mon..sun; empty: every day).
type DutyShift struct {
	Technician string   `mapstructure:"technician" yaml:"technician"`
	Start      string   `mapstructure:"start" yaml:"start"`
	End        string   `mapstructure:"end" yaml:"end"`
	Days       []string `mapstructure:"days" yaml:"days,omitempty"`
}

// PriceItem is one line of the price list: an item, its unit (each, hour, metre) and its
// price in yuan.
type PriceItem struct {
	Item  string  `mapstructure:"item" yaml:"item"`
	Unit  string  `mapstructure:"unit" yaml:"unit"`
	Price float64 `mapstructure:"price" yaml:"price"`
}

// FollowUp sets when the follow-up call (回访) is due after a repair is resolved, who else
// calls a sample of the residents back, and the satisfaction the estate aims for.
type FollowUp struct {
	// Repair is the least wall-clock time a repair's same-day follow-up (当日回访) gets: the call
	// is due by the close of the working day of the resolution, and never sooner than this.
	Repair time.Duration `mapstructure:"repair" yaml:"repair"`
	// Household is working time after resolution for residents' household repairs.
	Household time.Duration `mapstructure:"household" yaml:"household"`
	// Sampling is the levels that call back, the first being the call every order gets
	// (the team's) and the others sampled checks by quality staff and management. Empty
	// means the estate's levels (workorders.DefaultSampling). Complaints are called back at
	// the first level only, every one of them.
	Sampling []SamplingLevel `mapstructure:"sampling" yaml:"sampling,omitempty"`
	// Target is the satisfaction the estate aims for, 0-1 (the plans: 80%).
	Target float64 `mapstructure:"target" yaml:"target"`
}

// SamplingLevel is one level of follow-up calls and the share of orders it calls back.
type SamplingLevel struct {
	Level string  `mapstructure:"level" yaml:"level"`
	Share float64 `mapstructure:"share" yaml:"share"`
	// Staff are the people who may record the level's calls; empty: anyone but the order's
	// own assignee.
	Staff []string `mapstructure:"staff" yaml:"staff,omitempty"`
}

// LedgerAsset is equipment of the ledger (设备台帐) that facilityd does not poll.
type LedgerAsset struct {
	ID       string            `mapstructure:"id" yaml:"id"`
	Kind     string            `mapstructure:"kind" yaml:"kind"`
	Site     string            `mapstructure:"site" yaml:"site,omitempty"`
	Building string            `mapstructure:"building" yaml:"building,omitempty"`
	Zone     string            `mapstructure:"zone" yaml:"zone,omitempty"`
	Tags     map[string]string `mapstructure:"tags" yaml:"tags,omitempty"`
	Asset    *Asset            `mapstructure:"asset" yaml:"asset,omitempty"`
}

// PMPlan is a preventive-maintenance plan. A calendar plan (Every) raises an order for each
// device on its day; a meter plan (Meter, MeterEvery) raises one each time the device's point
// has grown by MeterEvery since the last. A plan may have both.
type PMPlan struct {
	ID    string `mapstructure:"id" yaml:"id"`
	Title string `mapstructure:"title" yaml:"title"`
	// Devices lists device or ledger asset ids; otherwise the plan takes every device and
	// ledger asset that has Kind, Profile and all of Tags (those set).
	Devices  []string          `mapstructure:"devices" yaml:"devices,omitempty"`
	Kind     string            `mapstructure:"kind" yaml:"kind,omitempty"`
	Profile  string            `mapstructure:"profile" yaml:"profile,omitempty"`
	Tags     map[string]string `mapstructure:"tags" yaml:"tags,omitempty"`
	Category string            `mapstructure:"category" yaml:"category,omitempty"`
	// Every is weekly, monthly, quarterly, semiannual, yearly or a number of days ("15d").
	Every string `mapstructure:"every" yaml:"every,omitempty"`
	// Weekday is the day of a weekly plan (mon, the default); Start the first day of a plan
	// every N days (2026-01-01 by default), from which its days are counted.
	Weekday string `mapstructure:"weekday" yaml:"weekday,omitempty"`
	Start   string `mapstructure:"start" yaml:"start,omitempty"`
	// OnHoliday is what happens to a job that falls on a day off the working calendar:
	// next_workday (the default) moves it to the next working day at the same time;
	// previous_workday to the working day before (the default with max_days); keep keeps it.
	OnHoliday string `mapstructure:"on_holiday" yaml:"on_holiday,omitempty"`
	// MaxDays is a hard maximum of days between two jobs of a plan every N days or weekly
	// (elevators: 15, TSG T5002-2017). Each job is counted from the day the previous one was
	// scheduled, a job on a day off moves earlier, and the grace never reaches past it.
	MaxDays int `mapstructure:"max_days" yaml:"max_days,omitempty"`
	// Month is the first month (1-12) of a quarterly, semiannual or yearly plan; Day the day
	// of the month (1-28); At the local time of the job (09:00).
	Month int    `mapstructure:"month" yaml:"month,omitempty"`
	Day   int    `mapstructure:"day" yaml:"day,omitempty"`
	At    string `mapstructure:"at" yaml:"at,omitempty"`
	// Meter names a telemetry point (running_hours, trips) and MeterEvery its interval.
	Meter      string  `mapstructure:"meter" yaml:"meter,omitempty"`
	MeterEvery float64 `mapstructure:"meter_every" yaml:"meter_every,omitempty"`
	// Interrupts is "water" or "power" when the job cuts residents' supply.
	Interrupts string `mapstructure:"interrupts" yaml:"interrupts,omitempty"`
	// Duration is how long the job (and any interruption) lasts.
	Duration time.Duration `mapstructure:"duration" yaml:"duration,omitempty"`
	// Ahead is how long before the job its order (and notice) is raised.
	Ahead time.Duration `mapstructure:"ahead" yaml:"ahead,omitempty"`
	// Grace is how long after the job it may be done and still count as on time.
	Grace time.Duration `mapstructure:"grace" yaml:"grace,omitempty"`
	// ConfinedSpace marks the jobs as confined-space work (tank cleaning, a sump pit): start
	// needs a permit with the gas test and the attendant (POST .../permit).
	ConfinedSpace bool `mapstructure:"confined_space" yaml:"confined_space,omitempty"`
}

// WorkOrderDrills are the elevator entrapment rescue drills held with the security department
// (结合秩序部门每年举行 2 次电梯困人的救援安全演练): one order per drill for the estate, not one per car.
type WorkOrderDrills struct {
	// Count is the drills a year (1, 2, 3, 4, 6 or 12; the plans: 2); -1 for none.
	Count int `mapstructure:"count" yaml:"count"`
	// Month is the month of the year's first drill and Day its day (1-28), At its local
	// time; the others follow every 12/count months. 15 March and 15 September are ours.
	Month int    `mapstructure:"month" yaml:"month"`
	Day   int    `mapstructure:"day" yaml:"day"`
	At    string `mapstructure:"at" yaml:"at"`
	// Team is the maintenance team that runs the drills; empty: default_team.
	Team string `mapstructure:"team" yaml:"team,omitempty"`
	// Security are the security department's people told of each drill, who take part.
	// Empty: the supervisors of the patrol's shifts.
	Security []string `mapstructure:"security" yaml:"security,omitempty"`
	// Ahead is how long before a drill its order goes out (ours: a week, for the security
	// department's shifts); Grace how long after it a drill still counts as held.
	Ahead time.Duration `mapstructure:"ahead" yaml:"ahead"`
	Grace time.Duration `mapstructure:"grace" yaml:"grace"`
}

// WorkOrderWebhook sends order events to an external maintenance system, signed like every
// facilityd webhook: HMAC-SHA256 under Secret of "<timestamp>.<body>" (internal/webhook).
type WorkOrderWebhook struct {
	// URL is a secret, never printed or logged: receivers put tokens in it.
	URL    Secret `mapstructure:"url" yaml:"url"`
	Secret Secret `mapstructure:"secret" yaml:"secret"`
}

// Asset is a device's entry in the equipment ledger (设备台帐).
type Asset struct {
	Make            string `mapstructure:"make" yaml:"make,omitempty"`
	Model           string `mapstructure:"model" yaml:"model,omitempty"`
	Serial          string `mapstructure:"serial" yaml:"serial,omitempty"`
	Installed       string `mapstructure:"installed" yaml:"installed,omitempty"`
	Contractor      string `mapstructure:"contractor" yaml:"contractor,omitempty"`
	ContractorPhone string `mapstructure:"contractor_phone" yaml:"contractor_phone,omitempty"`
	// WarrantyEnd is a date, 2027-06-30.
	WarrantyEnd string `mapstructure:"warranty_end" yaml:"warranty_end,omitempty"`
}

// DefaultWorkOrders is the work-order section every configuration starts from.
func DefaultWorkOrders() WorkOrders {
	// The values are the work-order component's own defaults (workorders.Default): written
	// once, there, and shown here so that the generated reference lists them.
	d := workorders.Default()
	return WorkOrders{
		Store:            WorkOrderStore{Driver: d.Store.Driver},
		Calendar:         WorkCalendar{Timezone: d.Calendar.Timezone, Start: d.Calendar.Start, End: d.Calendar.End},
		DefaultTeam:      d.DefaultTeam,
		Supervisor:       d.Supervisor,
		FollowUp:         FollowUp{Repair: d.FollowUp.Repair, Household: d.FollowUp.Household, Target: d.FollowUp.Target},
		ReworkWindow:     d.ReworkWindow,
		NoticeLead:       d.NoticeLead,
		WarrantyReminder: d.WarrantyReminder,
		CheckInterval:    d.CheckInterval,
		Retention:        d.Retention,
		Drills:           WorkOrderDrills{Count: d.Drills.Count, Month: d.Drills.Month, Day: d.Drills.Day, At: d.Drills.At, Ahead: d.Drills.Ahead, Grace: d.Drills.Grace},
	}
}

// validateWorkOrders checks the workorders section as written; each problem names its key.
// It changes nothing: the lists left empty take their defaults in workorders.Config.
func (c *Config) validateWorkOrders() []error {
	w := &c.WorkOrders
	var errs []error
	for _, check := range []func(*WorkOrders) []error{
		validateWorkOrderStore, validateWorkOrderMappings, validateTimeLimits, validateWorkCalendar,
		validateZonesAndTechnicians, validateFollowUp, validateWorkOrderPeriods, validatePlans,
	} {
		errs = append(errs, check(w)...)
	}
	errs = append(errs, c.validateLedger()...)
	return errs
}

// errList collects errors with fmt.Errorf's arguments.
type errList []error

func (p *errList) add(format string, args ...any) { *p = append(*p, fmt.Errorf(format, args...)) }

func validPriority(p string) bool {
	switch p {
	case "critical", "high", "medium", "low":
		return true
	}
	return false
}

// validateWorkOrderStore checks the webhook and the store: both need a secret of their own.
func validateWorkOrderStore(w *WorkOrders) []error {
	var p errList
	if w.Webhook.URL != "" {
		if err := webhook.Check(w.Webhook.URL.Reveal(), []byte(w.Webhook.Secret.Reveal())); errors.Is(err, webhook.ErrNoSecret) {
			p.add("workorders.webhook.secret: missing; %v (set %s)", err, EnvName("workorders.webhook.secret"))
		} else if err != nil {
			p.add("workorders.webhook.url (%s): %v", webhook.Redact(w.Webhook.URL.Reveal()), err)
		}
	}
	switch w.Store.Driver {
	case "sqlite":
	case "postgres":
		if w.Store.DSN == "" {
			p.add("workorders.store.dsn: missing for driver postgres (set %s)", EnvName("workorders.store.dsn"))
		}
	default:
		p.add("workorders.store.driver: %q is not sqlite or postgres", w.Store.Driver)
	}
	return p
}

func validateWorkOrderMappings(w *WorkOrders) []error {
	var p errList
	for i, m := range w.Mappings {
		for _, g := range []string{m.Class, m.Kind, m.Rule} {
			if _, err := path.Match(g, ""); err != nil {
				p.add("workorders.mappings[%d]: %q is not a valid glob", i, g)
			}
		}
		if m.Category == "" {
			p.add("workorders.mappings[%d].category: missing (use none to raise no order)", i)
		} else if m.Category != "none" && !validPriority(m.Priority) {
			p.add("workorders.mappings[%d].priority: %q is not one of critical, high, medium, low", i, m.Priority)
		}
	}
	return p
}

func validateTimeLimits(w *WorkOrders) []error {
	var p errList
	for i, l := range w.Limits {
		if l.Category == "" {
			p.add("workorders.limits[%d].category: missing", i)
		}
		if l.Priority != "" && !validPriority(l.Priority) {
			p.add("workorders.limits[%d].priority: %q is not one of critical, high, medium, low", i, l.Priority)
		}
		if l.Accept <= 0 || l.Complete <= 0 {
			p.add("workorders.limits[%d] (%s): accept and complete must be positive", i, l.Category)
		}
		if l.Arrive < 0 || (l.Arrive > l.Complete && l.Complete > 0) {
			p.add("workorders.limits[%d] (%s).arrive: %v must be between 0 (no arrival deadline) and complete %v", i, l.Category, l.Arrive, l.Complete)
		}
	}
	return p
}

func validateWorkCalendar(w *WorkOrders) []error {
	var p errList
	cal := w.Calendar
	if _, err := time.LoadLocation(cal.Timezone); err != nil {
		p.add("workorders.calendar.timezone: %v", err)
	}
	for _, d := range cal.Days {
		if _, ok := weekday(d); !ok {
			p.add("workorders.calendar.days: %q is not one of mon, tue, wed, thu, fri, sat, sun", d)
		}
	}
	s, e := clockMinutes(cal.Start), clockMinutes(cal.End)
	if s < 0 || e < 0 || e <= s {
		p.add("workorders.calendar.start, end: %q and %q must be HH:MM with start before end", cal.Start, cal.End)
	}
	for _, list := range [][]string{cal.Holidays, cal.Workdays} {
		for _, d := range list {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				p.add("workorders.calendar: %q is not a date (2026-10-01)", d)
			}
		}
	}
	return p
}

func validateZonesAndTechnicians(w *WorkOrders) []error {
	var p errList
	for i, z := range w.Zones {
		if z.Zone == "" || z.Team == "" {
			p.add("workorders.zones[%d]: zone and team are both needed", i)
		}
	}
	techs := map[string]bool{}
	for i, t := range w.Technicians {
		if t.ID == "" || techs[t.ID] {
			p.add("workorders.technicians[%d].id: missing or repeated (%q)", i, t.ID)
		}
		techs[t.ID] = true
		if t.Team == "" {
			p.add("workorders.technicians[%d] (%s).team: missing; a technician takes the orders of one team", i, t.ID)
		}
		if strings.ContainsAny(t.Handset, "/+#") {
			p.add("workorders.technicians[%d] (%s).handset: %q must be one MQTT topic level (no /, + or #)", i, t.ID, t.Handset)
		}
	}
	return p
}

func validateFollowUp(w *WorkOrders) []error {
	var p errList
	f := w.FollowUp
	if f.Repair <= 0 || f.Household <= 0 {
		p.add("workorders.follow_up.repair, household: must be positive")
	}
	levels := map[string]bool{}
	for i, l := range f.Sampling {
		if l.Level == "" || levels[l.Level] {
			p.add("workorders.follow_up.sampling[%d].level: missing or repeated (%q)", i, l.Level)
		}
		levels[l.Level] = true
		if l.Share <= 0 || l.Share > 1 {
			p.add("workorders.follow_up.sampling[%d] (%s).share: %v must be more than 0 and at most 1 (0.5 is half the orders)", i, l.Level, l.Share)
		}
		if i == 0 && l.Share != 1 {
			p.add("workorders.follow_up.sampling[0] (%s).share: %v: the first level calls every resident back (1)", l.Level, l.Share)
		}
	}
	if f.Target <= 0 || f.Target > 1 {
		p.add("workorders.follow_up.target: %v must be more than 0 and at most 1 (0.8 is 80%%)", f.Target)
	}
	return p
}

func validateWorkOrderPeriods(w *WorkOrders) []error {
	var p errList
	if w.ReworkWindow <= 0 {
		p.add("workorders.rework_window: %v must be positive", w.ReworkWindow)
	}
	switch w.VerifyFrom {
	case "", "critical", "high", "medium", "low":
	default:
		p.add("workorders.verify_from: %q is not a priority (critical, high, medium, low, or empty for every repair)", w.VerifyFrom)
	}
	if w.NoticeLead < 24*time.Hour {
		p.add("workorders.notice_lead: %v is less than the day's notice residents are promised", w.NoticeLead)
	}
	if w.CheckInterval <= 0 {
		p.add("workorders.check_interval: %v must be positive", w.CheckInterval)
	}
	if w.Retention < 24*time.Hour {
		p.add("workorders.retention: %v is less than a day; duty records are kept a year (8760h)", w.Retention)
	}
	return p
}

func validatePlans(w *WorkOrders) []error {
	var p errList
	ids := map[string]bool{}
	for i, pl := range w.Plans {
		name := fmt.Sprintf("workorders.plans[%d] (%s)", i, pl.ID)
		if pl.ID == "" || ids[pl.ID] {
			p.add("%s.id: missing or repeated", name)
		}
		ids[pl.ID] = true
		p = append(p, validatePlanPeriod(name, pl)...)
		p = append(p, validatePlanJob(name, pl, w.NoticeLead)...)
	}
	return p
}

// validatePlanPeriod checks when a plan's jobs fall: every, meter, day, weekday, start, month.
func validatePlanPeriod(name string, pl PMPlan) []error {
	var p errList
	_, days := everyDays(pl.Every)
	monthly := false
	switch pl.Every {
	case "", "weekly":
	case "monthly", "quarterly", "semiannual", "yearly":
		monthly = true
	default:
		if !days {
			p.add("%s.every: %q is not weekly, monthly, quarterly, semiannual, yearly or a number of days (15d, 1-366)", name, pl.Every)
		}
	}
	if pl.Every == "" && pl.Meter == "" {
		p.add("%s: needs every (a calendar plan) or meter and meter_every (a meter plan)", name)
	}
	if pl.Meter != "" && pl.MeterEvery <= 0 {
		p.add("%s.meter_every: %v must be positive", name, pl.MeterEvery)
	}
	if monthly && (pl.Day < 1 || pl.Day > 28) {
		p.add("%s.day: %d must be 1-28", name, pl.Day)
	}
	if pl.Weekday != "" {
		if _, ok := weekday(pl.Weekday); !ok || pl.Every != "weekly" {
			p.add("%s.weekday: %q is a weekday (mon..sun) of a weekly plan only", name, pl.Weekday)
		}
	}
	if pl.Start != "" {
		if _, err := time.Parse(time.DateOnly, pl.Start); err != nil || !days {
			p.add("%s.start: %q is the first date (2026-01-05) of a plan every N days only", name, pl.Start)
		}
	}
	if pl.Month < 0 || pl.Month > 12 {
		p.add("%s.month: %d must be 1-12", name, pl.Month)
	}
	return p
}

// validatePlanJob checks the job itself: its time, what it interrupts and what it covers.
func validatePlanJob(name string, pl PMPlan, noticeLead time.Duration) []error {
	var p errList
	switch pl.OnHoliday {
	case "", "keep", "next_workday", "previous_workday":
	default:
		p.add("%s.on_holiday: %q is not keep, next_workday or previous_workday", name, pl.OnHoliday)
	}
	if pl.At != "" && clockMinutes(pl.At) < 0 {
		p.add("%s.at: %q is not HH:MM", name, pl.At)
	}
	switch pl.Interrupts {
	case "", "water", "power":
	default:
		p.add("%s.interrupts: %q is not water or power", name, pl.Interrupts)
	}
	if pl.Interrupts != "" && pl.Ahead != 0 && pl.Ahead < noticeLead {
		p.add("%s.ahead: %v is less than workorders.notice_lead %v: residents would be told too late", name, pl.Ahead, noticeLead)
	}
	if len(pl.Devices) == 0 && pl.Kind == "" && pl.Profile == "" && len(pl.Tags) == 0 {
		p.add("%s: needs devices, or kind, profile or tags", name)
	}
	return p
}

// validateLedger checks the ledger assets against the devices (one id space) and the dates
// of every device's ledger entry.
func (c *Config) validateLedger() []error {
	var p errList
	known := map[string]bool{}
	for _, d := range c.Devices {
		known[d.ID] = true
	}
	for i, a := range c.WorkOrders.Ledger {
		if a.ID == "" || known[a.ID] {
			p.add("workorders.ledger[%d].id: missing, or repeated among the ledger and devices (%q)", i, a.ID)
		}
		known[a.ID] = true
		if a.Kind == "" {
			p.add("workorders.ledger[%d] (%s).kind: missing (water_tank, extinguisher...)", i, a.ID)
		}
	}
	for i, d := range c.Devices {
		if d.Asset == nil {
			continue
		}
		for _, f := range []struct{ key, v string }{{"installed", d.Asset.Installed}, {"warranty_end", d.Asset.WarrantyEnd}} {
			if f.v == "" {
				continue
			}
			if _, err := time.Parse(time.DateOnly, f.v); err != nil {
				p.add("devices[%d] (%s).asset.%s: %q is not a date (2027-06-30)", i, d.ID, f.key, f.v)
			}
		}
	}
	return p
}

// everyDays reads a plan's "15d" as 15 days; ok is false for the named periods.
func everyDays(every string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSuffix(every, "d"))
	if err != nil || !strings.HasSuffix(every, "d") || n < 1 || n > 366 {
		return 0, false
	}
	return n, true
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// weekday parses mon..sun.
func weekday(s string) (time.Weekday, bool) {
	d, ok := weekdays[strings.ToLower(s)]
	return d, ok
}

// clockMinutes parses HH:MM into minutes after midnight, or -1.
func clockMinutes(s string) int {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return -1
	}
	return t.Hour()*60 + t.Minute()
}

// dateToStringHook lets dates be written unquoted in YAML (warranty_end: 2027-06-30, which
// YAML reads as a timestamp) where the configuration keeps them as strings.
func dateToStringHook(from, to reflect.Type, data any) (any, error) {
	if t, ok := data.(time.Time); ok && to.Kind() == reflect.String {
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
			return t.Format(time.DateOnly), nil
		}
		return t.Format(time.RFC3339), nil
	}
	return data, nil
}
