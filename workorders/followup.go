package workorders

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Points are the three points the plans ask a repair's follow-up call to cover
// (及时性、服务质量、满意程度): was the job on time, was the service good, is the resident
// satisfied. Each is the resident's own answer; the call is satisfied only when all three are.
type Points struct {
	Timeliness   *bool `json:"timeliness,omitempty"`
	Quality      *bool `json:"quality,omitempty"`
	Satisfaction *bool `json:"satisfaction,omitempty"`
}

// PointNames are the points in the order the plans list them, as the API spells them.
var PointNames = []string{"timeliness", "quality", "satisfaction"}

func (p *Points) answers() []*bool { return []*bool{p.Timeliness, p.Quality, p.Satisfaction} }

// missing names the points without an answer.
func (p *Points) missing() []string {
	var out []string
	for i, a := range p.answers() {
		if a == nil {
			out = append(out, PointNames[i])
		}
	}
	return out
}

// Failed names the points the resident was not satisfied with.
func (p *Points) Failed() []string {
	if p == nil {
		return nil
	}
	var out []string
	for i, a := range p.answers() {
		if a != nil && !*a {
			out = append(out, PointNames[i])
		}
	}
	return out
}

// all is the call's overall answer: satisfied only when every point is.
func (p *Points) all() bool { return len(p.Failed()) == 0 && len(p.missing()) == 0 }

// needsPoints reports whether the order's follow-up covers the three points: every repair,
// the resident's household services included. A complaint's call is the department head's
// visit (部门负责人上门回访), answered satisfied or not.
func needsPoints(o *Order) bool { return o.Category != CategoryComplaint }

// followUpDue is when the first level's call is due after a resolution at now, by the plans:
//   - a complaint the same day (一般投诉当天部门负责人上门回访): by the close of the working day;
//   - a household service within one working day (家政维修完成后一个工作日内): FollowUpHousehold of
//     working time;
//   - any other repair the same day (当日回访): by the close of the working day it was resolved
//     in, and never less than FollowUpRepair after it, so that a repair resolved at 17:30 is
//     still called the same evening; one resolved after hours or on a day off is called by the
//     close of the next working day.
func (p *Policy) followUpDue(o *Order, now time.Time) time.Time {
	switch o.Category {
	case CategoryComplaint:
		return p.Calendar.CloseOfDay(now)
	case CategoryHousehold:
		return p.Calendar.Add(now, p.FollowUpHousehold)
	}
	due := p.Calendar.CloseOfDay(now)
	if least := now.Add(p.FollowUpRepair); due.Before(least) {
		due = least
	}
	return due
}

// caller is who makes a call: the person an admin acts for, or the credential's holder.
func caller(in Input) string {
	if in.OnBehalfOf != "" {
		return in.OnBehalfOf
	}
	return in.By
}

// checkFollowUp checks a follow-up call at level (the first level's, or a sampled one) and
// returns the resident's overall answer: the three points of a repair, each answered, or the
// satisfied of a complaint; the caller never the order's own assignee, a complaint's first call
// by the department head, a sampled level's by its staff when the level names them.
func (p *Policy) checkFollowUp(o Order, in Input, level string) (bool, error) {
	who := caller(in)
	if o.Assignee != "" && who == o.Assignee {
		return false, fmt.Errorf("%w: follow_up of %s: %s did the job and may not record its follow-up; customer service or the %s level calls the resident", ErrInvalid, o.ID, who, level)
	}
	if level == p.FirstLevel() && o.Category == CategoryComplaint {
		heads := nonEmpty(o.Supervisor, p.Supervisor)
		if len(heads) > 0 && !slices.Contains(heads, who) {
			return false, fmt.Errorf("%w: follow_up of %s: a complaint is followed up by the department head (%s), not %s", ErrInvalid, o.ID, strings.Join(heads, " or "), who)
		}
	}
	for _, l := range p.Sampling {
		if l.Level == level && len(l.Staff) > 0 && !slices.Contains(l.Staff, who) {
			return false, fmt.Errorf("%w: follow_up of %s: %s is not of the %s level's staff %v (workorders.follow_up.sampling)", ErrInvalid, o.ID, who, level, l.Staff)
		}
	}
	if !needsPoints(&o) || in.Points == nil {
		if needsPoints(&o) {
			return false, fmt.Errorf("%w: follow_up of %s: a repair's follow-up records three points, each the resident's answer (points: {timeliness, quality, satisfaction}: true or false)", ErrInvalid, o.ID)
		}
		if in.Satisfied == nil {
			return false, fmt.Errorf("%w: follow_up of %s: say whether the resident is satisfied (satisfied: true or false)", ErrInvalid, o.ID)
		}
		return *in.Satisfied, nil
	}
	if miss := in.Points.missing(); len(miss) > 0 {
		return false, fmt.Errorf("%w: follow_up of %s: no answer on %s (points: {timeliness, quality, satisfaction}: true or false)", ErrInvalid, o.ID, strings.Join(miss, ", "))
	}
	sat := in.Points.all()
	if in.Satisfied != nil && *in.Satisfied != sat {
		return false, fmt.Errorf("%w: follow_up of %s: satisfied %v disagrees with the points (%s not satisfied); leave satisfied out, the points decide", ErrInvalid, o.ID, *in.Satisfied, strings.Join(in.Points.Failed(), ", "))
	}
	return sat, nil
}

// Problem is one unsatisfied follow-up answer, for the monthly follow-up report's summary of
// the problems found (将当月发现的问题汇总分析): which order, which level called, the points the
// resident was not satisfied with, and what they said.
type Problem struct {
	Order    string    `json:"order"`
	Category string    `json:"category"`
	Zone     string    `json:"zone,omitempty"`
	Location string    `json:"location,omitempty"`
	Team     string    `json:"team,omitempty"`
	Assignee string    `json:"assignee,omitempty"`
	Level    string    `json:"level"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	// Points names the points found wanting; empty for a complaint's call.
	Points []string `json:"points,omitempty"`
	Note   string   `json:"note,omitempty"`
}

// Problems lists the unsatisfied follow-up answers of orders made in [from, to), at every
// level, oldest first: what the monthly report analyses beside the rates.
func Problems(orders []*Order, from, to time.Time) []Problem {
	var out []Problem
	for _, o := range orders {
		for _, h := range o.History {
			if h.Action != string(ActionFollowUp) || h.Satisfied == nil || *h.Satisfied || h.At.Before(from) || !h.At.Before(to) {
				continue
			}
			out = append(out, Problem{Order: o.ID, Category: o.Category, Zone: o.Zone, Location: o.Location, Team: o.Team, Assignee: o.Assignee,
				Level: h.Level, By: h.By, At: h.At, Points: h.Points.Failed(), Note: h.Note})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// FollowUpProblems lists the unsatisfied follow-up answers recorded in [from, to) (Problems)
// over the orders that can hold one: those created up to a year before from, since a call
// comes after the job.
func (m *Manager) FollowUpProblems(ctx context.Context, from, to time.Time) ([]Problem, error) {
	list, err := m.store.List(ctx, Filter{From: from.AddDate(-1, 0, 0), To: to})
	if err != nil {
		return nil, err
	}
	return Problems(list, from, to), nil
}
