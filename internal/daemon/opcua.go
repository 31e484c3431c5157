package daemon

import (
	"context"
	"reflect"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/opcua"
)

// buildOPCUA builds the OPC UA driver for the devices with an opcua transport; nil when there
// are none. Its snapshots go through the same fan-out (d.handle) as the Modbus pollers', so
// its readings reach InfluxDB, the cache, the alarms (comm_loss included) and northbound alike.
func (d *Daemon) buildOPCUA(context.Context) error {
	devs, err := d.cfg.OPCUADevices(d.devs)
	if err != nil || len(devs) == 0 {
		return err
	}
	pki, err := opcua.OpenPKI(d.cfg.StateDir)
	if err != nil {
		return err
	}
	d.opcua, err = opcua.New(devs, d.handle, opcua.Options{PKI: pki,
		BackoffMin: d.cfg.Modbus.BackoffMin, BackoffMax: d.cfg.Modbus.BackoffMax,
		Logger: d.log.With("component", "opcua")})
	return err
}

// opcuaSource is the OPC UA driver as a source, nil without OPC UA devices.
func (d *Daemon) opcuaSource() Source {
	if d.opcua == nil {
		return nil
	}
	return d.opcua
}

// opcuaRebuildKeys names the OPC UA devices a reload adds, removes or changes: the driver is
// built with the pipeline, so any change to them rebuilds it (rebuild.go).
func opcuaRebuildKeys(prev, next *config.Config) []string {
	old := map[string]*config.DeviceOPCUA{}
	for _, d := range prev.Devices {
		if d.OPCUA != nil {
			old[d.ID] = d.OPCUA
		}
	}
	var keys []string
	for _, d := range next.Devices {
		o, had := old[d.ID]
		delete(old, d.ID)
		if (d.OPCUA != nil || had) && !reflect.DeepEqual(o, d.OPCUA) {
			keys = append(keys, "devices["+d.ID+"].opcua")
		}
	}
	for id := range old {
		keys = append(keys, "devices["+id+"].opcua")
	}
	return keys
}

// opcuaWrite writes to a point of an OPC UA device through the driver, reporting false for any
// other device. The snapshot it returns holds the value read back after the write, for the
// command service to confirm; the device's other points are not in it.
func (d *Daemon) opcuaWrite(ctx context.Context, dev *devices.Device, pt *devices.Point, v devices.Value) (*devices.Snapshot, bool, error) {
	if d.opcua == nil || !d.opcua.Serves(dev.ID) {
		return nil, false, nil
	}
	got, err := d.opcua.Write(ctx, dev.ID, pt.Name, v)
	if err != nil {
		return nil, true, err
	}
	snap := &devices.Snapshot{Device: dev, Time: time.Now(), Comm: devices.CommOnline, Values: make([]devices.Value, len(dev.Profile.Points))}
	for i := range snap.Values {
		snap.Values[i] = devices.Value{Quality: devices.QualityBad}
	}
	if _, idx, ok := dev.Profile.Point(pt.Name); ok {
		snap.Values[idx] = got
	}
	return snap, true, nil
}
