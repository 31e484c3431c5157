package patrol

import (
	"fmt"
	"slices"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// Guard is one member of the patrol and the handset alerts reach.
type Guard struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Handset string `json:"handset,omitempty"`
	// Mobile reaches the guard by SMS and call. It stays out of payloads: a zone's topic is
	// read by every handset of the zone.
	Mobile string `json:"-"`
	// AppUser is the guard's user id in each work-group app (wecom, dingtalk, feishu), for an
	// @-mention where the app knows the guard by id rather than by mobile.
	AppUser map[string]string `json:"-"`
}

type shift struct {
	name                 string
	start, end           int // minutes after local midnight; end may be before start
	supervisor, fallback string
}

func (s shift) covers(m int) bool {
	if s.start < s.end {
		return m >= s.start && m < s.end
	}
	return m >= s.start || m < s.end
}

// Roster answers who is on duty where and when, and how an alarm is routed to them. It is
// built once from validated configuration and read-only after.
type Roster struct {
	loc    *time.Location
	shifts []shift
	guards map[string]Guard
	groups []Group
	rules  []Rule
	esc    Escalation
}

// DefaultRules route alarms when the configuration names none; the first match wins.
// Communication loss is engineering's business, on the console, unless its priority is high
// or critical (a fire panel that stops answering): then the zone's group hears of it on every
// shift, as of any high alarm. Life safety and critical reach the zone's group and the
// supervisor at once, on the work-group robots and by SMS too; high the zone's group on the
// handsets and robots; medium and low reach the group by day and wait for the console at
// night. Channels a site has not configured are left out when the alert is sent.
func DefaultRules() []Rule {
	all := []string{"mqtt", "webhook", "console", "wecom", "dingtalk", "feishu"}
	urgent := append(slices.Clone(all), "sms")
	return []Rule{
		{Class: alarms.ClassCommunication, Priority: alarms.PriorityCritical, Notify: []string{"group", "supervisor"}, Channels: urgent},
		{Class: alarms.ClassCommunication, Priority: alarms.PriorityHigh, Notify: []string{"group"}, Channels: all},
		{Class: alarms.ClassCommunication, Notify: []string{"engineering"}, Channels: []string{"console"}},
		{Class: alarms.ClassLifeSafety, Notify: []string{"group", "supervisor"}, Channels: urgent},
		{Priority: alarms.PriorityCritical, Notify: []string{"group", "supervisor"}, Channels: urgent},
		{Priority: alarms.PriorityHigh, Notify: []string{"group"}, Channels: all},
		{Priority: alarms.PriorityMedium, Shift: "night", Notify: []string{"engineering"}, Channels: []string{"console"}},
		{Priority: alarms.PriorityLow, Shift: "night", Notify: []string{"engineering"}, Channels: []string{"console"}},
		{Notify: []string{"group"}, Channels: []string{"mqtt", "console"}},
	}
}

// NewRoster builds the roster from a validated configuration: nil Location is the machine's
// zone, no rules are DefaultRules.
func NewRoster(c Config) (*Roster, error) {
	c = c.withDefaults()
	r := &Roster{loc: c.Location, guards: map[string]Guard{}, groups: c.Groups, rules: c.Rules, esc: c.Escalation}
	for _, g := range c.Guards {
		r.guards[g.ID] = g
	}
	for _, s := range c.Shifts {
		start, err := ParseClock(s.Start)
		if err != nil {
			return nil, fmt.Errorf("patrol shift %s start: %w", s.Name, err)
		}
		end, err := ParseClock(s.End)
		if err != nil {
			return nil, fmt.Errorf("patrol shift %s end: %w", s.Name, err)
		}
		r.shifts = append(r.shifts, shift{name: s.Name, start: start, end: end, supervisor: s.Supervisor, fallback: s.Fallback})
	}
	return r, nil
}

// Location is the site's time zone.
func (r *Roster) Location() *time.Location { return r.loc }

// Guard looks a guard up by id.
func (r *Roster) Guard(id string) (Guard, bool) {
	g, ok := r.guards[id]
	return g, ok
}

// GuardByMobile finds the guard a phone number belongs to (an SMS reply's sender).
func (r *Roster) GuardByMobile(number string) (Guard, bool) {
	for _, g := range r.guards {
		if g.Mobile != "" && sameNumber(g.Mobile, number) {
			return g, true
		}
	}
	return Guard{}, false
}

// Covers reports whether guard may answer for zone: a supervisor or fallback of any shift,
// or a member of a group (of any shift) that patrols the zone or every zone ("*").
func (r *Roster) Covers(guard, zone string) bool {
	for _, s := range r.shifts {
		if s.supervisor == guard || s.fallback == guard {
			return true
		}
	}
	for _, g := range r.groups {
		if slices.Contains(g.Guards, guard) && (slices.Contains(g.Zones, zone) || slices.Contains(g.Zones, "*")) {
			return true
		}
	}
	return false
}

func (r *Roster) shiftAt(t time.Time) shift {
	lt := t.In(r.loc)
	m := lt.Hour()*60 + lt.Minute()
	for _, s := range r.shifts {
		if s.covers(m) {
			return s
		}
	}
	return shift{}
}

// HasShift reports whether the roster has a shift of that name.
func (r *Roster) HasShift(name string) bool {
	return slices.ContainsFunc(r.shifts, func(s shift) bool { return s.name == name })
}

// ShiftAt names the shift on duty at t.
func (r *Roster) ShiftAt(t time.Time) string { return r.shiftAt(t).name }

// GroupGuards returns the guards of the groups patrolling zone during the named shift.
func (r *Roster) GroupGuards(shiftName, zone string) []string {
	var out []string
	for _, g := range r.groups {
		if g.Shift != shiftName || !(slices.Contains(g.Zones, zone) || slices.Contains(g.Zones, "*")) {
			continue
		}
		for _, id := range g.Guards {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// ZoneSupervisors returns the security supervisors of the groups patrolling zone during the
// named shift.
func (r *Roster) ZoneSupervisors(shiftName, zone string) []string {
	var out []string
	for _, g := range r.groups {
		if g.Supervisor == "" || g.Shift != shiftName || !(slices.Contains(g.Zones, zone) || slices.Contains(g.Zones, "*")) {
			continue
		}
		if !slices.Contains(out, g.Supervisor) {
			out = append(out, g.Supervisor)
		}
	}
	return out
}

// Route is where one alarm's alert goes.
type Route struct {
	Shift string
	// Guards are told at once; Supervisor too when the rule says so, otherwise only on
	// escalation. Fallback is told when the supervisor leaves it unclaimed as well.
	Guards     []string
	Supervisor string
	Fallback   string
	// Channels carry the alert: mqtt, webhook, console, the robots, sms.
	Channels []string
	Timing   Timing
	// Ladder is who is reached, how and when, while nobody claims.
	Ladder []Rung
}

// Route decides who is told of an alarm raised at t, and how: the first matching rule wins.
func (r *Roster) Route(a alarms.Alarm, t time.Time) Route {
	s := r.shiftAt(t)
	out := Route{Shift: s.name, Supervisor: s.supervisor, Fallback: s.fallback, Timing: r.Timing(a), Channels: []string{"console"}}
	for _, rule := range r.rules {
		if !matches(string(rule.Priority), string(a.Priority)) || !matches(string(rule.Class), string(a.Class)) ||
			!matches(rule.Zone, a.Zone) || !matches(rule.Shift, s.name) {
			continue
		}
		out.Channels = rule.Channels
		for _, n := range rule.Notify {
			switch n {
			case "group":
				for _, g := range r.GroupGuards(s.name, a.Zone) {
					if !slices.Contains(out.Guards, g) {
						out.Guards = append(out.Guards, g)
					}
				}
			case "supervisor":
				if s.supervisor != "" && !slices.Contains(out.Guards, s.supervisor) {
					out.Guards = append(out.Guards, s.supervisor)
				}
			}
		}
		if len(out.Guards) == 0 {
			// Engineering's alarms wait on the console; nobody's handset is to be claimed from,
			// so nothing escalates.
			out.Timing = Timing{}
			out.Supervisor, out.Fallback = "", ""
		}
		out.Ladder = r.ladder(a, s, out)
		return out
	}
	out.Timing = Timing{}
	out.Supervisor, out.Fallback = "", ""
	return out
}

// ladder resolves the escalation ladder of an alarm routed as out: the configured rungs, or
// the one built from Escalate. The built one reaches the supervisor at Escalate on the
// rule's channels and by SMS, and the fallback at twice Escalate the same way; a life-safety
// or critical alarm also calls the supervisor half an Escalate after the SMS (time to read
// it first; ours) and calls the fallback with the SMS. Rungs that reach nobody are left out.
func (r *Roster) ladder(a alarms.Alarm, s shift, out Route) []Rung {
	t := out.Timing
	rungs := t.Ladder
	if len(rungs) == 0 && t.Escalate > 0 {
		urgent := a.Class == alarms.ClassLifeSafety || a.Priority == alarms.PriorityCritical
		apps := appendNew(slices.Clone(out.Channels), "sms")
		rungs = []LadderStep{{After: t.Escalate, Notify: []string{"supervisor"}, Channels: apps}}
		last := apps
		if urgent {
			rungs = append(rungs, LadderStep{After: t.Escalate + t.Escalate/2, Notify: []string{"supervisor"}, Channels: []string{"call"}})
			last = appendNew(slices.Clone(apps), "call")
		}
		rungs = append(rungs, LadderStep{After: 2 * t.Escalate, Notify: []string{"fallback"}, Channels: last})
	}
	var ladder []Rung
	for _, rung := range rungs {
		var to []string
		for _, n := range rung.Notify {
			switch n {
			case "supervisor":
				to = appendNew(to, s.supervisor)
			case "fallback":
				to = appendNew(to, s.fallback)
			case "group":
				for _, g := range r.GroupGuards(s.name, a.Zone) {
					to = appendNew(to, g)
				}
			default:
				to = appendNew(to, n)
			}
		}
		if len(to) > 0 {
			ladder = append(ladder, Rung{After: rung.After, To: to, Channels: slices.Clone(rung.Channels)})
		}
	}
	return ladder
}

// Timing is the re-send and escalation times of an alarm: life safety's whatever the
// priority, else its priority's.
func (r *Roster) Timing(a alarms.Alarm) Timing {
	if a.Class == alarms.ClassLifeSafety {
		return r.esc.LifeSafety
	}
	switch a.Priority {
	case alarms.PriorityCritical:
		return r.esc.Critical
	case alarms.PriorityHigh:
		return r.esc.High
	case alarms.PriorityMedium:
		return r.esc.Medium
	}
	return r.esc.Low
}

func matches(rule, value string) bool { return rule == "" || rule == "*" || rule == value }
