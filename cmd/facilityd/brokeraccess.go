package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/commands"
	"github.com/facilityd/facilityd/northbound"
)

// brokerAccess is who may do what on the embedded broker, from mqtt.embedded: the gateway
// (a password drawn now), the guards' handsets, the devices that publish (on the topics of
// the configured MQTT devices) and anonymous readers of telemetry if allowed.
func brokerAccess(cfg *config.Config, devs []*devices.Device) (*northbound.Access, error) {
	e := cfg.MQTT.Embedded
	a := &northbound.Access{Site: cfg.Site, Gateway: northbound.NewGatewayCredentials(), AnonymousTelemetry: e.Anonymous != "none"}
	for i, h := range e.Handsets {
		acc, err := northbound.ParseAccount(h.Username, h.SHA256)
		if err != nil {
			return nil, fmt.Errorf("mqtt.embedded.handsets[%d]: %w", i, err)
		}
		a.Handsets = append(a.Handsets, acc)
	}
	for i, d := range e.Devices {
		acc, err := northbound.ParseAccount(d.Username, d.SHA256)
		if err != nil {
			return nil, fmt.Errorf("mqtt.embedded.devices[%d]: %w", i, err)
		}
		a.Devices = append(a.Devices, acc)
	}
	for _, d := range devs {
		if d.MQTT == nil {
			continue
		}
		// A device publishes its payload, its status and its points' own topics, and reads
		// the command topic facilityd writes to it on.
		a.DeviceTopics = append(a.DeviceTopics, d.MQTT.Topic)
		if d.MQTT.StatusTopic != "" {
			a.DeviceTopics = append(a.DeviceTopics, d.MQTT.StatusTopic)
		}
		for i := range d.Profile.Points {
			if pt := &d.Profile.Points[i]; pt.Topic != "" {
				a.DeviceTopics = append(a.DeviceTopics, pt.TopicUnder(d.MQTT.Topic))
			}
		}
		if t, err := commands.CommandTopic(d); err == nil {
			a.CommandTopics = append(a.CommandTopics, t)
		}
	}
	return a, nil
}

// The demo's MQTT simulators sign in to the embedded broker with this account, which
// examples/demo.yaml lists under mqtt.embedded.devices. It opens nothing but the device topics
// of a broker on loopback.
const (
	demoDevicesUser     = "demo-devices"
	demoDevicesPassword = "demo-devices-on-loopback"
)

// simulatorBrokerURL is the broker URL the demo's simulators publish to: the embedded broker
// with the demo's device account when the configuration has it, else mqtt.url as it is.
func simulatorBrokerURL(cfg *config.Config) string {
	u := cfg.MQTT.BrokerURL()
	if cfg.MQTT.URL != "" {
		return u
	}
	for _, d := range cfg.MQTT.Embedded.Devices {
		if d.Username == demoDevicesUser {
			return "tcp://" + url.UserPassword(demoDevicesUser, demoDevicesPassword).String() + "@" + strings.TrimPrefix(u, "tcp://")
		}
	}
	return u
}
