package workorders

import (
	"errors"
	"testing"
	"time"
)

func testPolicy(t *testing.T) *Policy {
	t.Helper()
	cal, err := NewCalendar(WorkCalendar{Timezone: "UTC", Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "18:00"})
	if err != nil {
		t.Fatal(err)
	}
	return &Policy{Limits: NewLimits(nil), Calendar: cal, FollowUpRepair: time.Hour, FollowUpHousehold: 9 * time.Hour, Supervisor: "engineering-supervisor"}
}

// TestApply is the lifecycle table: every action from every state, allowed or refused with
// the reason a person reads.
func TestApply(t *testing.T) {
	p := testPolicy(t)
	now := time.Unix(0, 0).UTC()
	tests := []struct {
		name    string
		from    State
		source  Source
		action  Action
		in      Input
		want    State
		wantErr string
	}{
		{name: "accept a new order", from: StateNew, action: ActionAccept, want: StateAccepted},
		{name: "start an accepted one", from: StateAccepted, action: ActionStart, want: StateInProgress},
		{name: "resolve work in progress", from: StateInProgress, action: ActionResolve, want: StateResolved},
		{name: "satisfied follow-up", from: StateResolved, action: ActionFollowUp, in: Input{Points: points(yes, yes, yes)}, want: StateFollowedUp},
		{name: "unsatisfied on one point reopens to accepted", from: StateResolved, action: ActionFollowUp, in: Input{Points: points(yes, no, yes)}, want: StateAccepted},
		{name: "an answer on two points only", from: StateResolved, action: ActionFollowUp, in: Input{Points: &Points{Timeliness: &yes, Satisfaction: &yes}},
			wantErr: "invalid: follow_up of WO-1: no answer on quality (points: {timeliness, quality, satisfaction}: true or false)"},
		{name: "satisfied against the points", from: StateResolved, action: ActionFollowUp, in: Input{Satisfied: &yes, Points: points(no, yes, yes)},
			wantErr: "invalid: follow_up of WO-1: satisfied true disagrees with the points (timeliness not satisfied); leave satisfied out, the points decide"},
		{name: "the technician calls back his own job", from: StateResolved, action: ActionFollowUp, in: Input{By: "tech-chen", Points: points(yes, yes, yes)},
			wantErr: "invalid: follow_up of WO-1: tech-chen did the job and may not record its follow-up; customer service or the team level calls the resident"},
		{name: "an admin records it for the assignee", from: StateResolved, action: ActionFollowUp, in: Input{By: "admin", OnBehalfOf: "tech-chen", Points: points(yes, yes, yes)},
			wantErr: "invalid: follow_up of WO-1: tech-chen did the job and may not record its follow-up; customer service or the team level calls the resident"},
		{name: "close after follow-up", from: StateFollowedUp, action: ActionClose, want: StateClosed},
		{name: "a preventive job closes once resolved", from: StateResolved, source: SourcePreventive, action: ActionClose, want: StateClosed},
		{name: "cancel a new order", from: StateNew, action: ActionCancel, want: StateCancelled},
		{name: "cancel work in progress", from: StateInProgress, action: ActionCancel, want: StateCancelled},
		{name: "reopen a resolved order", from: StateResolved, action: ActionReopen, want: StateAccepted},
		{name: "accept twice", from: StateAccepted, action: ActionAccept, wantErr: "order WO-1 is accepted; accept needs new"},
		{name: "accept a resolved order", from: StateResolved, action: ActionAccept, wantErr: "order WO-1 is resolved; accept needs new"},
		{name: "resolve without starting", from: StateAccepted, action: ActionResolve, wantErr: "order WO-1 is accepted; resolve needs in_progress"},
		{name: "close a repair before its follow-up", from: StateResolved, action: ActionClose, wantErr: "order WO-1 is resolved; close needs followed_up"},
		{name: "cancel a closed order", from: StateClosed, action: ActionCancel, wantErr: "order WO-1 is closed; cancel needs new or accepted or in_progress"},
		{name: "reopen a closed order", from: StateClosed, action: ActionReopen, wantErr: "order WO-1 is closed; reopen needs resolved or followed_up"},
		{name: "follow-up without an answer", from: StateResolved, action: ActionFollowUp, wantErr: "invalid: follow_up of WO-1: a repair's follow-up records three points, each the resident's answer (points: {timeliness, quality, satisfaction}: true or false)"},
		{name: "a repair answered satisfied alone", from: StateResolved, action: ActionFollowUp, in: Input{Satisfied: &yes}, wantErr: "invalid: follow_up of WO-1: a repair's follow-up records three points, each the resident's answer (points: {timeliness, quality, satisfaction}: true or false)"},
		{name: "nobody acting", from: StateNew, action: ActionAccept, in: Input{By: " "}, wantErr: "invalid: accept of WO-1: say who acts (by)"},
		{name: "not an action", from: StateNew, action: "explode", wantErr: `invalid: "explode" is not an action (one of [accept start resolve follow_up close cancel reopen assign arrive verify permit inform handover reply_12345 resident_not_home reschedule quote confirm_charge draw release])`},
		{name: "an alarm-raised repair waits for verification", from: StateInProgress, source: SourceAlarm, action: ActionResolve, want: StateResolved},
		{name: "a preventive job closes when resolved", from: StateInProgress, source: SourcePreventive, action: ActionResolve, want: StateClosed},
		{name: "the supervisor verifies a repair", from: StateResolved, source: SourceAlarm, action: ActionVerify, in: Input{By: "sup-li"}, want: StateClosed},
		{name: "an admin verifies for the supervisor", from: StateResolved, source: SourceAlarm, action: ActionVerify, in: Input{By: "admin", OnBehalfOf: "sup-li"}, want: StateClosed},
		{name: "a technician verifies his own repair", from: StateResolved, source: SourceAlarm, action: ActionVerify, wantErr: "invalid: verify of WO-1: tech is not its supervisor (sup-li or engineering-supervisor)"},
		{name: "verify a resident's report", from: StateResolved, source: SourceManual, action: ActionVerify, in: Input{By: "sup-li"}, wantErr: "invalid: verify of WO-1: an order from manual closes by follow_up, not by verification"},
		{name: "a follow-up call on a pump trip", from: StateResolved, source: SourceAlarm, action: ActionFollowUp, in: Input{Satisfied: &yes}, wantErr: "invalid: follow_up of WO-1: an order from alarm has no follow-up call; it closes by verify"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := Order{ID: "WO-1", State: tc.from, Source: tc.source, Category: "pump_trip", Priority: "high", Supervisor: "sup-li", Assignee: "tech-chen", AcceptBy: now.Add(15 * time.Minute)}
			in := tc.in
			if in.By == "" {
				in.By = "tech"
			}
			got, err := Apply(o, tc.action, in, now, p)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				var te *TransitionError
				if got.State != tc.from || (errors.As(err, &te) == errors.Is(err, ErrInvalid)) {
					t.Fatalf("refused action changed the order or has the wrong kind of error: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tc.want || len(got.History) != 1 || got.History[0].From != tc.from || got.History[0].To != tc.want || got.History[0].By != in.By {
				t.Fatalf("state %s, history %+v", got.State, got.History)
			}
		})
	}
}
