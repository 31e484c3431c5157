package northbound

import (
	"context"
	"encoding/json"
	"errors"
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
