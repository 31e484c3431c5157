// Package gateway is facilityd as a device of its own, so that its own troubles (the spool
// dropping readings) are alarms like any device's: journalled, routed, shown. It is a source
// of snapshots beside the pollers, with no transport: facilityd reports on itself.
package gateway

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// ID is the device that stands for facilityd itself.
const ID = "facilityd"

// DropHold is how long a spool drop stays reported after the last one.
const DropHold = 10 * time.Minute

var profile = func() *devices.Profile {
	p, err := devices.ParseProfile("gateway", []byte(`name: gateway
kind: generic
description: facilityd's own health
points:
  - {name: spool_dropped, path: spool_dropped, type: bool, description: "the spool dropped readings unwritten in the last 10 minutes"}
  - {name: broker_not_accepting, path: broker_not_accepting, type: bool, description: "the embedded MQTT broker cannot accept connections (out of file descriptors)"}
  - {name: alarm_channel_failed, path: alarm_channel_failed, type: bool, description: "a channel to the guards' phones failed its self-test or gave a message up"}
  - {name: spool_write_failed, path: spool_write_failed, type: enum, enum: {0: ok, 1: permission denied, 2: disk full, 3: I/O error, 4: corrupt records skipped at start}, description: "why the spool lost readings other than for space in the last 10 minutes (spool.dir)"}
`))
	if err != nil {
		panic(err) // a constant: fails every test if broken
	}
	return p
}()

// Device is the device for facilityd itself at site; it has no transport and is never polled.
func Device(site string) *devices.Device {
	return &devices.Device{
		ID: ID, Kind: devices.KindGeneric, Site: site, Profile: profile,
		Interval: time.Minute, Timeout: time.Second, OfflineAfter: 1,
		Tags: map[string]string{"name": "Gateway facilityd"},
	}
}

// Health reports facilityd's own state as snapshots of the gateway device: at start, at once
// when the spool drops readings, and every 10 s; a drop stays reported for DropHold.
type Health struct {
	dev      *devices.Device
	handle   devices.Handler
	lastDrop atomic.Int64 // unix nanoseconds of the last drop, 0 for none
	lastFail atomic.Int64 // unix nanoseconds of the last spool fault, 0 for none
	cause    atomic.Int32 // its SpoolCause
	kick     chan struct{}
	now      func() time.Time
	broker   atomic.Pointer[func() bool] // the embedded broker's Accepting, if any

	mu       sync.Mutex
	channels map[string]error // alarm channels that failed, by name
}

// ChannelHealth records an alarm channel's self-test or delivery result (nil: it works), so
// that a channel to the guards' phones that fails (a dead SIM, a robot whose key was revoked)
// is an alarm of the gateway, found in the morning's self-test rather than during a fire.
func (g *Health) ChannelHealth(channel string, err error) {
	g.mu.Lock()
	_, was := g.channels[channel]
	if err != nil {
		if g.channels == nil {
			g.channels = map[string]error{}
		}
		g.channels[channel] = err
	} else {
		delete(g.channels, channel)
	}
	changed := was != (err != nil)
	g.mu.Unlock()
	if changed {
		select {
		case g.kick <- struct{}{}:
		default:
		}
	}
}

// FailedChannels lists the alarm channels failing now, with why.
func (g *Health) FailedChannels() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]string{}
	for name, err := range g.channels {
		out[name] = err.Error()
	}
	return out
}

// WatchBroker reports the embedded broker's state from accepting at every report, so that a
// broker that stops accepting (handsets no longer reached) is an alarm of the gateway.
func (g *Health) WatchBroker(accepting func() bool) { g.broker.Store(&accepting) }

// NewHealth reports on dev to handle; now is the clock (nil: time.Now).
func NewHealth(dev *devices.Device, handle devices.Handler, now func() time.Time) *Health {
	if now == nil {
		now = time.Now
	}
	return &Health{dev: dev, handle: handle, kick: make(chan struct{}, 1), now: now}
}

// SpoolDropped is the spool's OnDrop: it never blocks.
func (g *Health) SpoolDropped(points, bytes int) {
	g.lastDrop.Store(g.now().UnixNano())
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// SpoolFaulted is the spool's OnFault: readings were lost for cause (not for space). It never
// blocks; the fault stays reported for DropHold.
func (g *Health) SpoolFaulted(cause SpoolCause) {
	g.cause.Store(int32(cause))
	g.lastFail.Store(g.now().UnixNano())
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// Report hands one snapshot of the gateway's state at now to the handler.
func (g *Health) Report(now time.Time) {
	held := func(last int64) bool { return last != 0 && now.Sub(time.Unix(0, last)) < DropHold }
	dropped, failed := 0.0, 0.0
	if held(g.lastDrop.Load()) {
		dropped = 1
	}
	if held(g.lastFail.Load()) {
		failed = float64(g.cause.Load())
	}
	notAccepting := 0.0
	if f := g.broker.Load(); f != nil && !(*f)() {
		notAccepting = 1
	}
	channelFailed := 0.0
	g.mu.Lock()
	if len(g.channels) > 0 {
		channelFailed = 1
	}
	g.mu.Unlock()
	// In the order of the profile's points.
	g.handle(&devices.Snapshot{Device: g.dev, Time: now, Comm: devices.CommOnline, Values: []devices.Value{{Number: dropped}, {Number: notAccepting}, {Number: channelFailed}, {Number: failed}}})
}

// Run reports until ctx ends.
func (g *Health) Run(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	g.Report(g.now())
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-g.kick:
		case <-tick.C:
		}
		g.Report(g.now())
	}
}
