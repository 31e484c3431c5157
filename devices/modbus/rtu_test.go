package modbus_test

import (
	"context"
	"github.com/facilityd/facilityd/internal/testenv"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/modbus"
	"github.com/facilityd/facilityd/internal/testutil"
	"github.com/facilityd/facilityd/simulators"
)

// rtuRig is a serial line (or a serial server's TCP port) with simulators on one end and a
// poller on the other.
type rtuRig struct {
	estate *simulators.Estate
	rec    *recorder
	poller *modbus.Poller
	devs   map[string]*devices.Device
}

func pollLine(t *testing.T, estate *simulators.Estate, transports map[string]*devices.ModbusTransport) *rtuRig {
	t.Helper()
	r := &rtuRig{estate: estate, rec: newRecorder(), devs: map[string]*devices.Device{}}
	var devs []*devices.Device
	for id, m := range transports {
		kind := "pump"
		if strings.HasPrefix(id, "LP") {
			kind = "lighting"
		}
		p, _ := devices.Builtin(kind)
		d := &devices.Device{ID: id, Kind: p.Kind, Site: "test", Profile: p, Interval: 300 * time.Millisecond,
			Timeout: 250 * time.Millisecond, OfflineAfter: 2, Modbus: m}
		devs = append(devs, d)
		r.devs[id] = d
	}
	var err error
	r.poller, err = modbus.New(devs, r.rec.handle, modbus.Options{Logger: quiet, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.poller.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return r
}

func rtuEstate(t *testing.T) *simulators.Estate {
	t.Helper()
	estate, err := simulators.New([]simulators.DeviceSpec{
		{ID: "P-1", Kind: devices.KindPump, Unit: 1},
		{ID: "LP-1", Kind: devices.KindLighting, Unit: 2},
	}, simulators.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { estate.Close() })
	return estate
}

// online waits until id's latest poll succeeded after since.
func (r *rtuRig) online(t *testing.T, id string, since time.Time) *devices.Snapshot {
	t.Helper()
	var s *devices.Snapshot
	testutil.WaitFor(t, id+" polled online", 10*time.Second, func() bool {
		s = r.rec.last(id)
		return s != nil && s.Time.After(since) && s.Comm == devices.CommOnline && s.Err == nil
	})
	return s
}

// TestSerialLine: two units and one that never answers on one RTU line through a socat
// pseudo-terminal pair: the two are read with the simulator's values, the silent one goes
// offline without holding them back, a corrupt CRC is a failed poll of that unit only, and a
// write is read back.
func TestSerialLine(t *testing.T) {
	t.Parallel()
	a, b := testenv.SerialPair(t)
	estate := rtuEstate(t)
	port, err := modbus.OpenSerial(devices.SerialLine{Device: b, Baud: 19200, DataBits: 8, Parity: "E", StopBits: 1})
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	served := make(chan error, 1)
	go func() { served <- estate.ServeRTU(port, closed, "P-1", "LP-1") }()
	t.Cleanup(func() {
		close(closed)
		<-served
		port.Close()
	})
	line := &devices.SerialLine{Device: a, Baud: 19200, DataBits: 8, Parity: "E", StopBits: 1}
	r := pollLine(t, estate, map[string]*devices.ModbusTransport{
		"P-1":  {Serial: line, Unit: 1},
		"LP-1": {Serial: line, Unit: 2},
		"P-9":  {Serial: line, Unit: 9}, // nobody answers unit 9
	})
	start := time.Now()
	checkLine(t, r, start)
	testutil.WaitFor(t, "P-9 offline", 10*time.Second, func() bool {
		s := r.rec.last("P-9")
		return s != nil && s.Comm == devices.CommOffline
	})
	// Its neighbours kept being read while it timed out.
	since := time.Now()
	r.online(t, "P-1", since)
	r.online(t, "LP-1", since)

	// A corrupt CRC: LP-1's replies fail, P-1's do not.
	if err := estate.Inject("LP-1", "malformed", nil); err != nil {
		t.Fatal(err)
	}
	marked := time.Now()
	testutil.WaitFor(t, "a failed poll of LP-1 for its CRC", 10*time.Second, func() bool {
		s := r.rec.last("LP-1")
		return s != nil && s.Time.After(marked) && s.Err != nil && strings.Contains(s.Err.Error(), "crc")
	})
	r.online(t, "P-1", marked)
	if err := estate.Clear("LP-1", "malformed", nil); err != nil {
		t.Fatal(err)
	}
	r.online(t, "LP-1", time.Now())
	checkWrite(t, r)
}

// TestRTUOverTCP: a serial server that passes RTU frames over TCP (modbus: {address,
// framing: rtu}).
func TestRTUOverTCP(t *testing.T) {
	t.Parallel()
	estate := rtuEstate(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				estate.ServeRTU(c, closed, "P-1", "LP-1")
			}()
		}
	}()
	t.Cleanup(func() {
		close(closed)
		ln.Close()
	})
	addr := ln.Addr().String()
	r := pollLine(t, estate, map[string]*devices.ModbusTransport{
		"P-1":  {Address: addr, Framing: devices.FramingRTU, Unit: 1},
		"LP-1": {Address: addr, Framing: devices.FramingRTU, Unit: 2},
	})
	checkLine(t, r, time.Now())
	checkWrite(t, r)
}

// checkLine waits for both units online and compares values with the simulators'.
func checkLine(t *testing.T, r *rtuRig, since time.Time) {
	t.Helper()
	p := r.online(t, "P-1", since)
	if v := pointOf(t, p, "role"); v.Number != 0 {
		t.Errorf("P-1 role = %v, want 0 (supply)", v.Number)
	}
	if v := pointOf(t, p, "running"); v.Number != 1 {
		t.Errorf("P-1 running = %v, want 1: a supply pump runs", v.Number)
	}
	lp := r.online(t, "LP-1", since)
	want, _ := r.estate.Value("LP-1", "on_time")
	if v := pointOf(t, lp, "on_time"); v.Number != want.Number {
		t.Errorf("LP-1 on_time = %v, want the simulator's %v", v.Number, want.Number)
	}
}

// checkWrite switches LP-1's circuit 3 and sets its off time, each read back.
func checkWrite(t *testing.T, r *rtuRig) {
	t.Helper()
	pt, _, _ := r.devs["LP-1"].Profile.Point("circuit_03_command")
	cur, _ := r.estate.Value("LP-1", "circuit_03_command")
	want := devices.Value{Number: 1 - cur.Number}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res := r.poller.Write(ctx, "LP-1", pt, want)
	if res.Err != nil {
		t.Fatalf("write circuit_03_command: %v", res.Err)
	}
	if v := pointOf(t, res.ReadBack, "circuit_03_command"); v.Number != want.Number {
		t.Errorf("read back %v, want %v", v.Number, want.Number)
	}
	if v, _ := r.estate.Value("LP-1", "circuit_03_command"); v.Number != want.Number {
		t.Errorf("the simulator holds %v, want %v", v.Number, want.Number)
	}
	off, _, _ := r.devs["LP-1"].Profile.Point("off_time")
	if res := r.poller.Write(ctx, "LP-1", off, devices.Value{Number: 400}); res.Err != nil || pointOf(t, res.ReadBack, "off_time").Number != 400 {
		t.Errorf("write off_time 400: %v", res.Err)
	}
}

func pointOf(t *testing.T, s *devices.Snapshot, point string) devices.Value {
	t.Helper()
	_, i, ok := s.Device.Profile.Point(point)
	if !ok || i >= len(s.Values) {
		t.Fatalf("snapshot of %s has no %s (comm %s, err %v)", s.Device.ID, point, s.Comm, s.Err)
	}
	return s.Values[i]
}
