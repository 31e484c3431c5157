package alarms

import (
	"errors"
	"fmt"
	"time"
)

// Errors callers test with errors.Is; the API maps them to status codes.
var (
	// ErrUnknownAlarm: no alarm (or device) of that id (HTTP 404).
	ErrUnknownAlarm = errors.New("unknown alarm")
	// ErrNotAllowed: the alarm's class or state forbids the action (HTTP 409); the message
	// says why.
	ErrNotAllowed = errors.New("not allowed")
	// ErrInvalid: the request itself is wrong, e.g. no reason or a duration out of range (HTTP 400).
	ErrInvalid = errors.New("invalid request")
)

// status is an alarm's whole state: the Alarm people see and the timers behind it. The
// functions of this file are the lifecycle, pure functions of (status, input, time) in the
// manner of prometheus rules/alerting.go: no clock, no I/O.
type status struct {
	Alarm
	// Present is the raw condition at the last good evaluation, before delays.
	Present       bool
	PendingSince  time.Time // present, waiting for the on-delay
	ClearingSince time.Time // absent, waiting for the off-delay
	// Announced is when the alarm was last raised or re-alarmed.
	Announced    time.Time
	ShelfOneShot bool
	// Recent holds activation times within the chatter window.
	Recent []time.Time
	// last is the last good reading, for the message of an alarm a timer raises.
	last *reading
}

// params are the timing limits step applies.
type params struct {
	OnDelay, OffDelay time.Duration
	Realarm           time.Duration
	ChatterCount      int
	ChatterWindow     time.Duration
}

// transition is one change step made, with the reason journalled for it.
type transition struct {
	Type   EventType
	Reason string
}

// step advances the alarm to time now given whether its condition is present: delays,
// activation and clearing, chattering, shelf expiry and re-alarm.
func step(s status, present bool, now time.Time, p params) (status, []transition) {
	var out []transition
	s.Present = present
	// Shelf expiry comes first, so that what follows is announced as unshelved.
	if s.Shelved && !s.ShelvedUntil.IsZero() && !now.Before(s.ShelvedUntil) {
		s = unshelve(s)
		if lifted(s) {
			s.Announced = now
		}
		out = append(out, transition{EventUnshelved, "shelf expired"})
	}
	// Chatter: forget activations older than the window.
	recent := s.Recent[:0:0]
	for _, t := range s.Recent {
		if now.Sub(t) < p.ChatterWindow {
			recent = append(recent, t)
		}
	}
	s.Recent = recent
	if s.Chattering && len(s.Recent) < p.ChatterCount {
		s.Chattering = false
	}
	if present {
		s.ClearingSince = time.Time{}
		if !s.Active {
			if s.PendingSince.IsZero() {
				s.PendingSince = now
			}
			if now.Sub(s.PendingSince) >= p.OnDelay {
				s.Active, s.ActivatedAt, s.PendingSince = true, now, time.Time{}
				s.Activations++
				s.State = StateUnacknowledged
				s.AckedAt, s.AckedBy = time.Time{}, ""
				s.Announced = now
				s.UpdatedAt = now
				reason := "condition present"
				if p.OnDelay > 0 {
					reason = fmt.Sprintf("condition present for %v", p.OnDelay)
				}
				out = append(out, transition{EventRaised, reason})
				s.Recent = append(s.Recent, now)
				if p.ChatterCount > 0 && len(s.Recent) >= p.ChatterCount && !s.Chattering {
					s.Chattering = true
					out = append(out, transition{EventChattering, fmt.Sprintf("%d activations within %v", len(s.Recent), p.ChatterWindow)})
				}
			}
		}
	} else {
		s.PendingSince = time.Time{}
		if s.Active {
			if s.ClearingSince.IsZero() {
				s.ClearingSince = now
			}
			if now.Sub(s.ClearingSince) >= p.OffDelay {
				s.Active, s.ClearedAt, s.ClearingSince = false, now, time.Time{}
				s.UpdatedAt = now
				if s.State == StateAcknowledged {
					s.State = StateNormal
				} else {
					s.State = StateReturnedUnack
				}
				out = append(out, transition{EventCleared, "condition absent"})
				if s.Shelved && s.ShelfOneShot {
					s = unshelve(s)
					out = append(out, transition{EventUnshelved, "one-shot shelf: the alarm cleared"})
				}
			}
		}
	}
	if s.Active && s.State == StateUnacknowledged && p.Realarm > 0 && !s.Shelved && !s.Suppressed &&
		!s.OutOfService && now.Sub(s.Announced) >= p.Realarm {
		s.Announced = now
		s.UpdatedAt = now
		out = append(out, transition{EventRealarm, fmt.Sprintf("active and unacknowledged for %v", now.Sub(s.ActivatedAt))})
	}
	return s, out
}

func unshelve(s status) status {
	s.Shelved, s.ShelvedUntil, s.ShelvedBy, s.ShelfOneShot = false, time.Time{}, "", false
	return s
}

// ack acknowledges: UNACK → ACKED, RTNUN → NORM.
func ack(s status, by string, now time.Time) (status, error) {
	switch s.State {
	case StateUnacknowledged:
		s.State = StateAcknowledged
	case StateReturnedUnack:
		s.State = StateNormal
	default:
		return s, fmt.Errorf("alarm %q: %w: it is %s, there is nothing to acknowledge", s.ID, ErrNotAllowed, s.State)
	}
	s.AckedAt, s.AckedBy, s.UpdatedAt = now, by, now
	return s, nil
}

// shelve shelves an alarm for d (at most max); a one-shot shelf also ends when the alarm
// clears. Life-safety alarms refuse.
func shelve(s status, by string, d, max time.Duration, oneShot bool, now time.Time) (status, error) {
	if s.Class == ClassLifeSafety {
		return s, fmt.Errorf("alarm %q: %w: life-safety alarms cannot be shelved", s.ID, ErrNotAllowed)
	}
	if d == 0 && oneShot {
		d = max
	}
	if d <= 0 || d > max {
		return s, fmt.Errorf("alarm %q: %w: shelve duration %v must be more than 0 and at most %v (alarms.shelve_max)", s.ID, ErrInvalid, d, max)
	}
	s.Shelved, s.ShelvedUntil, s.ShelvedBy, s.ShelfOneShot, s.UpdatedAt = true, now.Add(d), by, oneShot, now
	return s, nil
}

// lifted reports whether an overlay ending should notify: the alarm is active, unacknowledged
// and nothing else hides it.
func lifted(s status) bool {
	return s.Active && s.State == StateUnacknowledged && !s.Shelved && !s.Suppressed && !s.OutOfService
}
