// Package alarms turns readings into alarms with the lifecycle of ISA-18.2 / IEC 62682: rules
// decide when a condition is present, a pure state machine moves each alarm through NORM,
// UNACK, ACKED and RTNUN with the overlays shelved, suppressed by design and out of service,
// and a journal keeps every transition. Consumers (patrol alerts, the API's event stream,
// InfluxDB) receive Events through a Sink.
package alarms

import "time"

// Priority orders alarms by the urgency of the response they need.
type Priority string

// Priorities, most urgent first. Critical is for life safety: fire alarm, elevator entrapment.
const (
	PriorityCritical Priority = "critical"
	PriorityHigh     Priority = "high"
	PriorityMedium   Priority = "medium"
	PriorityLow      Priority = "low"
)

// Rank is 0 for critical up to 3 for low, so that sorting by Rank puts the most urgent first;
// an unknown priority ranks last.
func (p Priority) Rank() int {
	switch p {
	case PriorityCritical:
		return 0
	case PriorityHigh:
		return 1
	case PriorityMedium:
		return 2
	case PriorityLow:
		return 3
	}
	return 4
}

// Class groups alarms by what they are about; routing and the work-order mapping use it.
type Class string

// Alarm classes. Communication loss is its own class and never reported as a device fault.
const (
	ClassLifeSafety    Class = "life_safety"
	ClassEquipment     Class = "equipment"
	ClassSupervisory   Class = "supervisory"
	ClassTrouble       Class = "trouble"
	ClassCommunication Class = "communication"
)

// State is an alarm's ISA-18.2 state.
type State string

// The four states of the alarm state transition diagram (ISA-18.2, 5.4).
const (
	StateNormal         State = "NORM"  // condition absent, acknowledged
	StateUnacknowledged State = "UNACK" // condition present, not acknowledged
	StateAcknowledged   State = "ACKED" // condition present, acknowledged
	StateReturnedUnack  State = "RTNUN" // condition gone, never acknowledged
)

// Alarm is the current condition of one alarm point: one rule on one device (and, for rules
// over a zone or circuit, that zone or circuit). Its ID is stable across restarts.
type Alarm struct {
	// ID is device/rule[/instance], e.g. "FP-1/fire_zone_alarm/03" or "P-2/pit_high_high".
	ID       string   `json:"id"`
	Site     string   `json:"site"`
	Device   string   `json:"device"`
	Kind     string   `json:"kind"`
	Building string   `json:"building,omitempty"`
	Zone     string   `json:"zone,omitempty"`
	Rule     string   `json:"rule"`
	Priority Priority `json:"priority"`
	Class    Class    `json:"class"`
	// Message says what and where, for a guard at night: "Drainage pump P-2, B1 B2 sump pit,
	// building B1: pit level high-high".
	Message string `json:"message"`
	State   State  `json:"state"`
	// Active is whether the condition is present now (after on- and off-delays).
	Active bool `json:"active"`
	// Value is the reading that last changed the alarm, when there is one.
	Value any `json:"value,omitempty"`

	Shelved      bool      `json:"shelved"`
	ShelvedUntil time.Time `json:"shelved_until,omitzero"`
	ShelvedBy    string    `json:"shelved_by,omitempty"`
	// Suppressed is suppression by design (DSUPR), e.g. lamp failures in daytime.
	Suppressed bool `json:"suppressed"`
	// OutOfService is set while the device is under a work order in progress (OOSRV).
	OutOfService bool `json:"out_of_service"`
	Chattering   bool `json:"chattering"`

	ActivatedAt time.Time `json:"activated_at,omitzero"`
	ClearedAt   time.Time `json:"cleared_at,omitzero"`
	AckedAt     time.Time `json:"acked_at,omitzero"`
	AckedBy     string    `json:"acked_by,omitempty"`
	// Activations counts how often the alarm has become active.
	Activations int       `json:"activations"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// EventType names a journalled transition.
type EventType string

// Event types. Raised and Realarm notify; Cleared sends the all-clear; Flood is the one
// summary that stands for many raised alarms at one site.
const (
	EventRaised            EventType = "raised"    // became active: NORM or RTNUN → UNACK
	EventRealarm           EventType = "realarm"   // still active and unacknowledged after the re-alarm time
	EventCleared           EventType = "cleared"   // condition gone: → RTNUN or NORM
	EventAcknowledged      EventType = "acked"     // UNACK → ACKED, RTNUN → NORM
	EventShelved           EventType = "shelved"   // an operator shelved it
	EventUnshelved         EventType = "unshelved" // shelf expired or was lifted
	EventSuppressed        EventType = "suppressed"
	EventUnsuppressed      EventType = "unsuppressed"
	EventOutOfService      EventType = "out_of_service"
	EventReturnedToService EventType = "in_service"
	EventChattering        EventType = "chattering"
	EventFlood             EventType = "flood" // summary of the alarms collapsed into it
)

// Event is one journalled transition, with the alarm as it stands after it.
type Event struct {
	// Seq is the journal's sequence number; it orders events and makes delivery idempotent
	// across restarts.
	Seq    uint64    `json:"seq"`
	Type   EventType `json:"type"`
	Alarm  Alarm     `json:"alarm"`
	At     time.Time `json:"at"`
	By     string    `json:"by"` // "system" or the person who acted
	Reason string    `json:"reason,omitempty"`
	// Notify is whether people should be told: false while shelved, suppressed or out of
	// service, and for raised alarms that a flood summary stands for.
	Notify bool `json:"notify"`
	// Flood lists the alarms a flood summary stands for.
	Flood []Alarm `json:"flood,omitempty"`
}

// Sink receives every event, in journal order. It must not block.
type Sink interface {
	AlarmEvent(Event)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(Event)

// AlarmEvent calls f(e).
func (f SinkFunc) AlarmEvent(e Event) { f(e) }
