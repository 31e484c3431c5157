package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/telemetry"
)

// LineProtocol renders a write as one InfluxDB line of measurement command: tags site,
// device, point, result; fields by, reason, the value asked for and the value read back
// (numbers, bools and strings as they are), error and exception when set.
func LineProtocol(site string, r Record) string {
	fields := map[string]any{"id": r.ID, "by": r.By, "reason": r.Reason, "new": fieldValue(r.New)}
	if r.ReadBack != nil {
		fields["read_back"] = fieldValue(r.ReadBack)
	}
	if r.Old != nil {
		fields["old"] = fieldValue(r.Old)
	}
	if r.Error != "" {
		fields["error"] = r.Error
	}
	if r.Exception != 0 {
		fields["exception"] = r.Exception
	}
	return telemetry.Line{
		Measurement: "command",
		Tags:        map[string]string{"site": site, "device": r.Device, "point": r.Point, "result": string(r.Result)},
		Fields:      fields,
		Time:        r.Time,
	}.String()
}

// fieldValue keeps one type per field across points: numbers and bools as numbers, so that
// a circuit switched on (true) and a schedule time (1080) share the field.
func fieldValue(v any) any {
	switch x := v.(type) {
	case bool:
		if x {
			return 1.0
		}
		return 0.0
	case int64:
		return float64(x)
	case float64, string:
		return x
	}
	return fmt.Sprint(v)
}

// Publisher is the MQTT session commands to devices that speak MQTT go out on.
type Publisher interface {
	Publish(ctx context.Context, topic string, qos byte, retain bool, payload []byte) error
}

// Command is the payload published on a device's command topic.
type Command struct {
	Point string `json:"point"`
	Value any    `json:"value"`
}

// MQTTWriter publishes a write at QoS 1 on the device's command topic (the profile's
// command_topic under the device's topic) as {"point": NAME, "value": VALUE}. The read-back is
// the device's next payloads.
func MQTTWriter(pub Publisher) Writer {
	return WriterFunc(func(ctx context.Context, dev *devices.Device, pt *devices.Point, v devices.Value) (*devices.Snapshot, error) {
		topic, err := CommandTopic(dev)
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(Command{Point: pt.Name, Value: pt.Typed(v)})
		if err != nil {
			return nil, err
		}
		if err := pub.Publish(ctx, topic, 1, false, body); err != nil {
			return nil, fmt.Errorf("device %s: publish on %s: %w", dev.ID, topic, err)
		}
		return nil, nil
	})
}

// CommandTopic is where writes to an MQTT device are published.
func CommandTopic(dev *devices.Device) (string, error) {
	if dev.MQTT == nil || dev.Profile == nil || dev.Profile.CommandTopic == "" {
		return "", fmt.Errorf("device %s: its profile has no command_topic", dev.ID)
	}
	if strings.ContainsAny(dev.MQTT.Topic, "+#") {
		return "", fmt.Errorf("device %s: its topic %q has wildcards, so it has no one command topic; give the device its own topic", dev.ID, dev.MQTT.Topic)
	}
	p := devices.Point{Topic: dev.Profile.CommandTopic}
	return p.TopicUnder(dev.MQTT.Topic), nil
}
