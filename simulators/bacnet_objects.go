package simulators

import (
	"github.com/facilityd/facilityd/devices/bacnet"
)

// Properties the simulated objects serve beyond those devices/bacnet names (ASHRAE
// 135-2020, 21, BACnetPropertyIdentifier).
const (
	propEventState        bacnet.PropertyID = 36
	propNumberOfStates    bacnet.PropertyID = 74
	propObjectIdentifier  bacnet.PropertyID = 75
	propObjectType        bacnet.PropertyID = 79
	propOutOfService      bacnet.PropertyID = 81
	propRelinquishDefault bacnet.PropertyID = 104
	propVendorIdentifier  bacnet.PropertyID = 120
	propProtocolVersion   bacnet.PropertyID = 98
)

// Error classes and codes the simulator answers with (18, 21).
var (
	errUnknownObject   = &bacnet.Error{Class: 1, Code: 31}
	errUnknownProperty = &bacnet.Error{Class: 2, Code: 32}
	errWriteDenied     = &bacnet.Error{Class: 2, Code: 40}
	errInvalidType     = &bacnet.Error{Class: 2, Code: 9}
	errOutOfRange      = &bacnet.Error{Class: 2, Code: 37}
	errNotAnArray      = &bacnet.Error{Class: 2, Code: 50}
	errInvalidIndex    = &bacnet.Error{Class: 2, Code: 42}
	errNoCOV           = &bacnet.Error{Class: 1, Code: 45} // optional-functionality-not-supported
)

// BACnetObject is one object a BACnetServer serves.
type BACnetObject struct {
	ID   bacnet.ObjectID
	Name string
	// Units is a BACnetEngineeringUnits (21), for analog objects: 62 degrees-Celsius, 98
	// percent, 53 pascals (pressure), 48 kilowatts.
	Units uint32
	// Present is the initial present value; its kind must suit the object (real for analog,
	// enumerated 0/1 for binary, unsigned 1..States for multi-state). Zero takes the
	// object's default (0.0, inactive, state 1).
	Present bacnet.Value
	// Commandable gives a value object a priority array (outputs always have one, 12.3,
	// 12.8, 12.19: present value is commandable).
	Commandable bool
	// States is a multi-state object's Number_Of_States (12.20.11); 0 means 3.
	States uint32
	// NoCOV makes the device refuse SubscribeCOV for the object, as devices do for objects
	// they cannot notify (13.14.2).
	NoCOV bool
}

// object is the state of one served object.
type object struct {
	BACnetObject
	present  bacnet.Value
	priority [16]bacnet.Value // null where no one commands (19.2.1)
	relDef   bacnet.Value
	flags    bacnet.StatusFlags
}

func newObject(o BACnetObject) *object {
	b := &object{BACnetObject: o}
	if b.States == 0 {
		b.States = 3
	}
	def := b.defaultValue()
	if o.Present.Kind == bacnet.KindNull {
		o.Present = def
	}
	b.present, b.relDef = o.Present, o.Present
	for i := range b.priority {
		b.priority[i] = bacnet.Value{Kind: bacnet.KindNull}
	}
	return b
}

// defaultValue is an object's present value before anyone writes: 0.0, inactive, state 1.
func (o *object) defaultValue() bacnet.Value {
	switch o.ID.Type {
	case bacnet.ObjectAnalogInput, bacnet.ObjectAnalogOutput, bacnet.ObjectAnalogValue:
		return bacnet.Value{Kind: bacnet.KindReal}
	case bacnet.ObjectBinaryInput, bacnet.ObjectBinaryOutput, bacnet.ObjectBinaryValue:
		return bacnet.Value{Kind: bacnet.KindEnumerated}
	}
	return bacnet.Value{Kind: bacnet.KindUnsigned, Uint: 1}
}

// commandable: outputs always (12.3.4, 12.8.4, 12.20.4 in spirit), values when asked.
func (o *object) commandable() bool {
	switch o.ID.Type {
	case bacnet.ObjectAnalogOutput, bacnet.ObjectBinaryOutput, bacnet.ObjectMultiStateOutput:
		return true
	}
	return o.Commandable
}

func (o *object) analog() bool {
	t := o.ID.Type
	return t == bacnet.ObjectAnalogInput || t == bacnet.ObjectAnalogOutput || t == bacnet.ObjectAnalogValue
}

func (o *object) multiState() bool {
	t := o.ID.Type
	return t == bacnet.ObjectMultiStateInput || t == bacnet.ObjectMultiStateOutput || t == bacnet.ObjectMultiStateValue
}

// read returns a property's values, or the error a device gives (15.5.1.3.2).
func (o *object) read(p bacnet.PropertyID, index uint32) ([]bacnet.Value, error) {
	one := func(v bacnet.Value) ([]bacnet.Value, error) {
		if index != bacnet.NoIndex {
			return nil, errNotAnArray
		}
		return []bacnet.Value{v}, nil
	}
	switch p {
	case propObjectIdentifier:
		return one(bacnet.Value{Kind: bacnet.KindObjectID, Object: o.ID})
	case bacnet.PropObjectName:
		return one(bacnet.Value{Kind: bacnet.KindCharString, String: o.Name})
	case propObjectType:
		return one(bacnet.Value{Kind: bacnet.KindEnumerated, Uint: uint64(o.ID.Type)})
	case bacnet.PropPresentValue:
		return one(o.present)
	case bacnet.PropStatusFlags:
		return one(o.flags.Value())
	case propEventState:
		return one(bacnet.Value{Kind: bacnet.KindEnumerated}) // normal (21, BACnetEventState)
	case propOutOfService:
		return one(bacnet.Value{Kind: bacnet.KindBoolean, Bool: o.flags.OutOfService})
	case bacnet.PropUnits:
		if o.analog() {
			return one(bacnet.Value{Kind: bacnet.KindEnumerated, Uint: uint64(o.Units)})
		}
	case propNumberOfStates:
		if o.multiState() {
			return one(bacnet.Value{Kind: bacnet.KindUnsigned, Uint: uint64(o.States)})
		}
	case bacnet.PropPriorityArray:
		if o.commandable() {
			return arrayRead(o.priority[:], index)
		}
	case propRelinquishDefault:
		if o.commandable() {
			return one(o.relDef)
		}
	}
	return nil, errUnknownProperty
}

// arrayRead reads an array whole, its length at index 0, or one element (15.5.1.1.3).
func arrayRead(a []bacnet.Value, index uint32) ([]bacnet.Value, error) {
	switch {
	case index == bacnet.NoIndex:
		return a, nil
	case index == 0:
		return []bacnet.Value{{Kind: bacnet.KindUnsigned, Uint: uint64(len(a))}}, nil
	case int(index) > len(a):
		return nil, errInvalidIndex
	}
	return []bacnet.Value{a[index-1]}, nil
}

// write applies a WriteProperty (15.9.2): a commandable present value goes into its slot of
// the priority array and the highest slot in use wins, NULL relinquishing a slot (19.2.1.2,
// 19.2.1.3); other present values of value objects are written straight; inputs and the rest
// are not writable here.
func (o *object) write(w bacnet.WriteProperty) error {
	if w.Property != bacnet.PropPresentValue {
		if w.Property == propRelinquishDefault && o.commandable() {
			if err := o.check(w.Value); err != nil {
				return err
			}
			o.relDef = w.Value
			o.settle()
			return nil
		}
		return errWriteDenied
	}
	if w.Index != bacnet.NoIndex {
		return errNotAnArray
	}
	if o.commandable() {
		if w.Value.Kind != bacnet.KindNull {
			if err := o.check(w.Value); err != nil {
				return err
			}
		}
		prio := w.Priority
		if prio == 0 {
			prio = 16 // 15.9.1.1.5: no priority means the lowest
		}
		o.priority[prio-1] = w.Value
		o.settle()
		return nil
	}
	switch o.ID.Type {
	case bacnet.ObjectAnalogValue, bacnet.ObjectBinaryValue, bacnet.ObjectMultiStateValue:
		if err := o.check(w.Value); err != nil {
			return err
		}
		o.present = w.Value
		return nil
	}
	return errWriteDenied
}

// settle makes the present value the highest priority in use, or the relinquish default
// (19.2.1.3).
func (o *object) settle() {
	for _, v := range o.priority {
		if v.Kind != bacnet.KindNull {
			o.present = v
			return
		}
	}
	o.present = o.relDef
}

// check refuses a value of the wrong type or out of range for the object (15.9.1.3.1:
// invalid-data-type, value-out-of-range).
func (o *object) check(v bacnet.Value) error {
	switch {
	case o.analog():
		if v.Kind != bacnet.KindReal {
			return errInvalidType
		}
	case o.multiState():
		if v.Kind != bacnet.KindUnsigned {
			return errInvalidType
		}
		if v.Uint < 1 || v.Uint > uint64(o.States) {
			return errOutOfRange
		}
	default:
		if v.Kind != bacnet.KindEnumerated {
			return errInvalidType
		}
		if v.Uint > 1 {
			return errOutOfRange
		}
	}
	return nil
}
