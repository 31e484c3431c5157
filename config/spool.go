package config

import (
	"fmt"
	"time"
)

// Spool is the durable buffer between the readings and InfluxDB: batches InfluxDB cannot take
// now are fsync'd to segment files in Dir and replayed, oldest first, when it answers again.
type Spool struct {
	// Enabled is true by default: wherever InfluxDB is configured, readings it cannot take
	// now are kept on disk. false is a choice to lose the readings taken while InfluxDB is
	// away for more than about a minute, warned about at start and by check-config.
	Enabled bool `mapstructure:"enabled" yaml:"enabled"`
	// Dir holds the segments; default state_dir/spool.
	Dir string `mapstructure:"dir" yaml:"dir"`
	// MaxBytes bounds the spool on disk; when full, the oldest segment is deleted, counted
	// (facilityd_spool_dropped_points_total) and logged.
	MaxBytes int64 `mapstructure:"max_bytes" yaml:"max_bytes"`
	// SegmentBytes is the size of one segment file: the unit in which old data is dropped.
	SegmentBytes int64 `mapstructure:"segment_bytes" yaml:"segment_bytes"`
	// ReplayRate is the most points (lines) a second replayed to InfluxDB, so a long backlog
	// neither floods it nor crowds out live readings.
	ReplayRate int `mapstructure:"replay_rate" yaml:"replay_rate"`
}

// DefaultShutdownTimeout bounds a graceful stop: pollers stop, the writer flushes (to InfluxDB
// or the spool), stores close.
const DefaultShutdownTimeout = 10 * time.Second

func defaultSpool() Spool {
	return Spool{Enabled: true, MaxBytes: 1 << 30, SegmentBytes: 16 << 20, ReplayRate: 50000}
}

func (c *Config) validateSpool() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := c.Spool
	if s.MaxBytes < 1<<16 {
		add("spool.max_bytes: %d must be at least 65536", s.MaxBytes)
	}
	if s.SegmentBytes < 1<<12 || s.SegmentBytes > s.MaxBytes/2 {
		add("spool.segment_bytes: %d must be at least 4096 and at most half of spool.max_bytes (%d)", s.SegmentBytes, s.MaxBytes)
	}
	if s.ReplayRate < 1 {
		add("spool.replay_rate: %d must be at least 1 point a second", s.ReplayRate)
	}
	if c.ShutdownTimeout <= 0 {
		add("shutdown_timeout: %v must be positive", c.ShutdownTimeout)
	}
	return errs
}
