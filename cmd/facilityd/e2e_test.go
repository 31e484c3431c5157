package main

import (
	"context"
	"encoding/json"
	"fmt"

	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/simulators"
)

// demoEstate is the demo estate's devices served by simulators on free loopback ports, with a
// configuration that polls them and writes to influx.
func demoEstate(t *testing.T, influx *testenv.Influx) (*config.Config, *simulators.Estate) {
	t.Helper()
	return demoEstateOn(t, influx, "")
}

// modbusEstate is demoEstate without the devices that publish over MQTT, for tests of the
// telemetry path whose timing a device on its own clock (and its client's reconnects when a
// broker dies with a killed daemon) would only blur.
func modbusEstate(t *testing.T, influx *testenv.Influx) (*config.Config, *simulators.Estate) {
	t.Helper()
	return demoEstateWith(t, influx, "", true)
}

// demoEstateOn is demoEstate with an external MQTT broker (brokerURL; empty: the daemon embeds
// one on a free port), which the MQTT simulators publish to as well.
func demoEstateOn(t *testing.T, influx *testenv.Influx, brokerURL string) (*config.Config, *simulators.Estate) {
	t.Helper()
	return demoEstateWith(t, influx, brokerURL, false)
}

func demoEstateWith(t *testing.T, influx *testenv.Influx, brokerURL string, modbusOnly bool) (*config.Config, *simulators.Estate) {
	t.Helper()
	base, err := config.Load("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if modbusOnly {
		withoutMQTTDevices(base)
	}
	// Move every address of the demo file to a free loopback port; devices that share a
	// gateway in the demo share one here too.
	moved := map[string]string{}
	taken := map[string]bool{}
	for i := range base.Devices {
		m := base.Devices[i].Modbus
		if m == nil {
			continue
		}
		if _, ok := moved[m.Address]; !ok {
			// A port just closed may be handed out again: never give two gateways one.
			a := freeAddr(t)
			for taken[a] {
				a = freeAddr(t)
			}
			taken[a] = true
			moved[m.Address] = a
		}
		m.Address = moved[m.Address]
	}
	devs, err := base.BuildDevices()
	if err != nil {
		t.Fatal(err)
	}
	specs := simulators.SpecsFor(devs)
	// The simulators of MQTT devices publish to the daemon's embedded broker.
	brokerAddr := freeAddr(t)
	for taken[brokerAddr] {
		brokerAddr = freeAddr(t)
	}
	simBroker := brokerURL
	if simBroker == "" {
		simBroker = "tcp://" + daemon.DemoDevicesUser + ":" + daemon.DemoDevicesPassword + "@" + brokerAddr
	}
	estate, err := simulators.New(specs, simulators.Options{MQTTBroker: simBroker})
	if err != nil {
		t.Fatal(err)
	}
	if err := estate.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { estate.Close() })

	cfg := *base
	cfg.Devices = append([]config.Device(nil), base.Devices...)
	for i := range cfg.Devices {
		cfg.Devices[i].Interval = 200 * time.Millisecond
		cfg.Devices[i].Timeout = 150 * time.Millisecond
		if m := cfg.Devices[i].MQTT; m != nil {
			// Publishing every 200 ms under a loaded race-detector run can slip past 3
			// intervals; the MQTT tests check staleness on their own.
			mq := *m
			mq.StaleAfter = 3 * time.Second
			cfg.Devices[i].MQTT = &mq
		}
	}
	cfg.HTTP.Addr = "127.0.0.1:0"
	// Every store in its default place under one state directory, as the demo has it.
	cfg.StateDir = t.TempDir()
	cfg.MQTT.Embedded.Addr = brokerAddr
	cfg.MQTT.URL = brokerURL
	if influx != nil {
		cfg.Influx.URL = influx.URL
		cfg.Influx.Bucket = influx.Bucket()
		cfg.Influx.FlushInterval = 100 * time.Millisecond
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &cfg, estate
}

// withoutMQTTDevices keeps the Modbus devices only, for tests of the telemetry path whose
// timing a device that publishes on its own clock would only blur.
func withoutMQTTDevices(cfg *config.Config) {
	var keep []config.Device
	for _, d := range cfg.Devices {
		if d.MQTT == nil {
			keep = append(keep, d)
		}
	}
	cfg.Devices = keep
	// The demo's device account lists the MQTT devices it publishes for: none are left.
	cfg.MQTT.Embedded.Devices = nil
}

// freeAddr returns a loopback address nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type running struct {
	api  string
	stop func() error
}

func startDaemon(t *testing.T, cfg *config.Config) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- runDaemon(ctx, cfg, slog.New(slog.DiscardHandler), daemon.Options{Listening: func(a net.Addr) { addr <- a }})
	}()
	var r running
	select {
	case a := <-addr:
		r.api = "http://" + a.String()
	case err := <-errc:
		t.Fatalf("daemon stopped at start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not start listening")
	}
	stopped := false
	r.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-errc
	}
	t.Cleanup(func() { r.stop() })
	return &r
}

func get(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDemoEstateIntoInfluxDB is the edge data path end to end: simulators of every kind,
// polled by the daemon, written to a real InfluxDB, read back with InfluxQL.
func TestDemoEstateIntoInfluxDB(t *testing.T) {
	influx := testenv.NewInflux(t)
	cfg, estate := demoEstate(t, influx)
	d := startDaemon(t, cfg)

	var list struct{ Devices []api.DeviceSummary }
	waitFor(t, "every demo device online at /api/v1/devices", 15*time.Second, func() bool {
		get(t, d.api+"/api/v1/devices", &list)
		for _, dev := range list.Devices {
			if dev.Comm != devices.CommOnline {
				return false
			}
		}
		return len(list.Devices) == 14 // 11 on Modbus, 2 on MQTT, and the gateway itself
	})
	if err := estate.Inject("P-2", "vfd_fault", map[string]string{"code": "4"}); err != nil {
		t.Fatal(err)
	}
	var p2 api.DeviceDetail
	waitFor(t, "P-2 VFD fault 4 at the API", 10*time.Second, func() bool {
		get(t, d.api+"/api/v1/devices/P-2", &p2)
		for _, r := range p2.Readings {
			if r.Point == "vfd_fault_code" && r.Value == 4.0 && r.Label == "drive overheat" {
				return true
			}
		}
		return false
	})
	// What the API showed last for each device must be in InfluxDB, at the same nanosecond.
	shown := map[string]api.DeviceDetail{}
	for _, id := range []string{"P-1", "P-2", "L1-1", "FP-1", "LP-2"} {
		var dd api.DeviceDetail
		get(t, d.api+"/api/v1/devices/"+id, &dd)
		shown[id] = dd
	}
	polled := map[string]uint64{}
	waitFor(t, "five polls of every device", 10*time.Second, func() bool {
		get(t, d.api+"/api/v1/devices?kind=elevator", &list)
		for _, dev := range list.Devices {
			if dev.Polls < 5 {
				return false
			}
			polled[dev.ID] = dev.Polls
		}
		return true
	})
	if err := d.stop(); err != nil {
		t.Fatalf("daemon stopped with %v", err)
	}

	for id, dd := range shown {
		ts := dd.Readings[0].Time
		series, err := influx.Query(fmt.Sprintf("SELECT * FROM %q WHERE device = '%s' AND time = %d", dd.Kind, id, ts.UnixNano()))
		if err != nil {
			t.Fatal(err)
		}
		if len(series) != 1 || len(series[0].Values) != 1 {
			t.Fatalf("%s: no single row in InfluxDB at %v (the time the API showed): %+v", id, ts, series)
		}
		row := series[0].Rows()[0]
		want := map[string]string{"site": "demo-estate", "device": id, "building": dd.Building, "zone": dd.Zone}
		for tag, v := range want {
			if row[tag] != v {
				t.Errorf("%s: tag %s = %v, want %q", id, tag, row[tag], v)
			}
		}
		if row["comm_ok"] != true {
			t.Errorf("%s: comm_ok = %v", id, row["comm_ok"])
		}
		for _, r := range dd.Readings {
			got := row[r.Point]
			switch v := r.Value.(type) {
			case bool, string:
				if got != v {
					t.Errorf("%s.%s in InfluxDB %v (%T), API showed %v", id, r.Point, got, got, v)
				}
			case float64:
				n, ok := got.(json.Number)
				f, _ := n.Float64()
				if !ok || f != v {
					t.Errorf("%s.%s in InfluxDB %v, API showed %v", id, r.Point, got, v)
				}
				if r.Label != "" && strings.ContainsAny(n.String(), ".eE") {
					t.Errorf("%s.%s is an enum but InfluxDB holds %v, not an integer", id, r.Point, n)
				}
			}
		}
	}
	// The VFD fault raised an alarm; its transition is in measurement alarm.
	alarmRows, err := influx.Query(`SELECT * FROM "alarm" WHERE device = 'P-2'`)
	if err != nil {
		t.Fatal(err)
	}
	raised := false
	for _, s := range alarmRows {
		for _, row := range s.Rows() {
			if row["event"] == "raised" && row["state"] == "UNACK" && row["site"] == "demo-estate" && row["priority"] != nil {
				raised = true
			}
		}
	}
	if !raised {
		t.Errorf("no raised alarm of P-2 in measurement alarm: %+v", alarmRows)
	}
	// Every poll is there, not only the last: at least as many as the API had counted before
	// the daemon was stopped (it flushes what it read on the way out).
	series, err := influx.Query(`SELECT count(comm_ok) FROM "elevator" GROUP BY device`)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 4 {
		t.Fatalf("elevator series %+v, want one per elevator", series)
	}
	for _, s := range series {
		n, _ := s.Values[0][1].(json.Number).Int64()
		if id := s.Tags["device"]; uint64(n) < polled[id] {
			t.Errorf("elevator %s: %d polls in InfluxDB, but the API had counted %d", id, n, polled[id])
		}
	}
}
