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
	c, err := startChild(ctx, o.facilityd, dir, latencyConfig(o, dir, httpAddr, brokerAddr, specs, estate), httpAddr)
	if err != nil {
		return Latency{}, err
	}
	defer c.stop()
	h, err := connectHandset(brokerAddr)
	if err != nil {
		return Latency{}, err
	}
	defer h.client.Disconnect(250)

	// Let every elevator come online and its comm-loss alarms settle.
	if err := sleep(ctx, 3*o.interval+time.Second); err != nil {
		return Latency{}, err
	}
	res := Latency{Injections: n, IntervalS: o.interval.Seconds(), TargetMS: float64(o.interval.Milliseconds()) + 50}
	var lat []time.Duration
	for i := 0; i < n; i++ {
		d, got, err := timeEntrapment(ctx, o, estate, h, specs[i%elevators].ID)
		if err != nil {
			return Latency{}, err
		}
		if got {
			lat = append(lat, d)
		} else {
			res.Missed++
		}
		// A random phase against the poll slots, as faults come on site.
		if err := sleep(ctx, time.Duration(i*7919%1000)*o.interval/1000); err != nil {
			return Latency{}, err
		}
	}
	if len(lat) == 0 {
		return res, c.withLog(fmt.Errorf("no alert arrived for %d injections", n))
	}
	res.P50MS, res.P90MS, res.P99MS, res.MaxMS = percentilesMS(lat)
	log.Info("fault to patrol alert", "injections", n, "p50_ms", res.P50MS, "p99_ms", res.P99MS, "missed", res.Missed)
	return res, nil
}

// latencyConfig is the facilityd configuration of the latency run: the elevators, the
// embedded broker the handset signs in to, and a patrol that alerts guard g1 around the clock.
func latencyConfig(o options, dir, httpAddr, brokerAddr string, specs []simulators.DeviceSpec, estate *simulators.Estate) string {
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
	return cfg.String()
}

// handset is guard g1's handset: every alert, by the elevator it is about, with the time it
// arrived.
type handset struct {
	client   paho.Client
	mu       sync.Mutex
	arrivals map[string][]time.Time
}

// connectHandset subscribes to the site's patrol topics on the embedded broker.
func connectHandset(brokerAddr string) (*handset, error) {
	h := &handset{arrivals: map[string][]time.Time{}}
	h.client = paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + brokerAddr).SetClientID("facbench-handset").
		SetUsername("g1").SetPassword(handsetPassword).
		SetOnConnectHandler(func(c paho.Client) {
			c.Subscribe("facility/bench/patrol/#", 1, func(_ paho.Client, m paho.Message) {
				at := time.Now()
				var msg struct{ Type, Alert, Alarm string }
				if json.Unmarshal(m.Payload(), &msg) != nil || msg.Type != "alert" {
					return
				}
				dev, _, _ := strings.Cut(msg.Alarm, "/")
				h.mu.Lock()
				h.arrivals[dev] = append(h.arrivals[dev], at)
				h.mu.Unlock()
			})
		}))
	if tok := h.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("handset connect to %s: %v", brokerAddr, tok.Error())
	}
	return h, nil
}

// arrival returns when alert number i about dev arrived, if it has.
func (h *handset) arrival(dev string, i int) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.arrivals[dev]) > i {
		return h.arrivals[dev][i], true
	}
	return time.Time{}, false
}

func (h *handset) seen(dev string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.arrivals[dev])
}

// timeEntrapment injects an entrapment into dev and waits for its alert, up to five polls and
// two seconds; then clears the fault. got is false when no alert came in time.
func timeEntrapment(ctx context.Context, o options, estate *simulators.Estate, h *handset, dev string) (d time.Duration, got bool, err error) {
	seen := h.seen(dev)
	t0 := time.Now()
	if err := estate.Inject(dev, "entrapment", nil); err != nil {
		return 0, false, err
	}
	deadline := t0.Add(5*o.interval + 2*time.Second)
	for time.Now().Before(deadline) {
		if at, ok := h.arrival(dev, seen); ok {
			d, got = at.Sub(t0), true
			break
		}
		if err := sleep(ctx, time.Millisecond); err != nil {
			return 0, false, err
		}
	}
	return d, got, estate.Clear(dev, "entrapment", nil)
}

// percentilesMS sorts lat and returns its 50th, 90th and 99th percentiles and its maximum, in
// milliseconds.
func percentilesMS(lat []time.Duration) (p50, p90, p99, maxMS float64) {
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	return pct(0.50), pct(0.90), pct(0.99), float64(lat[len(lat)-1].Microseconds()) / 1000
}

// handsetPassword is the bench handset's password on the embedded broker (loopback only).
const handsetPassword = "bench-handset-on-loopback"
