package workorders

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// points is a repair's three follow-up answers: timeliness, quality, satisfaction.
func points(timely, quality, satisfied bool) *Points {
	return &Points{Timeliness: &timely, Quality: &quality, Satisfaction: &satisfied}
}

// TestSampledShares: over 1,000 residents' repairs the service centre calls every one, the
// quality department about half and the centre director about 40% (the plans' 两级回访), each
// within 3 points; complaints are called at the service centre only.
func TestSampledShares(t *testing.T) {
	p := testPolicy(t)
	p.Sampling = DefaultSampling()
	want := map[string]float64{"team": 1, "quality": 0.5, "management": 0.4}
	got := map[string]int{}
	const n = 1000
	for i := 1; i <= n; i++ {
		o := &Order{ID: fmt.Sprintf("WO-%d", i), Source: SourceManual, Category: CategoryHousehold}
		c := &Order{ID: fmt.Sprintf("WO-%d", n+i), Source: SourceManual, Category: CategoryComplaint}
		for level := range want {
			if p.Sampled(o, level) {
				got[level]++
			}
			if p.Sampled(c, level) != (level == "team") {
				t.Fatalf("complaint %s: sampled at %s is %v; complaints are called at the service centre (team) only", c.ID, level, p.Sampled(c, level))
			}
		}
	}
	for level, share := range want {
		if s := float64(got[level]) / n; math.Abs(s-share) > 0.03 {
			t.Errorf("%s calls back %.1f%% of the repairs, want %.0f%% ± 3", level, 100*s, 100*share)
		}
	}
}

// TestFollowUpDue: when the first call is due after a resolution, by the plans: a repair and a
// complaint the same day, a household service within one working day.
func TestFollowUpDue(t *testing.T) {
	p := testPolicy(t)                                                                       // UTC, Monday to Friday 09:00-18:00; repair calls get at least an hour
	at := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, time.UTC) } // 2 March is a Monday
	tests := []struct {
		name     string
		category string
		resolved time.Time
		want     time.Time
	}{
		{"a repair in the morning: by the close of the day", "plumbing", at(3, 10, 0), at(3, 18, 0)},
		{"a repair at 17:30: the same evening, an hour to call", "plumbing", at(3, 17, 30), at(3, 18, 30)},
		{"a repair on Saturday: by Monday's close", "plumbing", at(7, 11, 0), at(9, 18, 0)},
		{"a complaint at 17:30: the same day", CategoryComplaint, at(3, 17, 30), at(3, 18, 0)},
		{"a complaint after hours: the next working day", CategoryComplaint, at(3, 19, 0), at(4, 18, 0)},
		{"a household service: one working day", CategoryHousehold, at(3, 17, 30), at(4, 17, 30)},
		{"a household service on Friday: Monday", CategoryHousehold, at(6, 10, 0), at(9, 10, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &Order{Category: tc.category, Source: SourceManual}
			if got := p.followUpDue(o, tc.resolved); !got.Equal(tc.want) {
				t.Fatalf("resolved %v: follow-up due %v, want %v", tc.resolved, got, tc.want)
			}
		})
	}
}

// TestFollowUpCallers: who may record a call. The technician who did the job never; a
// complaint's call the department head; a sampled level's call its staff when configured.
func TestFollowUpCallers(t *testing.T) {
	p := testPolicy(t)
	p.Sampling = []SamplingLevel{{Level: "team", Share: 1}, {Level: "quality", Share: 1, Staff: []string{"qa-sun"}}}
	now := time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
	repair := Order{ID: "WO-1", Source: SourceManual, Category: CategoryHousehold, State: StateResolved, Assignee: "tech-chen", Supervisor: "sup-li"}
	complaint := Order{ID: "WO-2", Source: SourceManual, Category: CategoryComplaint, State: StateResolved, Assignee: "tech-chen", Supervisor: "sup-li"}
	done := repair
	done.State = StateFollowedUp
	tests := []struct {
		name    string
		o       Order
		in      Input
		wantErr string
	}{
		{"customer service calls a repair", repair, Input{By: "cs-liu", Points: points(yes, yes, yes)}, ""},
		{"the assignee calls his own repair", repair, Input{By: "tech-chen", Points: points(yes, yes, yes)}, "tech-chen did the job"},
		{"the department head calls a complaint", complaint, Input{By: "sup-li", Satisfied: &yes}, ""},
		{"the estate's supervisor calls a complaint", complaint, Input{By: "engineering-supervisor", Satisfied: &yes}, ""},
		{"customer service calls a complaint", complaint, Input{By: "cs-liu", Satisfied: &yes}, "a complaint is followed up by the department head (sup-li or engineering-supervisor), not cs-liu"},
		{"quality staff call their sample", done, Input{By: "qa-sun", Level: "quality", Points: points(yes, yes, yes)}, ""},
		{"someone else calls for quality", done, Input{By: "cs-liu", Level: "quality", Points: points(yes, yes, yes)}, "cs-liu is not of the quality level's staff [qa-sun]"},
		{"the assignee calls for quality", done, Input{By: "tech-chen", Level: "quality", Points: points(yes, yes, yes)}, "tech-chen did the job"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Apply(tc.o, ActionFollowUp, tc.in, now, p)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if h := got.History[len(got.History)-1]; h.By != tc.in.By || h.Satisfied == nil || !*h.Satisfied {
					t.Fatalf("the call is not recorded: %+v", h)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) || len(got.History) != 0 {
				t.Fatalf("error %v, want one saying %q and the order unchanged", err, tc.wantErr)
			}
		})
	}
}

// TestComplaintAtHalfPastFive: a complaint handled by the team and resolved at 17:30 is due
// its call the same day; the department head's call at 17:50 is on time, nothing is
// escalated, and the answer closes the call.
func TestComplaintAtHalfPastFive(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, time.Date(2026, 3, 3, 15, 0, 0, 0, shanghai), nil) // a Tuesday
	c, err := r.m.Raise(ctx, RaiseRequest{Zone: "north", Location: "3-1802", Category: CategoryComplaint, Title: "Nobody came about the leak", By: "cs-liu"})
	if err != nil {
		t.Fatal(err)
	}
	r.do(t, c.ID, ActionAccept, Input{By: "tech-chen"})
	r.do(t, c.ID, ActionStart, Input{By: "tech-chen"})
	r.clock.Set(time.Date(2026, 3, 3, 17, 30, 0, 0, shanghai))
	res := r.do(t, c.ID, ActionResolve, Input{By: "tech-chen"})
	if want := time.Date(2026, 3, 3, 18, 0, 0, 0, shanghai); !res.FollowUpDue.Equal(want) {
		t.Fatalf("complaint resolved 17:30: follow-up due %v, want the same day %v", res.FollowUpDue, want)
	}
	if _, err := r.m.Transition(ctx, c.ID, ActionFollowUp, Input{By: "tech-chen", Satisfied: &yes}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("the technician followed up his own complaint: %v", err)
	}
	r.clock.Set(time.Date(2026, 3, 3, 17, 50, 0, 0, shanghai))
	done := r.do(t, c.ID, ActionFollowUp, Input{By: "sup-li", Satisfied: &yes, Note: "visited, apologised"})
	if done.State != StateFollowedUp || !done.FollowedUpAt.Before(res.FollowUpDue) {
		t.Fatalf("the head's call: state %s at %v", done.State, done.FollowedUpAt)
	}
	r.clock.Set(time.Date(2026, 3, 3, 19, 0, 0, 0, shanghai))
	if err := r.m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := r.notes.ofType("breach"); len(n) != 0 {
		t.Fatalf("a call made the same day escalated: %+v", n)
	}
}

// TestFollowUpProblems: the unsatisfied answers of the month at every level, with the points
// found wanting and what the resident said, for the monthly follow-up report.
func TestFollowUpProblems(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai), func(c *Config) {
		c.FollowUp.Sampling = []SamplingLevel{{Level: "team", Share: 1}, {Level: "quality", Share: 1}}
	})
	job := func(loc string) *Order {
		o, err := r.m.Raise(ctx, RaiseRequest{Zone: "north", Location: loc, Title: "tap leaks at " + loc, By: "cs-liu"})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []Action{ActionAccept, ActionStart, ActionResolve} {
			r.do(t, o.ID, a, Input{})
		}
		return o
	}
	a, b := job("3-1802"), job("5-0301")
	r.do(t, a.ID, ActionFollowUp, Input{By: "cs-liu", Points: points(no, yes, no), Note: "came two days late"})
	r.do(t, b.ID, ActionFollowUp, Input{By: "cs-liu", Points: points(yes, yes, yes)})
	r.clock.Step(time.Hour)
	r.do(t, b.ID, ActionFollowUp, Input{By: "qa-sun", Level: "quality", Points: points(yes, no, yes), Note: "left a mess"})
	got, err := r.m.FollowUpProblems(ctx, time.Date(2026, 3, 1, 0, 0, 0, 0, shanghai), time.Date(2026, 4, 1, 0, 0, 0, 0, shanghai))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint([]string{a.ID + " team cs-liu [timeliness satisfaction] came two days late", b.ID + " quality qa-sun [quality] left a mess"})
	var list []string
	for _, p := range got {
		list = append(list, fmt.Sprint(p.Order, " ", p.Level, " ", p.By, " ", p.Points, " ", p.Note))
	}
	if fmt.Sprint(list) != want {
		t.Fatalf("problems\n%v\nwant\n%v", list, want)
	}
	if later, _ := r.m.FollowUpProblems(ctx, time.Date(2026, 4, 1, 0, 0, 0, 0, shanghai), time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)); len(later) != 0 {
		t.Fatalf("April lists March's problems: %+v", later)
	}
}
