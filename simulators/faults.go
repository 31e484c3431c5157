package simulators

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// Sentinel errors of Inject and Clear, for callers that map them (the control API answers 404
// and 400). The errors returned wrap them and name the device, fault and parameter at fault.
var (
	ErrUnknownDevice = errors.New("unknown device")
	ErrUnknownFault  = errors.New("unknown fault")
	ErrBadParam      = errors.New("bad fault parameter")
)

// FaultError is what Inject and Clear return for a fault they cannot apply. errors.Is matches
// it against ErrUnknownFault or ErrBadParam; its message lists the valid faults or says which
// parameter to fix and how.
type FaultError struct {
	Device string
	Kind   devices.Kind
	Fault  string
	// Param is the parameter at fault, "" when the fault itself is unknown.
	Param string
	// Valid lists the device's faults when Fault is unknown.
	Valid  []string
	Reason string
	Err    error
}

func (e *FaultError) Error() string {
	if errors.Is(e.Err, ErrUnknownFault) {
		return fmt.Sprintf("device %q (%s) has no fault %q; valid faults: %s%s",
			e.Device, e.Kind, e.Fault, strings.Join(e.Valid, ", "), e.Reason)
	}
	return fmt.Sprintf("device %q (%s), fault %s: parameter %s: %s", e.Device, e.Kind, e.Fault, e.Param, e.Reason)
}

func (e *FaultError) Unwrap() error { return e.Err }

// FaultSpec describes a fault the simulators can inject, for people and programs choosing one.
type FaultSpec struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Params      []ParamSpec `json:"params,omitempty"`
	// Protocol faults act on the Modbus conversation, not on the device's values.
	Protocol bool `json:"protocol,omitempty"`
	// key is the parameter that tells instances apart (several zones in alarm at once).
	key string
}

// ParamSpec is one query parameter of a fault.
type ParamSpec struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Default     string `json:"default,omitempty"`
	// Required parameters must be given to inject; a key parameter (zone, circuit) is
	// optional when clearing, where leaving it out clears every instance.
	Required bool `json:"required,omitempty"`
	kind     paramKind
}

type paramKind int

const (
	paramInt paramKind = iota
	paramDuration
)

// maxSlowDelay bounds the slow fault, so that a typo cannot hold a connection for a day.
const maxSlowDelay = time.Hour

var (
	zoneParam = ParamSpec{Name: "zone", Description: "zone number, 1-based", Required: true, kind: paramInt}
	// latchParam, when a pump's fault is cleared, removes its cause and leaves the trip in
	// force until a client writes fault_reset, as a motor protection relay does.
	latchParam   = ParamSpec{Name: "latch", Description: "on clear: 1 removes the cause but leaves the trip latched until fault_reset is written", kind: paramInt}
	circuitParam = ParamSpec{Name: "circuit", Description: "circuit number, 1-based", Required: true, kind: paramInt}
)

// protocolFaultSpecs apply to a device of any kind.
var protocolFaultSpecs = []FaultSpec{
	{Name: "slow", Protocol: true, Description: "every reply of this unit is sent late, after the delay, on the connection that asked",
		Params: []ParamSpec{{Name: "delay", Description: "Go duration, e.g. 3s or 500ms (at most 1h)", Default: "2s", kind: paramDuration}}},
	{Name: "drop", Protocol: true, Description: "connections to this device's listener are reset (RST); new ones are reset at their first request for this unit"},
	{Name: "exception", Protocol: true, Description: "every request to this unit is answered with the exception code",
		Params: []ParamSpec{{Name: "code", Description: "Modbus exception code 1-255, e.g. 4 server device failure, 6 server busy", Default: "4", kind: paramInt}}},
	{Name: "silent", Protocol: true, Description: "this unit never answers; the connection stays open and other units on it keep answering (over MQTT: it stops publishing)"},
	{Name: "malformed", Protocol: true, Description: "over MQTT the device publishes broken JSON instead of its payload; on a serial line (RTU) each reply has a corrupt CRC; Modbus TCP replies are unaffected"},
	{Name: "half_open", Protocol: true, Description: "the whole listener goes dark: connections are accepted and requests read, but no unit behind it answers and nothing is closed (a hung gateway, a NAT that lost its state)"},
}

// kindFaultSpecs are the device faults of each kind.
var kindFaultSpecs = map[devices.Kind][]FaultSpec{
	devices.KindPump: {
		{Name: "overload", Description: "motor current climbs until the overload relay trips: overload and fault set, pump stops", Params: []ParamSpec{latchParam}},
		{Name: "dry_run", Description: "suction lost: pressure and flow fall to zero, dry-run protection trips, pump stops", Params: []ParamSpec{latchParam}},
		{Name: "vfd_fault", Description: "the drive trips with a fault code: fault set, pump stops",
			Params: []ParamSpec{{Name: "code", Description: "vfd_fault_code, 1-65535 (the profile labels 1-6)", Default: "1", kind: paramInt}}},
		{Name: "pit_high", Description: "drainage pumps only: inflow exceeds the pump's capacity, the pit rises past high-high"},
	},
	devices.KindElevator: {
		{Name: "entrapment", Description: "car stops between floors with passengers: fault 21, doors closed, alarm button pressed"},
		{Name: "door_fault", Description: "door lock circuit fault: fault 12, car out of service at a landing, doors reopening"},
	},
	devices.KindFirePanel: {
		{Name: "zone_alarm", Description: "a zone in fire alarm", Params: []ParamSpec{zoneParam}, key: "zone"},
		{Name: "zone_fault", Description: "a zone in trouble (open or short circuit)", Params: []ParamSpec{zoneParam}, key: "zone"},
		{Name: "supervisory", Description: "a zone in supervisory (sprinkler valve closed, pump off)", Params: []ParamSpec{zoneParam}, key: "zone"},
		{Name: "ac_loss", Description: "mains lost: the panel runs on its battery, whose voltage sags slowly"},
		{Name: "battery_fault", Description: "standby battery fault"},
		{Name: "earth_fault", Description: "earth (ground) fault on the panel wiring"},
	},
	devices.KindLighting: {
		{Name: "lamp_failure", Description: "a circuit's lamps fail: it draws no power while on", Params: []ParamSpec{circuitParam}, key: "circuit"},
		{Name: "circuit_trip", Description: "a circuit's breaker trips: it stays off whatever its command", Params: []ParamSpec{circuitParam}, key: "circuit"},
	},
}

// Faults lists the faults a device of that kind (and, for pumps, role) can be given: its
// device faults, then the protocol faults every device has.
func Faults(kind devices.Kind, role string) []FaultSpec {
	var out []FaultSpec
	for _, f := range kindFaultSpecs[kind] {
		if f.Name == "pit_high" && role != RoleDrainage {
			continue
		}
		out = append(out, f)
	}
	return append(out, protocolFaultSpecs...)
}

func faultNames(specs []FaultSpec) []string {
	names := make([]string, len(specs))
	for i, f := range specs {
		names[i] = f.Name
	}
	return names
}

// ActiveFault is a fault in force on a device. Armed is set while the fault cannot show yet,
// Waiting saying what for ("the pump is stopped: ..."): it shows as soon as it can.
type ActiveFault struct {
	Fault   string            `json:"fault"`
	Params  map[string]string `json:"params,omitempty"`
	Since   time.Time         `json:"since"`
	Armed   bool              `json:"armed,omitempty"`
	Waiting string            `json:"waiting,omitempty"`
}

// resolveParams checks the query parameters of a fault: no unknown names, required ones
// present when injecting, numbers and durations well formed, defaults filled in. Values come
// back canonical (zone 03 is zone 3), so that one zone is one fault instance.
func (f *FaultSpec) resolveParams(params map[string]string, injecting bool) (map[string]string, *paramError) {
	out := map[string]string{}
	known := map[string]*ParamSpec{}
	for i := range f.Params {
		known[f.Params[i].Name] = &f.Params[i]
	}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := known[name]; !ok {
			takes := "takes no parameters"
			if len(f.Params) > 0 {
				ps := make([]string, len(f.Params))
				for i, p := range f.Params {
					ps[i] = p.Name
				}
				takes = "takes " + strings.Join(ps, ", ")
			}
			return nil, &paramError{name, fmt.Sprintf("not a parameter of fault %s, which %s", f.Name, takes)}
		}
	}
	for _, p := range f.Params {
		raw, given := params[p.Name]
		if !given || raw == "" {
			switch {
			case p.Default != "" && injecting:
				raw = p.Default
			case p.Required && injecting && p.Name != f.key:
				// (a missing zone or circuit is the model's to report: it knows how many there are)
				return nil, &paramError{p.Name, fmt.Sprintf("missing; %s, e.g. ?%s=1", p.Description, p.Name)}
			default:
				continue
			}
		}
		switch p.kind {
		case paramInt:
			n, err := strconv.Atoi(raw)
			if err != nil {
				return nil, &paramError{p.Name, fmt.Sprintf("%q is not a whole number (%s)", raw, p.Description)}
			}
			raw = strconv.Itoa(n)
		case paramDuration:
			d, err := time.ParseDuration(raw)
			if err != nil || d <= 0 || d > maxSlowDelay {
				return nil, &paramError{p.Name, fmt.Sprintf("%q is not a duration above 0 and at most %s, e.g. 3s", raw, maxSlowDelay)}
			}
			raw = d.String()
		}
		out[p.Name] = raw
	}
	return out, nil
}

// protocolFaults are the protocol faults in force on a device, as the server needs them.
type protocolFaults struct {
	delay     time.Duration // slow: hold each reply this long
	drop      bool
	exception byte
	silent    bool
	malformed bool
	halfOpen  bool
}

// apply sets or clears a protocol fault from its resolved parameters.
func (pf *protocolFaults) apply(fault string, params map[string]string, on bool) *paramError {
	switch fault {
	case "slow":
		pf.delay = 0
		if on {
			pf.delay, _ = time.ParseDuration(params["delay"])
		}
	case "drop":
		pf.drop = on
	case "exception":
		pf.exception = 0
		if on {
			code, _ := strconv.Atoi(params["code"])
			if code < 1 || code > 255 {
				return &paramError{"code", fmt.Sprintf("%d is not a Modbus exception code 1-255", code)}
			}
			pf.exception = byte(code)
		}
	case "silent":
		pf.silent = on
	case "malformed":
		pf.malformed = on
	case "half_open":
		pf.halfOpen = on
	}
	return nil
}
