// Package devices is the model of the estate's plant as facilityd sees it: devices of a kind,
// the profiles that map their registers or payloads to named points, and the readings a poll
// produces. Protocol drivers live in sub-packages (devices/modbus) and hand their results to a
// Handler; nothing here knows where readings go next.
package devices

import (
	"fmt"
	"time"
)

// Kind is the sort of plant a device is. It is also the InfluxDB measurement its readings go to.
type Kind string

// The device kinds facilityd knows. Generic is for anything without a built-in profile.
const (
	KindPump      Kind = "pump"
	KindElevator  Kind = "elevator"
	KindFirePanel Kind = "fire_panel"
	KindLighting  Kind = "lighting"
	KindGeneric   Kind = "generic"
)

// Kinds lists every valid kind, in the order the documentation names them.
var Kinds = []Kind{KindPump, KindElevator, KindFirePanel, KindLighting, KindGeneric}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, known := range Kinds {
		if k == known {
			return true
		}
	}
	return false
}

// Quality says whether a value can be trusted. Only good values are written as telemetry and
// evaluated by alarms.
type Quality uint8

// Qualities of a value. CommFail marks every point of a device that is offline. Uncertain is a
// value its source doubts (an OPC UA Uncertain status, Part 4, 7.39: a sensor past its range,
// a substituted or last usable value): it is shown with its value, but like a bad one it is
// neither written as telemetry nor evaluated by alarms. It comes after CommFail so that the
// codes already in use keep their numbers.
const (
	QualityGood Quality = iota
	QualityBad
	QualityCommFail
	QualityUncertain
)

func (q Quality) String() string {
	switch q {
	case QualityGood:
		return "good"
	case QualityBad:
		return "bad"
	case QualityCommFail:
		return "comm_fail"
	case QualityUncertain:
		return "uncertain"
	}
	return fmt.Sprintf("quality(%d)", uint8(q))
}

// MarshalText lets a Quality appear by name in JSON.
func (q Quality) MarshalText() ([]byte, error) { return []byte(q.String()), nil }

// UnmarshalText reads a Quality by name, for clients of the API.
func (q *Quality) UnmarshalText(b []byte) error {
	for c := QualityGood; c <= QualityUncertain; c++ {
		if c.String() == string(b) {
			*q = c
			return nil
		}
	}
	return fmt.Errorf("unknown quality %q", b)
}

// Comm is a device's communication status, derived from its recent polls.
type Comm uint8

// Communication states. Retrying means the last poll failed but fewer than the configured
// number of polls in a row have; Offline means at least that many have.
const (
	CommUnknown Comm = iota
	CommOnline
	CommRetrying
	CommOffline
)

func (c Comm) String() string {
	switch c {
	case CommUnknown:
		return "unknown"
	case CommOnline:
		return "online"
	case CommRetrying:
		return "retrying"
	case CommOffline:
		return "offline"
	}
	return fmt.Sprintf("comm(%d)", uint8(c))
}

// MarshalText lets a Comm appear by name in JSON.
func (c Comm) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a Comm by name, for clients of the API.
func (c *Comm) UnmarshalText(b []byte) error {
	for k := CommUnknown; k <= CommOffline; k++ {
		if k.String() == string(b) {
			*c = k
			return nil
		}
	}
	return fmt.Errorf("unknown communication status %q", b)
}

// Device is one piece of plant that facilityd polls or listens to.
type Device struct {
	ID       string
	Kind     Kind
	Site     string
	Building string
	Zone     string
	Profile  *Profile
	// Interval is the time between polls; it is also the staleness limit for devices that push.
	Interval time.Duration
	// Timeout bounds one request to the device.
	Timeout time.Duration
	// OfflineAfter is the number of failed polls in a row after which the device is offline.
	OfflineAfter int
	Modbus       *ModbusTransport
	MQTT         *MQTTTransport
	BACnet       *BACnetTransport
	// OPCUA is set for a device read from an OPC UA server (devices/opcua), for those who
	// show where it is read from; the driver has its connection from the configuration.
	OPCUA *OPCUATransport
	Tags  map[string]string
}

// ModbusTransport says where a Modbus device answers: over TCP (Address), as RTU frames over
// TCP through a serial server (Address, Framing rtu), or on a serial line (Serial).
type ModbusTransport struct {
	// Address is host:port of the device or of the gateway in front of it; empty on a
	// serial line.
	Address string
	// Framing is FramingTCP (MBAP, the default) or FramingRTU (RTU frames with a CRC, as a
	// serial server that passes frames through expects).
	Framing Framing
	// Serial, if set, is the RS-485 line the device hangs on; devices on one line share it.
	Serial *SerialLine
	// Unit is the unit identifier (slave id) behind Address.
	Unit uint8
	// MaxGapRegisters is how many unmapped registers between two points may be read and thrown
	// away to save a request; MaxGapBits is the same for coils and discrete inputs.
	MaxGapRegisters int
	MaxGapBits      int
}

// Framing is how Modbus requests are framed on a connection.
type Framing string

// The framings: MBAP on Modbus TCP, RTU (address, PDU, CRC) on serial lines and the serial
// servers that pass RTU frames over TCP.
const (
	FramingTCP Framing = "tcp"
	FramingRTU Framing = "rtu"
)

// SerialLine is one RS-485 (or RS-232) line and its character format. Every unit on a line
// shares these settings.
type SerialLine struct {
	// Device is the serial port, e.g. /dev/ttyUSB0.
	Device   string
	Baud     int
	DataBits int
	// Parity is N, E or O (MODBUS over serial line v1.02, 2.5.1: even by default).
	Parity   string
	StopBits int
}

// Line names the connection a Modbus device is polled through: devices with the same line
// share it and are polled in turn.
func (m *ModbusTransport) Line() string {
	if m.Serial != nil {
		return "serial:" + m.Serial.Device
	}
	if m.Framing == FramingRTU {
		return "rtu+tcp:" + m.Address
	}
	return m.Address
}

// OPCUATransport says where and how an OPC UA device is read, with its defaults filled in and
// no secret.
type OPCUATransport struct {
	Endpoint string // opc.tcp://host:port
	// Security is the security policy and message security mode, "Basic256Sha256/SignAndEncrypt"
	// or "None/None".
	Security string
	// Auth is the identity: anonymous, username or certificate.
	Auth string
}

// MQTTTransport says where a device that publishes over MQTT is heard.
type MQTTTransport struct {
	// Topic carries the device's JSON payloads; it may hold MQTT wildcards (+, #).
	Topic string
	// StatusTopic, if set, carries "online" or "offline" (often the device's last will).
	StatusTopic string
	// StaleAfter is how long the device may stay silent before it is offline.
	StaleAfter time.Duration
}

// Value is one point's decoded value. Number holds numbers, bools (0 or 1) and enum codes;
// Text holds strings.
type Value struct {
	Number  float64
	Text    string
	Quality Quality
	// Relinquish marks a write of NULL to a commandable BACnet point, which gives up the
	// writer's priority (ASHRAE 135-2020, 19.2.1.2); a reading never has it.
	Relinquish bool
}

// Snapshot is the outcome of one poll of one device: every point's value, in the order of the
// device profile's Points, taken at Time. A failed poll has Err set and no Values.
type Snapshot struct {
	Device *Device
	Time   time.Time
	Values []Value
	Comm   Comm
	Err    error
	// Latency is how long the poll took, request and decoding included.
	Latency time.Duration
}

// OK reports whether the poll succeeded.
func (s *Snapshot) OK() bool { return s.Err == nil }

// Reading is one point of a snapshot, in the shape the API and later stages speak of.
type Reading struct {
	Device  string    `json:"device"`
	Point   string    `json:"point"`
	Value   any       `json:"value"`
	Label   string    `json:"label,omitempty"`
	Unit    string    `json:"unit,omitempty"`
	Quality Quality   `json:"quality"`
	Time    time.Time `json:"time"`
}

// Readings expands a successful snapshot into one Reading per point.
func (s *Snapshot) Readings() []Reading {
	if s.Device == nil || s.Device.Profile == nil {
		return nil
	}
	points := s.Device.Profile.Points
	out := make([]Reading, 0, len(s.Values))
	for i, v := range s.Values {
		if i >= len(points) {
			break
		}
		p := &points[i]
		r := Reading{Device: s.Device.ID, Point: p.Name, Unit: p.Unit, Quality: v.Quality, Time: s.Time}
		if v.Quality == QualityGood || v.Quality == QualityUncertain {
			r.Value = p.Typed(v)
			r.Label = p.Label(v)
		}
		out = append(out, r)
	}
	return out
}

// Handler receives every snapshot a driver produces. It must not block: a driver calls it from
// its polling goroutine.
type Handler func(*Snapshot)
