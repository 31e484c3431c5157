package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/commands"
)

// buildCommands opens the command journal and the write service: Modbus writes go through the
// running pollers (between polls, read back by the poll after), MQTT writes are published on the
// device's command topic; every finished write goes to the event stream and to InfluxDB.
func (d *Daemon) buildCommands(context.Context) error {
	store, err := commands.OpenStore(d.cfg.Commands.Store)
	if err != nil {
		return err
	}
	d.closers = append(d.closers, func() { store.Close() })
	mqttWriter := commands.MQTTWriter(d.mq.client)
	writer := commands.WriterFunc(func(ctx context.Context, dev *devices.Device, pt *devices.Point, v devices.Value) (*devices.Snapshot, error) {
		if dev.MQTT != nil {
			return mqttWriter.Write(ctx, dev, pt, v)
		}
		p := d.reload.current.Load()
		if dev.Modbus == nil || p == nil {
			return nil, errors.New("device " + dev.ID + " is not polled over Modbus now")
		}
		r := p.Write(ctx, dev.ID, pt, v)
		return r.ReadBack, r.Err
	})
	sinks := []func(commands.Record){func(r commands.Record) { d.hub.Publish("command", r) }}
	if d.writer != nil {
		sinks = append(sinks, func(r commands.Record) {
			if l := commands.LineProtocol(d.cfg.Site, r); l != "" {
				d.writer.EnqueueLine(l, time.Now())
			}
		})
	}
	d.commands, err = commands.New(commands.Config{
		Latest: d.latest, Writer: writer, Store: store, DenyKinds: d.cfg.DenyKinds(),
		Timeout: d.cfg.Commands.Timeout, Sinks: sinks, Log: d.log.With("component", "commands"),
	})
	if err != nil {
		return fmt.Errorf("commands: %w", err)
	}
	d.log.Info("command journal", "path", d.cfg.Commands.Store, "deny_kinds", d.cfg.DenyKinds())
	return nil
}
