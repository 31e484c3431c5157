package grafana

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/bacnet"
	"github.com/facilityd/facilityd/devices/gateway"
	"github.com/facilityd/facilityd/examples"
	"github.com/facilityd/facilityd/simulators"
	"github.com/facilityd/facilityd/telemetry"
	"github.com/facilityd/facilityd/workorders"
)

// demoSpan is how much demo history the test writes, polled every demoStep.
const (
	demoSpan = 2 * time.Hour
	demoStep = 30 * time.Second
)

// fakeClock is the simulators' clock, stepped by the test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// demoData writes the demo estate's last demoSpan into database bucket through facilityd's
// own InfluxDB writer: the simulators' readings of every device as the pollers would decode
// them (one device failing its polls for a while), the gateway's health device, alarm
// transitions of the built-in rules and work-order events. It returns the time span written.
func demoData(t *testing.T, url, bucket string) (from, to time.Time) {
	t.Helper()
	cfg, err := config.Parse("demo.yaml (built in)", examples.Demo)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := cfg.BuildDevices()
	if err != nil {
		t.Fatal(err)
	}
	to = time.Now().Truncate(time.Second)
	from = to.Add(-demoSpan)
	clock := &fakeClock{now: from}
	estate, err := simulators.New(simulators.SpecsFor(devs), simulators.Options{Now: clock.Now, Seed: 1, TimeScale: 60,
		// Never dialled: the test reads the models, it starts no listener or publisher.
		MQTTBroker: "tcp://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer estate.Close()

	w, err := telemetry.NewWriter(telemetry.Config{URL: url, Bucket: bucket, FlushInterval: 50 * time.Millisecond,
		QueueSize: 100000, Timeout: 10 * time.Second}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	site := devs[0].Site
	gw := gateway.Device(site)
	for at := from; !at.After(to); at = at.Add(demoStep) {
		clock.Set(at)
		for _, d := range devs {
			if d.OPCUA != nil {
				// The chiller plant is served by an OPC UA server of its own
				// (simulators.ChillerPlant), not by the estate's models; no panel reads it.
				continue
			}
			if !w.Enqueue(poll(t, estate, d, at, from)) {
				t.Fatal("writer queue full")
			}
		}
		w.Enqueue(&devices.Snapshot{Device: gw, Time: at, Comm: devices.CommOnline,
			Values: []devices.Value{{Number: 0}, {Number: 0}, {Number: b2f(at.Sub(from) < 10*time.Minute)}, {Number: 0}}})
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := w.WriteNow(wctx, alarmLines(t, devs, from)...); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteNow(wctx, orderLines(site, from)...); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("writer: %v", err)
	}
	return from, to
}

// poll is what a poller makes of a device at at: every point's value from the simulator, or,
// for the second device during the first quarter hour, a failed poll.
func poll(t *testing.T, estate *simulators.Estate, d *devices.Device, at, from time.Time) *devices.Snapshot {
	if d.ID == "P-2" && at.Sub(from) < 15*time.Minute {
		return &devices.Snapshot{Device: d, Time: at, Comm: devices.CommOffline, Err: fmt.Errorf("read holding 0-13: i/o timeout")}
	}
	s := &devices.Snapshot{Device: d, Time: at, Comm: devices.CommOnline, Values: make([]devices.Value, len(d.Profile.Points))}
	for i, p := range d.Profile.Points {
		v, ok := estate.Value(d.ID, p.Name)
		if p.IsBACnet() {
			v, ok = bacnetValue(estate, d.ID, p.Object)
		}
		if !ok {
			t.Fatalf("simulator has no point %s of %s", p.Name, d.ID)
		}
		s.Values[i] = v
	}
	return s
}

// bacnetValue is the present value of a BACnet device's object in the simulator, as the
// BACnet source reads it.
func bacnetValue(estate *simulators.Estate, id, object string) (devices.Value, bool) {
	srv := estate.BACnet(id)
	oid, err := bacnet.ParseObjectID(object)
	if srv == nil || err != nil {
		return devices.Value{}, false
	}
	pv, ok := srv.Present(oid)
	f, isNumber := pv.Float()
	return devices.Value{Number: f}, ok && isNumber
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// alarmLines are transitions of each device's built-in rules as the alarm journal's InfluxDB
// consumer writes them: raised, acknowledged, cleared, spread over the span.
func alarmLines(t *testing.T, devs []*devices.Device, from time.Time) []string {
	t.Helper()
	rules, err := alarms.BuiltinRules()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	seq := uint64(0)
	for i, d := range devs {
		rs := rules[string(d.Kind)]
		if rs == nil {
			continue
		}
		for j, r := range rs.Rules {
			if j >= 3 {
				break
			}
			a := alarms.Alarm{ID: d.ID + "/" + r.Name, Site: d.Site, Device: d.ID, Kind: string(d.Kind), Building: d.Building,
				Zone: d.Zone, Rule: r.Name, Priority: r.Priority, Class: r.Class, Message: d.ID + ": " + r.Name}
			at := from.Add(time.Duration(i*7+j*3) * time.Minute)
			for k, step := range []struct {
				typ    alarms.EventType
				state  alarms.State
				active bool
				by     string
			}{
				{alarms.EventRaised, alarms.StateUnacknowledged, true, "system"},
				{alarms.EventAcknowledged, alarms.StateAcknowledged, true, "guard-1"},
				{alarms.EventCleared, alarms.StateNormal, false, "system"},
			} {
				seq++
				a.State, a.Active = step.state, step.active
				lines = append(lines, telemetry.AlarmLine(alarms.Event{Seq: seq, Type: step.typ, Alarm: a,
					At: at.Add(time.Duration(k) * 2 * time.Minute), By: step.by, Notify: k == 0}))
			}
		}
	}
	return lines
}

// orderLines are work-order events as the order book's InfluxDB sink writes them: orders
// created, accepted, started and resolved (one late), a deadline breach and a rework order.
func orderLines(site string, from time.Time) []string {
	var lines []string
	for i, o := range []struct {
		id, device, zone, team, category string
		late, rework                     bool
	}{
		{"WO-1", "P-1", "north", "north-maintenance", "water_supply", false, false},
		{"WO-2", "L1-1", "north", "north-maintenance", "elevator", true, false},
		{"WO-3", "LP-2", "south", "south-maintenance", "lighting", false, false},
		{"WO-4", "P-1", "north", "north-maintenance", "water_supply", false, true},
	} {
		created := from.Add(time.Duration(10+i*20) * time.Minute)
		order := &workorders.Order{ID: o.id, Site: site, Device: o.device, Zone: o.zone, Team: o.team,
			Category: o.category, Priority: alarms.PriorityHigh, Rework: o.rework, Occurrences: 1, CreatedAt: created}
		emit := func(typ workorders.EventType, state workorders.State, at time.Time) {
			order.State = state
			c := *order
			lines = append(lines, workorders.LineProtocol(workorders.Event{Type: typ, Order: &c, At: at}))
		}
		emit(workorders.EventCreated, workorders.StateNew, created)
		order.AcceptedAt = created.Add(12 * time.Minute)
		emit(workorders.EventTransition, workorders.StateAccepted, order.AcceptedAt)
		emit(workorders.EventTransition, workorders.StateInProgress, order.AcceptedAt.Add(5*time.Minute))
		if o.late {
			order.CompleteBreached = true
			emit(workorders.EventBreach, workorders.StateInProgress, order.AcceptedAt.Add(30*time.Minute))
		}
		order.ResolvedAt = order.AcceptedAt.Add(40 * time.Minute)
		emit(workorders.EventTransition, workorders.StateResolved, order.ResolvedAt)
	}
	return lines
}
