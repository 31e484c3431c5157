package devices

import (
	"fmt"
	"strconv"
	"strings"
)

// BACnetTransport says where a BACnet/IP device answers: at Address, or wherever a Who-Is for
// its instance finds it (ASHRAE 135-2020, 16.10), and behind a router when Network is set.
type BACnetTransport struct {
	// Instance is the Device object's instance number, unique in the internetwork
	// (12.11.1); a Who-Is for it finds the device when Address is empty.
	Instance uint32
	// Address is host:port of the device, or of the BACnet router in front of it; empty:
	// found by Who-Is.
	Address string
	// Network and MAC are the device's network number and MAC address behind the router at
	// Address (6.2.2, DNET and DADR); Network 0 means the device is on the local network.
	Network uint16
	MAC     []byte
}

// PresentValue is the property a BACnet point reads unless it names another (12.1.7).
const PresentValue = "present-value"

// DefaultBACnetPriority is the priority a write to a commandable BACnet point takes unless the
// point names one: 8, Manual Operator (ASHRAE 135-2020, 19.2.1.1, Table 19-1), for a write is an
// operator's command through the API.
const DefaultBACnetPriority = 8

// BACnetPoint is where a point lives on a BACnet device: an object and one of its properties.
// A point with an object is a BACnet point; it has no Modbus table, JSON path or topic.
type BACnetPoint struct {
	// Object is the object the point reads, as type:instance: analog-input:0,
	// binary-value:3, multi-state-value:1 (or a numeric type, 0:0).
	Object string `yaml:"object,omitempty"`
	// Property is the property read, by name or number; present-value when unset.
	Property string `yaml:"property,omitempty"`
	// COV says how the point is kept up to date: true subscribes to its changes of value
	// (13.14) and polls it only if the device refuses, false polls it every interval. Unset:
	// COV where the device supports it (present-value only), polling otherwise.
	COV *bool `yaml:"cov,omitempty"`
	// Priority is the priority array slot a write to a commandable point takes, 1 (highest)
	// to 16; unset: 8, Manual Operator (19.2.1.1).
	Priority uint8 `yaml:"priority,omitempty"`
}

// IsBACnet reports whether the point names a BACnet object.
func (p *Point) IsBACnet() bool { return p.Object != "" }

// BACnetProperty is the property the point reads: its own, or present-value.
func (p *Point) BACnetProperty() string {
	if p.Property == "" {
		return PresentValue
	}
	return p.Property
}

// WantsCOV reports whether the point is to be subscribed to rather than polled: as set, or
// by default when it reads the present value (the property COV reports, 13.1).
func (p *Point) WantsCOV() bool {
	if p.COV != nil {
		return *p.COV
	}
	return p.BACnetProperty() == PresentValue
}

// WritePriority is the priority a write to the point takes.
func (p *Point) WritePriority() uint8 {
	if p.Priority == 0 {
		return DefaultBACnetPriority
	}
	return p.Priority
}

// bacnetObjectType is the type part of a type:instance object, checked for its form only; which
// types exist is devices/bacnet's to say (config checks it).
func bacnetObjectType(object string) (typ string, instance uint64, err error) {
	typ, inst, ok := strings.Cut(object, ":")
	if !ok || typ == "" {
		return "", 0, fmt.Errorf("%q: want type:instance, e.g. analog-input:0", object)
	}
	// ASHRAE 135-2020, 20.2.14: the instance is 22 bits; 4194303 means none.
	instance, err = strconv.ParseUint(inst, 10, 32)
	if err != nil || instance >= 1<<22-1 {
		return "", 0, fmt.Errorf("%q: instance must be 0 to %d", object, 1<<22-2)
	}
	return typ, instance, nil
}

// bacnetDefaultType is the type a point of the object type reads as when it names none: a
// number for analog objects (REAL, 12.2.4), a bool for binary ones (BACnetBinaryPV, 12.6.4),
// the state number for multi-state ones (Unsigned, 12.18.4).
func bacnetDefaultType(typ string) Type {
	switch {
	case strings.HasPrefix(typ, "binary-"):
		return TypeBool
	case strings.HasPrefix(typ, "multi-state-"):
		return TypeUint32
	}
	return TypeFloat64
}

// bacnetProblems checks a point that names a BACnet object, and gives it the type its object
// reads as when it names none.
func (pt *Point) bacnetProblems() []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if pt.Table != "" || pt.Address != 0 || pt.Path != "" || pt.Topic != "" {
		add("object: a BACnet point has no Modbus table or address, JSON path or topic; give one location")
	}
	if pt.Bit != 0 || pt.Length != 0 || len(pt.True) != 0 || len(pt.False) != 0 || len(pt.Map) != 0 {
		add("bit, length, true, false, map: a BACnet point reads typed values; leave these out")
	}
	typ, _, err := bacnetObjectType(pt.Object)
	if err != nil {
		add("object: %v", err)
	}
	if pt.Type == "" && err == nil {
		pt.Type = bacnetDefaultType(typ)
	}
	switch pt.Type {
	case TypeBool, TypeInt16, TypeUint16, TypeInt32, TypeUint32, TypeInt64, TypeUint64, TypeFloat32, TypeFloat64, TypeString, TypeEnum:
	case "":
	default:
		add("type: %q is not one of bool, int16, uint16, int32, uint32, int64, uint64, float32, float64, string, enum", pt.Type)
	}
	if pt.Type == TypeEnum && len(pt.Enum) == 0 {
		add("enum: an enum point needs labels for its codes (a multi-state object's State_Text)")
	}
	if pt.Type != TypeEnum && len(pt.Enum) != 0 {
		add("enum: only points of type enum take labels")
	}
	if (pt.IsBool() || pt.Type == TypeString || pt.Type == TypeEnum) && (pt.Scale != 1 || pt.Offset != 0) {
		add("scale, offset: only numeric points can be scaled")
	}
	if p := pt.Property; p != "" && strings.ContainsAny(p, " :,") {
		add("property: %q is a property name (present-value, status-flags) or number", p)
	}
	if pt.Priority > 16 {
		add("priority: %d: a priority array has slots 1 (highest) to 16 (19.2.1.1)", pt.Priority)
	}
	if pt.Priority != 0 && !pt.Writable {
		add("priority: only writable points take a write priority")
	}
	if pt.Writable && strings.HasSuffix(typ, "-input") && pt.BACnetProperty() == PresentValue {
		add("writable: the present value of %s is the plant's input and cannot be commanded; write an output or value object", pt.Object)
	}
	return out
}
