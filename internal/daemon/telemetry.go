package daemon

import (
	"context"
	"fmt"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices/gateway"
	"github.com/facilityd/facilityd/telemetry"
)

// buildTelemetry opens the spool (on by default wherever InfluxDB is configured) and the
// InfluxDB writer.
func (d *Daemon) buildTelemetry(context.Context) error {
	cfg := d.cfg
	if cfg.Influx.URL == "" {
		d.log.Warn("no InfluxDB configured (influx.url or " + config.EnvName("influx.url") + "): readings are kept in the live cache only")
		return nil
	}
	var spool *telemetry.Spool
	if cfg.SpoolOn() {
		var err error
		spool, err = telemetry.OpenSpool(telemetry.SpoolConfig{
			Dir: cfg.Spool.Dir, MaxBytes: cfg.Spool.MaxBytes, SegmentBytes: cfg.Spool.SegmentBytes,
			ReplayRate: cfg.Spool.ReplayRate,
			// The spool logs and counts each drop itself; the gateway device makes it an alarm.
			OnDrop: func(points, bytes int) {
				d.health.SpoolDropped(points, bytes)
				if d.h.OnSpoolDrop != nil {
					d.h.OnSpoolDrop(points, bytes)
				}
			},
			// A write that fails (permissions, disk full, I/O) or corrupt records at start:
			// the gateway's spool_write_failed alarm names the cause.
			OnFault: func(f telemetry.SpoolFault) {
				d.health.SpoolFaulted(gateway.SpoolCauseOf(f.Err, f.Corrupt))
			},
		}, d.reg, d.log.With("component", "spool"))
		if err != nil {
			return fmt.Errorf("spool.dir %s: %w", cfg.Spool.Dir, err)
		}
		d.closers = append(d.closers, func() { spool.Close() })
		d.log.Info("spool on: readings InfluxDB cannot take now are kept on disk", "dir", cfg.Spool.Dir, "max_bytes", cfg.Spool.MaxBytes)
	} else {
		d.log.Warn("spool.enabled is false: readings taken while InfluxDB is away for more than about a minute are lost")
	}
	w, err := telemetry.NewWriter(telemetry.Config{
		URL: cfg.Influx.URL, Bucket: cfg.Influx.Bucket, Org: cfg.Influx.Org, Token: cfg.Influx.Token.Reveal(),
		BatchSize: cfg.Influx.BatchSize, FlushInterval: cfg.Influx.FlushInterval,
		Timeout: cfg.Influx.Timeout, QueueSize: cfg.Influx.QueueSize, Spool: spool,
		// Half the shutdown budget for the final write; the spool takes what is left.
		FinalTimeout: min(cfg.Influx.Timeout, cfg.ShutdownTimeout/2),
	}, d.reg, d.log.With("component", "influx"))
	if err != nil {
		return fmt.Errorf("influx: %w", err)
	}
	d.writer = w
	d.closers = append(d.closers, w.Close)
	d.log.Info("writing telemetry to InfluxDB", "url", telemetry.RedactURL(cfg.Influx.URL), "bucket", cfg.Influx.Bucket)
	return nil
}
