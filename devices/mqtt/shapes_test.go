package mqtt

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"
	_ "time/tzdata" // the site zone below, on machines without a zone database

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/facilityd/facilityd/devices"
)

type publish struct{ topic, payload string }

// shapes are payloads as building devices publish them, with the profile that reads each.
// synctest's clock starts at 2000-01-01T00:00:00Z (08:00 in the site's zone, Asia/Shanghai);
// payload times are just before it.
var shapes = []struct {
	name    string
	profile string
	topic   string // the device's topic
	msgs    []publish
	want    map[string]any // point: value as the API shows it
	bad     []string       // points that read bad
	time    time.Time      // zero: the time received
}{
	{
		name: "open-firmware smart plug: POWER ON, local time without offset",
		profile: `name: plug
time_path: Time
points:
  - {name: relay, path: POWER, type: bool}
  - {name: power, path: ENERGY.Power, type: float64, unit: W}
  - {name: voltage, path: ENERGY.Voltage, type: uint16, unit: V}
  - {name: energy, path: ENERGY.Total, type: float64, unit: kWh}
`,
		topic: "tele/plug-1/SENSOR",
		msgs: []publish{{"tele/plug-1/SENSOR", `{"Time":"2000-01-01T07:41:00","ENERGY":{"TotalStartTime":"1999-06-01T10:00:00",` +
			`"Total":12.345,"Yesterday":0.2,"Today":0.1,"Power":23,"ApparentPower":25,"ReactivePower":5,"Factor":0.92,` +
			`"Voltage":229,"Current":0.1},"POWER":"ON"}`}},
		want: map[string]any{"relay": true, "power": 23.0, "voltage": 229.0, "energy": 12.345},
		time: time.Date(2000, 1, 1, 7, 41, 0, 0, shanghai),
	},
	{
		name: "plug state message: POWER OFF, time with a space and fractions",
		profile: `name: plug
time_path: Time
time_zone: UTC
points:
  - {name: relay, path: POWER, type: bool}
  - {name: rssi, path: Wifi.RSSI, type: int16}
`,
		topic: "tele/plug-1/STATE",
		msgs:  []publish{{"tele/plug-1/STATE", `{"Time":"1999-12-31 23:59:30.250","Uptime":"0T01:00:00","POWER":"off","Wifi":{"AP":1,"SSId":"site","RSSI":-62}}`}},
		want:  map[string]any{"relay": false, "rssi": -62.0},
		time:  time.Date(1999, 12, 31, 23, 59, 30, 250e6, time.UTC),
	},
	{
		name: "second-generation relay: status JSON with epoch seconds",
		profile: `name: relay_pm
time_path: aenergy.minute_ts
time_unit: s
points:
  - {name: output, path: output, type: bool}
  - {name: power, path: apower, type: float64, unit: W}
  - {name: energy, path: aenergy.total, type: float64, scale: 0.001, unit: kWh}
  - {name: temperature, path: temperature.tC, type: float64, unit: °C}
`,
		topic: "shellyplus1pm-a8032ab/status/switch:0",
		msgs: []publish{{"shellyplus1pm-a8032ab/status/switch:0", `{"id":0,"source":"init","output":true,"apower":12.3,` +
			`"voltage":231.2,"current":0.07,"aenergy":{"total":1234.5,"by_minute":[0,0,0],"minute_ts":946684740},"temperature":{"tC":41.2,"tF":106.2}}`}},
		want: map[string]any{"output": true, "power": 12.3, "energy": 1.2345, "temperature": 41.2},
		time: time.Unix(946684740, 0),
	},
	{
		name: "first-generation relay: one topic per point, plain values",
		profile: `name: relay_gen1
points:
  - {name: relay, topic: relay/0, type: bool}
  - {name: power, topic: relay/0/power, type: float64, unit: W}
  - {name: energy, topic: relay/0/energy, type: uint32, unit: Wmin}
  - {name: temperature, topic: temperature, type: float64, unit: °C}
  - {name: overtemp, topic: overtemperature, type: bool}
`,
		topic: "shellies/shelly1pm-C45BBE",
		msgs: []publish{
			{"shellies/shelly1pm-C45BBE/relay/0", "on"},
			{"shellies/shelly1pm-C45BBE/relay/0/power", "12.34"},
			{"shellies/shelly1pm-C45BBE/relay/0/energy", "40321"},
			{"shellies/shelly1pm-C45BBE/temperature", " 41.2\n"},
			{"shellies/shelly1pm-C45BBE/overtemperature", "0"},
		},
		want: map[string]any{"relay": true, "power": 12.34, "energy": 40321.0, "temperature": 41.2, "overtemp": false},
	},
	{
		name: "one topic per point before the others have talked",
		profile: `name: relay_gen1
points:
  - {name: relay, topic: relay/0, type: bool}
  - {name: power, topic: relay/0/power, type: float64, unit: W}
`,
		topic: "shellies/shelly1-1",
		msgs:  []publish{{"shellies/shelly1-1/relay/0", `"OFF"`}},
		want:  map[string]any{"relay": false},
		bad:   []string{"power"},
	},
	{
		name: "zigbee bridge: ON, number as text, contact false, epoch milliseconds",
		profile: `name: z2m_door
time_path: last_seen
points:
  - {name: state, path: state, type: bool}
  - {name: temperature, path: temperature, type: float64, unit: °C}
  - {name: contact, path: contact, type: bool}
  - {name: battery, path: battery, type: uint16, unit: "%"}
  - {name: voltage, path: voltage, type: float64, scale: 0.001, unit: V}
`,
		topic: "zigbee2mqtt/door-1",
		msgs: []publish{{"zigbee2mqtt/door-1", `{"battery":97,"contact":false,"linkquality":120,"voltage":"3005",` +
			`"temperature":"23.5","state":"ON","last_seen":946684790000}`}},
		want: map[string]any{"state": true, "temperature": 23.5, "contact": false, "battery": 97.0, "voltage": 3.005},
		time: time.UnixMilli(946684790000),
	},
	{
		name: "zigbee bridge: local ISO time, words open/closed",
		profile: `name: z2m_valve
time_path: last_seen
points:
  - {name: valve, path: valve, type: bool}
  - {name: occupied, path: occupancy, type: bool}
`,
		topic: "zigbee2mqtt/valve-2",
		msgs:  []publish{{"zigbee2mqtt/valve-2", `{"valve":"Closed","occupancy":"Active","last_seen":"2000-01-01T07:59:59"}`}},
		want:  map[string]any{"valve": false, "occupied": true},
		time:  time.Date(2000, 1, 1, 7, 59, 59, 0, shanghai),
	},
	{
		name: "multi-sensor gateway: array of sensors keyed by id, microseconds inferred",
		profile: `name: multisensor
time_path: ts
points:
  - {name: t3, path: "sensors[id=T3].value", type: float64, unit: °C}
  - {name: t1, path: "sensors[id=T1].value", type: float64, unit: °C}
  - {name: leak, path: "inputs[name=\"leak.B1\"].active", type: bool}
  - {name: second, path: "sensors[1].value", type: float64}
`,
		topic: "gw/ms-1",
		msgs: []publish{{"gw/ms-1", `{"ts":946684799000000,"sensors":[{"id":"T1","value":"21.5"},{"id":"T3","value":19.25}],` +
			`"inputs":[{"name":"leak.B2","active":1},{"name":"leak.B1","active":"inactive"}]}`}},
		want: map[string]any{"t3": 19.25, "t1": 21.5, "leak": false, "second": 19.25},
		time: time.UnixMicro(946684799000000),
	},
	{
		name: "elevator bridge: enum words by map and label, own true/false words",
		profile: `name: lift_bridge
points:
  - {name: mode, path: status.mode, type: enum, enum: {0: idle, 1: running, 2: fault}, map: {RUN: 1, STOP: 0, FLT: 2}}
  - {name: fault_code, path: status.fault, type: enum, enum: {0: none, 12: door lock}, map: {E12: 12, "-": 0}}
  - {name: door, path: status.door, type: enum, enum: {0: closed, 1: open}}
  - {name: trapped, path: status.alarm, type: bool, true: [TRAPPED, ALARM], false: [NORMAL]}
`,
		topic: "lifts/L-3",
		msgs:  []publish{{"lifts/L-3", `{"status":{"mode":"run","fault":"E12","door":"Open","alarm":"normal"}}`}},
		want:  map[string]any{"mode": int64(1), "fault_code": int64(12), "door": int64(1), "trapped": false},
	},
	{
		name: "text that is no number, word that is no state",
		profile: `name: bad_words
points:
  - {name: temperature, path: temperature, type: float64}
  - {name: state, path: state, type: bool}
  - {name: humidity, path: humidity, type: float64}
  - {name: own_words, path: own, type: bool, true: [alarm], false: [normal]}
`,
		topic: "zigbee2mqtt/th-9",
		msgs:  []publish{{"zigbee2mqtt/th-9", `{"temperature":"n/a","state":"toggle","humidity":"45.5","own":"ON"}`}},
		want:  map[string]any{"humidity": 45.5},
		bad:   []string{"temperature", "state", "own_words"},
	},
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// TestDeviceShapes: each device's messages, through the driver, give the reading a user
// expects: the values, the bad points, and the payload's time.
func TestDeviceShapes(t *testing.T) {
	for _, tt := range shapes {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				prof, err := devices.ParseProfile("test", []byte(tt.profile))
				if err != nil {
					t.Fatal(err)
				}
				dev := &devices.Device{ID: "D-1", Kind: devices.KindGeneric, Profile: prof, Interval: time.Minute,
					MQTT: &devices.MQTTTransport{Topic: tt.topic}}
				fb, rec := &fakeBroker{}, &recorder{}
				l, err := New([]*devices.Device{dev}, fb, rec.handle, Options{Location: shanghai, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go l.Run(ctx)
				synctest.Wait()
				start := time.Now()
				for _, m := range tt.msgs {
					fb.publish(m.topic, m.payload)
					synctest.Wait()
				}
				s := rec.last()
				if s == nil || s.Err != nil || s.Comm != devices.CommOnline {
					t.Fatalf("snapshot %+v, want an online reading", s)
				}
				readings := map[string]devices.Reading{}
				for _, r := range s.Readings() {
					readings[r.Point] = r
				}
				for name, want := range tt.want {
					r := readings[name]
					if r.Quality != devices.QualityGood || r.Value != want {
						t.Errorf("%s = %v (%T, %s), want %v (%T)", name, r.Value, r.Value, r.Quality, want, want)
					}
				}
				for _, name := range tt.bad {
					if q := readings[name].Quality; q != devices.QualityBad {
						t.Errorf("%s quality %s, want bad", name, q)
					}
				}
				wantTime := tt.time
				if wantTime.IsZero() {
					wantTime = start
				}
				if !s.Time.Equal(wantTime) {
					t.Errorf("time %v, want %v", s.Time.UTC(), wantTime.UTC())
				}
			})
		})
	}
}

// TestFutureTimeRefused: a device whose clock runs ahead by more than the allowed skew keeps
// its values, stamped with the time received, and the refusal is counted; within the skew the
// payload's time stands.
func TestFutureTimeRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		prof, err := devices.ParseProfile("test", []byte("name: p\ntime_path: ts\npoints:\n  - {name: relay, path: POWER, type: bool}\n"))
		if err != nil {
			t.Fatal(err)
		}
		dev := &devices.Device{ID: "P-1", Profile: prof, Interval: time.Minute, MQTT: &devices.MQTTTransport{Topic: "p"}}
		fb, rec, m := &fakeBroker{}, &recorder{}, NewMetrics(nil)
		l, err := New([]*devices.Device{dev}, fb, rec.handle, Options{Metrics: m, MaxClockSkew: 5 * time.Minute, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go l.Run(ctx)
		synctest.Wait()
		now := time.Now()
		fb.publish("p", `{"ts": "`+now.Add(10*time.Minute).Format(time.RFC3339)+`", "POWER": "ON"}`)
		synctest.Wait()
		s := rec.last()
		if !s.Time.Equal(now) || s.Values[0].Quality != devices.QualityGood || s.Values[0].Number != 1 {
			t.Errorf("10 min ahead: time %v value %+v; want the time received %v and relay on", s.Time, s.Values[0], now)
		}
		if n := testutil.ToFloat64(m.future.WithLabelValues("P-1")); n != 1 {
			t.Errorf("future times counted %v, want 1", n)
		}
		ahead := now.Add(4 * time.Minute)
		fb.publish("p", `{"ts": "`+ahead.Format(time.RFC3339)+`", "POWER": "ON"}`)
		synctest.Wait()
		if s := rec.last(); !s.Time.Equal(ahead) {
			t.Errorf("4 min ahead: time %v, want the payload's %v", s.Time, ahead)
		}
		if n := testutil.ToFloat64(m.future.WithLabelValues("P-1")); n != 1 {
			t.Errorf("future times counted %v after one within the skew, want still 1", n)
		}
	})
}

// TestPointTopicsStaleness: a device with a topic per point is online while any topic talks;
// a point whose own topic stays silent for the stale time reads bad, the others good.
func TestPointTopicsStaleness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		prof, err := devices.ParseProfile("test", []byte("name: p\npoints:\n  - {name: relay, topic: POWER, type: bool}\n  - {name: temp, topic: temp, type: float64}\n"))
		if err != nil {
			t.Fatal(err)
		}
		dev := &devices.Device{ID: "P-1", Profile: prof, Interval: time.Second, MQTT: &devices.MQTTTransport{Topic: "stat/p1"}}
		fb, rec := &fakeBroker{}, &recorder{}
		l, err := New([]*devices.Device{dev}, fb, rec.handle, Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go l.Run(ctx)
		synctest.Wait()
		fb.mu.Lock()
		_, base := fb.subs["stat/p1"]
		fb.mu.Unlock()
		if base {
			t.Error("subscribed the device's own topic, which no point reads")
		}
		fb.publish("stat/p1/temp", "21.5")
		fb.publish("stat/p1/POWER", "ON")
		synctest.Wait()
		// Only POWER talks for the next 4 s: the device stays online, temp goes stale.
		for range 4 {
			time.Sleep(time.Second)
			fb.publish("stat/p1/POWER", "ON")
			synctest.Wait()
			if s := rec.last(); s.Comm != devices.CommOnline {
				t.Fatalf("offline while POWER talks: %v", s.Err)
			}
		}
		s := rec.last()
		if s.Values[0].Quality != devices.QualityGood || s.Values[1].Quality != devices.QualityBad {
			t.Errorf("after 4 s with only POWER: relay %s temp %s; want good, bad (stale)", s.Values[0].Quality, s.Values[1].Quality)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if s := rec.last(); s.Comm != devices.CommOffline {
			t.Errorf("comm %s after every topic was silent for the stale time, want offline", s.Comm)
		}
		fb.publish("stat/p1/temp", "22")
		synctest.Wait()
		s = rec.last()
		if s.Comm != devices.CommOnline || s.Values[0].Quality != devices.QualityBad || s.Values[1].Number != 22 {
			t.Errorf("back online by temp: comm %s relay %s temp %v; want online, relay bad until it talks, temp 22",
				s.Comm, s.Values[0].Quality, s.Values[1])
		}
	})
}
