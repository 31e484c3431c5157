package workorders

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// The customer-service desk (客服前台受理): a request taken from a resident by any channel,
// with its kind, the home it is for, the person who took it and owns the answer to the
// resident (首问责任制), a booked visit for paid work, and a 12345 hotline case's reply.

// Channel is how a request reached the desk (来电/来访/网上/12345 市民服务热线/巡查/来函).
type Channel string

// Channels the estate's plans name.
const (
	ChannelPhone   Channel = "phone"
	ChannelWalkIn  Channel = "walk_in"
	ChannelOnline  Channel = "online"
	ChannelHotline Channel = "hotline_12345"
	ChannelPatrol  Channel = "patrol"
	ChannelLetter  Channel = "letter"
)

// Channels lists every channel, for messages and the console.
var Channels = []Channel{ChannelPhone, ChannelWalkIn, ChannelOnline, ChannelHotline, ChannelPatrol, ChannelLetter}

// RequestKind is a request's kind as the plans name them.
type RequestKind string

// Request kinds.
const (
	// KindRoutine is a free repair in the home (常规/无偿维修).
	KindRoutine RequestKind = "routine"
	// KindPaid is paid work by appointment (特约/有偿服务), priced by the price list.
	KindPaid RequestKind = "paid"
	// KindInternal is a repair of public facilities reported in-house (内部报修).
	KindInternal RequestKind = "internal"
	// KindComplaint is a complaint (投诉).
	KindComplaint RequestKind = "complaint"
	// KindSuggestion is a suggestion or an enquiry (建议/咨询).
	KindSuggestion RequestKind = "suggestion"
)

// RequestKinds lists every kind, for messages and the console.
var RequestKinds = []RequestKind{KindRoutine, KindPaid, KindInternal, KindComplaint, KindSuggestion}

// Categories of desk requests with limits of their own.
const (
	// CategoryEmergency is an emergency repair (应急维修): a burst pipe, a home without power,
	// a resident locked out. Its limits count calendar time, night and weekend included.
	CategoryEmergency = "emergency"
	// CategoryInternal is a repair of public facilities (内部报修).
	CategoryInternal = "internal_repair"
	// CategorySuggestion is a suggestion or enquiry: answered, never repaired.
	CategorySuggestion = "suggestion"
)

// AnswerWithin is how soon after a repair report the first receiver tells the resident how
// it is being handled: the estate's plans, 报修 1 小时内回访处理情况.
const AnswerWithin = time.Hour

// Intake is what the desk takes down with a request (RaiseRequest embeds it).
type Intake struct {
	Channel  Channel     `json:"channel,omitempty"`
	Kind     RequestKind `json:"kind,omitempty"`
	Resident string      `json:"resident,omitempty"`
	// Home is building-unit-room, "3-1-1802".
	Home    string `json:"home,omitempty"`
	Contact string `json:"contact,omitempty"`
	// HotlineCase and ReplyBy are a 12345 case's number and the hotline's reply deadline.
	HotlineCase string    `json:"hotline_case,omitempty"`
	ReplyBy     time.Time `json:"reply_by,omitzero"`
	// Visit is the booked window of a paid request.
	Visit *Window `json:"visit,omitempty"`
}

// Window is a booked visit: the technician is to arrive between From and To.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Desk is a desk request's record on its order.
type Desk struct {
	Channel    Channel     `json:"channel"`
	Kind       RequestKind `json:"kind"`
	Resident   string      `json:"resident,omitempty"`
	Home       string      `json:"home,omitempty"`
	Contact    string      `json:"contact,omitempty"`
	ReceivedAt time.Time   `json:"received_at"`
	Hotline    *Hotline    `json:"hotline,omitempty"`
	Answer     Answer      `json:"answer"`
	Visit      *Visit      `json:"visit,omitempty"`
	Charge     *Charge     `json:"charge,omitempty"`
}

// Hotline is a 12345 case: its number, the hotline's reply deadline and the reply.
type Hotline struct {
	Case      string    `json:"case"`
	ReplyBy   time.Time `json:"reply_by"`
	RepliedAt time.Time `json:"replied_at,omitzero"`
	Breached  bool      `json:"breached"`
}

// Answer is the first receiver's duty (首问责任制): Owner tells the resident how the request
// is being handled by DueBy. It passes to another person only by a handover.
type Answer struct {
	Owner      string    `json:"owner"`
	DueBy      time.Time `json:"due_by"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	Breached   bool      `json:"breached"`
}

// Open reports whether the resident is still to be told.
func (a Answer) Open() bool { return a.AnsweredAt.IsZero() }

// Arrival judges a technician's arrival against the booked window.
type Arrival string

// Arrival judgements.
const (
	ArrivalEarly  Arrival = "early"
	ArrivalWithin Arrival = "within"
	ArrivalLate   Arrival = "late"
)

// Visit is a booked visit: the window agreed, how the arrival fell against it, and the times
// the technician found nobody at home. While Paused (the resident was out), the order's
// clock stands still until a new window is agreed.
type Visit struct {
	Window  Window      `json:"window"`
	Arrival Arrival     `json:"arrival,omitempty"`
	NotHome []time.Time `json:"not_home,omitempty"`
	Paused  bool        `json:"paused"`
}

// Desk actions; each leaves the order's state as it is.
const (
	// ActionInform records that the resident was told how the request is handled; it ends the
	// first receiver's duty.
	ActionInform Action = "inform"
	// ActionHandover passes the first receiver's duty to a named person (to).
	ActionHandover Action = "handover"
	// ActionHotlineReply records the reply to a 12345 case.
	ActionHotlineReply Action = "reply_12345"
	// ActionNotHome records the resident out at the visit; the clock stops until a reschedule.
	ActionNotHome Action = "resident_not_home"
	// ActionReschedule books a new visit window (visit).
	ActionReschedule Action = "reschedule"
)

// deskNeeds is the states each desk action starts from.
var deskNeeds = map[Action][]State{
	ActionInform:       {StateNew, StateAccepted, StateInProgress, StateResolved, StateFollowedUp, StateClosed},
	ActionHandover:     {StateNew, StateAccepted, StateInProgress, StateResolved, StateFollowedUp, StateClosed},
	ActionHotlineReply: {StateNew, StateAccepted, StateInProgress, StateResolved, StateFollowedUp, StateClosed},
	ActionNotHome:      {StateAccepted, StateInProgress},
	ActionReschedule:   {StateNew, StateAccepted, StateInProgress},
}

// homeForm is building-unit-room: "3-1-1802", "B2-1-0301".
var homeForm = regexp.MustCompile(`^[0-9A-Za-z]+-[0-9A-Za-z]+-[0-9A-Za-z]+$`)

// given reports whether any intake field was sent.
func (in Intake) given() bool {
	return in.Channel != "" || in.Kind != "" || in.Resident != "" || in.Home != "" || in.Contact != "" ||
		in.HotlineCase != "" || !in.ReplyBy.IsZero() || in.Visit != nil
}

// check validates an intake and returns the request's category: the kind's, or emergency
// for a critical repair in a home.
func (in Intake) check(category string, p alarms.Priority, now time.Time) (string, error) {
	if !slices.Contains(Channels, in.Channel) {
		return "", fmt.Errorf("%w: channel %q is not one of %v", ErrInvalid, in.Channel, Channels)
	}
	if in.Kind == "" {
		in.Kind = KindRoutine
	}
	if !slices.Contains(RequestKinds, in.Kind) {
		return "", fmt.Errorf("%w: kind %q is not one of %v", ErrInvalid, in.Kind, RequestKinds)
	}
	home := strings.TrimSpace(in.Home)
	if home != "" && !homeForm.MatchString(home) {
		return "", fmt.Errorf("%w: home %q: write it building-unit-room, e.g. 3-1-1802", ErrInvalid, in.Home)
	}
	if home == "" && (in.Kind == KindRoutine || in.Kind == KindPaid) {
		return "", fmt.Errorf("%w: home: a %s repair is in a home; give it as building-unit-room, e.g. 3-1-1802", ErrInvalid, in.Kind)
	}
	if in.Kind != KindInternal && strings.TrimSpace(in.Resident) == "" {
		return "", fmt.Errorf("%w: resident: say who made the request (the resident's name)", ErrInvalid)
	}
	if in.Channel == ChannelHotline {
		if strings.TrimSpace(in.HotlineCase) == "" || in.ReplyBy.IsZero() {
			return "", fmt.Errorf("%w: a 12345 case needs the hotline's case number (hotline_case) and its reply deadline (reply_by)", ErrInvalid)
		}
		if !in.ReplyBy.After(now) {
			return "", fmt.Errorf("%w: reply_by %s is already past: give the hotline's reply deadline", ErrInvalid, in.ReplyBy.Format(time.RFC3339))
		}
	} else if in.HotlineCase != "" || !in.ReplyBy.IsZero() {
		return "", fmt.Errorf("%w: hotline_case and reply_by are for the 12345 channel (channel: %s)", ErrInvalid, ChannelHotline)
	}
	if in.Kind == KindPaid && in.Visit == nil {
		return "", fmt.Errorf("%w: visit: a paid request is by appointment; give the agreed window (visit.from, visit.to)", ErrInvalid)
	}
	if in.Visit != nil {
		if err := in.Visit.check(); err != nil {
			return "", err
		}
	}
	switch in.Kind {
	case KindComplaint:
		return CategoryComplaint, nil
	case KindSuggestion:
		return CategorySuggestion, nil
	case KindInternal:
		if category == "" {
			return CategoryInternal, nil
		}
	default:
		if p == alarms.PriorityCritical && (category == "" || category == CategoryHousehold) {
			return CategoryEmergency, nil
		}
		if category == "" {
			return CategoryHousehold, nil
		}
	}
	return category, nil
}

func (w *Window) check() error {
	if w.From.IsZero() || w.To.IsZero() || !w.To.After(w.From) {
		return fmt.Errorf("%w: visit: give the window as from and to (RFC 3339), to after from", ErrInvalid)
	}
	return nil
}

// newDesk is the desk record of a request taken by by at now.
func (p *Policy) newDesk(in Intake, category, by string, now time.Time) *Desk {
	kind := in.Kind
	if kind == "" {
		kind = KindRoutine
	}
	d := &Desk{Channel: in.Channel, Kind: kind, Resident: strings.TrimSpace(in.Resident), Home: strings.TrimSpace(in.Home),
		Contact: strings.TrimSpace(in.Contact), ReceivedAt: now, Answer: Answer{Owner: by, DueBy: p.answerDue(category, now)}}
	if in.Channel == ChannelHotline {
		d.Hotline = &Hotline{Case: strings.TrimSpace(in.HotlineCase), ReplyBy: in.ReplyBy}
	}
	if in.Visit != nil {
		d.Visit = &Visit{Window: *in.Visit}
	}
	return d
}

// answerDue is when the first receiver must have told the resident: within the hour of a
// repair report (the plans); for a complaint or a suggestion, by the close of the working
// day (ours: the plans visit a complaint the same day, and the answer cannot come later).
func (p *Policy) answerDue(category string, now time.Time) time.Time {
	if (category == CategoryComplaint || category == CategorySuggestion) && p.Calendar != nil {
		return p.Calendar.CloseOfDay(now)
	}
	return now.Add(AnswerWithin)
}

// applyDesk is a desk action as a pure function, as Apply is for the others.
func applyDesk(o Order, a Action, in Input, now time.Time, p *Policy) (Order, error) {
	if o.Desk == nil {
		return o, fmt.Errorf("%w: %s of %s: the order was not taken at the desk (no resident to answer)", ErrInvalid, a, o.ID)
	}
	if !slices.Contains(deskNeeds[a], o.State) {
		return o, &TransitionError{ID: o.ID, State: o.State, Action: a, Needs: deskNeeds[a]}
	}
	if strings.TrimSpace(in.By) == "" {
		return o, fmt.Errorf("%w: %s of %s: say who acts (by)", ErrInvalid, a, o.ID)
	}
	d := *o.Desk
	note := in.Note
	switch a {
	case ActionInform, ActionHandover:
		if !d.Answer.Open() {
			return o, fmt.Errorf("%w: %s of %s: the resident was told at %s", ErrInvalid, a, o.ID, d.Answer.AnsweredAt.Format(time.RFC3339))
		}
		who := in.By
		if in.OnBehalfOf != "" { // an admin acting for the owner
			who = in.OnBehalfOf
		}
		if who != d.Answer.Owner {
			return o, fmt.Errorf("%w: %s of %s: the answer to the resident is %s's (first receiver); only they act on it, or hand it over", ErrInvalid, a, o.ID, d.Answer.Owner)
		}
		if a == ActionInform {
			if strings.TrimSpace(in.Note) == "" {
				return o, fmt.Errorf("%w: inform of %s: say what the resident was told (note)", ErrInvalid, o.ID)
			}
			d.Answer.AnsweredAt = now
			break
		}
		to := strings.TrimSpace(in.To)
		if to == "" || to == d.Answer.Owner {
			return o, fmt.Errorf("%w: handover of %s: name the person who takes the answer over (to), not %q", ErrInvalid, o.ID, d.Answer.Owner)
		}
		d.Answer.Owner = to
		note = strings.TrimSpace("to " + to + ": " + in.Note)
	case ActionHotlineReply:
		if d.Hotline == nil {
			return o, fmt.Errorf("%w: reply_12345 of %s: not a 12345 case", ErrInvalid, o.ID)
		}
		if !d.Hotline.RepliedAt.IsZero() {
			return o, fmt.Errorf("%w: reply_12345 of %s: replied at %s", ErrInvalid, o.ID, d.Hotline.RepliedAt.Format(time.RFC3339))
		}
		if strings.TrimSpace(in.Note) == "" {
			return o, fmt.Errorf("%w: reply_12345 of %s: give the reply sent to the hotline (note)", ErrInvalid, o.ID)
		}
		h := *d.Hotline
		h.RepliedAt = now
		h.Breached = h.Breached || now.After(h.ReplyBy)
		d.Hotline = &h
	case ActionNotHome:
		if !o.ArrivedAt.IsZero() {
			return o, fmt.Errorf("%w: resident_not_home of %s: the technician is on site since %s", ErrInvalid, o.ID, o.ArrivedAt.Format(time.RFC3339))
		}
		v := Visit{}
		if d.Visit != nil {
			v = *d.Visit
		}
		v.NotHome = append(append([]time.Time(nil), v.NotHome...), now)
		v.Paused = true
		d.Visit = &v
		// The clock stops: no arrival or completion deadline runs until a new window.
		o.ArriveBy, o.CompleteBy = time.Time{}, time.Time{}
	case ActionReschedule:
		if in.Visit == nil {
			return o, fmt.Errorf("%w: reschedule of %s: give the new window (visit.from, visit.to)", ErrInvalid, o.ID)
		}
		if err := in.Visit.check(); err != nil {
			return o, err
		}
		v := Visit{}
		if d.Visit != nil {
			v = *d.Visit
		}
		v.Window, v.Paused, v.Arrival = *in.Visit, false, ""
		d.Visit = &v
		note = strings.TrimSpace(fmt.Sprintf("%s–%s %s", in.Visit.From.Format(time.RFC3339), in.Visit.To.Format(time.RFC3339), in.Note))
	}
	o.Desk = &d
	if a == ActionReschedule && o.State != StateNew {
		bookDeadlines(&o, p)
	}
	o.History = append(append([]Change(nil), o.History...), Change{At: now, By: in.By, OnBehalfOf: in.OnBehalfOf, Action: string(a), From: o.State, To: o.State, Note: note})
	return o, nil
}

// bookDeadlines holds an accepted order with a booked visit to its window: arrival by the
// window's end, completion the table's time counted from the window's start (on acceptance,
// and again on a reschedule).
func bookDeadlines(o *Order, p *Policy) {
	v := o.Desk.Visit
	o.ArriveBy = v.Window.To
	o.CompleteBy = p.Limits.Deadline(o.Category, o.Priority, v.Window.From, StageComplete, p.Calendar)
}

// deskBefore refuses what a desk order does not allow: work on a paid order without the
// charge quoted to the resident, or while the resident is out and no new time is agreed.
func deskBefore(o Order, a Action) error {
	if o.Desk == nil {
		return nil
	}
	if v := o.Desk.Visit; v != nil && v.Paused && (a == ActionArrive || a == ActionStart) {
		return fmt.Errorf("%w: %s of %s: the resident was not home; agree a new time first (reschedule)", ErrInvalid, a, o.ID)
	}
	if a == ActionStart && o.Desk.Kind == KindPaid && (o.Desk.Charge == nil || o.Desk.Charge.QuotedAt.IsZero()) {
		return fmt.Errorf("%w: start of %s: a paid job starts only after the charge is quoted to the resident (quote)", ErrInvalid, o.ID)
	}
	return nil
}

// deskAfter completes a transition of a desk order: on acceptance a booked visit sets the
// arrival deadline; an arrival is judged against the window.
func deskAfter(o *Order, a Action, p *Policy, now time.Time) {
	if o.Desk == nil || o.Desk.Visit == nil {
		return
	}
	v := *o.Desk.Visit
	d := *o.Desk
	d.Visit = &v
	o.Desk = &d
	switch a {
	case ActionAccept:
		if p.Limits.FromCall(o) { // an emergency's deadlines run from the call, window or not
			return
		}
		bookDeadlines(o, p)
	case ActionArrive:
		switch {
		case now.Before(v.Window.From):
			v.Arrival = ArrivalEarly
		case now.After(v.Window.To):
			v.Arrival = ArrivalLate
		default:
			v.Arrival = ArrivalWithin
		}
	}
}

// intake checks a desk request and settles its category, priority and location: an
// emergency is critical; the home is the location repeat repairs are found by.
func (m *Manager) intake(r *RaiseRequest) error {
	if !r.Intake.given() {
		// A critical repair in a home is an emergency however it was raised.
		if r.Priority == alarms.PriorityCritical && (r.Category == "" || r.Category == CategoryHousehold) {
			r.Category = CategoryEmergency
		}
		return nil
	}
	cat, err := r.Intake.check(r.Category, r.Priority, m.now())
	if err != nil {
		return err
	}
	r.Category = cat
	if cat == CategoryEmergency {
		r.Priority = alarms.PriorityCritical
	}
	if strings.TrimSpace(r.Location) == "" {
		r.Location = strings.TrimSpace(r.Home)
	}
	if r.Reporter == "" {
		r.Reporter = strings.TrimSpace(strings.TrimSpace(r.Resident) + " " + strings.TrimSpace(r.Contact))
	}
	return nil
}

// deskOrder gives a filled order its desk record, owned by whoever took the request, and
// sends an emergency to the technician on duty.
func (m *Manager) deskOrder(o *Order, r RaiseRequest) {
	if r.Intake.given() {
		o.Desk = m.policy.newDesk(r.Intake, o.Category, r.By, o.CreatedAt)
	}
	if o.Category == CategoryEmergency {
		if t := m.policy.OnDuty(o.CreatedAt); t != "" {
			o.Assignee, o.AssignedAt = t, o.CreatedAt
		}
	}
}

// checkDesk records and tells of a desk order's missed deadlines of its own, once each: the
// first receiver's answer to the resident and a 12345 case's reply to the hotline.
func (m *Manager) checkDesk(ctx context.Context, o *Order, now time.Time) error {
	if o.Desk == nil {
		return nil
	}
	d := *o.Desk
	var n Notification
	switch {
	case d.Answer.Open() && !d.Answer.Breached && now.After(d.Answer.DueBy):
		d.Answer.Breached = true
		n = Notification{Type: "answer_breach", To: recipients(d.Answer.Owner, o.Supervisor, o.Butler),
			Message: m.t("order.notify.answer_breach", "id", o.ID, "owner", d.Answer.Owner, "home", d.Home, "by", m.fmtTime(d.Answer.DueBy))}
	case d.Hotline != nil && d.Hotline.RepliedAt.IsZero() && !d.Hotline.Breached && now.After(d.Hotline.ReplyBy):
		h := *d.Hotline
		h.Breached = true
		d.Hotline = &h
		n = Notification{Type: "hotline_breach", To: recipients(o.Supervisor, d.Answer.Owner, o.Butler),
			Message: m.t("order.notify.hotline_breach", "id", o.ID, "case", h.Case, "by", m.fmtTime(h.ReplyBy))}
	default:
		return nil
	}
	n.Order, n.At = o.ID, now
	o.Desk = &d
	ch := Change{At: now, By: "system", Action: "breach", From: o.State, To: o.State, Note: n.Message}
	o.History = append(o.History, ch)
	if err := m.store.Update(ctx, o, notes(n)); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil
		}
		return err
	}
	m.kick()
	m.emit(Event{Type: EventBreach, Order: o, Change: &ch, At: now})
	return nil
}

// deskLookback is how far back Tick looks among followed-up and closed orders for a desk
// duty still open (a 12345 reply, an answer): ours, well past any reply deadline the hotline
// gives, which run in days.
const deskLookback = 60 * 24 * time.Hour

// checkDoneDesk checks the desk duties of recent orders past the technician's work, which the
// deadline checks no longer read.
func (m *Manager) checkDoneDesk(ctx context.Context, now time.Time) error {
	var errs []error
	for _, st := range []State{StateFollowedUp, StateClosed} {
		list, err := m.store.List(ctx, Filter{State: st, From: now.Add(-deskLookback)})
		if err != nil {
			return err
		}
		for _, o := range list {
			if err := m.checkDesk(ctx, o, now); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Answers is the first receivers' queue: desk orders whose resident is still to be told,
// due and overdue, soonest first; owner keeps one person's.
func (m *Manager) Answers(ctx context.Context, owner string) (due, overdue []*Order, err error) {
	list, err := m.store.List(ctx, Filter{})
	if err != nil {
		return nil, nil, err
	}
	list = slices.DeleteFunc(list, func(o *Order) bool {
		return o.Desk == nil || !o.Desk.Answer.Open() || o.State == StateCancelled || (owner != "" && o.Desk.Answer.Owner != owner)
	})
	slices.SortStableFunc(list, func(a, b *Order) int { return a.Desk.Answer.DueBy.Compare(b.Desk.Answer.DueBy) })
	now := m.now()
	for _, o := range list {
		if now.After(o.Desk.Answer.DueBy) {
			overdue = append(overdue, o)
		} else {
			due = append(due, o)
		}
	}
	return due, overdue, nil
}
