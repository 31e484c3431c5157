package bacnet_test

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/bacnet"
	"github.com/facilityd/facilityd/simulators"
)

var (
	supplyAI = bacnet.ObjectID{Type: bacnet.ObjectAnalogInput, Instance: 1}
	fanBI    = bacnet.ObjectID{Type: bacnet.ObjectBinaryInput, Instance: 1}
	modeMSV  = bacnet.ObjectID{Type: bacnet.ObjectMultiStateValue, Instance: 1}
)

// startSim serves a simulated device of three objects; noCOV refuses COV for the mode.
func startSim(t *testing.T, instance uint32, noCOV bool) *simulators.BACnetServer {
	t.Helper()
	sim, err := simulators.NewBACnetServer(simulators.BACnetOptions{Instance: instance}, []simulators.BACnetObject{
		{ID: supplyAI, Units: 62, Present: bacnet.Value{Kind: bacnet.KindReal, Real: 16.5}},
		{ID: fanBI, Present: bacnet.Value{Kind: bacnet.KindEnumerated, Uint: 1}},
		{ID: modeMSV, Present: bacnet.Value{Kind: bacnet.KindUnsigned, Uint: 2}, NoCOV: noCOV},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

func profile(t *testing.T, cov string) *devices.Profile {
	t.Helper()
	p, err := devices.ParseProfile("test", []byte(`name: ahu
points:
  - {name: supply_temp, object: "analog-input:1", unit: "°C"`+cov+`}
  - {name: fan_running, object: "binary-input:1"`+cov+`}
  - {name: mode, object: "multi-state-value:1", type: enum, enum: {1: "off", 2: "auto", 3: "manual"}`+cov+`}
`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// snapshots collects what a source hands on, by device.
type snapshots struct {
	mu   sync.Mutex
	byID map[string][]*devices.Snapshot
	seen chan struct{}
}

func newSnapshots() *snapshots {
	return &snapshots{byID: map[string][]*devices.Snapshot{}, seen: make(chan struct{}, 1024)}
}

func (s *snapshots) handle(snap *devices.Snapshot) {
	s.mu.Lock()
	s.byID[snap.Device.ID] = append(s.byID[snap.Device.ID], snap)
	s.mu.Unlock()
	select {
	case s.seen <- struct{}{}:
	default:
	}
}

// wait waits until cond holds of the device's snapshots, failing after 10 s.
func (s *snapshots) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-s.seen:
		case <-deadline:
			t.Fatalf("after 10s: %s", what)
		}
	}
}

func (s *snapshots) of(id string) []*devices.Snapshot {
	return s.byID[id]
}

func run(t *testing.T, src *bacnet.Source) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { src.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestSourceCOVCostsNothing: a device whose points are all kept by COV is read once, and
// then sends nothing while nothing changes, while a polled device beside it is read every
// interval; its changes arrive by notification.
func TestSourceCOVCostsNothing(t *testing.T) {
	covSim, polledSim := startSim(t, 11, false), startSim(t, 12, false)
	frozen := time.Unix(1_800_000_000, 0) // no lifetime runs out, no liveness read falls due
	cov := &devices.Device{ID: "AHU-COV", Profile: profile(t, ""), Interval: 20 * time.Millisecond, OfflineAfter: 3,
		BACnet: &devices.BACnetTransport{Instance: 11, Address: covSim.Addr().String()}}
	polled := &devices.Device{ID: "AHU-POLL", Profile: profile(t, ", cov: false"), Interval: 20 * time.Millisecond, OfflineAfter: 3,
		BACnet: &devices.BACnetTransport{Instance: 12, Address: polledSim.Addr().String()}}
	got := newSnapshots()
	src, err := bacnet.NewSource([]*devices.Device{cov, polled}, got.handle, bacnet.SourceConfig{
		Client: bacnet.ClientConfig{Local: "127.0.0.1:0"}, Now: func() time.Time { return frozen }})
	if err != nil {
		t.Fatal(err)
	}
	run(t, src)
	got.wait(t, "AHU-COV whole and good", func() bool {
		list := got.of("AHU-COV")
		if len(list) == 0 {
			return false
		}
		r := list[len(list)-1].Readings()
		return len(r) == 3 && r[0].Value == 16.5 && r[1].Value == true && r[2].Label == "auto"
	})
	reads := covSim.Requests(bacnet.ServiceReadPropertyMultiple) + covSim.Requests(bacnet.ServiceReadProperty)
	subs := covSim.Requests(bacnet.ServiceSubscribeCOV)
	got.mu.Lock()
	start := len(got.of("AHU-POLL"))
	got.mu.Unlock()
	got.wait(t, "ten polls of AHU-POLL", func() bool { return len(got.of("AHU-POLL")) >= start+10 })
	if n := covSim.Requests(bacnet.ServiceReadPropertyMultiple) + covSim.Requests(bacnet.ServiceReadProperty); n != reads {
		t.Errorf("AHU-COV was read %d more times while unchanged", n-reads)
	}
	if n := covSim.Requests(bacnet.ServiceSubscribeCOV); n != subs || subs != 3 {
		t.Errorf("AHU-COV got %d subscriptions, then %d more; want 3 and none", subs, n-subs)
	}
	if n := polledSim.Requests(bacnet.ServiceSubscribeCOV); n != 0 {
		t.Errorf("AHU-POLL, every point cov: false, got %d subscriptions", n)
	}
	if err := covSim.Set(supplyAI, bacnet.Value{Kind: bacnet.KindReal, Real: 19}); err != nil {
		t.Fatal(err)
	}
	got.wait(t, "the change by notification", func() bool {
		list := got.of("AHU-COV")
		return list[len(list)-1].Readings()[0].Value == 19.0
	})
}

// TestSourceFindsAndFallsBack: a device configured by instance alone is found by Who-Is, and a
// point the device refuses COV for is polled instead and its changes still seen.
func TestSourceFindsAndFallsBack(t *testing.T) {
	sim := startSim(t, 21, true)
	dev := &devices.Device{ID: "AHU-2", Profile: profile(t, ""), Interval: 20 * time.Millisecond, OfflineAfter: 3,
		BACnet: &devices.BACnetTransport{Instance: 21}}
	got := newSnapshots()
	src, err := bacnet.NewSource([]*devices.Device{dev}, got.handle, bacnet.SourceConfig{
		Client: bacnet.ClientConfig{Local: "127.0.0.1:0"}, Broadcast: sim.Addr(), WhoIsWait: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	run(t, src)
	got.wait(t, "AHU-2 found and read", func() bool {
		list := got.of("AHU-2")
		return len(list) > 0 && list[len(list)-1].Comm == devices.CommOnline && list[len(list)-1].Readings()[2].Label == "auto"
	})
	if err := sim.Set(modeMSV, bacnet.Value{Kind: bacnet.KindUnsigned, Uint: 3}); err != nil {
		t.Fatal(err)
	}
	got.wait(t, "the mode's change by polling", func() bool {
		list := got.of("AHU-2")
		return list[len(list)-1].Readings()[2].Label == "manual"
	})
	if n := sim.Subscriptions(); n != 2 {
		t.Errorf("%d subscriptions, want the two points the device notifies", n)
	}
}

// TestSourceCOVDeviceGoesOffline: a device whose points are all kept by COV, silent because
// nothing changes, is still found to be gone when it stops answering, every point comm_fail,
// and back when it answers again.
func TestSourceCOVDeviceGoesOffline(t *testing.T) {
	sim := startSim(t, 31, false)
	dev := &devices.Device{ID: "AHU-3", Profile: profile(t, ""), Interval: 20 * time.Millisecond, OfflineAfter: 3,
		BACnet: &devices.BACnetTransport{Instance: 31, Address: sim.Addr().String()}}
	got := newSnapshots()
	src, err := bacnet.NewSource([]*devices.Device{dev}, got.handle, bacnet.SourceConfig{
		Client: bacnet.ClientConfig{Local: "127.0.0.1:0", APDUTimeout: 10 * time.Millisecond, Retries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	run(t, src)
	last := func() *devices.Snapshot {
		list := got.of("AHU-3")
		if len(list) == 0 {
			return nil
		}
		return list[len(list)-1]
	}
	got.wait(t, "AHU-3 online", func() bool { s := last(); return s != nil && s.Comm == devices.CommOnline })
	sim.DropReplies(1 << 30)
	got.wait(t, "AHU-3 offline", func() bool {
		s := last()
		return s.Comm == devices.CommOffline && s.Values[0].Quality == devices.QualityCommFail
	})
	sim.DropReplies(0)
	got.wait(t, "AHU-3 back", func() bool {
		s := last()
		return s.Comm == devices.CommOnline && s.Readings()[0].Value == 16.5
	})
}

// router is a BACnet router on loopback between the client's network and network 5, where one
// device (the simulator, MAC 0x0a) lives: requests for 5/0a lose their DNET/DADR on the way
// in, and what the device sends (replies, COV notifications) gains SNET 5, SADR 0a on the way
// out (6.2.2, 6.5).
type router struct {
	front, back *net.UDPConn
	device      netip.AddrPort
	mu          sync.Mutex
	client      netip.AddrPort
	forwarded   int
}

func startRouter(t *testing.T, device netip.AddrPort) *router {
	t.Helper()
	listen := func() *net.UDPConn {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return pc.(*net.UDPConn)
	}
	r := &router{front: listen(), back: listen(), device: device}
	relay := func(from *net.UDPConn, to func([]byte)) {
		buf := make([]byte, 2048)
		for {
			n, addr, err := from.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if from == r.front {
				r.mu.Lock()
				r.client = addr
				r.mu.Unlock()
			}
			to(append([]byte(nil), buf[:n]...))
		}
	}
	rewrap := func(b []byte, edit func(*bacnet.NPDU) bool) []byte {
		m, err := bacnet.DecodeBVLC(b)
		if err != nil {
			return nil
		}
		n, err := bacnet.DecodeNPDU(m.NPDU)
		if err != nil || !edit(&n) {
			return nil
		}
		if m.NPDU, err = bacnet.AppendNPDU(nil, n); err != nil {
			return nil
		}
		out, _ := bacnet.AppendBVLC(nil, bacnet.BVLC{Function: bacnet.BVLCOriginalUnicastNPDU, NPDU: m.NPDU})
		return out
	}
	go relay(r.front, func(b []byte) {
		out := rewrap(b, func(n *bacnet.NPDU) bool {
			if n.Dest == nil || n.Dest.Net != 5 || len(n.Dest.MAC) != 1 || n.Dest.MAC[0] != 0x0a {
				return false // for no station of network 5 this router knows
			}
			n.Dest, n.HopCount = nil, 0
			return true
		})
		if out != nil {
			r.mu.Lock()
			r.forwarded++
			r.mu.Unlock()
			r.back.WriteToUDPAddrPort(out, r.device)
		}
	})
	go relay(r.back, func(b []byte) {
		out := rewrap(b, func(n *bacnet.NPDU) bool {
			n.Source = &bacnet.Address{Net: 5, MAC: []byte{0x0a}}
			return true
		})
		r.mu.Lock()
		client := r.client
		r.mu.Unlock()
		if out != nil && client.IsValid() {
			r.front.WriteToUDPAddrPort(out, client)
		}
	})
	t.Cleanup(func() { r.front.Close(); r.back.Close() })
	return r
}

// TestSourceBehindARouter: a device on another network, reached through its router by network
// number and MAC, is read and notifies its changes through the router.
func TestSourceBehindARouter(t *testing.T) {
	sim := startSim(t, 41, false)
	rt := startRouter(t, sim.Addr())
	dev := &devices.Device{ID: "VAV-41", Profile: profile(t, ""), Interval: 20 * time.Millisecond, OfflineAfter: 3,
		BACnet: &devices.BACnetTransport{Instance: 41, Address: rt.front.LocalAddr().String(), Network: 5, MAC: []byte{0x0a}}}
	got := newSnapshots()
	src, err := bacnet.NewSource([]*devices.Device{dev}, got.handle, bacnet.SourceConfig{Client: bacnet.ClientConfig{Local: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	run(t, src)
	last := func() *devices.Snapshot {
		list := got.of("VAV-41")
		if len(list) == 0 {
			return nil
		}
		return list[len(list)-1]
	}
	got.wait(t, "VAV-41 read through the router", func() bool {
		s := last()
		return s != nil && s.Comm == devices.CommOnline && s.Readings()[0].Value == 16.5
	})
	if err := sim.Set(supplyAI, bacnet.Value{Kind: bacnet.KindReal, Real: 18.5}); err != nil {
		t.Fatal(err)
	}
	got.wait(t, "VAV-41's change notified through the router", func() bool { return last().Readings()[0].Value == 18.5 })
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.forwarded == 0 {
		t.Error("nothing went through the router")
	}
}
