package daemon

import (
	"context"
	"fmt"

	"github.com/facilityd/facilityd/alarms/patrol"
)

// buildPatrol builds the patrol alerts and the night lighting check, when configured.
func (d *Daemon) buildPatrol(context.Context) error {
	if !d.cfg.Patrol.Enabled() {
		return nil
	}
	svc, err := patrol.New(d.cfg, patrol.Deps{
		Latest: d.latest, Acker: d.engine, Events: d.hub, Publisher: d.mq.client, Subscriber: d.mq.client,
		Registerer: d.reg, Log: d.log.With("component", "patrol"),
		// With patrol.lighting.switch_on, dark circuits are switched on at dusk as writes by "system".
		Switcher: d.commands,
		// A circuit the night check finds dark or failed becomes a work order.
		LightingFault: func(f patrol.LightingFault) {
			d.orders.CircuitFailed(f.Device, fmt.Sprintf("circuit_%02d", f.Circuit), f.At)
		},
		// A phone channel that fails its self-test, or gives a message up, is the gateway's alarm.
		ChannelHealth: d.health.ChannelHealth,
	})
	if err != nil {
		return fmt.Errorf("patrol: %w", err)
	}
	d.patrol = svc
	d.closers = append(d.closers, func() { svc.Close() })
	return nil
}
