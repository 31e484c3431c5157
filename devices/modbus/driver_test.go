package modbus_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	mb "github.com/goburrow/modbus"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/modbus"
	"github.com/facilityd/facilityd/internal/testutil"
	"github.com/facilityd/facilityd/simulators"
)

var quiet = slog.New(slog.DiscardHandler)

// recorder keeps every snapshot the poller hands over, by device.
type recorder struct {
	mu    sync.Mutex
	snaps map[string][]*devices.Snapshot
}

func newRecorder() *recorder { return &recorder{snaps: map[string][]*devices.Snapshot{}} }

func (r *recorder) handle(s *devices.Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snaps[s.Device.ID] = append(r.snaps[s.Device.ID], s)
}

func (r *recorder) all(id string) []*devices.Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*devices.Snapshot(nil), r.snaps[id]...)
}

func (r *recorder) last(id string) *devices.Snapshot {
	all := r.all(id)
	if len(all) == 0 {
		return nil
	}
	return all[len(all)-1]
}

// since counts the snapshots of id taken after t, and how many of them succeeded.
func (r *recorder) since(id string, t time.Time) (polls, ok int) {
	for _, s := range r.all(id) {
		if s.Time.After(t) {
			polls++
			if s.Comm == devices.CommOnline {
				ok++
			}
		}
	}
	return polls, ok
}

type rig struct {
	estate  *simulators.Estate
	rec     *recorder
	devs    map[string]*devices.Device
	metrics *modbus.Metrics
	reg     *prometheus.Registry
}

// startRig serves specs from simulators and polls them with the given interval and timeout.
func startRig(t *testing.T, specs []simulators.DeviceSpec, interval, timeout time.Duration) *rig {
	t.Helper()
	estate, err := simulators.New(specs, simulators.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := estate.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { estate.Close() })
	r := &rig{estate: estate, rec: newRecorder(), devs: map[string]*devices.Device{}, reg: prometheus.NewRegistry()}
	r.metrics = modbus.NewMetrics(r.reg)
	var devs []*devices.Device
	for _, s := range specs {
		p := s.Profile
		if p == nil {
			p, _ = devices.Builtin(string(s.Kind))
		}
		d := &devices.Device{
			ID: s.ID, Kind: p.Kind, Site: "test", Profile: p, Interval: interval, Timeout: timeout, OfflineAfter: 3,
			Modbus: &devices.ModbusTransport{Address: estate.Addr(s.ID), Unit: s.Unit},
		}
		devs = append(devs, d)
		r.devs[d.ID] = d
	}
	poller, err := modbus.New(devs, r.rec.handle, modbus.Options{Logger: quiet, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond, Metrics: r.metrics})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		poller.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return r
}

func (r *rig) value(t *testing.T, s *devices.Snapshot, point string) devices.Value {
	t.Helper()
	_, i, ok := s.Device.Profile.Point(point)
	if !ok {
		t.Fatalf("profile %s has no point %s", s.Device.Profile.Name, point)
	}
	if len(s.Values) <= i {
		t.Fatalf("snapshot of %s has no values (comm %s, err %v)", s.Device.ID, s.Comm, s.Err)
	}
	return s.Values[i]
}

func TestPollsEveryKind(t *testing.T) {
	t.Parallel()
	r := startRig(t, []simulators.DeviceSpec{
		{ID: "P-1", Kind: devices.KindPump, Role: "supply", Unit: 1},
		{ID: "P-2", Kind: devices.KindPump, Role: "drainage", Unit: 1},
		{ID: "L-1", Kind: devices.KindElevator, Unit: 1},
		{ID: "FP-1", Kind: devices.KindFirePanel, Unit: 1},
		{ID: "LP-1", Kind: devices.KindLighting, Unit: 1},
	}, 100*time.Millisecond, 80*time.Millisecond)

	for id := range r.devs {
		testutil.WaitFor(t, "device "+id+" polled successfully", 10*time.Second, func() bool {
			s := r.rec.last(id)
			return s != nil && s.Comm == devices.CommOnline
		})
	}
	// Points that do not move by themselves must read exactly what the simulator holds.
	stable := map[string][]string{
		"P-1":  {"role", "vfd_fault_code", "pit_level"},
		"P-2":  {"role"},
		"L-1":  {"in_service", "fault_code"},
		"FP-1": {"model", "zone_01", "zone_16", "general_alarm", "ac_loss"},
		"LP-1": {"on_time", "off_time", "circuit_01_command", "circuit_24_lamp_fail"},
	}
	for id, points := range stable {
		s := r.rec.last(id)
		if s.Err != nil {
			t.Errorf("%s: poll error %v", id, s.Err)
		}
		for _, p := range points {
			got := r.value(t, s, p)
			want, ok := r.estate.Value(id, p)
			if !ok {
				t.Fatalf("simulator %s has no value %s", id, p)
			}
			if got.Quality != devices.QualityGood || got.Number != want.Number || got.Text != want.Text {
				t.Errorf("%s.%s polled %+v, simulator holds %+v", id, p, got, want)
			}
		}
	}
	if role := r.value(t, r.rec.last("P-2"), "role"); role.Number != 1 {
		t.Errorf("drainage pump P-2 reads role %v, want 1 (drainage)", role.Number)
	}
	if model := r.value(t, r.rec.last("FP-1"), "model"); model.Text != "FP-16 SIM" {
		t.Errorf("fire panel model reads %q", model.Text)
	}

	// A fault injected at the simulator shows in the next polls.
	if err := r.estate.Inject("FP-1", "zone_alarm", map[string]string{"zone": "3"}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "zone 3 in alarm at the poller", 5*time.Second, func() bool {
		s := r.rec.last("FP-1")
		return r.value(t, s, "zone_03").Number == 1 && r.value(t, s, "general_alarm").Number == 1
	})
	if z := r.value(t, r.rec.last("FP-1"), "zone_04"); z.Number != 0 {
		t.Errorf("zone 4 reads %v while only zone 3 is in alarm", z.Number)
	}
}

func TestSlowUnitDoesNotStarveNeighbours(t *testing.T) {
	t.Parallel()
	const interval, timeout = 200 * time.Millisecond, 100 * time.Millisecond
	r := startRig(t, []simulators.DeviceSpec{
		{ID: "A", Kind: devices.KindPump, Address: "127.0.0.1:0", Unit: 1},
		{ID: "SLOW", Kind: devices.KindPump, Address: "127.0.0.1:0", Unit: 2},
		{ID: "C", Kind: devices.KindPump, Address: "127.0.0.1:0", Unit: 3},
	}, interval, timeout)
	if r.devs["A"].Modbus.Address != r.devs["SLOW"].Modbus.Address {
		t.Fatal("the three units should share one endpoint")
	}
	testutil.WaitFor(t, "all three online", 10*time.Second, func() bool {
		for _, id := range []string{"A", "SLOW", "C"} {
			if s := r.rec.last(id); s == nil || s.Comm != devices.CommOnline {
				return false
			}
		}
		return true
	})
	if err := r.estate.Inject("SLOW", "slow", map[string]string{"delay": "300ms"}); err != nil {
		t.Fatal(err)
	}
	from := time.Now()
	const window = 3 * time.Second
	time.Sleep(window)
	want := int(window / interval)
	for _, id := range []string{"A", "C"} {
		polls, ok := r.rec.since(id, from)
		// One slot of slack at each end of the window; a starved neighbour would lose far more.
		if ok < want-2 {
			t.Errorf("neighbour %s: %d good polls of %d in %v beside a slow unit, want at least %d", id, ok, polls, window, want-2)
		}
	}
	if polls, ok := r.rec.since("SLOW", from); ok != 0 || polls == 0 {
		t.Errorf("slow unit: %d polls, %d good; want polls, all timed out", polls, ok)
	}
	if s := r.rec.last("SLOW"); s.Comm != devices.CommOffline {
		t.Errorf("slow unit comm %s after %d timeouts, want offline", s.Comm, want)
	}
	if missed := counterValue(r.reg, "facilityd_modbus_missed_polls_total", "A"); missed > 1 {
		t.Errorf("neighbour A missed %v poll slots", missed)
	}

	if err := r.estate.Clear("SLOW", "slow", nil); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "slow unit recovers after the fault clears", 5*time.Second, func() bool {
		s := r.rec.last("SLOW")
		return s.Comm == devices.CommOnline && s.Err == nil
	})
}

func TestSilentUnitGoesOffline(t *testing.T) {
	t.Parallel()
	r := startRig(t, []simulators.DeviceSpec{
		{ID: "OK", Kind: devices.KindElevator, Address: "127.0.0.1:0", Unit: 1},
		{ID: "MUTE", Kind: devices.KindElevator, Address: "127.0.0.1:0", Unit: 2},
	}, 150*time.Millisecond, 60*time.Millisecond)
	testutil.WaitFor(t, "both online", 10*time.Second, func() bool {
		a, b := r.rec.last("OK"), r.rec.last("MUTE")
		return a != nil && b != nil && a.Comm == devices.CommOnline && b.Comm == devices.CommOnline
	})
	if err := r.estate.Inject("MUTE", "silent", nil); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "silent unit offline", 10*time.Second, func() bool { return r.rec.last("MUTE").Comm == devices.CommOffline })

	// Offline exactly at the third failed poll in a row, retrying before it.
	snaps := r.rec.all("MUTE")
	firstFail := -1
	for i, s := range snaps {
		if s.Err != nil && firstFail < 0 {
			firstFail = i
		}
	}
	for k, want := range []devices.Comm{devices.CommRetrying, devices.CommRetrying, devices.CommOffline} {
		if got := snaps[firstFail+k].Comm; got != want {
			t.Errorf("failed poll %d: comm %s, want %s", k+1, got, want)
		}
	}
	off := snaps[firstFail+2]
	for i, v := range off.Values {
		if v.Quality != devices.QualityCommFail {
			t.Errorf("offline point %s quality %s, want comm_fail", off.Device.Profile.Points[i].Name, v.Quality)
		}
	}
	var ne interface{ Timeout() bool }
	if !errors.As(off.Err, &ne) || !ne.Timeout() {
		t.Errorf("silent unit's error %v, want a timeout", off.Err)
	}
	if s := r.rec.last("OK"); s.Comm != devices.CommOnline {
		t.Errorf("neighbour of the silent unit: comm %s (%v)", s.Comm, s.Err)
	}
	if err := r.estate.Clear("MUTE", "silent", nil); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "silent unit back online", 5*time.Second, func() bool { return r.rec.last("MUTE").Comm == devices.CommOnline })
}

func TestDroppedConnectionsReconnect(t *testing.T) {
	t.Parallel()
	r := startRig(t, []simulators.DeviceSpec{{ID: "P", Kind: devices.KindPump, Unit: 1}}, 100*time.Millisecond, 80*time.Millisecond)
	testutil.WaitFor(t, "online", 10*time.Second, func() bool { s := r.rec.last("P"); return s != nil && s.Comm == devices.CommOnline })
	connects := func() float64 {
		return counterValue(r.reg, "facilityd_modbus_connects_total", r.devs["P"].Modbus.Address)
	}
	before := connects()
	if err := r.estate.Inject("P", "drop", nil); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "dropped connections seen as failed polls", 5*time.Second, func() bool { return r.rec.last("P").Err != nil })
	if err := r.estate.Clear("P", "drop", nil); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "back online after drops stop", 5*time.Second, func() bool {
		s := r.rec.last("P")
		return s.Comm == devices.CommOnline && s.Err == nil
	})
	if after := connects(); after <= before {
		t.Errorf("connects %v → %v: the driver did not redial", before, after)
	}
}

func TestExceptionMarksPointsBadNotOffline(t *testing.T) {
	t.Parallel()
	r := startRig(t, []simulators.DeviceSpec{{ID: "P", Kind: devices.KindPump, Unit: 1}}, 100*time.Millisecond, 80*time.Millisecond)
	testutil.WaitFor(t, "online", 10*time.Second, func() bool { s := r.rec.last("P"); return s != nil && s.Comm == devices.CommOnline })
	if err := r.estate.Inject("P", "exception", map[string]string{"code": "2"}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "exception seen", 5*time.Second, func() bool { return r.rec.last("P").Err != nil })
	// Several polls later the device still answers: it stays online, its points are bad.
	time.Sleep(500 * time.Millisecond)
	s := r.rec.last("P")
	var exc *mb.ModbusError
	if !errors.As(s.Err, &exc) || exc.ExceptionCode != 2 {
		t.Fatalf("error %v, want Modbus exception 2", s.Err)
	}
	if s.Comm != devices.CommOnline {
		t.Errorf("a device answering with exceptions is %s, want online", s.Comm)
	}
	if v := r.value(t, s, "pressure"); v.Quality != devices.QualityBad {
		t.Errorf("pressure quality %s, want bad", v.Quality)
	}
}

func TestUnreachableEndpointBacksOff(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	reg := prometheus.NewRegistry()
	p, _ := devices.Builtin("pump")
	// A port nobody listens on: every dial is refused.
	dev := &devices.Device{ID: "GONE", Kind: devices.KindPump, Profile: p, Interval: 20 * time.Millisecond, Timeout: 10 * time.Millisecond,
		OfflineAfter: 2, Modbus: &devices.ModbusTransport{Address: "127.0.0.1:1", Unit: 1}}
	poller, err := modbus.New([]*devices.Device{dev}, rec.handle, modbus.Options{Logger: quiet, BackoffMin: 200 * time.Millisecond, BackoffMax: time.Second, Metrics: modbus.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	poller.Run(ctx)
	polls := len(rec.all("GONE"))
	dials := counterValue(reg, "facilityd_modbus_dial_errors_total", "127.0.0.1:1")
	if polls < 20 {
		t.Errorf("%d polls in 1s at 20ms; polls must go on (and fail) while the endpoint is away", polls)
	}
	// Waits of 100-200, 200-400, 400-800 ms: at most 4 dials in a second, not one a poll.
	if dials < 2 || dials > 5 {
		t.Errorf("%v dials in 1s, want exponential backoff (2 to 5)", dials)
	}
	if last := rec.last("GONE"); last.Comm != devices.CommOffline || !errors.Is(last.Err, modbus.ErrReconnecting) && last.Err == nil {
		t.Errorf("last poll: comm %s err %v", last.Comm, last.Err)
	}
}

// counterValue reads one labelled series of a counter in reg (0 when absent).
func counterValue(reg *prometheus.Registry, name, label string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
