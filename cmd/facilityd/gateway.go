package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
)

// GatewayID is the device that stands for facilityd itself, so that its own troubles (the
// spool dropping readings) are alarms like any device's: journalled, routed, shown.
const GatewayID = "facilityd"

var gatewayProfile = func() *devices.Profile {
	p, err := devices.ParseProfile("gateway", []byte(`name: gateway
kind: generic
description: facilityd's own health
points:
  - {name: spool_dropped, path: spool_dropped, type: bool, description: "the spool dropped readings unwritten in the last 10 minutes"}
`))
	if err != nil {
		panic(err)
	}
	return p
}()

// gatewayDevice is the device for facilityd itself; it has no transport and is never polled.
func gatewayDevice(cfg *config.Config) *devices.Device {
	return &devices.Device{
		ID: GatewayID, Kind: devices.KindGeneric, Site: cfg.Site, Profile: gatewayProfile,
		Interval: time.Minute, Timeout: time.Second, OfflineAfter: 1,
		Tags: map[string]string{"name": "Gateway facilityd"},
	}
}

// gatewayHealth reports facilityd's own state as snapshots of the gateway device: at start,
// at once when the spool drops readings, and every 10 s; a drop stays reported for 10 minutes.
type gatewayHealth struct {
	dev      *devices.Device
	handle   devices.Handler
	lastDrop atomic.Int64 // unix nanoseconds of the last drop, 0 for none
	kick     chan struct{}
	now      func() time.Time
}

const dropHold = 10 * time.Minute

func newGatewayHealth(dev *devices.Device, handle devices.Handler) *gatewayHealth {
	return &gatewayHealth{dev: dev, handle: handle, kick: make(chan struct{}, 1), now: time.Now}
}

// spoolDropped is the spool's OnDrop: it must not block.
func (g *gatewayHealth) spoolDropped(points, bytes int) {
	g.lastDrop.Store(g.now().UnixNano())
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

func (g *gatewayHealth) report(now time.Time) {
	dropped := 0.0
	if last := g.lastDrop.Load(); last != 0 && now.Sub(time.Unix(0, last)) < dropHold {
		dropped = 1
	}
	g.handle(&devices.Snapshot{Device: g.dev, Time: now, Comm: devices.CommOnline, Values: []devices.Value{{Number: dropped}}})
}

// Run reports until ctx ends.
func (g *gatewayHealth) Run(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	g.report(g.now())
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-g.kick:
		case <-tick.C:
		}
		g.report(g.now())
	}
}
