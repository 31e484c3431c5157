// Package telemetry writes every poll of every device to InfluxDB: one line per snapshot in
// the measurement named for the device kind, tagged with site, building, zone and device, one
// field per point and a comm_ok field.
//
// The Writer sits between the pollers and InfluxDB. Pollers hand it snapshots without ever
// waiting (a slow or absent InfluxDB must not slow polling); its Run goroutine encodes them to
// line protocol, writes them in batches with the v2 write API (which InfluxDB 1.8+ and 2.x
// both accept), retries what is worth retrying and counts everything it has to drop.
package telemetry

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// Defaults the Writer applies to fields of Config left at zero.
const (
	DefaultBatchSize     = 5000
	DefaultFlushInterval = time.Second
	DefaultTimeout       = 10 * time.Second
	DefaultQueueSize     = 1000
)

// Config says where telemetry goes and how it is batched.
type Config struct {
	// URL is the InfluxDB base URL, e.g. http://127.0.0.1:8086.
	URL string
	// Bucket is the 2.x bucket; for InfluxDB 1.8 it is "database/retention-policy" or just
	// "database" for the default retention policy.
	Bucket string
	// Org is the 2.x organisation; empty for InfluxDB 1.8.
	Org string
	// Token authenticates to 2.x (or "user:password" to 1.8 with auth on); empty when 1.8 runs
	// without authentication.
	Token string
	// BatchSize is the number of lines (one per snapshot) that triggers a write.
	BatchSize int
	// FlushInterval is the longest a line waits before it is written.
	FlushInterval time.Duration
	// Timeout bounds each write, and the final flush at shutdown unless FinalTimeout is set.
	Timeout time.Duration
	// FinalTimeout bounds the whole final flush at shutdown, so that it fits the daemon's
	// shutdown_timeout; with a spool, what InfluxDB has not taken by then is spooled. Zero:
	// Timeout.
	FinalTimeout time.Duration
	// QueueSize is the number of snapshots that may wait for the writer before new ones are
	// dropped.
	QueueSize int
	// Spool, if not nil, takes every batch InfluxDB cannot take now (network error, timeout,
	// 5xx, 429) instead of the in-memory retry, and the writer replays it oldest first at the
	// spool's ReplayRate once InfluxDB answers again. See Writer for the order guarantee.
	Spool *Spool
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.FinalTimeout == 0 {
		c.FinalTimeout = c.Timeout
	}
	return c
}

// validate names the config key of every problem.
func (c Config) validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("influx.url: missing (e.g. http://127.0.0.1:8086)"))
	} else if u, err := url.Parse(c.URL); err != nil {
		// url.Error repeats the URL, password and all: name the key, not the value.
		errs = append(errs, errors.New("influx.url: not a URL (e.g. http://127.0.0.1:8086)"))
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("influx.url: %q is not an http:// or https:// URL with a host", RedactURL(c.URL)))
	}
	if c.Bucket == "" {
		errs = append(errs, errors.New(`influx.bucket: missing (InfluxDB 1.8: "database" or "database/retention-policy")`))
	}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("influx.batch_size: %d is negative", c.BatchSize))
	}
	if c.FlushInterval < 0 {
		errs = append(errs, fmt.Errorf("influx.flush_interval: %s is negative", c.FlushInterval))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("influx.timeout: %s is negative", c.Timeout))
	}
	if c.QueueSize < 0 {
		errs = append(errs, fmt.Errorf("influx.queue_size: %d is negative", c.QueueSize))
	}
	return errors.Join(errs...)
}

// String prints the config with the token hidden, so it can be logged or shown in errors.
func (c Config) String() string {
	c.Token = hidden(c.Token)
	c.URL = RedactURL(c.URL)
	type plain Config // no String method: no recursion
	return fmt.Sprintf("%+v", plain(c))
}

// LogValue logs the config with the token hidden.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", RedactURL(c.URL)),
		slog.String("bucket", c.Bucket),
		slog.String("org", c.Org),
		slog.String("token", hidden(c.Token)),
		slog.Int("batch_size", c.BatchSize),
		slog.Duration("flush_interval", c.FlushInterval),
		slog.Duration("timeout", c.Timeout),
		slog.Int("queue_size", c.QueueSize),
	)
}

func hidden(secret string) string {
	if secret == "" {
		return ""
	}
	return "<hidden>"
}
