package daemon_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/simulators"
)

// TestMQTTEndToEnd: a simulated lighting controller publishes over MQTT, a client nobody here
// wrote (mosquitto_pub) feeds a second device's topic, facilityd reads both into the live
// cache and InfluxDB, and mosquitto_sub sees the northbound telemetry and the retained gateway
// status. Once against mosquitto, once against the broker facilityd embeds.
func TestMQTTEndToEnd(t *testing.T) {
	for _, brokerKind := range []string{"mosquitto", "embedded"} {
		t.Run(brokerKind, func(t *testing.T) {
			influx := testenv.NewInflux(t)
			sub := testenv.MosquittoTool(t, "mosquitto_sub")
			pub := testenv.MosquittoTool(t, "mosquitto_pub")
			var brokerURL, embeddedAddr string
			// The embedded broker admits device publishers by account only.
			simBroker := func(u string) string { return u }
			var pubAuth []string
			var mosq *testenv.Mosquitto
			if brokerKind == "mosquitto" {
				mosq = testenv.NewMosquitto(t)
				brokerURL = mosq.URL
			} else {
				embeddedAddr = freeAddr(t)
				simBroker = func(u string) string { return strings.Replace(u, "tcp://", "tcp://feeder:feeder-password-01@", 1) }
				pubAuth = []string{"-u", "feeder", "-P", "feeder-password-01"}
			}
			yaml := fmt.Sprintf(`site: t-site
mqtt: {url: %q, embedded: {addr: %q}, store_dir: %q}
influx: {url: %q, bucket: %q, flush_interval: 100ms}
http: {addr: "127.0.0.1:0"}
devices:
  - id: LC-1
    profile: lighting_mqtt
    building: B1
    zone: north
    interval: 200ms
    timeout: 100ms
    mqtt: {topic: "t/lighting/LC-1/state", status_topic: "t/lighting/LC-1/status"}
  - id: LC-2
    profile: lighting_mqtt
    building: B2
    zone: south
    interval: 200ms
    timeout: 100ms
    mqtt: {topic: "t/lighting/LC-2/state", stale_after: 30s}
`, brokerURL, embeddedAddr, t.TempDir(), influx.URL, influx.Bucket())
			if embeddedAddr == "" {
				yaml = strings.Replace(yaml, `embedded: {addr: ""}, `, "", 1)
			} else {
				yaml = strings.Replace(yaml, `embedded: {addr: "`+embeddedAddr+`"}`, `embedded: {addr: "`+embeddedAddr+`", devices: [{username: feeder, sha256: `+api.HashToken("feeder-password-01")+`}]}`, 1)
			}
			cfg, err := config.Parse("e2e.yaml", []byte(yaml))
			if err != nil {
				t.Fatal(err)
			}
			cfg.StateDir = t.TempDir()
			cfg.WorkOrders.Store.Path = filepath.Join(t.TempDir(), "workorders.db")
			devs, err := cfg.BuildDevices()
			if err != nil {
				t.Fatal(err)
			}
			estate, err := simulators.New(simulators.SpecsFor(devs[:1]), simulators.Options{MQTTBroker: simBroker(cfg.MQTT.BrokerURL())})
			if err != nil {
				t.Fatal(err)
			}
			if err := estate.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { estate.Close() })
			d := startDaemon(t, cfg)

			host, port, _ := net.SplitHostPort(strings.TrimPrefix(cfg.MQTT.BrokerURL(), "tcp://"))
			lines := watch(t, sub, "-h", host, "-p", port, "-t", "facility/#", "-v")
			// The retained status comes first: mosquitto_sub is then subscribed.
			waitFor(t, "mosquitto_sub to see the retained gateway status", 20*time.Second, func() bool {
				return strings.Contains(lines(), "facility/t-site/gateway/status online")
			})

			ts := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
			feed := `{"ts": ` + fmt.Sprint(ts.UnixMilli()) + `, "energy_kwh": 1234.5, "power_kw": 1.5, "dark": true, "schedule": {"on": 1080, "off": 360}, "circuits": [{"command": true, "on": true, "lamp_fail": false}]}`
			waitFor(t, "mosquitto_pub to reach LC-2", 20*time.Second, func() bool {
				out, err := exec.Command(pub, append([]string{"-h", host, "-p", port, "-q", "1", "-t", "t/lighting/LC-2/state", "-m", feed}, pubAuth...)...).CombinedOutput()
				if err != nil {
					t.Logf("mosquitto_pub: %v: %s", err, out)
					return false
				}
				var dd api.DeviceDetail
				get(t, d.API+"/api/v1/devices/LC-2", &dd)
				return reading(dd, "energy") == 1234.5
			})
			waitFor(t, "LC-1 online with readings from its simulator", 20*time.Second, func() bool {
				var dd api.DeviceDetail
				get(t, d.API+"/api/v1/devices/LC-1", &dd)
				return dd.Comm == devices.CommOnline && reading(dd, "on_time") != nil
			})
			// LC-2's readings carry the payload's own time.
			var dd api.DeviceDetail
			get(t, d.API+"/api/v1/devices/LC-2", &dd)
			if len(dd.Readings) == 0 || !dd.Readings[0].Time.Equal(ts) {
				t.Errorf("LC-2 reading time %v, want the payload's ts", dd.Readings)
			}

			waitFor(t, "both devices in InfluxDB", 30*time.Second, func() bool {
				series, err := influx.Query(`SELECT last(energy) FROM lighting GROUP BY device`)
				if err != nil || len(series) != 2 {
					t.Logf("influx: %v %+v", err, series)
					return false
				}
				for _, s := range series {
					if s.Tags["device"] == "LC-2" && fmt.Sprint(s.Values[0][1]) != "1234.5" {
						t.Errorf("LC-2 energy in InfluxDB = %v, want 1234.5", s.Values[0][1])
					}
				}
				return true
			})
			waitFor(t, "mosquitto_sub to see telemetry and the retained gateway status", 20*time.Second, func() bool {
				all := lines()
				return strings.Contains(all, "facility/t-site/gateway/status online") &&
					strings.Contains(all, `facility/t-site/telemetry/LC-1 {"device":"LC-1","kind":"lighting","building":"B1"`) &&
					strings.Contains(all, `facility/t-site/telemetry/LC-2 {"device":"LC-2"`)
			})
			var p struct {
				Values map[string]any `json:"values"`
				Comm   string         `json:"comm"`
			}
			for _, l := range strings.Split(lines(), "\n") {
				if rest, ok := strings.CutPrefix(l, "facility/t-site/telemetry/LC-2 "); ok {
					if err := json.Unmarshal([]byte(rest), &p); err != nil {
						t.Fatalf("telemetry payload is not JSON: %v: %s", err, rest)
					}
				}
			}
			if p.Comm != "online" || p.Values["energy"] != 1234.5 || p.Values["dark"] != true {
				t.Errorf("LC-2 telemetry: %+v", p)
			}

			// Broken JSON from outside: counted, the reading bad, the daemon going on.
			if out, err := exec.Command(pub, append([]string{"-h", host, "-p", port, "-q", "1", "-t", "t/lighting/LC-2/state", "-m", `{"energy_kwh": `}, pubAuth...)...).CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_pub: %v: %s", err, out)
			}
			waitFor(t, "the malformed payload to be counted", 10*time.Second, func() bool {
				return strings.Contains(metrics(t, d.API), `facilityd_mqtt_device_malformed_total{device="LC-2",reason="json"} 1`)
			})
			// Simulator faults act over MQTT as over Modbus.
			if err := estate.Inject("LC-1", "malformed", nil); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the simulator's broken JSON to be counted", 10*time.Second, func() bool {
				return strings.Contains(metrics(t, d.API), `facilityd_mqtt_device_malformed_total{device="LC-1",reason="json"}`) &&
					!strings.Contains(metrics(t, d.API), `facilityd_mqtt_device_malformed_total{device="LC-1",reason="json"} 0`)
			})
			estate.Clear("LC-1", "malformed", nil)
			if err := estate.Inject("LC-1", "drop", nil); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "LC-1 offline by its last will once the simulator drops its connection", 10*time.Second, func() bool {
				var dd api.DeviceDetail
				get(t, d.API+"/api/v1/devices/LC-1", &dd)
				return dd.Comm == devices.CommOffline && strings.Contains(dd.LastError, "status topic says offline")
			})
			estate.Clear("LC-1", "drop", nil)
			waitFor(t, "LC-1 back online once the drop fault is cleared", 10*time.Second, func() bool {
				var dd api.DeviceDetail
				get(t, d.API+"/api/v1/devices/LC-1", &dd)
				if dd.Comm != devices.CommOnline {
					t.Logf("LC-1: %s %s", dd.Comm, dd.LastError)
				}
				return dd.Comm == devices.CommOnline
			})

			if mosq != nil {
				// A broker restart: the daemon's subscriptions come back by themselves.
				mosq.Stop()
				mosq.Start()
				waitFor(t, "a payload published after the broker restart to reach LC-2", 30*time.Second, func() bool {
					after := strings.Replace(feed, "1234.5", "2345.5", 1)
					if out, err := exec.Command(pub, append([]string{"-h", host, "-p", port, "-q", "1", "-t", "t/lighting/LC-2/state", "-m", after}, pubAuth...)...).CombinedOutput(); err != nil {
						t.Logf("mosquitto_pub: %v: %s", err, out)
						return false
					}
					var dd api.DeviceDetail
					get(t, d.API+"/api/v1/devices/LC-2", &dd)
					return reading(dd, "energy") == 2345.5
				})
			}

			if err := d.Stop(); err != nil {
				t.Errorf("daemon stopped with %v", err)
			}
			waitFor(t, "mosquitto_sub to see the gateway say offline", 10*time.Second, func() bool {
				return strings.Contains(lines(), "facility/t-site/gateway/status offline")
			})
		})
	}
}

func reading(d api.DeviceDetail, point string) any {
	for _, r := range d.Readings {
		if r.Point == point {
			return r.Value
		}
	}
	return nil
}

func metrics(t *testing.T, base string) string {
	t.Helper()
	out, err := exec.CommandContext(context.Background(), "curl", "-s", base+"/metrics").Output()
	if err != nil {
		t.Fatalf("curl metrics: %v", err)
	}
	return string(out)
}

// watch runs a command until the test ends and returns a function giving its output so far.
func watch(t *testing.T, name string, args ...string) func() string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, name, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var b strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			mu.Lock()
			b.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cmd.Wait() })
	return func() string { mu.Lock(); defer mu.Unlock(); return b.String() }
}
