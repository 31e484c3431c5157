package mqtt_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the site zone below, on machines without a zone database

	"github.com/facilityd/facilityd/devices"
	mqttdev "github.com/facilityd/facilityd/devices/mqtt"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/northbound"
)

// Three devices as they publish in a building: a smart plug of an open firmware (one JSON
// object, "POWER":"ON", local time without an offset), a relay with one topic per point
// (plain "on", "12.34"), and a Zigbee bridge's sensor (numbers as text, epoch seconds).
const (
	plugProfile = `name: plug
time_path: Time
points:
  - {name: relay, path: POWER, type: bool}
  - {name: power, path: ENERGY.Power, type: float64, unit: W}
  - {name: energy, path: ENERGY.Total, type: float64, unit: kWh}
`
	relayProfile = `name: relay_gen1
points:
  - {name: relay, topic: relay/0, type: bool}
  - {name: power, topic: relay/0/power, type: float64, unit: W}
  - {name: temperature, topic: temperature, type: float64, unit: °C}
`
	sensorProfile = `name: th_sensor
time_path: last_seen
time_unit: s
points:
  - {name: temperature, path: temperature, type: float64, unit: °C}
  - {name: humidity, path: "sensors[id=H1].value", type: float64, unit: "%"}
  - {name: contact, path: contact, type: bool}
`
)

// TestDeviceShapesOverBroker reads the three devices end to end through a real broker and the
// gateway's own MQTT session, and again after a mosquitto restart: the topics per point are
// subscribed again on connect.
func TestDeviceShapesOverBroker(t *testing.T) {
	for _, broker := range []string{"mosquitto", "embedded"} {
		t.Run(broker, func(t *testing.T) {
			var url string
			var mosq *testenv.Mosquitto
			if broker == "mosquitto" {
				mosq = testenv.NewMosquitto(t)
				url = mosq.URL
			} else {
				b, err := northbound.StartBroker("127.0.0.1:0", nil, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { b.Close() })
				url = b.URL()
			}
			testShapesOver(t, url, mosq)
		})
	}
}

func testShapesOver(t *testing.T, url string, mosq *testenv.Mosquitto) {
	site, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	var devs []*devices.Device
	for _, d := range []struct{ id, profile, topic string }{
		{"PLUG-1", plugProfile, "tele/plug-1/SENSOR"},
		{"RELAY-1", relayProfile, "shellies/shelly1pm-1"},
		{"TH-1", sensorProfile, "zigbee2mqtt/th-1"},
	} {
		prof, err := devices.ParseProfile(d.id, []byte(d.profile))
		if err != nil {
			t.Fatal(err)
		}
		devs = append(devs, &devices.Device{ID: d.id, Kind: devices.KindGeneric, Profile: prof, Interval: time.Minute,
			MQTT: &devices.MQTTTransport{Topic: d.topic}})
	}
	latest := devices.NewLatest(devs)
	gateway := dial(t, url, "gateway")
	device := dial(t, url, "devices")
	l, err := mqttdev.New(devs, gateway, latest.Update, mqttdev.Options{Location: site, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	// The plug's clock is the site's local time, written without an offset.
	plugTime := time.Now().In(site).Add(-30 * time.Second).Truncate(time.Second)
	sensorTime := time.Now().Add(-10 * time.Second).Truncate(time.Second)
	msgs := []struct{ topic, payload string }{
		{"tele/plug-1/SENSOR", fmt.Sprintf(`{"Time":"%s","ENERGY":{"Total":12.345,"Power":23,"Voltage":229},"POWER":"ON"}`,
			plugTime.Format("2006-01-02T15:04:05"))},
		{"shellies/shelly1pm-1/relay/0", "on"},
		{"shellies/shelly1pm-1/relay/0/power", "12.34"},
		{"shellies/shelly1pm-1/temperature", "41.2"},
		{"zigbee2mqtt/th-1", fmt.Sprintf(`{"temperature":"23.5","sensors":[{"id":"T1","value":"1"},{"id":"H1","value":"45.5"}],"contact":false,"last_seen":%d}`,
			sensorTime.Unix())},
	}
	want := map[string]map[string]any{
		"PLUG-1":  {"relay": true, "power": 23.0, "energy": 12.345},
		"RELAY-1": {"relay": true, "power": 12.34, "temperature": 41.2},
		"TH-1":    {"temperature": 23.5, "humidity": 45.5, "contact": false},
	}
	// The listener subscribes as it starts: publish until every reading is in.
	waitFor(t, "every device's readings", func() string {
		for _, m := range msgs {
			publish(t, device, m.topic, m.payload)
		}
		return mismatch(latest, want)
	})
	if st, _ := latest.Get("PLUG-1"); !st.ValuesTime.Equal(plugTime) {
		t.Errorf("plug reading at %v, want the payload's local time %v", st.ValuesTime, plugTime)
	}
	if st, _ := latest.Get("TH-1"); !st.ValuesTime.Equal(sensorTime) {
		t.Errorf("sensor reading at %v, want the payload's epoch seconds %v", st.ValuesTime, sensorTime)
	}
	if mosq == nil {
		return
	}

	mosq.Stop()
	waitFor(t, "the gateway to see the broker gone", func() string {
		if gateway.Connected() {
			return "still connected"
		}
		return ""
	})
	mosq.Start()
	wait, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	if err := gateway.WaitConnected(wait); err != nil {
		t.Fatal(err)
	}
	want["RELAY-1"] = map[string]any{"relay": false, "power": 0.0, "temperature": 41.2}
	waitFor(t, "the relay's topics after the restart", func() string {
		publish(t, device, "shellies/shelly1pm-1/relay/0", "off")
		publish(t, device, "shellies/shelly1pm-1/relay/0/power", "0")
		return mismatch(latest, map[string]map[string]any{"RELAY-1": want["RELAY-1"]})
	})
}

func dial(t *testing.T, url, id string) *northbound.Client {
	t.Helper()
	c, err := northbound.Dial(northbound.ClientOptions{URL: url, ClientID: id, StoreDir: t.TempDir(),
		MaxReconnectInterval: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func publish(t *testing.T, c *northbound.Client, topic, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Publish(ctx, topic, 1, false, []byte(payload)); err != nil {
		t.Logf("publish %s: %v", topic, err) // retried by the caller's loop
	}
}

// mismatch says which reading differs from want, or "".
func mismatch(latest *devices.Latest, want map[string]map[string]any) string {
	var out []string
	for id, points := range want {
		st, _ := latest.Get(id)
		got := map[string]devices.Reading{}
		for _, r := range st.Readings() {
			got[r.Point] = r
		}
		for name, v := range points {
			if r := got[name]; r.Quality != devices.QualityGood || r.Value != v {
				out = append(out, fmt.Sprintf("%s %s = %v (%s), want %v", id, name, r.Value, r.Quality, v))
			}
		}
	}
	return strings.Join(out, "; ")
}

// waitFor retries until check says nothing is missing ("").
func waitFor(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		missing := check()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
