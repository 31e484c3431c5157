package bacnet

import (
	"fmt"
	"strconv"
)

// propertyNames are the names profiles give the properties of 21's BACnetPropertyIdentifier
// that a point reads; any other is written by number.
var propertyNames = map[string]PropertyID{
	"present-value": PropPresentValue, "status-flags": PropStatusFlags, "units": PropUnits,
	"object-name": PropObjectName, "priority-array": PropPriorityArray,
	"description": 28, "event-state": 36, "out-of-service": 81, "relinquish-default": 104,
	"reliability": 103, "number-of-states": 74, "cov-increment": 22,
}

// ParsePropertyID reads a property as a profile names it: present-value, status-flags, or a
// number (21: the identifier is an enumeration of 22 bits).
func ParsePropertyID(s string) (PropertyID, error) {
	if id, ok := propertyNames[s]; ok {
		return id, nil
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil && n < 1<<22 {
		return PropertyID(n), nil
	}
	return 0, fmt.Errorf("property %q: not a property name (present-value, status-flags, units, out-of-service, reliability, ...) or number", s)
}
