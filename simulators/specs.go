package simulators

import "github.com/facilityd/facilityd/devices"

// SpecsFor describes a simulator for every Modbus device of a facilityd configuration, at the
// address and unit facilityd polls, so that one file describes both sides. A pump's role
// (supply or drainage) comes from its "role" tag.
func SpecsFor(devs []*devices.Device) []DeviceSpec {
	specs := make([]DeviceSpec, 0, len(devs))
	for _, d := range devs {
		if d.Modbus == nil {
			continue
		}
		specs = append(specs, DeviceSpec{
			ID: d.ID, Kind: d.Kind, Profile: d.Profile,
			Address: d.Modbus.Address, Unit: d.Modbus.Unit, Role: d.Tags["role"],
		})
	}
	return specs
}
