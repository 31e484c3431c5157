// Package daemontest holds what the tests of internal/daemon and of cmd/facilityd share: the
// demo estate's simulators on free loopback ports with a configuration that polls them, and a
// daemon run in-process against it.
package daemontest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/examples"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/simulators"
)

// DemoEstate is the demo estate's devices served by simulators on free loopback ports, with a
// configuration that polls them and writes to influx.
func DemoEstate(t *testing.T, influx *testenv.Influx) (*config.Config, *simulators.Estate) {
	t.Helper()
	return DemoEstateOn(t, influx, "")
}

// ModbusEstate is DemoEstate without the devices that publish over MQTT, for tests of the
// telemetry path whose timing a device on its own clock (and its client's reconnects when a
// broker dies with a killed daemon) would only blur.
func ModbusEstate(t *testing.T, influx *testenv.Influx) (*config.Config, *simulators.Estate) {
	t.Helper()
	return DemoEstateWith(t, influx, "", true)
}

// DemoEstateOn is DemoEstate with an external MQTT broker (brokerURL; empty: the daemon embeds
// one on a free port), which the MQTT simulators publish to as well.
func DemoEstateOn(t *testing.T, influx *testenv.Influx, brokerURL string) (*config.Config, *simulators.Estate) {
	t.Helper()
	return DemoEstateWith(t, influx, brokerURL, false)
}

// DemoEstateWith is DemoEstateOn, with only the Modbus devices when modbusOnly is set.
func DemoEstateWith(t *testing.T, influx *testenv.Influx, brokerURL string, modbusOnly bool) (*config.Config, *simulators.Estate) {
	t.Helper()
	base, err := config.Parse("examples/demo.yaml", examples.Demo)
	if err != nil {
		t.Fatal(err)
	}
	if modbusOnly {
		WithoutMQTTDevices(base)
	}
	// Move every address of the demo file to a free loopback port; devices that share a
	// gateway in the demo share one here too.
	moved := map[string]string{}
	taken := map[string]bool{}
	for i := range base.Devices {
		if b := base.Devices[i].BACnet; b != nil {
			// The BACnet air-handling unit on a free UDP port, and the daemon's client too.
			moved := *b
			moved.Address = FreeUDPAddr(t)
			base.Devices[i].BACnet = &moved
			base.BACnet.Local = FreeUDPAddr(t)
			continue
		}
		m := base.Devices[i].Modbus
		if m == nil {
			continue
		}
		if _, ok := moved[m.Address]; !ok {
			// A port just closed may be handed out again: never give two gateways one.
			a := FreeAddr(t)
			for taken[a] {
				a = FreeAddr(t)
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
	brokerAddr := FreeAddr(t)
	for taken[brokerAddr] {
		brokerAddr = FreeAddr(t)
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
	// The chiller plants of the OPC UA devices, each on a free port of its own.
	var plants []string
	for i := range base.Devices {
		if o := base.Devices[i].OPCUA; o != nil && base.Devices[i].Profile == simulators.ChillerPlantProfile {
			moved := *o
			moved.Endpoint = "opc.tcp://" + FreeAddr(t)
			base.Devices[i].OPCUA = &moved
			plants = append(plants, moved.Endpoint)
		}
	}
	chillers, err := simulators.StartChillerPlants(plants, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(chillers.Close)

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

// WithoutMQTTDevices keeps the Modbus devices only, for tests of the telemetry path whose
// timing a device that publishes on its own clock (over MQTT, or an OPC UA server's
// subscription) would only blur.
func WithoutMQTTDevices(cfg *config.Config) {
	var keep []config.Device
	for _, d := range cfg.Devices {
		if d.MQTT == nil && d.OPCUA == nil {
			keep = append(keep, d)
		}
	}
	cfg.Devices = keep
	// The demo's device account lists the MQTT devices it publishes for: none are left.
	cfg.MQTT.Embedded.Devices = nil
}

// FreeAddr returns a loopback address nobody listens on now.
func FreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// FreeUDPAddr returns a loopback UDP address nobody listens on now.
func FreeUDPAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().String()
}

// Running is a daemon started by Start, stopped when the test ends.
type Running struct {
	// API is the base URL of its API ("http://127.0.0.1:port").
	API  string
	stop func() error
}

// Stop stops the daemon and returns what Run returned; later calls return nil.
func (r *Running) Stop() error { return r.stop() }

// Start runs a daemon of cfg in-process (its log discarded) until the test ends, once its API
// listens; a daemon that stops at start fails the test.
func Start(t *testing.T, cfg *config.Config) *Running {
	t.Helper()
	return StartWith(t, cfg, daemon.Options{})
}

// StartWith is Start with opts (a configuration file to reload, hooks); opts.Listening is
// told of every pipeline that serves (a reload that rebuilds starts another), Start waits for
// the first.
func StartWith(t *testing.T, cfg *config.Config, opts daemon.Options) *Running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() {
		theirs := opts.Listening
		opts.Listening = func(a net.Addr) {
			if theirs != nil {
				theirs(a)
			}
			select {
			case addr <- a: // the first start; a rebuilt pipeline serves the same address
			default:
			}
		}
		errc <- Run(ctx, cfg, opts)
	}()
	var r Running
	select {
	case a := <-addr:
		r.API = "http://" + a.String()
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

// Get decodes the JSON of GET url into v; any status but 200 fails the test.
func Get(t *testing.T, url string, v any) {
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

// WaitFor polls cond every 20 ms until it holds; past limit the test fails, saying what.
func WaitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Run is what facilityd run does once its configuration is loaded, with the log discarded:
// New, Run until ctx ends, Close.
func Run(ctx context.Context, cfg *config.Config, opts daemon.Options) error {
	opts.Logger = slog.New(slog.DiscardHandler)
	d, err := daemon.New(cfg, opts)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Run(ctx)
}

// Post sends a JSON body and decodes the answer, returning its status.
func Post(t *testing.T, url string, body, v any) int {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("POST %s: %s: %v", url, resp.Status, err)
		}
	}
	return resp.StatusCode
}

// PointValue is the value of one point of device at the API at base; a device without that
// point fails the test.
func PointValue(t *testing.T, base, device, point string) any {
	t.Helper()
	var d api.DeviceDetail
	Get(t, base+"/api/v1/devices/"+device, &d)
	for _, r := range d.Readings {
		if r.Point == point {
			return r.Value
		}
	}
	t.Fatalf("device %s has no reading of %s", device, point)
	return nil
}

// WithPatrol gives cfg a patrol roster of one guard (g1) and a supervisor (sup) on every zone,
// day and night, with its store in the test's folder and the lighting check due at once.
func WithPatrol(t *testing.T, cfg *config.Config) {
	cfg.Patrol.Timezone = "UTC"
	cfg.Patrol.Store = filepath.Join(t.TempDir(), "patrol.db")
	cfg.Patrol.Shifts = []config.PatrolShift{{Name: "night", Start: "18:00", End: "08:00", Supervisor: "sup"}, {Name: "day", Start: "08:00", End: "18:00", Supervisor: "sup"}}
	cfg.Patrol.Guards = []config.PatrolGuard{{ID: "g1", Handset: "H1"}, {ID: "sup", Handset: "H9"}}
	cfg.Patrol.Groups = []config.PatrolGroup{{Name: "n", Shift: "night", Zones: []string{"*"}, Guards: []string{"g1"}}, {Name: "d", Shift: "day", Zones: []string{"*"}, Guards: []string{"g1"}}}
	// 00:00 has always passed: the check runs at the first tick.
	cfg.Patrol.Lighting.At = "00:00"
	cfg.Patrol.Lighting.AfterDusk = 0
	// The demo's handset accounts belong to its roster, replaced here.
	cfg.MQTT.Embedded.Handsets = nil
}

// Scrape is the value of the metric name (a series without labels) at the API at api's
// /metrics; a metric not there fails the test.
func Scrape(t *testing.T, api, name string) float64 {
	t.Helper()
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %q", name, v)
			}
			return f
		}
	}
	t.Fatalf("metric %s not in /metrics", name)
	return 0
}

// WriteConfig writes cfg as YAML to path, for a daemon that loads or reloads it from there.
func WriteConfig(t *testing.T, path string, cfg *config.Config) {
	t.Helper()
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
