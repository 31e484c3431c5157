package mqtt

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testutil"
)

// fakeBroker is a Subscriber that delivers what the test publishes.
type fakeBroker struct {
	mu   sync.Mutex
	subs map[string]func(string, []byte)
}

func (f *fakeBroker) Subscribe(topic string, _ byte, handle func(string, []byte)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs == nil {
		f.subs = map[string]func(string, []byte){}
	}
	f.subs[topic] = handle
	return nil
}

func (f *fakeBroker) publish(topic, payload string) {
	f.mu.Lock()
	h := f.subs[topic]
	f.mu.Unlock()
	h(topic, []byte(payload))
}

const testProfile = `name: panel
kind: fire_panel
time_path: ts
points:
  - {name: pressure, path: pressure, type: float64, scale: 0.1, unit: bar}
  - {name: zone_03, path: "data.zones[2].state", type: enum, enum: {0: normal, 1: alarm}}
  - {name: alarm, path: alarm, type: bool}
  - {name: count, path: count, type: uint16}
`

// recorder keeps the snapshots the driver hands over.
type recorder struct {
	testutil.Recorder[*devices.Snapshot]
}

func (r *recorder) handle(s *devices.Snapshot) { r.Add(s) }
func (r *recorder) count() int                 { return r.Len() }
func (r *recorder) last() *devices.Snapshot    { s, _ := r.Last(); return s }

func start(t *testing.T, maxPayload int) (*fakeBroker, *recorder, *Metrics, context.CancelFunc) {
	t.Helper()
	prof, err := devices.ParseProfile("test", []byte(testProfile))
	if err != nil {
		t.Fatal(err)
	}
	dev := &devices.Device{ID: "FP-9", Kind: devices.KindFirePanel, Profile: prof, Interval: time.Second,
		MQTT: &devices.MQTTTransport{Topic: "bridge/FP-9", StatusTopic: "bridge/FP-9/status"}}
	fb, rec, m := &fakeBroker{}, &recorder{}, NewMetrics(nil)
	l, err := New([]*devices.Device{dev}, fb, rec.handle, Options{MaxPayload: maxPayload, Metrics: m, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go l.Run(ctx)
	synctest.Wait()
	return fb, rec, m, cancel
}

func TestPayloads(t *testing.T) {
	big := `{"pressure": 1, "pad": "` + strings.Repeat("x", 10<<20) + `"}`
	tests := []struct {
		name    string
		payload string
		wantErr error
		// quality of pressure, zone_03, alarm, count
		want   [4]devices.Quality
		values [4]float64
		time   time.Time
	}{
		// synctest's clock starts at 2000-01-01T00:00:00Z: payload times are just before it.
		{name: "good", payload: `{"ts": 946684740123, "pressure": 32, "data": {"zones": [{}, {}, {"state": 1}]}, "alarm": true, "count": 7}`,
			values: [4]float64{3.2, 1, 1, 7}, time: time.UnixMilli(946684740123)},
		{name: "enum by label and RFC 3339 time", payload: `{"ts": "1999-12-31T21:00:00Z", "pressure": 0, "data": {"zones": [0, 0, {"state": "alarm"}]}, "alarm": false, "count": 0}`,
			values: [4]float64{0, 1, 0, 0}, time: time.Date(1999, 12, 31, 21, 0, 0, 0, time.UTC)},
		{name: "wrong types are bad points", payload: `{"pressure": "high", "data": {"zones": []}, "alarm": 2, "count": 70000}`,
			want: [4]devices.Quality{devices.QualityBad, devices.QualityBad, devices.QualityBad, devices.QualityBad}},
		{name: "one wrong type spoils only its point", payload: `{"pressure": 5, "data": {"zones": [0, 0, {"state": 0}]}, "alarm": "maybe", "count": 2}`,
			want: [4]devices.Quality{devices.QualityGood, devices.QualityGood, devices.QualityBad, devices.QualityGood}, values: [4]float64{0.5, 0, 0, 2}},
		{name: "malformed JSON", payload: `{"pressure": 3`, wantErr: ErrMalformed,
			want: [4]devices.Quality{devices.QualityBad, devices.QualityBad, devices.QualityBad, devices.QualityBad}},
		{name: "not an object", payload: `[1, 2]`, wantErr: ErrMalformed,
			want: [4]devices.Quality{devices.QualityBad, devices.QualityBad, devices.QualityBad, devices.QualityBad}},
		{name: "10 MB payload", payload: big, wantErr: ErrMalformed,
			want: [4]devices.Quality{devices.QualityBad, devices.QualityBad, devices.QualityBad, devices.QualityBad}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fb, rec, _, cancel := start(t, DefaultMaxPayload)
				defer cancel()
				fb.publish("bridge/FP-9", tt.payload)
				synctest.Wait()
				s := rec.last()
				if s == nil {
					t.Fatal("no snapshot")
				}
				if s.Comm != devices.CommOnline {
					t.Errorf("comm = %s, want online: the device did talk", s.Comm)
				}
				if (tt.wantErr == nil) != (s.Err == nil) || (tt.wantErr != nil && !errors.Is(s.Err, tt.wantErr)) {
					t.Errorf("err = %v, want %v", s.Err, tt.wantErr)
				}
				for i, q := range tt.want {
					if s.Values[i].Quality != q {
						t.Errorf("point %d quality %s, want %s", i, s.Values[i].Quality, q)
					}
					if q == devices.QualityGood && s.Values[i].Number != tt.values[i] {
						t.Errorf("point %d = %v, want %v", i, s.Values[i].Number, tt.values[i])
					}
				}
				if !tt.time.IsZero() && !s.Time.Equal(tt.time) {
					t.Errorf("time %v, want the payload's %v", s.Time, tt.time)
				}
				// The driver keeps going after any payload.
				fb.publish("bridge/FP-9", `{"pressure": 10, "data": {"zones": [0, 0, {"state": 0}]}, "alarm": false, "count": 1}`)
				synctest.Wait()
				if s := rec.last(); s.Err != nil || s.Values[0].Number != 1 {
					t.Errorf("after a bad payload the next good one reads %v, %v", s.Values, s.Err)
				}
			})
		})
	}
}

func TestStaleAndStatusOffline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fb, rec, _, cancel := start(t, 0)
		defer cancel()
		good := `{"pressure": 10, "data": {"zones": [0, 0, {"state": 0}]}, "alarm": false, "count": 1}`
		fb.publish("bridge/FP-9", good)
		synctest.Wait()
		time.Sleep(2900 * time.Millisecond)
		synctest.Wait()
		if s := rec.last(); s.Comm != devices.CommOnline {
			t.Fatalf("offline before 3 intervals of silence: %v", s.Err)
		}
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		s := rec.last()
		if s.Comm != devices.CommOffline || !errors.Is(s.Err, ErrStale) || s.Values[0].Quality != devices.QualityCommFail {
			t.Fatalf("after 3 silent intervals: comm %s err %v quality %s; want offline, comm_fail", s.Comm, s.Err, s.Values[0].Quality)
		}
		n := rec.count()
		time.Sleep(time.Second)
		synctest.Wait()
		if rec.count() != n+1 {
			t.Errorf("offline snapshots not repeated once an interval: %d then %d", n, rec.count())
		}
		fb.publish("bridge/FP-9", good)
		synctest.Wait()
		if s := rec.last(); s.Comm != devices.CommOnline {
			t.Errorf("a payload did not bring the device back online")
		}
		fb.publish("bridge/FP-9/status", "offline")
		synctest.Wait()
		if s := rec.last(); s.Comm != devices.CommOffline || !errors.Is(s.Err, ErrStatusOffline) {
			t.Errorf("status offline: comm %s err %v", s.Comm, s.Err)
		}
	})
}
