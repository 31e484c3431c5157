package commands

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// fakeSink is a sink that fails its first failures calls, then records each record it handles.
type fakeSink struct {
	name     string
	mu       sync.Mutex
	failures int
	calls    int
	handled  []int64
	seen     chan Record
}

func newFakeSink(name string, failures int) *fakeSink {
	return &fakeSink{name: name, failures: failures, seen: make(chan Record, 16)}
}

func (f *fakeSink) sink() Sink {
	return Sink{Name: f.name, Handle: func(_ context.Context, r Record) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls++
		if f.failures > 0 {
			f.failures--
			return errors.New("influx: 503 service unavailable")
		}
		f.handled = append(f.handled, r.ID)
		f.seen <- r
		return nil
	}}
}

func (f *fakeSink) ids() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.handled)
}

// confirmingWriter is a device that takes every write and reads it back at once.
var confirmingWriter = WriterFunc(func(_ context.Context, dev *devices.Device, pt *devices.Point, v devices.Value) (*devices.Snapshot, error) {
	_, idx, _ := dev.Profile.Point(pt.Name)
	snap := &devices.Snapshot{Device: dev, Time: time.Now(), Comm: devices.CommOnline, Values: make([]devices.Value, len(dev.Profile.Points))}
	snap.Values[idx] = devices.Value{Number: v.Number, Quality: devices.QualityGood}
	return snap, nil
})

func lightingService(t *testing.T, store *Store, sinks ...Sink) *Service {
	t.Helper()
	prof, ok := devices.Builtin("lighting")
	if !ok {
		t.Fatal("no built-in lighting profile")
	}
	dev := &devices.Device{ID: "LP-1", Kind: devices.KindLighting, Site: "s", Profile: prof}
	svc, err := New(Config{Latest: devices.NewLatest([]*devices.Device{dev}), Writer: confirmingWriter, Store: store, Timeout: time.Minute, Sinks: sinks})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func openStore(t *testing.T, path string) *Store {
	t.Helper()
	store, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func noBackoff(int) time.Duration { return 0 }

func switchOn(t *testing.T, svc *Service, point string) Record {
	t.Helper()
	rec, err := svc.Write(context.Background(), Request{Device: "LP-1", Point: point, Value: json.RawMessage("true"), By: "eng-zhang", Reason: "dark path"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Result != ResultConfirmed {
		t.Fatalf("write %s: %s (%s), want confirmed", point, rec.Result, rec.Error)
	}
	return rec
}

// TestWriteRecordSurvivesCrashBeforeSinks: a write is completed in the journal and the process
// dies before any sink has run; at the next start each sink is handed the record once, a sink
// that fails first included, and the start after that hands it to none again.
func TestWriteRecordSurvivesCrashBeforeSinks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		failures int // of the influx sink before it takes the record
	}{
		{"sinks healthy", 0},
		{"influx fails then succeeds", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "commands.db")
			store := openStore(t, path)
			svc := lightingService(t, store, newFakeSink("event-stream", 0).sink(), newFakeSink("influx-command", 0).sink())
			rec := switchOn(t, svc, "circuit_03_command")
			store.Close() // the process dies before svc.Run has handed the record to any sink

			for start := 1; start <= 2; start++ {
				store = openStore(t, path)
				events, influx := newFakeSink("event-stream", 0), newFakeSink("influx-command", tc.failures)
				d, err := NewDelivery(DeliveryConfig{Store: store, Sinks: []Sink{events.sink(), influx.sink()}, Backoff: noBackoff})
				if err != nil {
					t.Fatal(err)
				}
				if err := d.CatchUp(context.Background()); err != nil {
					t.Fatal(err)
				}
				store.Close()
				want := []int64{rec.ID}
				if start == 2 {
					want = nil
				}
				for _, s := range []*fakeSink{events, influx} {
					if got := s.ids(); !slices.Equal(got, want) {
						t.Errorf("start %d: sink %s handled records %v, want %v", start, s.name, got, want)
					}
				}
				if start == 1 && influx.calls != tc.failures+1 {
					t.Errorf("influx sink called %d times, want %d (failures retried until taken)", influx.calls, tc.failures+1)
				}
			}
		})
	}
}

// TestDeliveryCarriesTheRecord: a running delivery hands a write to the sinks as the journal
// has it (result, read-back, who and why), in the order the writes completed, not begun.
func TestDeliveryCarriesTheRecord(t *testing.T) {
	t.Parallel()
	store := openStore(t, filepath.Join(t.TempDir(), "commands.db"))
	defer store.Close()
	influx := newFakeSink("influx-command", 0)
	d, err := NewDelivery(DeliveryConfig{Store: store, Sinks: []Sink{influx.sink()}, Backoff: noBackoff})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- d.Run(ctx) }()

	// Two writes under way at once: the one begun first finishes last.
	first := Record{Time: time.Unix(100, 0), Device: "LP-1", Kind: "lighting", Point: "circuit_01_command", New: true, By: "eng-wu", Reason: "night round"}
	second := first
	second.Point = "circuit_02_command"
	for _, r := range []*Record{&first, &second} {
		if err := store.begin(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []*Record{&second, &first} {
		r.Result, r.ReadBack, r.Done = ResultConfirmed, true, time.Unix(101, 0)
		if err := store.finish(r); err != nil {
			t.Fatal(err)
		}
	}
	got := []Record{<-influx.seen, <-influx.seen}
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run: %v", err)
	}
	if got[0].ID != second.ID || got[1].ID != first.ID {
		t.Errorf("delivered ids %d, %d, want %d then %d (order of completion)", got[0].ID, got[1].ID, second.ID, first.ID)
	}
	r := got[1]
	if r.Result != ResultConfirmed || r.ReadBack != true || r.By != "eng-wu" || r.Reason != "night round" || !r.Time.Equal(first.Time) {
		t.Errorf("delivered %+v, want the journalled record %+v", r, first)
	}
}

// TestNewSinkStartsAtHead: a sink added to a journal that already holds writes starts with the
// next write, not with the year of history behind it.
func TestNewSinkStartsAtHead(t *testing.T) {
	t.Parallel()
	store := openStore(t, filepath.Join(t.TempDir(), "commands.db"))
	defer store.Close()
	svc := lightingService(t, store)
	switchOn(t, svc, "circuit_01_command")
	late := newFakeSink("influx-command", 0)
	d, err := NewDelivery(DeliveryConfig{Store: store, Sinks: []Sink{late.sink()}})
	if err != nil {
		t.Fatal(err)
	}
	next := switchOn(t, svc, "circuit_02_command")
	if err := d.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := late.ids(); !slices.Equal(got, []int64{next.ID}) {
		t.Errorf("new sink handled %v, want only the write after it was added (%d)", got, next.ID)
	}
}

// TestNewDeliveryRefusesBadSinks: two sinks on one cursor, or one without a name, would lose
// or repeat records; the daemon's wiring error says which.
func TestNewDeliveryRefusesBadSinks(t *testing.T) {
	t.Parallel()
	store := openStore(t, filepath.Join(t.TempDir(), "commands.db"))
	defer store.Close()
	ok := newFakeSink("influx-command", 0).sink()
	cases := []struct {
		name  string
		sinks []Sink
	}{
		{"no name", []Sink{{Handle: ok.Handle}}},
		{"no handle", []Sink{{Name: "x"}}},
		{"one cursor for two", []Sink{ok, ok}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewDelivery(DeliveryConfig{Store: store, Sinks: tc.sinks}); !errors.Is(err, ErrSink) {
				t.Errorf("NewDelivery: %v, want ErrSink", err)
			}
		})
	}
}
