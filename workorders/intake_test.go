package workorders

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// phoneCall is a resident's call taken by customer service.
func phoneCall(title string) RaiseRequest {
	return RaiseRequest{Zone: "north", Title: title, By: "cs-liu",
		Intake: Intake{Channel: ChannelPhone, Resident: "Mrs Zhang", Home: "3-1-1802", Contact: "138 0000 0000"}}
}

// TestIntake: a request records its channel, resident, home, contact, kind and the time it
// was taken; what cannot be filed is refused with what to fix.
func TestIntake(t *testing.T) {
	ctx := context.Background()
	tue := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	r := newRig(t, tue, nil)
	o, err := r.m.Raise(ctx, phoneCall("Kitchen tap drips"))
	if err != nil {
		t.Fatal(err)
	}
	d := o.Desk
	if d == nil || d.Channel != ChannelPhone || d.Kind != KindRoutine || d.Resident != "Mrs Zhang" || d.Home != "3-1-1802" || d.Contact != "138 0000 0000" ||
		!d.ReceivedAt.Equal(tue) || o.Category != CategoryHousehold || o.Location != "3-1-1802" {
		t.Fatalf("desk record %+v, order category %s location %q", d, o.Category, o.Location)
	}
	if d.Answer.Owner != "cs-liu" || !d.Answer.DueBy.Equal(tue.Add(time.Hour)) {
		t.Fatalf("answer %+v: want cs-liu's within the hour", d.Answer)
	}
	kinds := []struct {
		kind RequestKind
		want string
	}{{KindComplaint, CategoryComplaint}, {KindSuggestion, CategorySuggestion}, {KindInternal, CategoryInternal}}
	for _, k := range kinds {
		req := phoneCall("x")
		req.Kind = k.kind
		got, err := r.m.Raise(ctx, req)
		if err != nil || got.Category != k.want || got.Desk.Kind != k.kind {
			t.Errorf("kind %s: %v, category %v", k.kind, err, got)
		}
	}

	window := &Window{From: tue.Add(4 * time.Hour), To: tue.Add(6 * time.Hour)}
	tests := []struct {
		name string
		mod  func(*RaiseRequest)
		want string
	}{
		{"unknown channel", func(r *RaiseRequest) { r.Channel = "fax" }, `channel "fax" is not one of`},
		{"home without unit", func(r *RaiseRequest) { r.Home = "3-1802" }, `home "3-1802": write it building-unit-room, e.g. 3-1-1802`},
		{"repair without home", func(r *RaiseRequest) { r.Home = "" }, "home: a routine repair is in a home"},
		{"nobody named", func(r *RaiseRequest) { r.Resident = "" }, "resident: say who made the request"},
		{"unknown kind", func(r *RaiseRequest) { r.Kind = "urgent" }, `kind "urgent" is not one of`},
		{"12345 without case", func(r *RaiseRequest) { r.Channel = ChannelHotline }, "a 12345 case needs the hotline's case number (hotline_case) and its reply deadline (reply_by)"},
		{"12345 deadline past", func(r *RaiseRequest) {
			r.Channel, r.HotlineCase, r.ReplyBy = ChannelHotline, "SZ-1", tue.Add(-time.Minute)
		}, "reply_by 2026-03-03T09:59:00+08:00 is already past"},
		{"case number off the hotline", func(r *RaiseRequest) { r.HotlineCase = "SZ-1" }, "hotline_case and reply_by are for the 12345 channel"},
		{"paid without appointment", func(r *RaiseRequest) { r.Kind = KindPaid }, "visit: a paid request is by appointment"},
		{"window backwards", func(r *RaiseRequest) {
			r.Kind, r.Visit = KindPaid, &Window{From: window.To, To: window.From}
		}, "visit: give the window as from and to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := phoneCall("x")
			tt.mod(&req)
			_, err := r.m.Raise(ctx, req)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	// An order raised by engineering without a resident has no desk record, as before.
	plain, err := r.m.Raise(ctx, RaiseRequest{Zone: "north", Title: "Door closer", By: "eng-he"})
	if err != nil || plain.Desk != nil {
		t.Fatalf("plain order: %v %+v", err, plain)
	}
}

// TestEmergencyRepair: a critical report in a home on a Friday evening is an emergency
// repair, due within minutes by the clock and sent to the night's duty technician, not
// left for Monday's working hours.
func TestEmergencyRepair(t *testing.T) {
	ctx := context.Background()
	fri := time.Date(2026, 3, 6, 20, 0, 0, 0, shanghai)
	r := newRig(t, fri, func(c *Config) {
		c.Duty = []DutyShift{{Technician: "tech-chen", Start: "09:00", End: "18:00"}, {Technician: "tech-wu", Start: "18:00", End: "09:00"}}
	})
	tests := []struct {
		name     string
		at       time.Time
		category string
		duty     string
	}{
		{"friday 20:00", fri, "", "tech-wu"},
		{"saturday 03:00", time.Date(2026, 3, 7, 3, 0, 0, 0, shanghai), CategoryEmergency, "tech-wu"},
		{"monday 10:00", time.Date(2026, 3, 9, 10, 0, 0, 0, shanghai), CategoryHousehold, "tech-chen"},
		{"raised without the desk's fields", time.Date(2026, 3, 6, 22, 0, 0, 0, shanghai), "", "tech-wu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.clock.Set(tt.at)
			req := phoneCall("Burst pipe under the sink")
			req.Priority, req.Category = alarms.PriorityCritical, tt.category
			if tt.name == "raised without the desk's fields" {
				req.Intake = Intake{}
			}
			o, err := r.m.Raise(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if o.Category != CategoryEmergency || !o.AcceptBy.Equal(tt.at.Add(15*time.Minute)) || !o.ArriveBy.Equal(tt.at.Add(30*time.Minute)) {
				t.Fatalf("%s order: accept by %v, arrive by %v; want %v and %v", o.Category, o.AcceptBy, o.ArriveBy, tt.at.Add(15*time.Minute), tt.at.Add(30*time.Minute))
			}
			if o.Assignee != tt.duty {
				t.Fatalf("assigned to %q, want the duty technician %s", o.Assignee, tt.duty)
			}
			found := false
			for _, n := range r.notes.ofType("assigned") {
				found = found || (n.Order == o.ID && n.Assignee == tt.duty)
			}
			if !found {
				t.Fatalf("the duty technician's handset is not told of %s", o.ID)
			}
		})
	}
	r.clock.Set(fri.Add(16 * time.Minute))
	if err := r.m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := r.notes.ofType("breach"); len(n) == 0 || n[0].Order != "WO-1" {
		t.Fatalf("an emergency not accepted in 15 min on a Friday night is not a breach: %+v", n)
	}
}

// TestHotlineReplyDeadline: a 12345 case carries the hotline's case number and reply
// deadline; past it unanswered, the supervisor and the first receiver are told once.
func TestHotlineReplyDeadline(t *testing.T) {
	ctx := context.Background()
	tue := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	r := newRig(t, tue, nil)
	req := phoneCall("Water stain on the ceiling, reported to 12345")
	req.Channel, req.HotlineCase, req.ReplyBy = ChannelHotline, "SZ20260303-0042", tue.Add(24*time.Hour)
	o, err := r.m.Raise(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if h := o.Desk.Hotline; h == nil || h.Case != "SZ20260303-0042" || !h.ReplyBy.Equal(tue.Add(24*time.Hour)) {
		t.Fatalf("hotline case %+v", o.Desk.Hotline)
	}
	r.do(t, o.ID, ActionInform, Input{By: "cs-liu", Note: "plumber tomorrow morning"})
	for _, step := range []struct {
		at   time.Duration
		want int
	}{{23 * time.Hour, 0}, {25 * time.Hour, 1}, {26 * time.Hour, 1}} {
		r.clock.Set(tue.Add(step.at))
		if err := r.m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		n := r.notes.ofType("hotline_breach")
		if len(n) != step.want {
			t.Fatalf("at +%v: %d hotline notices, want %d", step.at, len(n), step.want)
		}
		if step.want == 1 && (n[0].To[0] != "sup-li" || !strings.Contains(n[0].Message, "SZ20260303-0042")) {
			t.Fatalf("notice %+v: want the supervisor told of the case", n[0])
		}
	}
	got := r.do(t, o.ID, ActionHotlineReply, Input{By: "cs-liu", Note: "repaired, resident satisfied"})
	if h := got.Desk.Hotline; h.RepliedAt.IsZero() || !h.Breached {
		t.Fatalf("reply %+v: want recorded, and late", h)
	}
	if _, err := r.m.Transition(ctx, o.ID, ActionHotlineReply, Input{By: "cs-liu", Note: "again"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a second reply: %v", err)
	}

	// A case repaired and closed within the hour is still to be answered to the hotline.
	r.clock.Set(tue.Add(48 * time.Hour))
	req.HotlineCase, req.ReplyBy = "SZ20260305-0007", tue.Add(72*time.Hour)
	quick, err := r.m.Raise(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r.do(t, quick.ID, ActionInform, Input{By: "boss", OnBehalfOf: "cs-liu", Note: "on the way"})
	for _, a := range []Action{ActionAccept, ActionArrive, ActionStart, ActionResolve} {
		r.do(t, quick.ID, a, Input{By: "tech-chen"})
	}
	r.do(t, quick.ID, ActionFollowUp, Input{By: "cs-liu", Points: points(true, true, true)})
	if c := r.do(t, quick.ID, ActionClose, Input{By: "cs-liu"}); c.State != StateClosed {
		t.Fatalf("state %s", c.State)
	}
	r.clock.Set(tue.Add(73 * time.Hour))
	if err := r.m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := r.notes.ofType("hotline_breach"); len(n) != 2 || n[1].Order != quick.ID {
		t.Fatalf("a closed order's 12345 case past its deadline: %+v", n)
	}
}

// TestFirstReceiverAnswer: whoever takes the request owns the answer to the resident within
// the hour, apart from the technician's job; only they hand it over, to a named person, and
// the queue and the breach follow it.
func TestFirstReceiverAnswer(t *testing.T) {
	ctx := context.Background()
	tue := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	r := newRig(t, tue, nil)
	o, err := r.m.Raise(ctx, phoneCall("No hot water"))
	if err != nil {
		t.Fatal(err)
	}
	due, _, _ := r.m.Answers(ctx, "cs-liu")
	if len(due) != 1 || due[0].ID != o.ID {
		t.Fatalf("cs-liu's queue %v", due)
	}
	refusals := []struct {
		name string
		a    Action
		in   Input
		want string
	}{
		{"the technician informs", ActionInform, Input{By: "tech-chen", Note: "coming"}, "is cs-liu's (first receiver)"},
		{"someone else hands over", ActionHandover, Input{By: "cs-ma", To: "cs-ma"}, "is cs-liu's (first receiver)"},
		{"handover to nobody", ActionHandover, Input{By: "cs-liu"}, "name the person who takes the answer over (to)"},
		{"inform without what was said", ActionInform, Input{By: "cs-liu"}, "say what the resident was told (note)"},
	}
	for _, tt := range refusals {
		if _, err := r.m.Transition(ctx, o.ID, tt.a, tt.in); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	// The technician's job goes on apart from the answer.
	r.do(t, o.ID, ActionAccept, Input{By: "tech-chen"})
	r.clock.Step(20 * time.Minute)
	r.do(t, o.ID, ActionArrive, Input{By: "tech-chen"})
	h := r.do(t, o.ID, ActionHandover, Input{By: "cs-liu", To: "cs-ma", Note: "end of my shift"})
	if h.Desk.Answer.Owner != "cs-ma" || !h.Desk.Answer.DueBy.Equal(tue.Add(time.Hour)) || h.State != StateAccepted {
		t.Fatalf("after handover %+v (state %s): want cs-ma's, still due at 11:00", h.Desk.Answer, h.State)
	}
	if due, _, _ := r.m.Answers(ctx, "cs-liu"); len(due) != 0 {
		t.Fatalf("cs-liu still holds %v", due)
	}
	r.clock.Set(tue.Add(61 * time.Minute))
	if err := r.m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	n := r.notes.ofType("answer_breach")
	if len(n) != 1 || n[0].To[0] != "cs-ma" {
		t.Fatalf("answer breach %+v: want cs-ma told", n)
	}
	if _, late, _ := r.m.Answers(ctx, "cs-ma"); len(late) != 1 {
		t.Fatalf("cs-ma's overdue queue %v", late)
	}
	if r.notes.ofType("breach") != nil {
		t.Fatalf("the answer's breach counted against the technician: %+v", r.notes.ofType("breach"))
	}
	done := r.do(t, o.ID, ActionInform, Input{By: "cs-ma", Note: "Chen is on his way"})
	if done.Desk.Answer.AnsweredAt.IsZero() || !done.Desk.Answer.Breached {
		t.Fatalf("answer %+v", done.Desk.Answer)
	}
	if due, late, _ := r.m.Answers(ctx, ""); len(due)+len(late) != 0 {
		t.Fatalf("answered request still queued: %v %v", due, late)
	}
	r.clock.Step(time.Hour)
	r.m.Tick(ctx)
	if n := r.notes.ofType("answer_breach"); len(n) != 1 {
		t.Fatalf("answer breach told %d times", len(n))
	}
}

// TestAppointment: a paid job's arrival is judged against the booked window; the resident
// out stops the clock until a new window, and is no breach.
func TestAppointment(t *testing.T) {
	ctx := context.Background()
	tue := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	at := func(day, h, m int) time.Time { return time.Date(2026, 3, day, h, m, 0, 0, shanghai) }
	r := newRig(t, tue, nil)
	book := func(t *testing.T, from, to time.Time) *Order {
		t.Helper()
		req := phoneCall("Replace the bathroom fan")
		req.Kind, req.Visit = KindPaid, &Window{From: from, To: to}
		o, err := r.m.Raise(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		r.clock.Set(tue)
		return r.do(t, o.ID, ActionAccept, Input{By: "tech-chen"})
	}
	o := book(t, at(3, 14, 0), at(3, 16, 0))
	if !o.ArriveBy.Equal(at(3, 16, 0)) {
		t.Fatalf("arrive by %v, want the window's end", o.ArriveBy)
	}
	r.clock.Set(at(3, 14, 30))
	out := r.do(t, o.ID, ActionNotHome, Input{By: "tech-chen", Note: "nobody answered the door"})
	if v := out.Desk.Visit; !v.Paused || len(v.NotHome) != 1 || !out.ArriveBy.IsZero() || !out.CompleteBy.IsZero() {
		t.Fatalf("not home: visit %+v, arrive by %v, complete by %v", v, out.ArriveBy, out.CompleteBy)
	}
	if _, err := r.m.Transition(ctx, o.ID, ActionArrive, Input{By: "tech-chen"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "reschedule") {
		t.Fatalf("arrival while no time is agreed: %v", err)
	}
	r.clock.Set(at(4, 9, 0))
	if err := r.m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := r.notes.ofType("breach"); len(n) != 0 {
		t.Fatalf("the resident out counted as a breach: %+v", n)
	}
	re := r.do(t, o.ID, ActionReschedule, Input{By: "cs-liu", Visit: &Window{From: at(4, 10, 0), To: at(4, 12, 0)}})
	if re.Desk.Visit.Paused || !re.ArriveBy.Equal(at(4, 12, 0)) || re.CompleteBy.IsZero() {
		t.Fatalf("rescheduled: visit %+v, arrive by %v", re.Desk.Visit, re.ArriveBy)
	}
	arrivals := []struct {
		name     string
		at       time.Time
		want     Arrival
		breached bool
	}{
		{"within", at(4, 10, 30), ArrivalWithin, false},
		{"early", at(4, 9, 30), ArrivalEarly, false},
		{"late", at(4, 12, 30), ArrivalLate, true},
	}
	for i, tt := range arrivals {
		t.Run(tt.name, func(t *testing.T) {
			id := o.ID
			if i > 0 {
				id = book(t, at(4, 10, 0), at(4, 12, 0)).ID
			}
			r.clock.Set(tt.at)
			got := r.do(t, id, ActionArrive, Input{By: "tech-chen"})
			if got.Desk.Visit.Arrival != tt.want || got.ArriveBreached != tt.breached {
				t.Fatalf("arrival %q breached %v, want %q %v", got.Desk.Visit.Arrival, got.ArriveBreached, tt.want, tt.breached)
			}
		})
	}
}
