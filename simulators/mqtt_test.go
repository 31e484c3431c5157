package simulators_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	mqttdev "github.com/facilityd/facilityd/devices/mqtt"
	"github.com/facilityd/facilityd/northbound"
	"github.com/facilityd/facilityd/simulators"
)

// TestMQTTPublishing: a simulated lighting controller publishes in the shape of its profile,
// the MQTT driver reads every point back good and equal to the simulator's own values, and the
// silent fault stops the messages.
func TestMQTTPublishing(t *testing.T) {
	b, err := northbound.StartBroker("127.0.0.1:0", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() }) // after the simulator and the client
	prof, _ := devices.Builtin("lighting_mqtt")
	estate, client := lightingOn(t, b, simulators.MQTTSpec{Topic: "t/LC-1", StatusTopic: "t/LC-1/status", Interval: 50 * time.Millisecond})
	var mu sync.Mutex
	var snaps []*devices.Snapshot
	dev := &devices.Device{ID: "LC-1", Kind: devices.KindLighting, Profile: prof, Interval: time.Second,
		MQTT: &devices.MQTTTransport{Topic: "t/LC-1", StatusTopic: "t/LC-1/status"}}
	l, err := mqttdev.New([]*devices.Device{dev}, client, func(s *devices.Snapshot) {
		mu.Lock()
		snaps = append(snaps, s)
		mu.Unlock()
	}, mqttdev.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(snaps) }
	wait(t, "a payload", func() bool { return count() > 0 })

	mu.Lock()
	s := snaps[len(snaps)-1]
	mu.Unlock()
	if s.Err != nil || s.Comm != devices.CommOnline {
		t.Fatalf("snapshot: comm %s err %v", s.Comm, s.Err)
	}
	if time.Since(s.Time) > 5*time.Second || time.Since(s.Time) < 0 {
		t.Errorf("snapshot time %v is not the payload's recent ts", s.Time)
	}
	for i, p := range prof.Points {
		if s.Values[i].Quality != devices.QualityGood {
			t.Errorf("point %s: quality %s", p.Name, s.Values[i].Quality)
		}
		if p.Name == "on_time" || p.Name == "off_time" || p.Name == "circuit_03_command" {
			want, _ := estate.Value("LC-1", p.Name)
			if s.Values[i].Number != want.Number {
				t.Errorf("point %s read %v over MQTT, simulator says %v", p.Name, s.Values[i].Number, want.Number)
			}
		}
	}

	if err := estate.Inject("LC-1", "silent", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // a payload may be on its way
	n := count()
	time.Sleep(300 * time.Millisecond) // six intervals: the fault must stop every one
	if count() != n {
		t.Errorf("silent device published %d payloads", count()-n)
	}
}

func wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMQTTTopicPerPoint: a simulated device whose profile gives points topics of their own
// publishes each as a plain value, and the driver reads them equal to the simulator's values.
func TestMQTTTopicPerPoint(t *testing.T) {
	b, err := northbound.StartBroker("127.0.0.1:0", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	prof, err := devices.ParseProfile("relay", []byte("name: relay\npoints:\n"+
		"  - {name: relay, topic: relay/0, type: bool}\n  - {name: power, topic: relay/0/power, type: float64}\n"+
		"  - {name: energy, path: energy, type: float64}\n"))
	if err != nil {
		t.Fatal(err)
	}
	estate, err := simulators.New([]simulators.DeviceSpec{{ID: "R-1", Profile: prof,
		MQTT: &simulators.MQTTSpec{Topic: "t/R-1", Interval: 50 * time.Millisecond}}}, simulators.Options{MQTTBroker: b.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if err := estate.Start(); err != nil {
		t.Fatal(err)
	}
	defer estate.Close()
	client, err := northbound.Dial(northbound.ClientOptions{URL: b.URL(), ClientID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	dev := &devices.Device{ID: "R-1", Kind: devices.KindGeneric, Profile: prof, Interval: time.Second,
		MQTT: &devices.MQTTTransport{Topic: "t/R-1"}}
	latest := devices.NewLatest([]*devices.Device{dev})
	l, err := mqttdev.New([]*devices.Device{dev}, client, latest.Update, mqttdev.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx)
	wait(t, "every point good", func() bool {
		st, _ := latest.Get("R-1")
		if len(st.Values) != len(prof.Points) {
			return false
		}
		for i, v := range st.Values {
			want, _ := estate.Value("R-1", prof.Points[i].Name)
			if v.Quality != devices.QualityGood || v.Number != want.Number {
				return false
			}
		}
		return true
	})
}

// TestMQTTCommands: a simulated MQTT lighting controller takes writes on its profile's
// command topic (t/LC-1/set) as facilityd publishes them, refuses what its model refuses, and
// publishes its new state at once.
func TestMQTTCommands(t *testing.T) {
	b, err := northbound.StartBroker("127.0.0.1:0", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() }) // after the simulator and the client
	// An hour between payloads: the state that shows the write is the one published on it.
	estate, client := lightingOn(t, b, simulators.MQTTSpec{Topic: "t/LC-1", Interval: time.Hour})
	var mu sync.Mutex
	var payloads []string
	if err := client.Subscribe("t/LC-1", 1, func(_ string, p []byte) {
		mu.Lock()
		payloads = append(payloads, string(p))
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}

	before, _ := estate.Value("LC-1", "circuit_03_command")
	onTime, _ := estate.Value("LC-1", "on_time")
	want := before.Number == 0
	ctx := context.Background()
	// The controller subscribes once connected: until then commands are lost, so they are
	// sent again until one lands. An on_time past midnight goes first each time, refused.
	wait(t, "circuit 3 switched by a command on t/LC-1/set", func() bool {
		for _, body := range []string{`{"point": "on_time", "value": 1500}`, fmt.Sprintf(`{"point": "circuit_03_command", "value": %v}`, want)} {
			if err := client.Publish(ctx, "t/LC-1/set", 1, false, []byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		v, _ := estate.Value("LC-1", "circuit_03_command")
		return (v.Number != 0) == want
	})
	if v, _ := estate.Value("LC-1", "on_time"); v.Number != onTime.Number {
		t.Errorf("on_time %v after a command of 1500, want it refused (still %v)", v.Number, onTime.Number)
	}
	wait(t, "the new state published at once", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range payloads {
			var doc struct{ Circuits []struct{ Command bool } }
			if json.Unmarshal([]byte(p), &doc) == nil && len(doc.Circuits) > 2 && doc.Circuits[2].Command == want {
				return true
			}
		}
		return false
	})
}

// lightingOn serves the simulated controller LC-1 (profile lighting_mqtt) publishing to broker
// b as spec says, and connects a client to b; both stop when the test ends.
func lightingOn(t *testing.T, b *northbound.Broker, spec simulators.MQTTSpec) (*simulators.Estate, *northbound.Client) {
	t.Helper()
	prof, _ := devices.Builtin("lighting_mqtt")
	estate, err := simulators.New([]simulators.DeviceSpec{{ID: "LC-1", Profile: prof, MQTT: &spec}}, simulators.Options{MQTTBroker: b.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if err := estate.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { estate.Close() })
	client, err := northbound.Dial(northbound.ClientOptions{URL: b.URL(), ClientID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	return estate, client
}
