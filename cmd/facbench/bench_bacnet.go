package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/simulators"
)

// BACnetRun is what the BACnet air-handling units beside the Modbus devices cost: the
// requests facilityd sent them and the notifications it took, per second of the measurement.
// Their plant holds still (the supply air sits at its setpoint), so a cost near the liveness
// reads alone is COV costing nothing while nothing changes.
type BACnetRun struct {
	Devices         int     `json:"devices"`
	Points          int     `json:"points"`
	ReadsPS         float64 `json:"reads_per_s"`
	SubscriptionsPS float64 `json:"subscriptions_per_s"`
	NotificationsPS float64 `json:"notifications_per_s"`
	// IdlePercent is the share of device intervals in which nothing was sent.
	IdlePercent float64 `json:"idle_percent"`
	Errors      float64 `json:"errors"`
}

// bacnetPoints is how many points the built-in profile ahu_bacnet maps.
func bacnetPoints() int {
	p, _ := devices.Builtin("ahu_bacnet")
	return len(p.Points)
}

// bacnetSpecs are n simulated air-handling units on free loopback UDP ports.
func bacnetSpecs(n int) []simulators.DeviceSpec {
	specs := make([]simulators.DeviceSpec, n)
	for i := range specs {
		specs[i] = simulators.DeviceSpec{ID: fmt.Sprintf("ahu-%04d", i), BACnet: &simulators.BACnetSpec{Instance: uint32(100000 + i)}}
	}
	return specs
}

// writeBACnetDevices adds the n units to the configuration's device list.
func writeBACnetDevices(cfg *strings.Builder, n int, estate *simulators.Estate) {
	for _, s := range bacnetSpecs(n) {
		fmt.Fprintf(cfg, "  - {id: %s, profile: ahu_bacnet, building: B1, zone: z1, bacnet: {device_instance: %d, address: %q}}\n",
			s.ID, s.BACnet.Instance, estate.Addr(s.ID))
	}
}

// bacnetFigures reads the BACnet source's counters over a measurement of dt seconds.
func bacnetFigures(n int, m0, m1 metrics, dt float64) *BACnetRun {
	if n == 0 {
		return nil
	}
	d := func(sel string) float64 { return m1.sum(sel) - m0.sum(sel) }
	r := &BACnetRun{Devices: n, Points: n * bacnetPoints(),
		ReadsPS:         d("facilityd_bacnet_reads_total") / dt,
		SubscriptionsPS: d("facilityd_bacnet_subscriptions_total") / dt,
		NotificationsPS: d("facilityd_bacnet_notifications_total") / dt,
		Errors:          d(`facilityd_bacnet_cycles_total{result="error"}`),
	}
	if cycles := d("facilityd_bacnet_cycles_total"); cycles > 0 {
		r.IdlePercent = 100 * d(`facilityd_bacnet_cycles_total{result="idle"}`) / cycles
	}
	return r
}

// printBACnet prints the BACnet figures of the runs that had BACnet devices.
func printBACnet(w io.Writer, runs []Run) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	header := false
	for _, x := range runs {
		b := x.BACnet
		if b == nil {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\nBACnet devices beside them (every point by COV, the plant holding still):")
			fmt.Fprintln(tw, "modbus devices\tbacnet devices\tpoints\treads/s\tsubscriptions/s\tnotifications/s\tidle intervals %\terrors\t")
			header = true
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t\n", x.Devices, b.Devices, b.Points, b.ReadsPS, b.SubscriptionsPS, b.NotificationsPS, b.IdlePercent, b.Errors)
	}
	tw.Flush()
}
