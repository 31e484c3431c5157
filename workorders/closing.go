package workorders

import (
	"fmt"
	"strings"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// ClosingPath is how a resolved order closes. Which path an order takes follows from its
// kind: the follow-up call (回访) is for the resident who reported the job; a preventive job
// has nobody to call and closes on its record; an alarm-raised equipment repair is checked by
// the supervisor (主管对维修过程要进行监督检查) against the device's own readings after it.
type ClosingPath string

// Closing paths.
const (
	// PathFollowUp: resolved, then the follow-up call, then closed.
	PathFollowUp ClosingPath = "follow_up"
	// PathRecord: closed when resolved; the resolution note is the job's record.
	PathRecord ClosingPath = "record"
	// PathVerify: resolved, then closed by the supervisor's verification.
	PathVerify ClosingPath = "verify"
)

// ActionVerify is the supervisor's check of an alarm-raised repair; it closes the order.
// A repair found wanting is reopened instead (ActionReopen).
const ActionVerify Action = "verify"

// ClosingPath decides which orders get a follow-up call at all: those a resident reported or
// raised by hand. Preventive jobs close on their record; repairs of equipment found by the
// plant itself (an alarm) or by the night patrol (a dark circuit) have no resident to call and
// close on verification, or on their record when below Policy.VerifyFrom.
func (p *Policy) ClosingPath(o *Order) ClosingPath {
	switch {
	case o.Source == SourcePreventive:
		return PathRecord
	case equipmentRepair(o):
		if p.VerifyFrom != "" && o.Priority.Rank() > p.VerifyFrom.Rank() {
			return PathRecord
		}
		return PathVerify
	}
	return PathFollowUp
}

// resolve records the completion and starts the order's closing path: a follow-up due, a
// verification awaited, or closed at once.
func (p *Policy) resolve(o *Order, now time.Time) {
	o.State, o.ResolvedAt = StateResolved, now
	o.CompleteBreached = o.CompleteBreached || now.After(o.CompleteBy)
	switch p.ClosingPath(o) {
	case PathRecord:
		o.State, o.ClosedAt = StateClosed, now
		return
	case PathVerify:
		return
	}
	o.FollowUpDue = p.followUpDue(o, now)
}

// equipmentRepair reports whether o repairs equipment with no resident behind it: raised by an
// alarm, or by the night patrol's lighting check (FailedCircuit), and not a household repair
// or a complaint.
func equipmentRepair(o *Order) bool {
	return (o.Source == SourceAlarm || o.Source == SourcePatrol) && o.Category != CategoryHousehold && o.Category != CategoryComplaint
}

// AwaitsVerification reports whether o is an equipment repair (from an alarm or the patrol),
// resolved and waiting for the supervisor's verify: a resolved order on the record path is
// already closed.
func (o *Order) AwaitsVerification() bool {
	return o.State == StateResolved && equipmentRepair(o)
}

// checkVerify refuses a verification of an order whose path has none, or by someone other
// than the order's supervisor or the site's (who acts comes from the credential: in.By, or
// the person an admin acts for).
func (p *Policy) checkVerify(o Order, in Input) error {
	if path := p.ClosingPath(&o); path != PathVerify {
		return fmt.Errorf("%w: verify of %s: an order from %s closes by %s, not by verification", ErrInvalid, o.ID, o.Source, path)
	}
	who := in.By
	if in.OnBehalfOf != "" {
		who = in.OnBehalfOf
	}
	if who == o.Supervisor || (p.Supervisor != "" && who == p.Supervisor) || (o.Supervisor == "" && p.Supervisor == "") {
		return nil
	}
	return fmt.Errorf("%w: verify of %s: %s is not its supervisor (%s)", ErrInvalid, o.ID, who, strings.Join(nonEmpty(o.Supervisor, p.Supervisor), " or "))
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && (len(out) == 0 || out[len(out)-1] != s) {
			out = append(out, s)
		}
	}
	return out
}

// verifyFrom parses the priority from which alarm-raised repairs need verification.
func verifyFrom(s string) (alarms.Priority, error) {
	p := alarms.Priority(s)
	if s != "" && p.Rank() == alarms.Priority("").Rank() {
		return "", fmt.Errorf("workorders.verify_from: %q is not a priority (critical, high, medium, low, or empty for every repair)", s)
	}
	return p, nil
}

// checkPath refuses the steps an order's closing path does not have: a follow-up call on an
// order that closes without one, a verification of one that needs none.
func (p *Policy) checkPath(o Order, a Action, in Input, sampled bool) error {
	switch {
	case a == ActionVerify:
		return p.checkVerify(o, in)
	case a == ActionFollowUp && !sampled && p.ClosingPath(&o) != PathFollowUp:
		return fmt.Errorf("%w: follow_up of %s: an order from %s has no follow-up call; it closes by %s", ErrInvalid, o.ID, o.Source, p.ClosingPath(&o))
	}
	return nil
}
