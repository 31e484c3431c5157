package patrol

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// State is where an alert stands in the patrol's hands.
type State string

// Alert states. Open and Escalated are unclaimed and keep their timers running; Claimed has
// an owner (首问责任制); Acked has been acknowledged through the patrol; Cleared is over.
const (
	StateOpen      State = "open"
	StateEscalated State = "escalated"
	StateClaimed   State = "claimed"
	StateAcked     State = "acked"
	StateCleared   State = "cleared"
)

// Kinds of alert.
const (
	KindAlarm = "alarm"
	KindFlood = "flood"
)

// Alert is one notification to the patrol, for one alarm event (or one flood summary), with
// its owner and timers. It is persisted whole, keyed by ID (derived from the event's Seq).
type Alert struct {
	ID       string          `json:"id"`
	Seq      uint64          `json:"seq"`
	Kind     string          `json:"kind"`
	Site     string          `json:"site"`
	Zone     string          `json:"zone,omitempty"`
	Zones    []string        `json:"zones,omitempty"`
	AlarmID  string          `json:"alarm"`
	Alarms   []alarms.Alarm  `json:"alarms"`
	Message  string          `json:"message"`
	Priority alarms.Priority `json:"priority"`
	Class    alarms.Class    `json:"class"`
	State    State           `json:"state"`
	Shift    string          `json:"shift,omitempty"`
	// Recipients are the guards told at once; Supervisor and Fallback are told on escalation.
	Recipients []string `json:"recipients"`
	Supervisor string   `json:"supervisor,omitempty"`
	Fallback   string   `json:"fallback,omitempty"`
	Channels   []string `json:"channels"`
	// ResendEvery and EscalateAfter are the alert's timers, fixed when it was raised.
	ResendEvery   time.Duration `json:"resend_every"`
	EscalateAfter time.Duration `json:"escalate_after"`
	// Ladder is who is reached next while nobody claims, fixed when the alert was raised;
	// NextRung is the first rung not yet climbed and Reached who the climbed rungs reached.
	// An alert stored before ladders existed has none and escalates by EscalateAfter.
	Ladder   []Rung   `json:"ladder,omitempty"`
	NextRung int      `json:"next_rung,omitempty"`
	Reached  []string `json:"reached,omitempty"`

	Owner       string    `json:"owner,omitempty"`
	ClaimedAt   time.Time `json:"claimed_at,omitzero"`
	AckedBy     string    `json:"acked_by,omitempty"`
	AckedAt     time.Time `json:"acked_at,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
	SentAt      time.Time `json:"sent_at"`
	Sends       int       `json:"sends"`
	EscalatedAt time.Time `json:"escalated_at,omitzero"`
	FallbackAt  time.Time `json:"fallback_at,omitzero"`
	ClearedAt   time.Time `json:"cleared_at,omitzero"`
	// Held says why the timers are stopped: the alarm was shelved, suppressed or taken out of
	// service after the alert went out. Empty while they run.
	Held string `json:"held,omitempty"`
	// TimersFrom is when the escalation timer started: the first send, or the end of a hold.
	TimersFrom time.Time `json:"timers_from"`
	// ClearedAlarms are the alarms of a flood summary that have cleared; the alert clears
	// with the last.
	ClearedAlarms []string  `json:"cleared_alarms,omitempty"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Unclaimed reports whether nobody owns the alert and it still needs someone.
func (a *Alert) Unclaimed() bool { return a.State == StateOpen || a.State == StateEscalated }

// Action is what a notice tells its recipients.
type Action string

// Actions, as they appear in the "type" of every payload.
const (
	ActionAlert    Action = "alert"
	ActionResend   Action = "resend"
	ActionEscalate Action = "escalation"
	ActionClaim    Action = "claim"
	ActionAck      Action = "ack"
	ActionClear    Action = "clear"
	// ActionRefused answers a handset whose claim or acknowledgement was refused; Message
	// says why (the owner, for a lost claim).
	ActionRefused Action = "refused"
)

// Notice is one message an alert transition sends, to the listed guards.
type Notice struct {
	Action Action
	To     []string
	// Reach are the people a rung of the ladder calls on, when they are fewer than To:
	// the channels that reach one person at a time (SMS, a call) reach only them.
	Reach []string
	// Channels, when set, carry this notice instead of the alert's own channels.
	Channels []string
}

// Rung is one step of an alert's escalation ladder, resolved to people when it was raised.
type Rung struct {
	After    time.Duration `json:"after"`
	To       []string      `json:"to"`
	Channels []string      `json:"channels"`
}

// personal are the channels that reach one person at a time and cost each time: a resend
// does not use them (the ladder does), and what they carry for an alert nobody needs any
// more is not sent.
var personal = map[string]bool{"sms": true, "call": true}

// Errors callers test for.
var (
	ErrNotFound     = errors.New("no such alert")
	ErrUnknownGuard = errors.New("unknown guard")
	ErrClosed       = errors.New("alert is cleared")
	ErrNoItem       = errors.New("no checklist item")
	// ErrNotYourZone refuses a claim by a guard whose groups do not patrol the alert's zone.
	ErrNotYourZone = errors.New("not your zone")
	// ErrBadLink is a claim link that is not one facilityd signed, or for an alert that closed.
	ErrBadLink = errors.New("the claim link is not valid")
)

// ClaimedError refuses a second claim: the alert has an owner already.
type ClaimedError struct {
	Alert string
	Owner string
	At    time.Time
}

func (e *ClaimedError) Error() string {
	return fmt.Sprintf("alert %s is already claimed by %s at %s", e.Alert, e.Owner, e.At.Format(time.RFC3339))
}

// Due moves an unclaimed alert's timers on to now: a re-send every ResendEvery, escalation to
// the supervisor at EscalateAfter, to the fallback one EscalateAfter later. It is a pure
// function: the same alert and time give the same result.
func Due(a Alert, now time.Time) (Alert, []Notice) {
	if !a.Unclaimed() || a.Held != "" {
		return a, nil
	}
	if len(a.Ladder) > 0 {
		return climb(a, now)
	}
	var out []Notice
	switch {
	case a.State == StateOpen && a.EscalateAfter > 0 && !now.Before(a.TimersFrom.Add(a.EscalateAfter)) && a.Supervisor != "":
		a.State, a.EscalatedAt = StateEscalated, now
		out = append(out, Notice{Action: ActionEscalate, To: appendNew(slices.Clone(a.Recipients), a.Supervisor)})
	case a.State == StateEscalated && a.Fallback != "" && a.FallbackAt.IsZero() && !now.Before(a.EscalatedAt.Add(a.EscalateAfter)):
		a.FallbackAt = now
		out = append(out, Notice{Action: ActionEscalate, To: a.told()})
	case a.ResendEvery > 0 && !now.Before(a.SentAt.Add(a.ResendEvery)):
		out = append(out, Notice{Action: ActionResend, To: a.told()})
	default:
		return a, nil
	}
	a.SentAt, a.UpdatedAt = now, now
	a.Sends++
	return a, out
}

// climb moves an unclaimed alert up its ladder: the next rung once its time has come (one
// rung a call, so each is its own notice), and a re-send to everyone told on the channels that
// are not personal once ResendEvery has passed since the last message on those channels.
func climb(a Alert, now time.Time) (Alert, []Notice) {
	var out []Notice
	if a.NextRung < len(a.Ladder) && !now.Before(a.TimersFrom.Add(a.Ladder[a.NextRung].After)) {
		r := a.Ladder[a.NextRung]
		a.NextRung++
		if a.State == StateOpen {
			a.State, a.EscalatedAt = StateEscalated, now
		}
		for _, id := range r.To {
			a.Reached = appendNew(a.Reached, id)
		}
		out = append(out, Notice{Action: ActionEscalate, To: a.told(), Reach: slices.Clone(r.To), Channels: slices.Clone(r.Channels)})
		if len(impersonal(r.Channels)) > 0 {
			a.SentAt = now
		}
	}
	if a.ResendEvery > 0 && !now.Before(a.SentAt.Add(a.ResendEvery)) {
		out = append(out, Notice{Action: ActionResend, To: a.told(), Channels: impersonal(a.Channels)})
		a.SentAt = now
	}
	if len(out) == 0 {
		return a, nil
	}
	a.UpdatedAt = now
	a.Sends += len(out)
	return a, out
}

// impersonal are the channels of list that are not personal.
func impersonal(list []string) []string {
	out := []string{}
	for _, c := range list {
		if !personal[c] {
			out = append(out, c)
		}
	}
	return out
}

// told is everyone the alert has reached so far.
func (a *Alert) told() []string {
	if len(a.Ladder) > 0 {
		to := slices.Clone(a.Recipients)
		for _, id := range a.Reached {
			to = appendNew(to, id)
		}
		return to
	}
	to := slices.Clone(a.Recipients)
	if !a.EscalatedAt.IsZero() {
		to = appendNew(to, a.Supervisor)
	}
	if !a.FallbackAt.IsZero() {
		to = appendNew(to, a.Fallback)
	}
	return to
}

// Claim makes guard the owner of an unowned alert. A second guard's claim fails with a
// *ClaimedError naming the owner; the owner claiming again changes nothing.
func Claim(a Alert, guard string, now time.Time) (Alert, *Notice, error) {
	switch {
	case a.Owner == guard:
		return a, nil, nil
	case a.Owner != "":
		return a, nil, &ClaimedError{Alert: a.ID, Owner: a.Owner, At: a.ClaimedAt}
	case a.State == StateCleared:
		return a, nil, fmt.Errorf("alert %s: %w at %s", a.ID, ErrClosed, a.ClearedAt.Format(time.RFC3339))
	}
	a.Owner, a.ClaimedAt, a.UpdatedAt = guard, now, now
	if a.Unclaimed() {
		a.State = StateClaimed
	}
	return a, &Notice{Action: ActionClaim, To: a.told()}, nil
}

// Acknowledge records the acknowledgement of the alert's alarms by someone; the one who
// acknowledges an unowned alert owns it.
func Acknowledge(a Alert, by string, now time.Time) (Alert, *Notice, error) {
	if !a.AckedAt.IsZero() {
		return a, nil, nil
	}
	if a.Owner == "" {
		a.Owner, a.ClaimedAt = by, now
	}
	a.AckedBy, a.AckedAt, a.UpdatedAt = by, now, now
	if a.State != StateCleared {
		a.State = StateAcked
	}
	return a, &Notice{Action: ActionAck, To: a.told()}, nil
}

// ClearAlarm records that one of the alert's alarms returned to normal. When the last has, the
// alert is cleared and the all-clear goes to the owner, or to everyone told if nobody owns it.
func ClearAlarm(a Alert, alarmID string, now time.Time) (Alert, *Notice) {
	if a.State == StateCleared {
		return a, nil
	}
	a.ClearedAlarms = appendNew(a.ClearedAlarms, alarmID)
	for _, al := range a.Alarms {
		if !slices.Contains(a.ClearedAlarms, al.ID) {
			a.UpdatedAt = now
			return a, nil
		}
	}
	a.State, a.ClearedAt, a.UpdatedAt = StateCleared, now, now
	to := a.told()
	if a.Owner != "" {
		to = []string{a.Owner}
	}
	return a, &Notice{Action: ActionClear, To: to}
}

func appendNew(list []string, v string) []string {
	if v == "" || slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}
