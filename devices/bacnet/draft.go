package bacnet

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Draft is what discovery learnt of one device, to write a draft profile from.
type Draft struct {
	// Name is the profile's name; Device is the device discovered (its I-Am).
	Name    string
	Device  Found
	Objects []ObjectInfo
}

// mapped reports the object types a profile point reads: the analog, binary and multi-state
// inputs, outputs and values (12.2 to 12.20); the others are listed as comments.
func mapped(t ObjectType) bool {
	switch t {
	case ObjectAnalogInput, ObjectAnalogOutput, ObjectAnalogValue, ObjectBinaryInput, ObjectBinaryOutput,
		ObjectBinaryValue, ObjectMultiStateInput, ObjectMultiStateOutput, ObjectMultiStateValue:
		return true
	}
	return false
}

// commandable reports the object types whose present value is always commandable (12.3.4,
// 12.8.4, 12.19.4); value objects may be, which only the device's priority array shows.
func commandable(t ObjectType) bool {
	return t == ObjectAnalogOutput || t == ObjectBinaryOutput || t == ObjectMultiStateOutput
}

// YAML writes the draft profile in the format devices.ParseProfile reads (docs/bacnet.md): one
// point per mapped object, named after its Object_Name, with its units as a symbol, read by COV
// where the device offers it. Outputs are marked as candidates to make writable; nothing is
// writable until a person says so and gives limits.
func (d Draft) YAML() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Draft profile of BACnet device %d at %s (vendor %d, max APDU %d), written by\n",
		d.Device.Device.Instance, d.Device.Peer, d.Device.Vendor, d.Device.MaxAPDU)
	b.WriteString("# facilityd bacnet discover. Check each point's name and unit; make a setpoint writable\n")
	b.WriteString("# with writable: true and min/max; give multi-state points type: enum with their labels.\n")
	fmt.Fprintf(&b, "name: %s\nkind: generic\npoints:\n", yamlString(d.Name))
	used := map[string]int{}
	var skipped []ObjectInfo
	for _, o := range d.Objects {
		if !mapped(o.ID.Type) {
			if o.ID.Type != ObjectDevice {
				skipped = append(skipped, o)
			}
			continue
		}
		name := pointName(o, used)
		fmt.Fprintf(&b, "  - name: %s\n    object: %s\n", yamlString(name), yamlString(o.ID.String()))
		if o.HasUnits {
			if u := UnitSymbol(o.Units); u != "" {
				fmt.Fprintf(&b, "    unit: %s\n", yamlString(u))
			}
		}
		if o.Name != "" {
			fmt.Fprintf(&b, "    description: %s\n", yamlString(o.Name))
		}
		switch {
		case o.ID.Type == ObjectAnalogOutput:
			b.WriteString("    # commandable: writable: true, with min and max, to write it\n")
		case commandable(o.ID.Type):
			b.WriteString("    # commandable: writable: true to write it\n")
		}
	}
	for _, o := range skipped {
		fmt.Fprintf(&b, "# not mapped: %s %s\n", o.ID, yamlString(o.Name))
	}
	return b.Bytes()
}

// pointName makes a point name of an object's name: lower case, words joined by '_', as
// profiles name points; the object's type and instance when it has no name, and a number
// after a name already used.
func pointName(o ObjectInfo, used map[string]int) string {
	var sb strings.Builder
	gap := false
	for _, r := range strings.ToLower(o.Name) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if gap && sb.Len() > 0 {
				sb.WriteByte('_')
			}
			sb.WriteRune(r)
			gap = false
			continue
		}
		gap = true
	}
	name := sb.String()
	if name == "" || name == "time" || name == "comm_ok" {
		name = strings.ReplaceAll(o.ID.Type.String(), "-", "_") + "_" + strconv.FormatUint(uint64(o.ID.Instance), 10)
	}
	used[name]++
	if n := used[name]; n > 1 {
		name += "_" + strconv.Itoa(n)
	}
	return name
}

// yamlString quotes s for YAML.
func yamlString(s string) string { return strconv.Quote(s) }
