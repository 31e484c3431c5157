package daemon

import (
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/commands"
	"github.com/facilityd/facilityd/northbound"
)

// brokerAccess is who may do what on the embedded broker, from mqtt.embedded: the gateway
// (a password drawn now), the guards' handsets, the devices that publish (each account on the
// topics of its MQTT devices, or of every MQTT device if it lists none), the integrators that
// read, and anonymous readers of telemetry if allowed.
func brokerAccess(cfg *config.Config, devs []*devices.Device) (*northbound.Access, error) {
	e := cfg.MQTT.Embedded
	a := &northbound.Access{Site: cfg.Site, Gateway: northbound.NewGatewayCredentials(), AnonymousTelemetry: e.Anonymous != "none"}
	for _, list := range []struct {
		key  string
		from []config.BrokerAccount
		to   *[]northbound.Account
	}{{"mqtt.embedded.handsets", e.Handsets, &a.Handsets}, {"mqtt.embedded.integrators", e.Integrators, &a.Integrators}} {
		for i, h := range list.from {
			acc, err := northbound.ParseAccount(h.Username, h.SHA256)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", list.key, i, err)
			}
			*list.to = append(*list.to, acc)
		}
	}
	for i, d := range e.Devices {
		acc, err := northbound.ParseAccount(d.Username, d.SHA256)
		if err != nil {
			return nil, fmt.Errorf("mqtt.embedded.devices[%d]: %w", i, err)
		}
		da := northbound.DeviceAccount{Account: acc}
		for _, dev := range devs {
			if dev.MQTT != nil && (len(d.Devices) == 0 || slices.Contains(d.Devices, dev.ID)) {
				addDeviceTopics(&da, dev)
			}
		}
		a.Devices = append(a.Devices, da)
	}
	return a, nil
}

// addDeviceTopics gives a device account what one MQTT device needs: to publish its payload,
// its points' own topics and its status, and to read the command topic facilityd writes to it
// on.
func addDeviceTopics(da *northbound.DeviceAccount, d *devices.Device) {
	da.Topics = append(da.Topics, d.MQTT.Topic)
	if d.MQTT.StatusTopic != "" {
		da.StatusTopics = append(da.StatusTopics, d.MQTT.StatusTopic)
	}
	for i := range d.Profile.Points {
		if pt := &d.Profile.Points[i]; pt.Topic != "" {
			da.Topics = append(da.Topics, pt.TopicUnder(d.MQTT.Topic))
		}
	}
	if t, err := commands.CommandTopic(d); err == nil {
		da.CommandTopics = append(da.CommandTopics, t)
	}
}

// The demo's MQTT simulators sign in to the embedded broker with this account, which
// examples/demo.yaml lists under mqtt.embedded.devices. It opens nothing but the device topics
// of a broker on loopback.
const (
	DemoDevicesUser     = "demo-devices"
	DemoDevicesPassword = "demo-devices-on-loopback"
)

// SimulatorBrokerURL is the broker URL the demo's simulators publish to: the embedded broker
// with the demo's device account when the configuration has it, else mqtt.url as it is.
func SimulatorBrokerURL(cfg *config.Config) string {
	u := cfg.MQTT.BrokerURL()
	if cfg.MQTT.URL != "" {
		return u
	}
	for _, d := range cfg.MQTT.Embedded.Devices {
		if d.Username == DemoDevicesUser {
			return "tcp://" + url.UserPassword(DemoDevicesUser, DemoDevicesPassword).String() + "@" + strings.TrimPrefix(u, "tcp://")
		}
	}
	return u
}

// raiseFileLimit raises the open-files soft limit to the hard one at start (every broker
// client holds a descriptor; see northbound.RaiseFileLimit), and says so if it cannot.
func raiseFileLimit(log *slog.Logger) {
	n, err := northbound.RaiseFileLimit()
	if err != nil {
		log.Warn("open-files limit left as it was", "error", err)
		return
	}
	log.Debug("open-files limit", "soft", n)
}
