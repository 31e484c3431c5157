package workorders

import (
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"
)

// Config is the work-order book's own configuration: how alarms map to orders, the
// maintenance time-limit table (维护时限表), the working calendar, the teams responsible for
// each zone (片区责任制), follow-up (回访), rework, warranties, retention and preventive
// maintenance. It is the manager's, not the YAML's: internal/daemon maps the workorders
// section onto it, so the book can be built and tested without a configuration file. Fields
// left at zero take the values of Default (see withDefaults).
type Config struct {
	// Store says where orders are kept; the composition root opens it (OpenStore).
	Store StoreConfig
	// Mappings turn alarms into orders; the first that matches wins.
	Mappings []Mapping
	// Limits is the time-limit table.
	Limits   []TimeLimit
	Calendar WorkCalendar
	Zones    []ZoneTeam
	// Technicians are the people orders are dispatched to (维修派工, 责任到人).
	Technicians []Technician
	// Duty is who answers emergency repairs when (emergency.go), round the clock.
	Duty []DutyShift
	// Prices is the price list of paid work (有偿服务收费标准, charges.go); the estate's to fill in.
	Prices []PriceItem
	// DefaultTeam takes the orders of a zone no entry of Zones names.
	DefaultTeam string
	// Supervisor is told of breaches in zones without a supervisor of their own.
	Supervisor string
	FollowUp   FollowUp
	// VerifyFrom is the least urgent priority (critical, high, medium, low) whose alarm-raised
	// repairs wait for the supervisor's verification; empty: all of them (see ClosingPath).
	VerifyFrom string
	// ReworkWindow is how long after a repair the same fault counts as rework (返修). The
	// plans count rework but give no window: the default 30 days is ours, a month in which a
	// repeat of the same fault points at the repair rather than at wear.
	ReworkWindow time.Duration
	// OOSExemptKinds are device kinds never put out of service while an order is in progress.
	OOSExemptKinds []string
	// NoticeLead is the least time between publishing an interruption notice and the job.
	NoticeLead time.Duration
	// WarrantyReminder is how long before a warranty ends engineering is reminded.
	WarrantyReminder time.Duration
	// CheckInterval is how often deadlines, follow-ups and plans are checked.
	CheckInterval time.Duration
	// Retention is how long delivered notifications and applied alarm raises are kept.
	Retention time.Duration
	// Homes are the residents' homes with their warranty ends, for the reminder a month
	// before (homewarranty.go).
	Homes []Home
	// SurveySample is how many homes a survey asks (DefaultSurveySample).
	SurveySample int
	// Plans are the preventive-maintenance plans. Nil takes DefaultPlans; an empty,
	// non-nil list means no plans (plans: [] in YAML).
	Plans []Plan
	// Drills are the estate's entrapment rescue drills (see Drills); a negative count, none.
	Drills Drills
}

// StoreConfig says where orders are kept: a SQLite file (one gateway) or a PostgreSQL
// database that several gateways share.
type StoreConfig struct {
	// Driver is "sqlite" or "postgres".
	Driver string
	// Path is the SQLite file.
	Path string
	// DSN is the PostgreSQL connection string; a secret, never logged.
	DSN string
}

// Source is what OpenStore takes for the driver: the file, or the DSN.
func (s StoreConfig) Source() string {
	if s.Driver == "postgres" {
		return s.DSN
	}
	return s.Path
}

// Where names the store for a log line without its credentials.
func (s StoreConfig) Where() string {
	if s.Driver == "postgres" {
		return "postgres"
	}
	return s.Path
}

// Mapping turns an alarm into an order. Class, Kind and Rule are globs (empty matches all).
// Category "none" raises no order; Team overrides the zone's team.
type Mapping struct {
	Class, Kind, Rule string
	Category          string
	Team              string
	Priority          string
	// ConfinedSpace makes every order of the category confined-space work (permits.go).
	ConfinedSpace bool
}

// TimeLimit is one row of the maintenance time-limit table: for a category and priority
// (empty priority: any), the time to accept, to arrive on site (到达现场, zero: no arrival
// deadline) and to complete, the last two counted from acceptance, or from the call when
// FromCall is set. SameDay makes arrival and completion due by the close of the working day;
// WorkingHours counts working time of the calendar only. Basis cites the rule it comes from.
type TimeLimit struct {
	Category, Priority       string
	Accept, Arrive, Complete time.Duration
	FromCall, SameDay        bool
	WorkingHours             bool
	Basis                    string
}

// WorkCalendar is the working time non-urgent limits count: the IANA time zone, working
// weekdays (mon..sun), daily hours (HH:MM), holidays off and weekend days worked (调休), as
// dates (2026-10-01).
type WorkCalendar struct {
	Timezone           string
	Days               []string
	Start, End         string
	Holidays, Workdays []string
}

// ZoneTeam is one zone's responsibility (片区责任制): its maintenance team, its butler (管家)
// who speaks to residents, and the supervisor breaches escalate to.
type ZoneTeam struct {
	Zone, Team, Butler, Supervisor string
}

// Technician is one person of a maintenance team: orders of the team are assigned to them,
// and notifications of their orders reach their handset (HandsetTopic).
type Technician struct {
	ID, Name, Team, Handset string
}

// FollowUp sets when the follow-up call (回访) is due after a repair is resolved: a repair
// by the close of the working day and never less than Repair after it, a household service
// Household of working time after it (followUpDue); Sampling is the levels that call back, the
// first the call every order gets; Target the satisfaction aimed for, 0-1.
type FollowUp struct {
	Repair, Household time.Duration
	Sampling          []SamplingLevel
	Target            float64
}

// SamplingLevel is one level of follow-up calls and the share of orders it calls back;
// Staff, when set, are the only people who may record the level's calls.
type SamplingLevel struct {
	Level string
	Share float64
	Staff []string
}

// Plan is a preventive-maintenance plan. A calendar plan (Every) raises an order for each
// device on its day; a meter plan (Meter, MeterEvery) raises one each time the device's point
// has grown by MeterEvery since the last. The YAML reference (workorders.plans) says what
// each field holds.
type Plan struct {
	ID, Title string
	Devices   []string
	Kind      string
	Profile   string
	Tags      map[string]string
	Category  string
	Every     string
	Weekday   string
	Start     string
	OnHoliday string
	// MaxDays is a hard maximum of days between two jobs (elevators: 15). A plan with one
	// counts each job from the day the previous one was scheduled and moves a job off a day
	// off earlier, never later; its grace never counts a job past the maximum as on time.
	MaxDays    int
	Month, Day int
	At         string
	Meter      string
	MeterEvery float64
	Interrupts string
	Duration   time.Duration
	Ahead      time.Duration
	Grace      time.Duration
	// ConfinedSpace makes the plan's jobs confined-space work: start needs a permit.
	ConfinedSpace bool
}

// Device is what work orders read of a device or of a ledger asset (设备台帐): where it
// stands, what plans select it by, and its ledger entry.
type Device struct {
	ID, Kind, Site, Building, Zone string
	// Profile is empty for ledger assets, which are not polled.
	Profile string
	Tags    map[string]string
	Asset   *Asset
}

// Asset is a device's entry in the equipment ledger (设备台帐), as the API shows it.
type Asset struct {
	Make            string `json:"make,omitempty"`
	Model           string `json:"model,omitempty"`
	Serial          string `json:"serial,omitempty"`
	Installed       string `json:"installed,omitempty"`
	Contractor      string `json:"contractor,omitempty"`
	ContractorPhone string `json:"contractor_phone,omitempty"`
	// WarrantyEnd is a date, 2027-06-30.
	WarrantyEnd string `json:"warranty_end,omitempty"`
}

// DefaultRetention is the estate's practice for duty records: a year.
const DefaultRetention = 365 * 24 * time.Hour

// Default is the configuration of a site that configures nothing: the estate's time-limit
// table, mappings and plans, Monday to Friday 09:00-18:00 in Asia/Shanghai, fire panels never
// out of service. The YAML defaults of config.DefaultWorkOrders agree with it (a test in
// internal/daemon holds them together).
func Default() Config {
	return Config{
		Store:            StoreConfig{Driver: "sqlite"},
		Mappings:         DefaultMappings(),
		Limits:           DefaultTimeLimits(),
		Calendar:         WorkCalendar{Timezone: "Asia/Shanghai", Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "18:00"},
		DefaultTeam:      "engineering",
		Supervisor:       "engineering-supervisor",
		FollowUp:         FollowUp{Repair: time.Hour, Household: 9 * time.Hour, Sampling: DefaultSampling(), Target: 0.8},
		ReworkWindow:     30 * 24 * time.Hour,
		OOSExemptKinds:   []string{"fire_panel"},
		NoticeLead:       24 * time.Hour,
		WarrantyReminder: 30 * 24 * time.Hour,
		CheckInterval:    30 * time.Second,
		Retention:        DefaultRetention,
		Plans:            DefaultPlans(),
		Drills:           DefaultDrills(),
	}
}

// withDefaults returns c with every zero field set from Default. Plans are defaulted only
// when nil: an empty list is a site without plans.
func (c Config) withDefaults() Config {
	d := Default()
	def := func(v *time.Duration, dv time.Duration) {
		if *v == 0 {
			*v = dv
		}
	}
	str := func(v *string, dv string) {
		if *v == "" {
			*v = dv
		}
	}
	str(&c.Store.Driver, d.Store.Driver)
	str(&c.Calendar.Timezone, d.Calendar.Timezone)
	str(&c.Calendar.Start, d.Calendar.Start)
	str(&c.Calendar.End, d.Calendar.End)
	str(&c.DefaultTeam, d.DefaultTeam)
	str(&c.Supervisor, d.Supervisor)
	def(&c.FollowUp.Repair, d.FollowUp.Repair)
	def(&c.FollowUp.Household, d.FollowUp.Household)
	def(&c.ReworkWindow, d.ReworkWindow)
	def(&c.NoticeLead, d.NoticeLead)
	def(&c.WarrantyReminder, d.WarrantyReminder)
	def(&c.CheckInterval, d.CheckInterval)
	def(&c.Retention, d.Retention)
	if c.SurveySample == 0 {
		c.SurveySample = DefaultSurveySample
	}
	if c.FollowUp.Target == 0 {
		c.FollowUp.Target = d.FollowUp.Target
	}
	if len(c.Mappings) == 0 {
		c.Mappings = d.Mappings
	}
	if len(c.Limits) == 0 {
		c.Limits = d.Limits
	}
	if len(c.Calendar.Days) == 0 {
		c.Calendar.Days = d.Calendar.Days
	}
	if len(c.FollowUp.Sampling) == 0 {
		c.FollowUp.Sampling = d.FollowUp.Sampling
	}
	if len(c.OOSExemptKinds) == 0 {
		c.OOSExemptKinds = d.OOSExemptKinds
	}
	if c.Plans == nil {
		c.Plans = d.Plans
	}
	c.Drills = c.Drills.withDefaults()
	return c
}

// String prints the config with the store's DSN hidden.
func (c Config) String() string {
	c.Store.DSN = hidden(c.Store.DSN)
	type plain Config // no String method: no recursion
	return fmt.Sprintf("%+v", plain(c))
}

// LogValue logs the config's outline with the store's DSN hidden.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("store", c.Store.Driver),
		slog.String("at", c.Store.Where()),
		slog.String("dsn", hidden(c.Store.DSN)),
		slog.Int("mappings", len(c.Mappings)),
		slog.Int("limits", len(c.Limits)),
		slog.Int("zones", len(c.Zones)),
		slog.Int("technicians", len(c.Technicians)),
		slog.Int("plans", len(c.Plans)),
		slog.String("timezone", c.Calendar.Timezone),
	)
}

func hidden(secret string) string {
	if secret == "" {
		return ""
	}
	return "<hidden>"
}

// Check validates cfg with its defaults filled in, as New does: it also catches a default
// plan that a longer notice_lead leaves too little notice.
func Check(cfg Config) error { return cfg.withDefaults().Validate() }

// Validate checks c as it stands (zero fields are not yet defaults: see Check) for what the
// manager relies on, naming the workorders.* key of each problem; it does not change c.
// The checks of the file as written (the store, the webhook, the ledger against the
// devices, dates of the assets) stay with the configuration's validation.
func (c Config) Validate() error {
	var errs []error
	if _, err := NewCalendar(c.Calendar); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateMappings()...)
	errs = append(errs, c.validateLimits()...)
	errs = append(errs, c.validateFollowUp()...)
	errs = append(errs, validateHomes(c.Homes)...)
	if c.SurveySample < 0 {
		errs = append(errs, fmt.Errorf("workorders.survey_sample: %d must be positive (0 takes %d)", c.SurveySample, DefaultSurveySample))
	}
	errs = append(errs, c.validatePeriods()...)
	errs = append(errs, c.validatePlans()...)
	errs = append(errs, c.validateDuty()...)
	errs = append(errs, c.validatePrices()...)
	errs = append(errs, c.Drills.validate()...)
	if _, err := verifyFrom(c.VerifyFrom); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func validPriority(p string) bool {
	switch p {
	case "critical", "high", "medium", "low":
		return true
	}
	return false
}

func (c Config) validateMappings() []error {
	var errs []error
	for i, m := range c.Mappings {
		for _, g := range []string{m.Class, m.Kind, m.Rule} {
			if _, err := path.Match(g, ""); err != nil {
				errs = append(errs, fmt.Errorf("workorders.mappings[%d]: %q is not a valid glob", i, g))
			}
		}
		if m.Category == "" {
			errs = append(errs, fmt.Errorf("workorders.mappings[%d].category: missing (use none to raise no order)", i))
		} else if m.Category != "none" && !validPriority(m.Priority) {
			errs = append(errs, fmt.Errorf("workorders.mappings[%d].priority: %q is not one of critical, high, medium, low", i, m.Priority))
		}
	}
	return errs
}

func (c Config) validateLimits() []error {
	var errs []error
	for i, l := range c.Limits {
		if l.Category == "" {
			errs = append(errs, fmt.Errorf("workorders.limits[%d].category: missing", i))
		}
		if l.Priority != "" && !validPriority(l.Priority) {
			errs = append(errs, fmt.Errorf("workorders.limits[%d].priority: %q is not one of critical, high, medium, low", i, l.Priority))
		}
		if l.Accept <= 0 || l.Complete <= 0 {
			errs = append(errs, fmt.Errorf("workorders.limits[%d] (%s): accept and complete must be positive", i, l.Category))
		}
		if l.Arrive < 0 || (l.Arrive > l.Complete && l.Complete > 0) {
			errs = append(errs, fmt.Errorf("workorders.limits[%d] (%s).arrive: %v must be between 0 (no arrival deadline) and complete %v", i, l.Category, l.Arrive, l.Complete))
		}
	}
	return errs
}

func (c Config) validateFollowUp() []error {
	var errs []error
	f := c.FollowUp
	if f.Repair <= 0 || f.Household <= 0 {
		errs = append(errs, errors.New("workorders.follow_up.repair, household: must be positive"))
	}
	levels := map[string]bool{}
	for i, l := range f.Sampling {
		if l.Level == "" || levels[l.Level] {
			errs = append(errs, fmt.Errorf("workorders.follow_up.sampling[%d].level: missing or repeated (%q)", i, l.Level))
		}
		levels[l.Level] = true
		if l.Share <= 0 || l.Share > 1 {
			errs = append(errs, fmt.Errorf("workorders.follow_up.sampling[%d] (%s).share: %v must be more than 0 and at most 1 (0.5 is half the orders)", i, l.Level, l.Share))
		}
		if i == 0 && l.Share != 1 {
			errs = append(errs, fmt.Errorf("workorders.follow_up.sampling[0] (%s).share: %v: the first level calls every resident back (1)", l.Level, l.Share))
		}
	}
	if f.Target <= 0 || f.Target > 1 {
		errs = append(errs, fmt.Errorf("workorders.follow_up.target: %v must be more than 0 and at most 1 (0.8 is 80%%)", f.Target))
	}
	return errs
}

func (c Config) validatePeriods() []error {
	var errs []error
	for _, p := range []struct {
		key string
		v   time.Duration
	}{{"rework_window", c.ReworkWindow}, {"check_interval", c.CheckInterval}, {"retention", c.Retention}, {"notice_lead", c.NoticeLead}} {
		if p.v <= 0 {
			errs = append(errs, fmt.Errorf("workorders.%s: %v must be positive", p.key, p.v))
		}
	}
	return errs
}

// validatePlans checks what scheduling needs: an id each, a period it can count, and the
// notice residents are promised before an interruption.
func (c Config) validatePlans() []error {
	var errs []error
	ids := map[string]bool{}
	for i, p := range c.Plans {
		name := fmt.Sprintf("workorders.plans[%d] (%s)", i, p.ID)
		if p.ID == "" || ids[p.ID] {
			errs = append(errs, fmt.Errorf("%s.id: missing or repeated", name))
		}
		ids[p.ID] = true
		if _, days := EveryDays(p.Every); !days && p.Every != "" && p.Every != "weekly" && everyMonths[p.Every] == 0 {
			errs = append(errs, fmt.Errorf("%s.every: %q is not weekly, monthly, quarterly, semiannual, yearly or a number of days (15d, 1-366)", name, p.Every))
		}
		if p.Every == "" && (p.Meter == "" || p.MeterEvery <= 0) {
			errs = append(errs, fmt.Errorf("%s: needs every (a calendar plan) or meter and meter_every (a meter plan)", name))
		}
		errs = append(errs, validateMaxDays(name, p)...)
		if p.Interrupts != "" && p.Ahead != 0 && p.Ahead < c.NoticeLead {
			errs = append(errs, fmt.Errorf("%s.ahead: %v is less than workorders.notice_lead %v: residents would be told too late", name, p.Ahead, c.NoticeLead))
		}
	}
	return errs
}

// validateMaxDays checks a plan's hard maximum: it counts days, so it needs a plan every N
// days or weekly, no longer than the maximum, whose days off do not move jobs later.
func validateMaxDays(name string, p Plan) []error {
	switch p.OnHoliday {
	case "", "keep", "next_workday", "previous_workday":
	default:
		return []error{fmt.Errorf("%s.on_holiday: %q is not keep, next_workday or previous_workday", name, p.OnHoliday)}
	}
	if p.MaxDays == 0 {
		return nil
	}
	step := planStep(p)
	switch {
	case p.MaxDays < 0:
		return []error{fmt.Errorf("%s.max_days: %d must be positive (days between two jobs)", name, p.MaxDays)}
	case step == 0:
		return []error{fmt.Errorf("%s.max_days: needs a plan every N days or weekly, not %q", name, p.Every)}
	case step > p.MaxDays:
		return []error{fmt.Errorf("%s.every: %q is longer than max_days %d; make every at most %dd", name, p.Every, p.MaxDays, p.MaxDays)}
	case p.OnHoliday == "next_workday":
		return []error{fmt.Errorf("%s.on_holiday: next_workday would move a job past max_days %d; leave it out (jobs move to the previous working day) or use keep", name, p.MaxDays)}
	}
	return nil
}

// planStep is the days between the jobs of a plan every N days or weekly; 0 for the others.
func planStep(p Plan) int {
	if p.Every == "weekly" {
		return 7
	}
	n, _ := EveryDays(p.Every)
	return n
}

// DefaultSampling is the two levels of the estate's plans (两级回访): the service centre calls
// every resident back (100%), the quality department samples 50% and the centre director 40%.
func DefaultSampling() []SamplingLevel {
	return []SamplingLevel{{Level: "team", Share: 1}, {Level: "quality", Share: 0.5}, {Level: "management", Share: 0.4}}
}

// EveryDays reads a plan's "15d" as 15 days; ok is false for the named periods.
func EveryDays(every string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSuffix(every, "d"))
	if err != nil || !strings.HasSuffix(every, "d") || n < 1 || n > 366 {
		return 0, false
	}
	return n, true
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// Weekday parses mon..sun.
func Weekday(s string) (time.Weekday, bool) {
	d, ok := weekdays[strings.ToLower(s)]
	return d, ok
}
