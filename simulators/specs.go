package simulators

import (
	"strings"

	"github.com/facilityd/facilityd/devices"
)

// SpecsFor describes a simulator for every Modbus and MQTT device of a facilityd configuration, at the
// address and unit facilityd polls, so that one file describes both sides. A pump's role
// (supply or drainage) comes from its "role" tag.
func SpecsFor(devs []*devices.Device) []DeviceSpec {
	specs := make([]DeviceSpec, 0, len(devs))
	for _, d := range devs {
		spec := DeviceSpec{ID: d.ID, Kind: d.Kind, Profile: d.Profile, Role: d.Tags["role"]}
		switch {
		case d.Modbus != nil:
			spec.Address, spec.Unit = d.Modbus.Address, d.Modbus.Unit
		case d.BACnet != nil:
			spec.Address, spec.BACnet = d.BACnet.Address, &BACnetSpec{Instance: d.BACnet.Instance}
		case d.MQTT != nil:
			// A device's topic may hold wildcards for facilityd; the simulator publishes on the
			// topic with each wildcard level replaced by the device id.
			spec.MQTT = &MQTTSpec{Topic: concreteTopic(d.MQTT.Topic, d.ID), StatusTopic: concreteTopic(d.MQTT.StatusTopic, d.ID), Interval: d.Interval}
		default:
			continue
		}
		specs = append(specs, spec)
	}
	return specs
}

func concreteTopic(topic, id string) string {
	if topic == "" {
		return ""
	}
	levels := strings.Split(topic, "/")
	for i, l := range levels {
		if l == "+" || l == "#" {
			levels[i] = id
		}
	}
	return strings.Join(levels, "/")
}
