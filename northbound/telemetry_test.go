package northbound

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/facilityd/facilityd/devices"
)

type fakePublisher struct {
	mu   sync.Mutex
	msgs map[string][]byte
	n    int
}

func (f *fakePublisher) Publish(_ context.Context, topic string, qos byte, retained bool, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.msgs == nil {
		f.msgs = map[string][]byte{}
	}
	f.msgs[topic] = payload
	f.n++
	return nil
}

func TestTelemetryPayloads(t *testing.T) {
	t.Parallel()
	prof, err := devices.ParseProfile("t", []byte(`name: p
kind: pump
points:
  - {name: pressure, path: p, type: float64, unit: bar}
  - {name: running, path: r, type: bool}
  - {name: state, path: s, type: enum, enum: {0: stopped, 2: running}}
  - {name: model, path: m, type: string}
`))
	if err != nil {
		t.Fatal(err)
	}
	dev := &devices.Device{ID: "P-1", Kind: devices.KindPump, Site: "estate", Building: "B1", Zone: "north", Profile: prof}
	at := time.Date(2026, 11, 26, 21, 0, 0, 123e6, time.UTC)
	tests := []struct {
		name string
		snap *devices.Snapshot
		want string
	}{
		{name: "online with a bad point",
			snap: &devices.Snapshot{Device: dev, Time: at, Comm: devices.CommOnline, Values: []devices.Value{
				{Number: 3.25}, {Number: 1}, {Number: 2}, {Quality: devices.QualityBad}}},
			want: `{"device":"P-1","kind":"pump","building":"B1","zone":"north","time":"2026-11-26T21:00:00.123Z","comm":"online",` +
				`"values":{"pressure":3.25,"running":true,"state":2},"labels":{"state":"running"},"bad":{"model":"bad"}}`},
		{name: "offline",
			snap: &devices.Snapshot{Device: dev, Time: at, Comm: devices.CommOffline, Err: errors.New("device P-1: no message"), Values: []devices.Value{
				{Quality: devices.QualityCommFail}, {Quality: devices.QualityCommFail}, {Quality: devices.QualityCommFail}, {Quality: devices.QualityCommFail}}},
			want: `{"device":"P-1","kind":"pump","building":"B1","zone":"north","time":"2026-11-26T21:00:00.123Z","comm":"offline","values":{},` +
				`"bad":{"model":"comm_fail","pressure":"comm_fail","running":"comm_fail","state":"comm_fail"},"error":"device P-1: no message"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(NewPayload(tt.snap))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("payload\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestTelemetryNeverBlocks: a full queue drops and counts; Close drains what is queued to the
// device's topic.
func TestTelemetryNeverBlocks(t *testing.T) {
	t.Parallel()
	prof, _ := devices.Builtin("lighting_mqtt")
	dev := &devices.Device{ID: "LC-1", Kind: devices.KindLighting, Site: "estate", Profile: prof}
	fp := &fakePublisher{}
	tel := NewTelemetry(fp, TelemetryOptions{QueueSize: 2})
	for i := range 5 {
		// Each a change: online, offline, online...
		tel.Enqueue(&devices.Snapshot{Device: dev, Comm: []devices.Comm{devices.CommOnline, devices.CommOffline}[i%2]})
	}
	if d := testutil.ToFloat64(tel.m.dropped); d != 3 {
		t.Errorf("dropped counter %v, want 3", d)
	}
	tel.Close()
	if err := tel.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fp.n != 2 || fp.msgs["facility/estate/telemetry/LC-1"] == nil {
		t.Errorf("published %d messages (%v), want the 2 that fit the queue on facility/estate/telemetry/LC-1", fp.n, fp.msgs)
	}
}

// TestAppendPayloadMatchesNewPayload: the hand-written encoder says what NewPayload says.
func TestAppendPayloadMatchesNewPayload(t *testing.T) {
	t.Parallel()
	pump, _ := devices.Builtin("pump")
	fp, _ := devices.Builtin("fire_panel")
	at := time.Date(2026, 11, 26, 21, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
	mk := func(p *devices.Profile, f func(i int, pt *devices.Point) devices.Value) []devices.Value {
		vs := make([]devices.Value, len(p.Points))
		for i := range p.Points {
			vs[i] = f(i, &p.Points[i])
		}
		return vs
	}
	cases := []struct {
		name string
		snap *devices.Snapshot
	}{
		{"pump, every type", &devices.Snapshot{Device: &devices.Device{ID: "P-1", Kind: devices.KindPump, Building: "B1", Zone: "north \"a\"", Profile: pump},
			Time: at, Comm: devices.CommOnline, Values: mk(pump, func(i int, pt *devices.Point) devices.Value { return devices.Value{Number: float64(i) * 1.25} })}},
		{"fire panel with a string and bad points", &devices.Snapshot{Device: &devices.Device{ID: "FP-1", Kind: devices.KindFirePanel, Profile: fp},
			Time: at, Comm: devices.CommOnline, Err: errors.New("read input 0-18: exception \"2\"\n"),
			Values: mk(fp, func(i int, pt *devices.Point) devices.Value {
				switch {
				case pt.Type == devices.TypeString:
					return devices.Value{Text: "FP-16 \x01 \xff ünï"}
				case i%3 == 0:
					return devices.Value{Quality: devices.QualityBad}
				}
				return devices.Value{Number: 1}
			})}},
		{"offline", &devices.Snapshot{Device: &devices.Device{ID: "P-2", Kind: devices.KindPump, Profile: pump}, Time: at, Comm: devices.CommOffline,
			Err: errors.New("i/o timeout"), Values: mk(pump, func(int, *devices.Point) devices.Value { return devices.Value{Quality: devices.QualityCommFail} })}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want, err := json.Marshal(NewPayload(tc.snap))
			if err != nil {
				t.Fatal(err)
			}
			got := AppendPayload(nil, tc.snap)
			var a, b any
			if err := json.Unmarshal(got, &a); err != nil {
				t.Fatalf("AppendPayload is not JSON: %v\n%s", err, got)
			}
			json.Unmarshal(want, &b)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("AppendPayload\n%s\nNewPayload\n%s", got, want)
			}
		})
	}
}

func BenchmarkAppendPayload(b *testing.B) {
	pump, _ := devices.Builtin("pump")
	s := &devices.Snapshot{Device: &devices.Device{ID: "P-1", Kind: devices.KindPump, Building: "B1", Zone: "north", Profile: pump},
		Time: time.Now(), Comm: devices.CommOnline, Values: make([]devices.Value, len(pump.Points))}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPayload(buf[:0], s)
	}
}

// TestTelemetryByException: a device is published at its birth, then only when a point
// changes beyond its deadband, a quality or its comm changes, or max_interval passes;
// Republish sends the latest snapshot whatever changed.
func TestTelemetryByException(t *testing.T) {
	t.Parallel()
	prof, err := devices.ParseProfile("t", []byte(`name: p
kind: pump
points:
  - {name: pressure, path: p, type: float64, unit: bar, deadband: 0.05}
  - {name: flow, path: f, type: float64}
  - {name: running, path: r, type: bool}
  - {name: state, path: s, type: enum, enum: {0: stopped, 2: running}}
`))
	if err != nil {
		t.Fatal(err)
	}
	dev := &devices.Device{ID: "P-1", Kind: devices.KindPump, Site: "estate", Profile: prof}
	t0 := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	snap := func(sec int, pressure, flow, running, state float64) *devices.Snapshot {
		return &devices.Snapshot{Device: dev, Time: t0.Add(time.Duration(sec) * time.Second), Comm: devices.CommOnline,
			Values: []devices.Value{{Number: pressure}, {Number: flow}, {Number: running}, {Number: state}}}
	}
	bad := snap(0, 0, 0, 0, 0)
	bad.Values[1].Quality = devices.QualityBad
	steps := []struct {
		name    string
		snap    *devices.Snapshot
		publish bool
	}{
		{"birth", snap(1, 3.00, 100, 1, 2), true},
		{"nothing changed", snap(2, 3.00, 100, 1, 2), false},
		{"pressure within its own 0.05 bar", snap(3, 3.04, 100, 1, 2), false},
		{"pressure beyond 0.05 bar of the last published 3.00", snap(4, 3.06, 100, 1, 2), true},
		{"flow within the default half percent", snap(5, 3.06, 100.4, 1, 2), false},
		{"flow beyond half a percent", snap(6, 3.06, 101, 1, 2), true},
		{"a boolean changes", snap(7, 3.06, 101, 0, 2), true},
		{"an enum changes", snap(8, 3.06, 101, 0, 0), true},
		{"a quality changes", func() *devices.Snapshot {
			s := snap(9, 3.06, 101, 0, 0)
			s.Values[1].Quality = devices.QualityBad
			return s
		}(), true},
		{"the quality holds", func() *devices.Snapshot {
			s := snap(10, 3.06, 55, 0, 0)
			s.Values[1].Quality = devices.QualityBad
			return s
		}(), false},
		{"back good", snap(11, 3.06, 101, 0, 0), true},
		{"the device goes offline", func() *devices.Snapshot { s := snap(12, 3.06, 101, 0, 0); s.Comm = devices.CommOffline; return s }(), true},
		{"online again", snap(13, 3.06, 101, 0, 0), true},
		{"quiet, within max_interval", snap(72, 3.06, 101, 0, 0), false},
		{"quiet for max_interval: the heartbeat", snap(73, 3.06, 101, 0, 0), true},
	}
	fp := &fakePublisher{}
	tel := NewTelemetry(fp, TelemetryOptions{QueueSize: 100, MaxInterval: time.Minute})
	queued := 0
	for _, st := range steps {
		tel.Enqueue(st.snap)
		n := len(tel.queue)
		if got := n > queued; got != st.publish {
			t.Errorf("%s: published %v, want %v", st.name, got, st.publish)
		}
		queued = n
	}
	if got := testutil.ToFloat64(tel.m.unchanged); got != 5 {
		t.Errorf("unchanged counter %v, want 5", got)
	}
	tel.Republish("")
	if len(tel.queue) != queued+1 {
		t.Errorf("Republish queued %d, want the device's latest snapshot", len(tel.queue)-queued)
	}
	tel.Close()
	tel.Republish("P-1") // after Close: nothing, and no panic
	if err := tel.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fp.n != queued+1 {
		t.Errorf("published %d messages, want %d", fp.n, queued+1)
	}
}
