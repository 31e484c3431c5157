package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices/bacnet"
)

// buildBACnet builds the BACnet source of the configured BACnet devices (docs/bacnet.md): it
// hands its snapshots to the same fan-out as the Modbus pollers, so BACnet readings reach the
// live cache, InfluxDB, the alarms, northbound and the console alike, and a device's comm loss
// is its comm_loss alarm. With no BACnet device it opens no socket.
func (d *Daemon) buildBACnet(context.Context) error {
	b := d.cfg.BACnet
	cfg := bacnet.SourceConfig{
		Client:      bacnet.ClientConfig{Local: b.Local, APDUTimeout: b.APDUTimeout, Retries: b.Retries},
		BBMDTTL:     b.BBMDTTL,
		COVLifetime: b.COVLifetime,
		WhoIsWait:   b.WhoIsWait,
		Metrics:     bacnet.NewMetrics(d.reg),
		Log:         d.log.With("component", "bacnet"),
	}
	if b.Retries == 0 {
		cfg.Client.Retries = -1 // bacnet.retries 0: none, where the client's 0 is its default
	}
	var err error
	if cfg.Broadcast, err = netip.ParseAddrPort(b.Broadcast); err != nil {
		return fmt.Errorf("bacnet.broadcast: %q is not ip:port: %w", b.Broadcast, err)
	}
	if b.BBMD != "" {
		if cfg.BBMD, err = netip.ParseAddrPort(b.BBMD); err != nil {
			return fmt.Errorf("bacnet.bbmd: %q is not ip:port: %w", b.BBMD, err)
		}
	}
	src, err := bacnet.NewSource(d.devs, d.handle, cfg)
	if err != nil {
		return err
	}
	d.bacnet = src
	return nil
}

// bacnetSource is the BACnet source as a stage, nil without BACnet devices.
func (d *Daemon) bacnetSource() Source {
	if d.bacnet == nil || d.bacnet.Empty() {
		return nil
	}
	return d.bacnet
}

// bacnetRebuildKeys says whether a reload changed the BACnet section or a BACnet device's
// transport: the source is built with the pipeline, so the pipeline is rebuilt for it.
func bacnetRebuildKeys(prev, next *config.Config) []string {
	var keys []string
	if !reflect.DeepEqual(prev.BACnet, next.BACnet) {
		keys = append(keys, "bacnet")
	}
	transports := func(c *config.Config) map[string]config.DeviceBACnet {
		out := map[string]config.DeviceBACnet{}
		for _, dev := range c.Devices {
			if dev.BACnet != nil {
				out[dev.ID] = *dev.BACnet
			}
		}
		return out
	}
	if !reflect.DeepEqual(transports(prev), transports(next)) {
		keys = append(keys, "devices[].bacnet")
	}
	return keys
}
