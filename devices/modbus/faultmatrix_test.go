package modbus_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	mb "github.com/goburrow/modbus"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testutil"
	"github.com/facilityd/facilityd/simulators"
)

// TestFaultMatrix injects each protocol fault into unit B of a gateway shared with healthy
// units A and C (and a device D on an endpoint of its own), and checks that B fails as it
// should, that the healthy devices miss no poll (their good polls and
// facilityd_modbus_missed_polls_total), and that everything recovers once the fault clears.
//
// Not parallel: its polls are timed against real sockets, and it runs alone before the
// package's parallel tests so that neither starves the other's CPU.
func TestFaultMatrix(t *testing.T) {
	const interval, timeout = 200 * time.Millisecond, 100 * time.Millisecond
	const window = 2 * time.Second
	tests := []struct {
		name   string
		fault  string
		params map[string]string
		// healthy are the devices that must not miss a poll while the fault is on.
		healthy []string
		// check, if set, looks at B's last snapshot under the fault.
		check func(t *testing.T, s *devices.Snapshot)
	}{
		{name: "timeout", fault: "slow", params: map[string]string{"delay": "400ms"}, healthy: []string{"A", "C", "D"},
			check: wantTimeout},
		{name: "late reply just past the timeout", fault: "slow", params: map[string]string{"delay": "130ms"}, healthy: []string{"A", "C", "D"},
			check: wantTimeout},
		{name: "connection reset", fault: "drop", healthy: []string{"A", "C", "D"},
			check: func(t *testing.T, s *devices.Snapshot) {
				if s.Err == nil {
					t.Error("B polled fine on a connection reset at each of its requests")
				}
			}},
		{name: "exception code 4", fault: "exception", params: map[string]string{"code": "4"}, healthy: []string{"A", "C", "D"},
			check: func(t *testing.T, s *devices.Snapshot) {
				var exc *mb.ModbusError
				if !errors.As(s.Err, &exc) || exc.ExceptionCode != 4 || s.Comm != devices.CommOnline {
					t.Errorf("B: %v, comm %s; want exception 4 and online", s.Err, s.Comm)
				}
			}},
		{name: "gateway target failed (0x0B)", fault: "exception", params: map[string]string{"code": "11"}, healthy: []string{"A", "C", "D"},
			check: func(t *testing.T, s *devices.Snapshot) {
				if s.Comm != devices.CommOffline {
					t.Errorf("B comm %s behind a gateway that cannot reach it, want offline", s.Comm)
				}
			}},
		{name: "dead unit behind a shared gateway", fault: "silent", healthy: []string{"A", "C", "D"}, check: wantTimeout},
		{name: "half-open connection", fault: "half_open", healthy: []string{"D"}, check: wantTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startRig(t, []simulators.DeviceSpec{
				{ID: "A", Kind: devices.KindPump, Address: "127.0.0.1:0", Unit: 1},
				{ID: "B", Kind: devices.KindPump, Address: "127.0.0.1:0", Unit: 2},
				{ID: "C", Kind: devices.KindPump, Address: "127.0.0.1:0", Unit: 3},
				{ID: "D", Kind: devices.KindPump, Unit: 1},
			}, interval, timeout)
			all := []string{"A", "B", "C", "D"}
			testutil.WaitFor(t, "every device online", 10*time.Second, func() bool {
				for _, id := range all {
					if s := r.rec.last(id); s == nil || s.Comm != devices.CommOnline || s.Err != nil {
						return false
					}
				}
				return true
			})
			missedBefore := map[string]float64{}
			for _, id := range tt.healthy {
				missedBefore[id] = counterValue(r.reg, "facilityd_modbus_missed_polls_total", id)
			}
			if err := r.estate.Inject("B", tt.fault, tt.params); err != nil {
				t.Fatal(err)
			}
			from := time.Now()
			time.Sleep(window)
			want := int(window / interval)
			for _, id := range tt.healthy {
				polls, ok := r.rec.since(id, from)
				if ok < want-2 {
					t.Errorf("healthy %s: %d good polls of %d in %v, want at least %d", id, ok, polls, window, want-2)
				}
				if m := counterValue(r.reg, "facilityd_modbus_missed_polls_total", id) - missedBefore[id]; m > 1 {
					t.Errorf("healthy %s missed %v poll slots", id, m)
				}
				for _, s := range r.rec.all(id) {
					if s.Time.After(from) && s.Err != nil {
						t.Errorf("healthy %s: poll failed with %v", id, s.Err)
						break
					}
				}
			}
			if tt.check != nil {
				tt.check(t, r.rec.last("B"))
			}
			if err := r.estate.Clear("B", tt.fault, nil); err != nil {
				t.Fatal(err)
			}
			cleared := time.Now()
			testutil.WaitFor(t, "every device recovers after the fault clears", 10*time.Second, func() bool {
				for _, id := range all {
					s := r.rec.last(id)
					if !s.Time.After(cleared) || s.Comm != devices.CommOnline || s.Err != nil {
						return false
					}
				}
				return true
			})
		})
	}
}

func wantTimeout(t *testing.T, s *devices.Snapshot) {
	t.Helper()
	var ne interface{ Timeout() bool }
	if !errors.As(s.Err, &ne) || !ne.Timeout() {
		t.Errorf("B's error %v, want a timeout", s.Err)
	}
}

// TestLateReplyRawGoburrowMisreads is why the driver closes the connection on every error: a
// plain goburrow client whose request timed out reads that request's late reply as the answer
// to its next one, and stays one reply behind for good; the driver, on the same fault, reads
// the right values at the next poll.
func TestLateReplyRawGoburrowMisreads(t *testing.T) {
	t.Parallel()
	r := startRig(t, []simulators.DeviceSpec{{ID: "P", Kind: devices.KindPump, Unit: 1}}, 200*time.Millisecond, 100*time.Millisecond)
	testutil.WaitFor(t, "online", 10*time.Second, func() bool { s := r.rec.last("P"); return s != nil && s.Comm == devices.CommOnline })

	h := mb.NewTCPClientHandler(r.devs["P"].Modbus.Address)
	h.SlaveId = 1
	h.Timeout = 100 * time.Millisecond
	h.IdleTimeout = time.Hour
	if err := h.Connect(); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	raw := mb.NewClient(h)
	if _, err := raw.ReadDiscreteInputs(0, 6); err != nil {
		t.Fatalf("raw client before the fault: %v", err)
	}
	if err := r.estate.Inject("P", "slow", map[string]string{"delay": "150ms"}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ReadDiscreteInputs(0, 6); err == nil {
		t.Fatal("raw client: a 150 ms reply within a 100 ms timeout")
	}
	time.Sleep(300 * time.Millisecond) // the late reply arrives and waits in the socket
	if err := r.estate.Clear("P", "slow", nil); err != nil {
		t.Fatal(err)
	}
	clearedAt := time.Now()
	// The device answers promptly now, yet the raw client reads the previous reply each time.
	for i := range 3 {
		_, err := raw.ReadDiscreteInputs(0, 6)
		if err == nil || !strings.Contains(err.Error(), "transaction id") {
			t.Fatalf("raw client request %d after the fault: %v; want the stale reply of the request before (transaction id mismatch)", i+1, err)
		}
	}
	// Our driver, polling the same unit through the same fault, is back at its next poll.
	testutil.WaitFor(t, "the driver reads good values after the fault", 2*time.Second, func() bool {
		s := r.rec.last("P")
		return s.Time.After(clearedAt) && s.Err == nil && s.Comm == devices.CommOnline
	})
	for _, s := range r.rec.all("P") {
		if s.Err != nil && strings.Contains(s.Err.Error(), "transaction id") {
			t.Errorf("the driver read a stale reply: %v", s.Err)
		}
	}
}
