package simulators

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	paho "github.com/eclipse/paho.mqtt.golang"

	mqttdev "github.com/facilityd/facilityd/devices/mqtt"
)

// commandTopic is where the device takes writes: the spec's CommandTopic, or else its
// profile's command_topic under its topic, as facilityd publishes them
// (devices/commands.CommandTopic). Empty: the device takes none.
func (p *publisher) commandTopic() string {
	if p.spec.CommandTopic != "" {
		return p.spec.CommandTopic
	}
	if ct := p.d.spec.Profile.CommandTopic; ct != "" {
		return strings.TrimSuffix(p.spec.Topic, "/") + "/" + ct
	}
	return ""
}

// onCommand applies one write received on the command topic and publishes the device's state
// at once, as controllers report a change, so the writer's read-back need not wait for the
// next interval. A write the device cannot take is logged and dropped: MQTT has no answer.
func (p *publisher) onCommand(c paho.Client, m paho.Message) {
	if err := p.d.command(m.Payload()); err != nil {
		p.log.Warn("mqtt command ignored", "device", p.d.spec.ID, "topic", m.Topic(), "err", err)
		return
	}
	if pf := p.d.protocolFaults(); pf.silent || pf.drop {
		return
	}
	if p.d.hasJSONPoints() {
		c.Publish(p.spec.Topic, 0, false, p.d.jsonPayload())
	}
	for _, tv := range p.d.topicValues(p.spec.Topic) {
		c.Publish(tv.topic, 0, false, tv.payload)
	}
}

// command applies {"point": NAME, "value": VALUE} to the model as a Modbus write of the same
// point would be: the value typed by the profile, then offered to the model, which refuses
// points it does not let a client write and values out of its range.
func (d *device) command(payload []byte) error {
	var c struct {
		Point string `json:"point"`
		Value any    `json:"value"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return fmt.Errorf("payload %.200q is not {\"point\": ..., \"value\": ...}: %w", payload, err)
	}
	pt, _, ok := d.spec.Profile.Point(c.Point)
	if !ok {
		return fmt.Errorf("no point %q", c.Point)
	}
	v, err := mqttdev.Decode(pt, c.Value)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refresh()
	if err := d.model.checkWrite(pt.Name, v); err != nil {
		return fmt.Errorf("point %s: %w", pt.Name, err)
	}
	d.model.write(pt.Name, v)
	d.encode()
	d.log.Debug("mqtt command applied", "device", d.spec.ID, "point", pt.Name, "value", c.Value)
	return nil
}
