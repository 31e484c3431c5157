package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/commands"
)

// buildCommands opens the command journal and the write service: Modbus writes go through the
// running pollers (between polls, read back by the poll after), MQTT writes are published on the
// device's command topic. Every finished write goes to the event stream and to InfluxDB from the
// journal, each sink with its cursor there ("event-stream", "influx-command"), as the
// "command records" stage runs (stages.go): a write completed just before a crash reaches
// both at the next start. The InfluxDB point is keyed by the write's tags and time, so a record
// handed over again is one point; the event carries the record's id. The journal keeps a
// year (config.DefaultRetention, the estate's practice for duty records) of what both have
// handled.
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
		if dev.BACnet != nil && d.bacnet != nil {
			return d.bacnet.Write(ctx, dev, pt, v) // bacnet.go
		}
		if snap, ok, err := d.opcuaWrite(ctx, dev, pt, v); ok { // opcua.go
			return snap, err
		}
		p := d.reload.current.Load()
		if dev.Modbus == nil || p == nil {
			return nil, errors.New("device " + dev.ID + " is not polled over Modbus now")
		}
		r := p.Write(ctx, dev.ID, pt, v)
		return r.ReadBack, r.Err
	})
	sinks := []commands.Sink{{Name: "event-stream", Handle: func(_ context.Context, r commands.Record) error {
		d.hub.Publish("command", r)
		return nil
	}}}
	if d.writer != nil {
		sinks = append(sinks, commands.Sink{Name: "influx-command", Handle: func(ctx context.Context, r commands.Record) error {
			return d.writer.WriteNow(ctx, commands.LineProtocol(d.cfg.Site, r))
		}})
	}
	d.commands, err = commands.New(commands.Config{
		Latest: d.latest, Writer: writer, Store: store, DenyKinds: d.cfg.DenyKinds(),
		Timeout: d.cfg.Commands.Timeout, Sinks: sinks, Retention: config.DefaultRetention,
		Log: d.log.With("component", "commands"),
	})
	if err != nil {
		return fmt.Errorf("commands: %w", err)
	}
	d.log.Info("command journal", "path", d.cfg.Commands.Store, "deny_kinds", d.cfg.DenyKinds())
	return nil
}
