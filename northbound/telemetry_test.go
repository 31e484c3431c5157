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
	for range 5 {
		tel.Enqueue(&devices.Snapshot{Device: dev, Comm: devices.CommOnline})
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
