package workorders

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// TestClosingPaths follows each kind of order from resolved to closed over hours of a stepped
// clock: nobody is asked to call back a pump or a PM job, and the deadline checks send no
// "follow-up call not made" notice for them, while a resident's report still gets its call.
func TestClosingPaths(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai) // a Tuesday
	tests := []struct {
		name       string
		verifyFrom string
		priority   alarms.Priority
		want       ClosingPath
	}{
		{name: "every alarm-raised repair is verified by default", priority: alarms.PriorityLow, want: PathVerify},
		{name: "a high-priority repair is verified from high", verifyFrom: "high", priority: alarms.PriorityHigh, want: PathVerify},
		{name: "a critical one too", verifyFrom: "high", priority: alarms.PriorityCritical, want: PathVerify},
		{name: "a medium one closes on its record", verifyFrom: "high", priority: alarms.PriorityMedium, want: PathRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, start, func(c *Config) {
				c.VerifyFrom = tc.verifyFrom
				c.Mappings = append([]Mapping{{Kind: "pump", Category: "pump_trip", Priority: string(tc.priority)}}, c.Mappings...)
			})
			o, err := r.m.HandleAlarm(ctx, raised("P-1", "pump", "north", "pump_trip", alarms.ClassEquipment, start))
			if err != nil {
				t.Fatal(err)
			}
			if got := r.m.Policy().ClosingPath(o); got != tc.want {
				t.Fatalf("closing path %s, want %s", got, tc.want)
			}
			for _, a := range []Action{ActionAccept, ActionStart, ActionResolve} {
				o = r.do(t, o.ID, a, Input{Note: "relay reset"})
			}
			r.clock.Step(3 * time.Hour)
			if err := r.m.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			due, overdue, _ := r.m.FollowUps(ctx)
			if len(due)+len(overdue) != 0 || len(r.notes.ofType("breach")) != 0 {
				t.Fatalf("a pump trip asked for a follow-up: due %v overdue %v, breaches %+v", ids(due), ids(overdue), r.notes.ofType("breach"))
			}
			if tc.want == PathRecord {
				if o.State != StateClosed || !o.ClosedAt.Equal(start) {
					t.Fatalf("below verify_from: state %s closed %v, want closed on resolve", o.State, o.ClosedAt)
				}
				return
			}
			if _, err := r.m.Transition(ctx, o.ID, ActionVerify, Input{By: "tech-chen"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not its supervisor") {
				t.Fatalf("the technician verifies his own repair: %v", err)
			}
			if o.State != StateResolved {
				t.Fatalf("awaiting verification: %s", o.State)
			}
			closed := r.do(t, o.ID, ActionVerify, Input{By: "sup-li", Note: "pressure steady for 3 h"})
			if closed.State != StateClosed || !closed.ClosedAt.Equal(r.clock.Now()) || closed.Satisfied != nil {
				t.Fatalf("verified: %+v", closed)
			}
		})
	}
	t.Run("a dark circuit the night patrol found closes on verification", func(t *testing.T) {
		r := newRig(t, start, nil)
		night := time.Date(2026, 3, 3, 21, 30, 0, 0, shanghai)
		r.clock.Set(night)
		o, err := r.m.FailedCircuit(ctx, "L-1", "circuit_05", night)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.m.Policy().ClosingPath(o); got != PathVerify {
			t.Fatalf("closing path %s, want %s", got, PathVerify)
		}
		r.clock.Set(time.Date(2026, 3, 4, 9, 30, 0, 0, shanghai))
		for _, a := range []Action{ActionAccept, ActionStart, ActionResolve} {
			o = r.do(t, o.ID, a, Input{By: "tech-lin", Note: "lamp and starter replaced"})
		}
		if o.State != StateResolved || !o.FollowUpDue.IsZero() || !o.AwaitsVerification() {
			t.Fatalf("resolved: %s, follow-up due %v, awaiting verification %v", o.State, o.FollowUpDue, o.AwaitsVerification())
		}
		r.clock.Step(48 * time.Hour)
		if err := r.m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		due, overdue, _ := r.m.FollowUps(ctx)
		if len(due)+len(overdue) != 0 || len(r.notes.ofType("breach")) != 0 {
			t.Fatalf("a dark circuit asked for a follow-up call: due %v overdue %v, breaches %+v", ids(due), ids(overdue), r.notes.ofType("breach"))
		}
		if _, err := r.m.Transition(ctx, o.ID, ActionFollowUp, Input{By: "cs-liu", Points: &Points{Timeliness: &yes, Quality: &yes, Satisfaction: &yes}}); !errors.Is(err, ErrInvalid) ||
			!strings.Contains(err.Error(), "has no follow-up call") {
			t.Fatalf("a follow-up call on a patrol's order: %v", err)
		}
		if _, err := r.m.Transition(ctx, o.ID, ActionVerify, Input{By: "tech-lin"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not its supervisor") {
			t.Fatalf("the technician verifies his own repair: %v", err)
		}
		closed := r.do(t, o.ID, ActionVerify, Input{By: r.m.Policy().Supervisor, Note: "circuit 05 lit at dusk"}) // south has no supervisor of its own
		if closed.State != StateClosed || !closed.ClosedAt.Equal(r.clock.Now()) {
			t.Fatalf("verified: %s closed %v", closed.State, closed.ClosedAt)
		}
	})
	t.Run("a resident's report still gets its call", func(t *testing.T) {
		r := newRig(t, start, nil)
		h, err := r.m.Raise(ctx, RaiseRequest{Zone: "north", Location: "3-1802", Title: "Kitchen tap leaks", Reporter: "Ms Zhang 139", By: "cs-liu"})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []Action{ActionAccept, ActionStart, ActionResolve} {
			h = r.do(t, h.ID, a, Input{})
		}
		if h.State != StateResolved || h.FollowUpDue.IsZero() {
			t.Fatalf("household repair resolved: %s, follow-up due %v", h.State, h.FollowUpDue)
		}
		if _, err := r.m.Transition(ctx, h.ID, ActionVerify, Input{By: "sup-li"}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("verify instead of the resident's call: %v", err)
		}
		r.clock.Step(48 * time.Hour)
		r.m.Tick(ctx)
		if n := r.notes.ofType("breach"); len(n) != 1 || !strings.Contains(n[0].Message, "follow-up") {
			t.Fatalf("the missed call is escalated: %+v", n)
		}
	})
}
