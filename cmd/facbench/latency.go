package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/simulators"
)

// Latency is the fault-to-patrol-alert figure: from the moment a fault is injected into an
// elevator simulator to the moment the patrol alert for it arrives on an MQTT subscription to
// facility/{site}/patrol/#, as a guard's handset would receive it.
type Latency struct {
	Injections int     `json:"injections"`
	IntervalS  float64 `json:"interval_s"`
	P50MS      float64 `json:"p50_ms"`
	P90MS      float64 `json:"p90_ms"`
	P99MS      float64 `json:"p99_ms"`
	MaxMS      float64 `json:"max_ms"`
	TargetMS   float64 `json:"target_p99_ms"`
	Missed     int     `json:"missed"`
}

// measureLatency injects entrapments one after the other into a rotation of elevators and
// times each alert. Polling is at o.interval, so a fault waits up to one interval for its poll.
func measureLatency(ctx context.Context, o options, n int, log *slog.Logger) (Latency, error) {
	const elevators = 10
	dir, err := os.MkdirTemp("", "facbench-latency-")
	if err != nil {
		return Latency{}, err
	}
	defer os.RemoveAll(dir)

	specs := make([]simulators.DeviceSpec, elevators)
	for i := range specs {
		specs[i] = simulators.DeviceSpec{ID: fmt.Sprintf("L-%02d", i+1), Kind: devices.KindElevator, Unit: 1}
	}
	estate, err := startEstate(specs)
	if err != nil {
		return Latency{}, err
	}
	defer estate.Close()

	httpAddr, err := freeAddr()
	if err != nil {
		return Latency{}, err
	}
	brokerAddr, err := freeAddr()
	if err != nil {
		return Latency{}, err
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "site: bench\nstate_dir: %q\ninflux: {url: %q, bucket: %q}\nhttp: {addr: %q}\n", dir, o.influxURL, o.influxDB+"/autogen", httpAddr)
	fmt.Fprintf(&cfg, "polling: {interval: %s, timeout: %s, offline_after: 3}\nlog: {level: warn}\n", o.interval, o.timeout)
	// The handset signs in to the embedded broker as guard g1, as a guard's handset does.
	fmt.Fprintf(&cfg, "mqtt: {embedded: {addr: %q, handsets: [{username: g1, sha256: %q}]}}\n", brokerAddr, api.HashToken(handsetPassword))
	// The bench raises hundreds of alarms: no flood summary may stand in for them.
	fmt.Fprintf(&cfg, "alarms: {flood_limit: 1000000}\n")
	fmt.Fprintf(&cfg, `patrol:
  timezone: UTC
  shifts:
    - {name: night, start: "18:00", end: "08:00", supervisor: sup}
    - {name: day, start: "08:00", end: "18:00", supervisor: sup}
  guards: [{id: g1, handset: H1}, {id: sup, handset: H9}]
  groups:
    - {name: n, shift: night, zones: ["*"], guards: [g1]}
    - {name: d, shift: day, zones: ["*"], guards: [g1]}
devices:
`)
	for _, s := range specs {
		fmt.Fprintf(&cfg, "  - {id: %s, profile: elevator, building: B1, zone: z1, modbus: {address: %q, unit: 1}}\n", s.ID, estate.Addr(s.ID))
	}
	c, err := startChild(ctx, o.facilityd, dir, cfg.String(), httpAddr)
	if err != nil {
		return Latency{}, err
	}
	defer c.stop()

	// The handset: every alert, by the elevator it is about, with the time it arrived.
	type arrival struct {
		alert string
		at    time.Time
	}
	var mu sync.Mutex
	arrivals := map[string][]arrival{}
	client := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + brokerAddr).SetClientID("facbench-handset").
		SetUsername("g1").SetPassword(handsetPassword).
		SetOnConnectHandler(func(c paho.Client) {
			c.Subscribe("facility/bench/patrol/#", 1, func(_ paho.Client, m paho.Message) {
				at := time.Now()
				var msg struct{ Type, Alert, Alarm string }
				if json.Unmarshal(m.Payload(), &msg) != nil || msg.Type != "alert" {
					return
				}
				dev, _, _ := strings.Cut(msg.Alarm, "/")
				mu.Lock()
				arrivals[dev] = append(arrivals[dev], arrival{msg.Alert, at})
				mu.Unlock()
			})
		}))
	if tok := client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return Latency{}, fmt.Errorf("handset connect to %s: %v", brokerAddr, tok.Error())
	}
	defer client.Disconnect(250)

	// Let every elevator come online and its comm-loss alarms settle.
	if err := sleep(ctx, 3*o.interval+time.Second); err != nil {
		return Latency{}, err
	}
	res := Latency{Injections: n, IntervalS: o.interval.Seconds(), TargetMS: float64(o.interval.Milliseconds()) + 50}
	var lat []time.Duration
	for i := 0; i < n; i++ {
		dev := specs[i%elevators].ID
		mu.Lock()
		seen := len(arrivals[dev])
		mu.Unlock()
		t0 := time.Now()
		if err := estate.Inject(dev, "entrapment", nil); err != nil {
			return Latency{}, err
		}
		deadline := t0.Add(5*o.interval + 2*time.Second)
		got := false
		for time.Now().Before(deadline) {
			mu.Lock()
			if len(arrivals[dev]) > seen {
				lat = append(lat, arrivals[dev][seen].at.Sub(t0))
				got = true
			}
			mu.Unlock()
			if got {
				break
			}
			if err := sleep(ctx, time.Millisecond); err != nil {
				return Latency{}, err
			}
		}
		if !got {
			res.Missed++
		}
		if err := estate.Clear(dev, "entrapment", nil); err != nil {
			return Latency{}, err
		}
		// A random phase against the poll slots, as faults come on site.
		if err := sleep(ctx, time.Duration(i*7919%1000)*o.interval/1000); err != nil {
			return Latency{}, err
		}
	}
	if len(lat) == 0 {
		return res, c.withLog(fmt.Errorf("no alert arrived for %d injections", n))
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	res.P50MS, res.P90MS, res.P99MS, res.MaxMS = pct(0.50), pct(0.90), pct(0.99), float64(lat[len(lat)-1].Microseconds())/1000
	log.Info("fault to patrol alert", "injections", n, "p50_ms", res.P50MS, "p99_ms", res.P99MS, "missed", res.Missed)
	return res, nil
}

// handsetPassword is the bench handset's password on the embedded broker (loopback only).
const handsetPassword = "bench-handset-on-loopback"
