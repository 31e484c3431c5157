// Package workorders turns faults into work orders for the estate's maintenance teams and
// tracks them to the follow-up call: alarms map to orders by class, kind and rule; each order
// gets deadlines from the maintenance time-limit table (维护时限表), counted in working hours
// where the table says so; orders route to the team responsible for the zone (片区责任制);
// resolved repairs are followed up (回访); repeat repairs are marked as rework (返修);
// preventive-maintenance plans raise orders by the calendar and by telemetry meters; and a
// monthly report sums it all up. Orders are kept in SQLite, or PostgreSQL when several
// gateways share one order book.
package workorders

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// State is where an order stands in its lifecycle.
type State string

// The lifecycle: new → accepted → in_progress → resolved → followed_up → closed, or
// cancelled. An unsatisfied follow-up, or a reopen by customer service, puts a resolved order
// back to accepted: the team that owned it still owns it, and its completion deadline starts
// again from the reopening.
const (
	StateNew        State = "new"
	StateAccepted   State = "accepted"
	StateInProgress State = "in_progress"
	StateResolved   State = "resolved"
	StateFollowedUp State = "followed_up"
	StateClosed     State = "closed"
	StateCancelled  State = "cancelled"
)

// Active reports whether the fault is still being handled: a new occurrence of the same
// fault attaches to an active order. Resolved orders are not active: a recurrence after a
// repair is a new order, marked as rework.
func (s State) Active() bool {
	return s == StateNew || s == StateAccepted || s == StateInProgress
}

// Done reports whether the repair has been made (resolved or later, but not cancelled).
func (s State) Done() bool {
	return s == StateResolved || s == StateFollowedUp || s == StateClosed
}

// Action is a transition people ask for.
type Action string

// Actions, as in POST /api/v1/workorders/{id}/{action}.
const (
	ActionAccept   Action = "accept"
	ActionStart    Action = "start"
	ActionResolve  Action = "resolve"
	ActionFollowUp Action = "follow_up"
	ActionClose    Action = "close"
	ActionCancel   Action = "cancel"
	ActionReopen   Action = "reopen"
	// ActionAssign dispatches the order to a technician of its team (维修派工); it leaves the
	// state as it is.
	ActionAssign Action = "assign"
	// ActionArrive records the technician on site (到达现场); it leaves the state as it is.
	ActionArrive Action = "arrive"
)

// Actions lists every action, for messages and the CLI.
var Actions = []Action{ActionAccept, ActionStart, ActionResolve, ActionFollowUp, ActionClose, ActionCancel, ActionReopen, ActionAssign, ActionArrive, ActionVerify, ActionPermit,
	ActionInform, ActionHandover, ActionHotlineReply, ActionNotHome, ActionReschedule, ActionQuote, ActionConfirmCharge, ActionDraw, ActionRelease}

// Source says where an order came from.
type Source string

// Sources of orders.
const (
	SourceAlarm      Source = "alarm"
	SourceManual     Source = "manual"
	SourcePreventive Source = "preventive"
	SourcePatrol     Source = "patrol"
)

// Categories with rules of their own: a resident's own repair, whose follow-up counts
// working time and whose rework is by location; a resident's complaint, never rework.
const (
	CategoryHousehold = "household_repair"
	CategoryComplaint = "complaint"
)

// Order is one work order.
type Order struct {
	ID       string `json:"id"`
	Site     string `json:"site"`
	Device   string `json:"device,omitempty"`
	Kind     string `json:"kind,omitempty"`
	Building string `json:"building,omitempty"`
	Zone     string `json:"zone,omitempty"`
	Fault    string `json:"fault,omitempty"`
	// Instance is the fault's instance on the device: the zone of a fire panel, the circuit
	// of a lighting panel. Device, fault and instance identify the fault an order is for.
	Instance string          `json:"instance,omitempty"`
	Category string          `json:"category"`
	Priority alarms.Priority `json:"priority"`
	Source   Source          `json:"source"`
	AlarmID  string          `json:"alarm_id,omitempty"`
	// AlarmClass is the class of the alarm that raised the order.
	AlarmClass alarms.Class `json:"alarm_class,omitempty"`
	Title      string       `json:"title"`
	// Reporter is the resident or person who raised a manual order, with a way to call back.
	Reporter string `json:"reporter,omitempty"`
	// Location is the home or room a raised order is for ("3-1802"): a household repair at
	// the same location and of the same category within the rework window is rework.
	Location string `json:"location,omitempty"`
	// Desk is a request taken at the customer-service desk (intake.go): channel, resident,
	// the first receiver's answer, a booked visit, the charge.
	Desk *Desk `json:"desk,omitempty"`
	// Materials is the parts drawn from the store for the order (领用单, charges.go).
	Materials []Requisition `json:"materials,omitempty"`

	Team string `json:"team"`
	// Assignee is the technician who does the work (责任到人): assigned, or else the person
	// who accepted the order.
	Assignee   string    `json:"assignee,omitempty"`
	AssignedAt time.Time `json:"assigned_at,omitzero"`
	Butler     string    `json:"butler,omitempty"`
	Supervisor string    `json:"supervisor,omitempty"`
	Contractor string    `json:"contractor,omitempty"`

	State State `json:"state"`
	// Occurrences counts the alarms attached to the order, the first included.
	Occurrences int `json:"occurrences"`
	// Rework marks an order for a fault repaired on the same device and instance (or, for a
	// household repair, at the same location and of the same category) within the rework
	// window; ReworkOf is that earlier order. Reopens counts reopenings, each a rework too.
	Rework   bool   `json:"rework"`
	ReworkOf string `json:"rework_of,omitempty"`
	Reopens  int    `json:"reopens"`

	// Plan is the preventive-maintenance plan that raised the order; ScheduledAt its job time
	// and MeterValue the meter reading that triggered it.
	Plan        string    `json:"plan,omitempty"`
	ScheduledAt time.Time `json:"scheduled_at,omitzero"`
	MeterValue  float64   `json:"meter_value,omitempty"`

	// ConfinedSpace marks work in a confined space (a sump pit, a water tank): start needs
	// Permit, the latest permit recorded, with its gas test within limits and fresh.
	ConfinedSpace bool    `json:"confined_space,omitempty"`
	Permit        *Permit `json:"permit,omitempty"`

	CreatedAt    time.Time `json:"created_at"`
	AcceptedAt   time.Time `json:"accepted_at,omitzero"`
	ArrivedAt    time.Time `json:"arrived_at,omitzero"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	ResolvedAt   time.Time `json:"resolved_at,omitzero"`
	FollowedUpAt time.Time `json:"followed_up_at,omitzero"`
	ClosedAt     time.Time `json:"closed_at,omitzero"`

	// AcceptBy, ArriveBy and CompleteBy are the deadlines of the time-limit table; ArriveBy
	// and CompleteBy are set on acceptance, or at once for orders whose deadlines count from
	// the call (life safety). DueBy is a preventive job's last on-time day.
	AcceptBy         time.Time `json:"accept_by"`
	ArriveBy         time.Time `json:"arrive_by,omitzero"`
	CompleteBy       time.Time `json:"complete_by,omitzero"`
	DueBy            time.Time `json:"due_by,omitzero"`
	AcceptBreached   bool      `json:"accept_breached"`
	ArriveBreached   bool      `json:"arrive_breached"`
	CompleteBreached bool      `json:"complete_breached"`
	FollowUpDue      time.Time `json:"follow_up_due,omitzero"`
	// FollowUpOverdue is set once an overdue follow-up has been escalated.
	FollowUpOverdue bool  `json:"follow_up_overdue"`
	Satisfied       *bool `json:"satisfied,omitempty"`
	// Drill is a rescue drill's record: scenario, car and rescue time (see Drills).
	Drill *DrillRecord `json:"drill,omitempty"`

	History []Change `json:"history"`
	// Version increases with every stored change; a store refuses an update from a stale one.
	Version int64 `json:"version"`
}

// Change is one entry of an order's history.
type Change struct {
	At time.Time `json:"at"`
	By string    `json:"by"`
	// OnBehalfOf is who an admin acted for, when By acted for someone else.
	OnBehalfOf string `json:"on_behalf_of,omitempty"`
	Action     string `json:"action"`
	From       State  `json:"from,omitempty"`
	To         State  `json:"to,omitempty"`
	Note       string `json:"note,omitempty"`
	// Level and Satisfied are a follow-up call's: who called (the team, quality staff,
	// management) and the resident's answer.
	Level     string `json:"level,omitempty"`
	Satisfied *bool  `json:"satisfied,omitempty"`
	// Points are a repair's call's three answers (followup.go).
	Points *Points `json:"points,omitempty"`
}

// Reworked reports whether the order counts towards the rework rate (返修率): raised again
// within the rework window of a repair, or reopened after it was resolved.
func (o *Order) Reworked() bool { return o.Rework || o.Reopens > 0 }

// Overdue reports whether a deadline of the order has passed at now.
func (o *Order) Overdue(now time.Time) bool {
	switch o.State {
	case StateNew:
		return now.After(o.AcceptBy)
	case StateAccepted, StateInProgress:
		return (!o.CompleteBy.IsZero() && now.After(o.CompleteBy)) || (o.ArrivedAt.IsZero() && !o.ArriveBy.IsZero() && now.After(o.ArriveBy))
	case StateResolved:
		return !o.FollowUpDue.IsZero() && now.After(o.FollowUpDue)
	}
	return false
}

// Input is what a person sends with an action.
type Input struct {
	By string `json:"by"`
	// OnBehalfOf is the person an admin acted for; the API sets it, never the body.
	OnBehalfOf string `json:"on_behalf_of,omitempty"`
	Note       string `json:"note,omitempty"`
	Satisfied  *bool  `json:"satisfied,omitempty"`
	// To is the technician an assign dispatches the order to.
	To string `json:"to,omitempty"`
	// Override is the supervisor's reason for assigning a technician of another team.
	Override string `json:"override,omitempty"`
	// Level is who makes a follow-up call: empty or the first sampling level for the call
	// every order gets, another level (quality, management) for a sampled check.
	Level string `json:"level,omitempty"`
	// Permit is a confined-space permit's attendant and gas readings (action permit).
	Permit *PermitInput `json:"permit,omitempty"`
	// Visit is the new window of a reschedule.
	Visit *Window `json:"visit,omitempty"`
	// Lines are a paid job's items (quote, confirm_charge); Parts the parts drawn (draw).
	Lines []Line `json:"lines,omitempty"`
	Parts []Line `json:"parts,omitempty"`
	// Points are the three answers of a repair's follow-up call (followup.go); Satisfied
	// follows from them.
	Points *Points `json:"points,omitempty"`
	// Scenario and Car are a rescue drill's, recorded at its release.
	Scenario string `json:"scenario,omitempty"`
	Car      string `json:"car,omitempty"`
}

// TransitionError is an action the order's state does not allow.
type TransitionError struct {
	ID     string
	State  State
	Action Action
	Needs  []State
}

func (e *TransitionError) Error() string {
	needs := make([]string, len(e.Needs))
	for i, s := range e.Needs {
		needs[i] = string(s)
	}
	return fmt.Sprintf("order %s is %s; %s needs %s", e.ID, e.State, e.Action, strings.Join(needs, " or "))
}

// Errors callers test for.
var (
	ErrNotFound = errors.New("no such work order")
	// ErrInvalid wraps input that can never succeed as sent.
	ErrInvalid = errors.New("invalid")
	// ErrConflict is a concurrent change by another gateway; the caller reloads and retries.
	ErrConflict = errors.New("work order changed concurrently")
)

// needs is the state each action starts from.
var needs = map[Action][]State{
	ActionAccept:   {StateNew},
	ActionStart:    {StateAccepted},
	ActionResolve:  {StateInProgress},
	ActionFollowUp: {StateResolved},
	ActionClose:    {StateFollowedUp},
	ActionCancel:   {StateNew, StateAccepted, StateInProgress},
	ActionReopen:   {StateResolved, StateFollowedUp},
	ActionAssign:   {StateNew, StateAccepted, StateInProgress},
	ActionArrive:   {StateAccepted, StateInProgress},
	ActionVerify:   {StateResolved},
	ActionPermit:   {StateNew, StateAccepted},
	ActionRelease:  {StateInProgress},
}

// Policy computes deadlines: the time-limit table over the working calendar.
type Policy struct {
	Limits   *Limits
	Calendar *Calendar
	// FollowUpRepair is the least wall-clock time a repair's same-day call gets;
	// FollowUpHousehold is working time (followUpDue).
	FollowUpRepair    time.Duration
	FollowUpHousehold time.Duration
	// Technicians by id: whom an order may be assigned to.
	Technicians map[string]Technician
	// Duty is the duty shifts emergency repairs go to.
	Duty []DutyShift
	// Prices is the price list paid jobs are charged by.
	Prices []PriceItem
	// Supervisor may assign across teams, as may an order's own supervisor.
	Supervisor string
	// Sampling is the follow-up levels, the first the call every order gets.
	Sampling []SamplingLevel
	// VerifyFrom is the least urgent priority whose alarm-raised repairs wait for the
	// supervisor's verification; empty: all of them (see ClosingPath).
	VerifyFrom alarms.Priority
	// Cars are the elevators a rescue drill may use; Security the security department's
	// people a drill's record names (workorders.drills.security).
	Cars     map[string]bool
	Security []string
}

// FirstLevel is the follow-up level whose call every order gets and which moves the order on.
func (p *Policy) FirstLevel() string {
	if len(p.Sampling) == 0 {
		return "team"
	}
	return p.Sampling[0].Level
}

// Sampled reports whether the order is in the level's sample of follow-up calls. The sample
// is deterministic (a hash of level and order id against the level's share), so every
// gateway and every reload draws the same one. Complaints are called back 100% at the
// first level (the service centre) and are in no sampled level's sample: the plans ask the
// quality department and the centre director to sample repairs, not to call complainants.
func (p *Policy) Sampled(o *Order, level string) bool {
	if p.ClosingPath(o) != PathFollowUp {
		return false
	}
	if o.Category == CategoryComplaint {
		return level == p.FirstLevel()
	}
	for _, l := range p.Sampling {
		if l.Level != level {
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(level + "/" + o.ID))
		return float64(h.Sum32()%10000) < l.Share*10000
	}
	return level == p.FirstLevel()
}

// level finds a sampling level by name.
func (p *Policy) level(name string) bool {
	for _, l := range p.Sampling {
		if l.Level == name {
			return true
		}
	}
	return name == p.FirstLevel()
}

// Apply is the lifecycle as a pure function: the order after action a by in at now, or a
// *TransitionError (or ErrInvalid) and the order unchanged. It never touches the store.
func Apply(o Order, a Action, in Input, now time.Time, p *Policy) (Order, error) {
	if _, desk := deskNeeds[a]; desk {
		return applyDesk(o, a, in, now, p)
	}
	if _, charge := chargeNeeds[a]; charge {
		return applyCharge(o, a, in, now, p)
	}
	from, ok := needs[a]
	if !ok {
		return o, fmt.Errorf("%w: %q is not an action (one of %v)", ErrInvalid, a, Actions)
	}
	// Preventive jobs have no resident to call back: a resolved one may close directly.
	if a == ActionClose && o.Source == SourcePreventive {
		from = []State{StateResolved, StateFollowedUp}
	}
	sampled := a == ActionFollowUp && in.Level != "" && in.Level != p.FirstLevel()
	if sampled {
		// A sampled check calls the resident after the first call.
		from = []State{StateFollowedUp, StateClosed}
	}
	allowed := false
	for _, s := range from {
		allowed = allowed || o.State == s
	}
	if !allowed {
		return o, &TransitionError{ID: o.ID, State: o.State, Action: a, Needs: from}
	}
	if strings.TrimSpace(in.By) == "" {
		return o, fmt.Errorf("%w: %s of %s: say who acts (by)", ErrInvalid, a, o.ID)
	}
	note := in.Note
	if err := deskBefore(o, a); err != nil {
		return o, err
	}
	if err := p.checkPath(o, a, in, sampled); err != nil {
		return o, err
	}
	if err := p.checkDrill(o, a, in); err != nil {
		return o, err
	}
	if sampled {
		if err := p.checkSampled(o, in.Level); err != nil {
			return o, err
		}
	}
	level, sat := p.FirstLevel(), false
	if a == ActionFollowUp {
		if sampled {
			level = in.Level
		}
		var err error
		if sat, err = p.checkFollowUp(o, in, level); err != nil {
			return o, err
		}
	}
	if a == ActionAssign {
		var err error
		if note, err = p.checkAssign(o, in); err != nil {
			return o, err
		}
	}
	o.History = append([]Change(nil), o.History...)
	prev := o.State
	switch a {
	case ActionAssign:
		o.Assignee, o.AssignedAt = in.To, now
	case ActionAccept:
		o.State, o.AcceptedAt = StateAccepted, now
		if o.Assignee == "" { // 首问责任制: who takes the job owns it
			o.Assignee, o.AssignedAt = in.By, now
		}
		o.AcceptBreached = o.AcceptBreached || now.After(o.AcceptBy)
		if !p.Limits.FromCall(&o) {
			o.ArriveBy = p.Limits.Deadline(o.Category, o.Priority, now, StageArrive, p.Calendar)
			o.CompleteBy = p.Limits.Deadline(o.Category, o.Priority, now, StageComplete, p.Calendar)
		}
	case ActionArrive:
		if !o.ArrivedAt.IsZero() {
			return o, fmt.Errorf("%w: arrive of %s: already on site since %s", ErrInvalid, o.ID, o.ArrivedAt.Format(time.RFC3339))
		}
		o.ArrivedAt = now
		o.ArriveBreached = o.ArriveBreached || (!o.ArriveBy.IsZero() && now.After(o.ArriveBy))
	case ActionStart:
		if err := checkPermit(o, now); err != nil {
			return o, err
		}
		o.State, o.StartedAt = StateInProgress, now
	case ActionPermit:
		if err := permit(&o, in, now); err != nil {
			return o, err
		}
		note = permitNote(o.Permit)
	case ActionResolve:
		p.resolve(&o, now)
	case ActionVerify:
		o.State, o.ClosedAt = StateClosed, now
	case ActionRelease:
		p.release(&o, in, p.Security, now)
	case ActionFollowUp:
		// A sampled call leaves a satisfied order where it is; an unsatisfied answer at any
		// level goes back to engineering (传递给工程办跟进处理) and reopens the order.
		if !sampled {
			o.FollowedUpAt = now
		}
		if !sampled || !sat {
			o.Satisfied = &sat
		}
		switch {
		case !sat:
			o.ClosedAt = time.Time{}
			o = reopen(o, now, p)
		case !sampled:
			o.State = StateFollowedUp
		}
	case ActionClose:
		o.State, o.ClosedAt = StateClosed, now
	case ActionCancel:
		o.State, o.ClosedAt = StateCancelled, now
	case ActionReopen:
		o = reopen(o, now, p)
	}
	deskAfter(&o, a, p, now)
	ch := Change{At: now, By: in.By, OnBehalfOf: in.OnBehalfOf, Action: string(a), From: prev, To: o.State, Note: note}
	if a == ActionFollowUp {
		ch.Level, ch.Satisfied, ch.Points = level, &sat, in.Points
	}
	o.History = append(o.History, ch)
	return o, nil
}

// checkSampled refuses a sampled follow-up call at an unknown level, on an order outside the
// level's sample, or made twice.
func (p *Policy) checkSampled(o Order, level string) error {
	if !p.level(level) {
		names := []string{}
		for _, l := range p.Sampling {
			names = append(names, l.Level)
		}
		return fmt.Errorf("%w: follow_up of %s: level %q is not one of %v (workorders.follow_up.sampling)", ErrInvalid, o.ID, level, names)
	}
	if !p.Sampled(&o, level) {
		return fmt.Errorf("%w: follow_up of %s: not in the %s sample (GET /api/v1/workorders/followups?level=%s lists it)", ErrInvalid, o.ID, level, level)
	}
	for _, h := range o.History {
		if h.Action == string(ActionFollowUp) && h.Level == level {
			return fmt.Errorf("%w: follow_up of %s: %s already called back at %s", ErrInvalid, o.ID, level, h.At.Format(time.RFC3339))
		}
	}
	return nil
}

// checkAssign refuses an assignment the policy does not allow and returns the history note:
// the technician must be known and of the order's team, unless the supervisor (the order's
// or the estate's) overrides with a reason.
func (p *Policy) checkAssign(o Order, in Input) (string, error) {
	to := strings.TrimSpace(in.To)
	if to == "" {
		return "", fmt.Errorf("%w: assign of %s: say to whom (to: a technician id)", ErrInvalid, o.ID)
	}
	t, ok := p.Technicians[to]
	if !ok {
		return "", fmt.Errorf("%w: assign of %s: %q is not in workorders.technicians", ErrInvalid, o.ID, to)
	}
	note := "to " + to
	if in.Note != "" {
		note += ": " + in.Note
	}
	if t.Team == o.Team {
		return note, nil
	}
	if in.By != o.Supervisor && in.By != p.Supervisor {
		return "", fmt.Errorf("%w: assign of %s: %s is of team %s, the order of team %s; only the supervisor (%s) may assign across teams, with a reason (override)",
			ErrInvalid, o.ID, to, t.Team, o.Team, strings.Join(recipients(o.Supervisor, p.Supervisor), " or "))
	}
	if strings.TrimSpace(in.Override) == "" {
		return "", fmt.Errorf("%w: assign of %s: %s is of team %s, not %s: give the reason for the override (override)", ErrInvalid, o.ID, to, t.Team, o.Team)
	}
	return note + " (team " + t.Team + ", override: " + in.Override + ")", nil
}

func reopen(o Order, now time.Time, p *Policy) Order {
	o.State = StateAccepted
	o.Reopens++
	o.ResolvedAt, o.StartedAt, o.FollowUpDue = time.Time{}, time.Time{}, time.Time{}
	o.FollowUpOverdue = false
	o.CompleteBy = p.Limits.Deadline(o.Category, o.Priority, now, StageComplete, p.Calendar)
	return o
}

// SetDeadlines gives a new order the deadlines of the time-limit table: the time to accept
// from its creation, and for an order whose deadlines count from the call (life safety) the
// times to arrive and to complete too.
func (p *Policy) SetDeadlines(o *Order) {
	o.AcceptBy = p.Limits.Deadline(o.Category, o.Priority, o.CreatedAt, StageAccept, p.Calendar)
	if p.Limits.FromCall(o) {
		o.ArriveBy = p.Limits.Deadline(o.Category, o.Priority, o.CreatedAt, StageArrive, p.Calendar)
		o.CompleteBy = p.Limits.Deadline(o.Category, o.Priority, o.CreatedAt, StageComplete, p.Calendar)
	}
}
