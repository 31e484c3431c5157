package daemon

import (
	"context"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/modbus"
)

// buildSources builds the Modbus pollers and the reloader that runs them with the MQTT device
// listener (built with the MQTT side); the gateway's health was built by New.
func (d *Daemon) buildSources(context.Context) error {
	opts := modbus.Options{
		BackoffMin: d.cfg.Modbus.BackoffMin, BackoffMax: d.cfg.Modbus.BackoffMax,
		Logger: d.log.With("component", "modbus"), Metrics: modbus.NewMetrics(d.reg),
	}
	p, err := modbus.New(modbusOnly(d.devs), d.handle, opts)
	if err != nil {
		return err
	}
	d.poller = p
	d.reload = &reloader{path: d.h.ConfigPath, log: d.log, latest: d.latest, handle: d.handle, opts: opts, mqtt: d.mq,
		hooks:    append(append([]func(*config.Config) error(nil), d.h.OnReload...), historyOnReload(d.history)),
		requests: make(chan chan reloadAnswer), gone: make(chan struct{}),
		rebuild: d.checkRebuild, wait: d.cfg.ShutdownTimeout + time.Minute, loaded: d.gen.loaded}
	if d.h.ConfigPath != "" && d.reload.loaded == nil {
		// The file as it is now, not cfg: run and the tests adjust cfg after loading it.
		d.reload.loaded, _ = config.Load(d.h.ConfigPath)
	}
	return nil
}

// modbusOnly is the devices the Modbus pollers serve.
func modbusOnly(devs []*devices.Device) []*devices.Device {
	var out []*devices.Device
	for _, d := range devs {
		if d.Modbus != nil {
			out = append(out, d)
		}
	}
	return out
}
