package bacnet

import (
	"fmt"
	"strconv"
	"strings"
)

// Object types of the points this package maps (ASHRAE 135-2020, 21, BACnetObjectType).
const (
	ObjectAnalogInput      ObjectType = 0
	ObjectAnalogOutput     ObjectType = 1
	ObjectAnalogValue      ObjectType = 2
	ObjectBinaryInput      ObjectType = 3
	ObjectBinaryOutput     ObjectType = 4
	ObjectBinaryValue      ObjectType = 5
	ObjectDevice           ObjectType = 8
	ObjectMultiStateInput  ObjectType = 13
	ObjectMultiStateOutput ObjectType = 14
	ObjectMultiStateValue  ObjectType = 19
)

// objectNames are the names of 21's BACnetObjectType, as written in profiles.
var objectNames = map[ObjectType]string{
	ObjectAnalogInput: "analog-input", ObjectAnalogOutput: "analog-output", ObjectAnalogValue: "analog-value",
	ObjectBinaryInput: "binary-input", ObjectBinaryOutput: "binary-output", ObjectBinaryValue: "binary-value",
	ObjectDevice: "device", ObjectMultiStateInput: "multi-state-input",
	ObjectMultiStateOutput: "multi-state-output", ObjectMultiStateValue: "multi-state-value",
}

func (t ObjectType) String() string {
	if s, ok := objectNames[t]; ok {
		return s
	}
	return strconv.Itoa(int(t))
}

func (o ObjectID) String() string { return fmt.Sprintf("%s:%d", o.Type, o.Instance) }

// ParseObjectID reads "analog-input:0" (or a numeric type, "0:0") as profiles write objects.
func ParseObjectID(s string) (ObjectID, error) {
	typ, inst, ok := strings.Cut(s, ":")
	if !ok {
		return ObjectID{}, fmt.Errorf("object %q: want type:instance, e.g. analog-input:0", s)
	}
	i, err := strconv.ParseUint(inst, 10, 32)
	if err != nil || i >= MaxInstance {
		return ObjectID{}, fmt.Errorf("object %q: instance must be 0 to %d", s, MaxInstance-1)
	}
	for t, name := range objectNames {
		if name == typ {
			return ObjectID{Type: t, Instance: uint32(i)}, nil
		}
	}
	// 20.2.14: the object type is 10 bits.
	if n, err := strconv.ParseUint(typ, 10, 16); err == nil && n < 1024 {
		return ObjectID{Type: ObjectType(n), Instance: uint32(i)}, nil
	}
	return ObjectID{}, fmt.Errorf("object %q: unknown object type %q", s, typ)
}
