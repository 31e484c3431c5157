package workorders

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/modbus"
	"github.com/facilityd/facilityd/internal/testutil"
	"github.com/facilityd/facilityd/simulators"
)

// TestMeterPlanFromSimulatedPump runs the whole chain: a simulated pump whose running hours
// pass on a stepped clock, polled over Modbus TCP, its snapshots observed by the meter plan,
// which raises a service order once 500 hours have run.
func TestMeterPlanFromSimulatedPump(t *testing.T) {
	sim := testutil.NewClock(time.Date(2026, 3, 3, 20, 0, 0, 0, time.UTC))
	estate, err := simulators.New([]simulators.DeviceSpec{{ID: "P-1", Kind: devices.KindPump, Unit: 1}}, simulators.Options{Now: sim.Now, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if err := estate.Start(); err != nil {
		t.Fatal(err)
	}
	defer estate.Close()
	profile, _ := devices.Builtin("pump")
	dev := &devices.Device{ID: "P-1", Kind: devices.KindPump, Zone: "north", Profile: profile, Interval: 100 * time.Millisecond,
		Timeout: 80 * time.Millisecond, OfflineAfter: 3, Modbus: &devices.ModbusTransport{Address: estate.Addr("P-1"), Unit: 1}}

	r := newRig(t, sim.Now(), func(c *Config) {
		c.Plans = []Plan{{ID: "pump-service", Title: "Pump service", Kind: "pump", Meter: "running_hours", MeterEvery: 500}}
	})
	polled := make(chan float64, 1000)
	poller, err := modbus.New([]*devices.Device{dev}, func(s *devices.Snapshot) {
		r.m.Observe(s)
		if v, ok := pointValue(s, "running_hours"); ok {
			select {
			case polled <- v:
			default:
			}
		}
	}, modbus.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); poller.Run(ctx) }()
	go func() { defer wg.Done(); r.m.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	deadline := time.After(20 * time.Second)
	var first float64
	select {
	case first = <-polled:
	case <-deadline:
		t.Fatal("no running_hours polled from the simulated pump")
	}
	for {
		// A hundred hours pass between polls.
		sim.Step(100 * time.Hour)
		select {
		case e := <-r.events:
			if e.Type != EventCreated {
				continue
			}
			o := e.Order
			if o.Plan != "pump-service" || o.MeterValue-first < 500 || o.MeterValue-first > 700 || o.Team != "north-team" {
				t.Fatalf("order %s plan %s at %.1f h (first reading %.1f h), team %s", o.ID, o.Plan, o.MeterValue, first, o.Team)
			}
			return
		case <-polled:
		case <-deadline:
			t.Fatal("no service order after the pump ran for hundreds of hours")
		}
	}
}
