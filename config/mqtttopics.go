package config

import (
	"fmt"
	"strings"

	"github.com/facilityd/facilityd/devices"
)

// deviceTopic is one topic filter an MQTT device is heard on or written to, with the key that
// configures it.
type deviceTopic struct {
	key, filter string
}

// mqttTopics lists every filter of an MQTT device: its data topic, its points' own topics, its
// status topic and the command topic writes to it are published on.
func mqttTopics(d *Device, profile *devices.Profile) []deviceTopic {
	m := d.MQTT
	out := []deviceTopic{{"mqtt.topic", m.Topic}}
	if m.StatusTopic != "" {
		out = append(out, deviceTopic{"mqtt.status_topic", m.StatusTopic})
	}
	if profile == nil {
		return out
	}
	for i := range profile.Points {
		if p := &profile.Points[i]; p.Topic != "" {
			out = append(out, deviceTopic{"mqtt.topic (point " + p.Name + ")", p.TopicUnder(m.Topic)})
		}
	}
	if profile.CommandTopic != "" {
		p := devices.Point{Topic: profile.CommandTopic}
		out = append(out, deviceTopic{"mqtt.topic (command topic)", p.TopicUnder(m.Topic)})
	}
	return out
}

// validateMQTTOverlap refuses two MQTT devices whose topics could carry the same message:
// each would take the other's payloads as its own readings, and a write meant for one would be
// published where the other listens.
func (c *Config) validateMQTTOverlap(profiles map[string]*devices.Profile) []error {
	type entry struct {
		name   string
		topics []deviceTopic
	}
	var devs []entry
	for i := range c.Devices {
		d := &c.Devices[i]
		if d.MQTT == nil || validTopic(d.MQTT.Topic) != "" {
			continue
		}
		devs = append(devs, entry{fmt.Sprintf("devices[%d] (%s)", i, d.ID), mqttTopics(d, profiles[d.Profile])})
	}
	var errs []error
	for i := range devs {
		for j := i + 1; j < len(devs); j++ {
			if a, b, ok := overlapping(devs[i].topics, devs[j].topics); ok {
				errs = append(errs, fmt.Errorf("%s.%s %q and %s.%s %q overlap: one device would read the other's messages and writes meant for one would reach the other; give each device its own topic",
					devs[i].name, a.key, a.filter, devs[j].name, b.key, b.filter))
			}
		}
	}
	return errs
}

// overlapping returns the first pair of filters, one from each list, that some topic matches.
func overlapping(as, bs []deviceTopic) (deviceTopic, deviceTopic, bool) {
	for _, a := range as {
		for _, b := range bs {
			if filtersOverlap(a.filter, b.filter) {
				return a, b, true
			}
		}
	}
	return deviceTopic{}, deviceTopic{}, false
}

// filtersOverlap reports whether one topic name could match both filters. MQTT 3.1.1, 4.7.1.2:
// '#' matches its parent level and any number of levels below it ("sport/#" matches "sport");
// 4.7.1.3: '+' matches exactly one level.
func filtersOverlap(a, b string) bool {
	la, lb := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; ; i++ {
		switch {
		case i < len(la) && la[i] == "#", i < len(lb) && lb[i] == "#":
			return true
		case i == len(la) && i == len(lb):
			return true
		case i == len(la) || i == len(lb):
			return false // one is longer, by levels that are not '#'
		case la[i] != lb[i] && la[i] != "+" && lb[i] != "+":
			return false
		}
	}
}
