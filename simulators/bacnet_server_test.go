package simulators

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices/bacnet"
	"github.com/facilityd/facilityd/internal/testutil"
)

// An air-handling unit as the demo's BACnet device would have it.
var (
	supplyTemp = bacnet.ObjectID{Type: bacnet.ObjectAnalogInput, Instance: 1}
	fanCommand = bacnet.ObjectID{Type: bacnet.ObjectBinaryOutput, Instance: 1}
	setpoint   = bacnet.ObjectID{Type: bacnet.ObjectAnalogValue, Instance: 1}
	damper     = bacnet.ObjectID{Type: bacnet.ObjectAnalogOutput, Instance: 1}
	filter     = bacnet.ObjectID{Type: bacnet.ObjectBinaryInput, Instance: 1}
	mode       = bacnet.ObjectID{Type: bacnet.ObjectMultiStateValue, Instance: 1}
)

func ahuObjects(extra int) []BACnetObject {
	objs := []BACnetObject{
		{ID: supplyTemp, Name: "AHU1 supply air temperature", Units: 62, Present: bacnet.Value{Kind: bacnet.KindReal, Real: 16.5}},
		{ID: fanCommand, Name: "AHU1 supply fan command"},
		{ID: setpoint, Name: "AHU1 supply air setpoint", Units: 62, Present: bacnet.Value{Kind: bacnet.KindReal, Real: 18}},
		{ID: damper, Name: "AHU1 outside air damper", Units: 98},
		{ID: filter, Name: "AHU1 filter dirty"},
		{ID: mode, Name: "AHU1 mode", States: 4},
	}
	for i := range extra {
		objs = append(objs, BACnetObject{ID: bacnet.ObjectID{Type: bacnet.ObjectAnalogValue, Instance: uint32(100 + i)},
			Name: fmt.Sprintf("AHU1 spare %d", i), Units: 95})
	}
	return objs
}

type bacnetRig struct {
	sim    *BACnetServer
	client *bacnet.Client
	peer   bacnet.Peer
	cov    *testutil.Recorder[bacnet.COVNotification]
	clock  *testutil.Clock
}

func newBACnetRig(t *testing.T, opts BACnetOptions, extra int) *bacnetRig {
	t.Helper()
	rig := &bacnetRig{clock: testutil.NewClock(time.Unix(0, 0)), cov: &testutil.Recorder[bacnet.COVNotification]{}}
	opts.Instance, opts.Name, opts.Now = 2001, "AHU1", rig.clock.Now
	sim, err := NewBACnetServer(opts, ahuObjects(extra))
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	// Half a second a try: long enough that a loaded machine causes no retry the test counts.
	c, err := bacnet.Listen(bacnet.ClientConfig{Local: "127.0.0.1:0", APDUTimeout: 500 * time.Millisecond,
		OnCOV: func(n bacnet.COVNotification) { rig.cov.Add(n) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rig.sim, rig.client = sim, c
	// The device is found as a person would find it: Who-Is for its instance.
	found, err := c.WhoIs(context.Background(), sim.Addr(), 0, bacnet.WhoIs{Low: 2001, High: 2001}, testutil.DefaultLimit)
	if err != nil || len(found) != 1 {
		t.Fatalf("who-is: %+v %v", found, err)
	}
	rig.peer = found[0].Peer
	return rig
}

func (r *bacnetRig) read(t *testing.T, o bacnet.ObjectID, p bacnet.PropertyID, index uint32) []bacnet.Value {
	t.Helper()
	v, err := r.client.ReadProperty(context.Background(), r.peer, o, p, index)
	if err != nil {
		t.Fatalf("read %s property %d: %v", o, p, err)
	}
	return v
}

func TestBacnetSimulatorReadProperty(t *testing.T) {
	r := newBACnetRig(t, BACnetOptions{}, 0)
	if v := r.read(t, supplyTemp, bacnet.PropPresentValue, bacnet.NoIndex); v[0].Real != 16.5 {
		t.Errorf("supply temperature %+v", v)
	}
	if v := r.read(t, supplyTemp, bacnet.PropUnits, bacnet.NoIndex); v[0].Uint != 62 {
		t.Errorf("units %+v", v)
	}
	if v := r.read(t, mode, bacnet.PropObjectName, bacnet.NoIndex); v[0].String != "AHU1 mode" {
		t.Errorf("name %+v", v)
	}
	dev := bacnet.ObjectID{Type: bacnet.ObjectDevice, Instance: 2001}
	// 12.11: the object list read by index, 0 its length, then each element.
	if v := r.read(t, dev, bacnet.PropObjectList, 0); v[0].Uint != 7 {
		t.Errorf("object list length %+v", v)
	}
	if v := r.read(t, dev, bacnet.PropObjectList, 2); v[0].Object != supplyTemp {
		t.Errorf("object list [2] %+v", v)
	}
	_, err := r.client.ReadProperty(context.Background(), r.peer, filter, bacnet.PropUnits, bacnet.NoIndex)
	if !errors.Is(err, bacnet.ErrUnknownProperty) {
		t.Errorf("units of a binary input: %v", err)
	}
	_, err = r.client.ReadProperty(context.Background(), r.peer, bacnet.ObjectID{Type: bacnet.ObjectAnalogInput, Instance: 9}, bacnet.PropPresentValue, bacnet.NoIndex)
	if !errors.Is(err, bacnet.ErrUnknownObject) {
		t.Errorf("missing object: %v", err)
	}
}

// pointRefs are the reads of a poll: present value, status flags and units of every object.
func pointRefs(objs []BACnetObject) []bacnet.ReadPropertyRequest {
	var refs []bacnet.ReadPropertyRequest
	for _, o := range objs {
		for _, p := range []bacnet.PropertyID{bacnet.PropPresentValue, bacnet.PropStatusFlags, bacnet.PropUnits} {
			refs = append(refs, bacnet.ReadPropertyRequest{Object: o.ID, Property: p, Index: bacnet.NoIndex})
		}
	}
	return refs
}

func checkPoll(t *testing.T, res []bacnet.PropertyResult, err error, objs []BACnetObject) {
	t.Helper()
	if err != nil || len(res) != 3*len(objs) {
		t.Fatalf("%d results: %v", len(res), err)
	}
	for i, o := range objs {
		pv, sf, un := res[3*i], res[3*i+1], res[3*i+2]
		if pv.Err != nil || pv.Object != o.ID || sf.Err != nil {
			t.Errorf("%s: %+v %+v", o.ID, pv, sf)
		}
		if _, err := bacnet.DecodeStatusFlags(sf.Values[0]); err != nil {
			t.Errorf("%s status flags: %v", o.ID, err)
		}
		// Binary and multi-state objects have no units: that property alone fails.
		if analog := o.Units != 0; analog != (un.Err == nil) {
			t.Errorf("%s units: %+v", o.ID, un)
		}
	}
}

func TestBacnetSimulatorReadPropertyMultiple(t *testing.T) {
	objs := ahuObjects(20)
	refs := pointRefs(objs)
	t.Run("one request", func(t *testing.T) {
		r := newBACnetRig(t, BACnetOptions{}, 20)
		res, err := r.client.ReadProperties(context.Background(), r.peer, refs)
		checkPoll(t, res, err, objs)
		if n := r.sim.Requests(bacnet.ServiceReadPropertyMultiple); n != 1 {
			t.Errorf("%d requests", n)
		}
	})
	t.Run("max-apdu 50, no segmentation: split", func(t *testing.T) {
		r := newBACnetRig(t, BACnetOptions{MaxAPDU: 50, NoSegmentation: true}, 20)
		res, err := r.client.ReadProperties(context.Background(), r.peer, refs)
		checkPoll(t, res, err, objs)
		if n := r.sim.Requests(bacnet.ServiceReadPropertyMultiple); n < 10 {
			t.Errorf("%d requests for %d properties within 50 octets", n, len(refs))
		}
	})
	t.Run("no ReadPropertyMultiple: ReadProperty each", func(t *testing.T) {
		r := newBACnetRig(t, BACnetOptions{NoReadPropertyMultiple: true}, 20)
		res, err := r.client.ReadProperties(context.Background(), r.peer, refs)
		checkPoll(t, res, err, objs)
		if n := r.sim.Requests(bacnet.ServiceReadProperty); n != len(refs) {
			t.Errorf("%d reads for %d properties", n, len(refs))
		}
	})
}

// A whole object list longer than one APDU comes segmented; a device that does not segment
// aborts, and the list is read by index instead.
func TestBacnetSimulatorSegmentation(t *testing.T) {
	dev := bacnet.ObjectID{Type: bacnet.ObjectDevice, Instance: 2001}
	r := newBACnetRig(t, BACnetOptions{MaxAPDU: 128}, 80)
	list := r.read(t, dev, bacnet.PropObjectList, bacnet.NoIndex)
	if len(list) != 87 || list[86].Object.Instance != 179 {
		t.Fatalf("object list of %d", len(list))
	}

	r = newBACnetRig(t, BACnetOptions{MaxAPDU: 128, NoSegmentation: true}, 80)
	_, err := r.client.ReadProperty(context.Background(), r.peer, dev, bacnet.PropObjectList, bacnet.NoIndex)
	var ab *bacnet.AbortError
	if !errors.As(err, &ab) || ab.Reason != bacnet.AbortSegmentationNotSupported {
		t.Fatalf("whole list from a device that does not segment: %v", err)
	}
	if v := r.read(t, dev, bacnet.PropObjectList, 87); v[0].Object.Instance != 179 {
		t.Errorf("by index: %+v", v)
	}
}

// COV: the subscription brings the values at once, a change is notified, a restart loses
// the subscription and the renewal at half the lifetime restores it.
func TestBacnetSimulatorCOV(t *testing.T) {
	for _, confirmed := range []bool{false, true} {
		t.Run(fmt.Sprintf("confirmed %v", confirmed), func(t *testing.T) {
			r := newBACnetRig(t, BACnetOptions{}, 0)
			subs := &bacnet.Subscriptions{Client: r.client, ProcessID: 1, Lifetime: 10 * time.Minute,
				Confirmed: confirmed, Now: r.clock.Now}
			subs.Add(r.peer, supplyTemp)
			ctx := context.Background()
			if errs := subs.Renew(ctx); len(errs) != 0 {
				t.Fatal(errs)
			}
			first := r.cov.WaitFor(t, 1)[0]
			if v, _ := first.Value(bacnet.PropPresentValue); v.Real != 16.5 || first.TimeRemaining != 600 || first.Confirmed != confirmed {
				t.Errorf("first notification %+v", first)
			}
			r.sim.Set(supplyTemp, bacnet.Value{Kind: bacnet.KindReal, Real: 17.25})
			r.sim.SetFlags(supplyTemp, bacnet.StatusFlags{Fault: true})
			got := r.cov.WaitFor(t, 3)
			if v, _ := got[1].Value(bacnet.PropPresentValue); v.Real != 17.25 {
				t.Errorf("change %+v", got[1])
			}
			sf, _ := got[2].Value(bacnet.PropStatusFlags)
			if f, _ := bacnet.DecodeStatusFlags(sf); !f.Fault || f.Good() {
				t.Errorf("flags %+v", f)
			}
			if confirmed {
				testutil.WaitFor(t, "three notifications acknowledged", testutil.DefaultLimit,
					func() bool { return r.sim.NotificationACKs() == 3 })
			}

			r.sim.Restart()
			if r.sim.Subscriptions() != 0 {
				t.Fatal("restart kept the subscription")
			}
			r.clock.Step(5 * time.Minute)
			if errs := subs.Renew(ctx); len(errs) != 0 || r.sim.Subscriptions() != 1 {
				t.Fatalf("renewal: %v, %d subscriptions", errs, r.sim.Subscriptions())
			}
			r.sim.Set(supplyTemp, bacnet.Value{Kind: bacnet.KindReal, Real: 19})
			got = r.cov.WaitFor(t, 5) // the renewal's notification, then the change
			if v, _ := got[4].Value(bacnet.PropPresentValue); v.Real != 19 {
				t.Errorf("after the renewal %+v", got[4])
			}
			// A lifetime that runs out ends the subscription on the device.
			r.clock.Step(10 * time.Minute)
			if r.sim.Subscriptions() != 0 {
				t.Error("subscription outlived its lifetime")
			}
		})
	}
}

// Writes with priority: the highest priority in use commands the output, relinquishing
// (NULL) hands it to the next, and the relinquish default when none is left (19.2).
func TestBacnetSimulatorWritePriorityAndRelinquish(t *testing.T) {
	r := newBACnetRig(t, BACnetOptions{}, 0)
	ctx := context.Background()
	write := func(v float32, prio uint8) {
		t.Helper()
		err := r.client.Write(ctx, r.peer, bacnet.WriteProperty{ReadPropertyRequest: bacnet.ReadPropertyRequest{
			Object: damper, Property: bacnet.PropPresentValue, Index: bacnet.NoIndex}, Value: bacnet.Value{Kind: bacnet.KindReal, Real: v}, Priority: prio})
		if err != nil {
			t.Fatal(err)
		}
	}
	present := func() float32 { return r.read(t, damper, bacnet.PropPresentValue, bacnet.NoIndex)[0].Real }
	write(40, 10)
	write(80, 8)
	if p := present(); p != 80 {
		t.Errorf("priority 8 over 10: %v", p)
	}
	if v := r.read(t, damper, bacnet.PropPriorityArray, 8); v[0].Real != 80 {
		t.Errorf("priority array [8] %+v", v)
	}
	if err := r.client.Relinquish(ctx, r.peer, damper, 8); err != nil {
		t.Fatal(err)
	}
	if p := present(); p != 40 {
		t.Errorf("after relinquishing 8: %v", p)
	}
	if v := r.read(t, damper, bacnet.PropPriorityArray, 8); v[0].Kind != bacnet.KindNull {
		t.Errorf("priority array [8] after relinquish %+v", v)
	}
	r.client.Relinquish(ctx, r.peer, damper, 10)
	if p := present(); p != 0 {
		t.Errorf("relinquish default: %v", p)
	}
	// What a device refuses comes back as its error.
	err := r.client.Write(ctx, r.peer, bacnet.WriteProperty{ReadPropertyRequest: bacnet.ReadPropertyRequest{
		Object: supplyTemp, Property: bacnet.PropPresentValue, Index: bacnet.NoIndex}, Value: bacnet.Value{Kind: bacnet.KindReal, Real: 1}})
	if !errors.Is(err, bacnet.ErrWriteDenied) {
		t.Errorf("write to an input: %v", err)
	}
	err = r.client.Write(ctx, r.peer, bacnet.WriteProperty{ReadPropertyRequest: bacnet.ReadPropertyRequest{
		Object: mode, Property: bacnet.PropPresentValue, Index: bacnet.NoIndex}, Value: bacnet.Value{Kind: bacnet.KindUnsigned, Uint: 9}})
	if err == nil || !errors.Is(err, &bacnet.Error{Class: 2, Code: 37}) {
		t.Errorf("state 9 of 4: %v", err)
	}
	if err := r.client.Write(ctx, r.peer, bacnet.WriteProperty{Priority: 17}); err == nil {
		t.Error("priority 17: no error")
	}
}

func TestBacnetSimulatorDroppedRepliesRetried(t *testing.T) {
	r := newBACnetRig(t, BACnetOptions{}, 0)
	r.sim.DropReplies(2)
	if v := r.read(t, setpoint, bacnet.PropPresentValue, bacnet.NoIndex); v[0].Real != 18 {
		t.Errorf("%+v", v)
	}
	if n := r.sim.Requests(bacnet.ServiceReadProperty); n != 3 {
		t.Errorf("%d requests for one read with two replies dropped", n)
	}
	r.sim.DropReplies(10)
	_, err := r.client.ReadProperty(context.Background(), r.peer, setpoint, bacnet.PropPresentValue, bacnet.NoIndex)
	if !errors.Is(err, bacnet.ErrTimeout) {
		t.Errorf("every reply dropped: %v", err)
	}
}

// FuzzBacnetServerHandle: any datagram reaches the simulated device without a panic, and the
// device still answers a read afterwards.
func FuzzBacnetServerHandle(f *testing.F) {
	ref := bacnet.ReadPropertyRequest{Object: supplyTemp, Property: bacnet.PropPresentValue, Index: bacnet.NoIndex}
	req := func(service uint8, data []byte) []byte {
		a, _ := bacnet.AppendAPDU(nil, bacnet.APDU{Type: bacnet.PDUConfirmedRequest, SegmentedResponseAccepted: true,
			MaxSegments: 4, MaxAPDU: 50, InvokeID: 1, Service: service, Data: data})
		n, _ := bacnet.AppendNPDU(nil, bacnet.NPDU{ExpectingReply: true, APDU: a})
		b, _ := bacnet.AppendBVLC(nil, bacnet.BVLC{Function: bacnet.BVLCOriginalUnicastNPDU, NPDU: n})
		return b
	}
	f.Add(req(bacnet.ServiceReadProperty, bacnet.AppendReadProperty(nil, ref)))
	f.Add(req(bacnet.ServiceReadPropertyMultiple, bacnet.AppendReadPropertyMultiple(nil, []bacnet.ReadPropertyRequest{ref, ref, ref, ref})))
	f.Add(req(bacnet.ServiceWriteProperty, bacnet.AppendWriteProperty(nil, bacnet.WriteProperty{ReadPropertyRequest: bacnet.ReadPropertyRequest{
		Object: damper, Property: bacnet.PropPresentValue, Index: bacnet.NoIndex}, Value: bacnet.Value{Kind: bacnet.KindNull}, Priority: 3})))
	f.Add(req(bacnet.ServiceSubscribeCOV, bacnet.AppendSubscribeCOV(nil, bacnet.SubscribeCOV{ProcessID: 1, Object: mode, Lifetime: 5})))
	f.Add([]byte{0x81, 0x0a, 0x00, 0x0a, 0x01, 0x00, 0x40, 0x01, 0x00, 0x04})
	sim, err := NewBACnetServer(BACnetOptions{Instance: 1, Name: "fuzz", MaxAPDU: 50}, ahuObjects(20))
	if err != nil {
		f.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { sim.Close() })
	// Replies go to a port no one reads.
	sink := netip.MustParseAddrPort("127.0.0.1:9")
	f.Fuzz(func(t *testing.T, b []byte) {
		sim.handle(sink, b)
		sim.mu.Lock()
		_, err := sim.read(ref)
		sim.mu.Unlock()
		if err != nil {
			t.Fatalf("after % x: %v", b, err)
		}
	})
}

// Discovery reads the object list whole from a device that segments, element by element from
// one that does not, and the names and units of what it lists.
func TestBacnetSimulatorDiscovery(t *testing.T) {
	dev := bacnet.ObjectID{Type: bacnet.ObjectDevice, Instance: 2001}
	for _, opts := range []BACnetOptions{{MaxAPDU: 128}, {MaxAPDU: 128, NoSegmentation: true}} {
		t.Run(fmt.Sprintf("segmentation refused %v", opts.NoSegmentation), func(t *testing.T) {
			r := newBACnetRig(t, opts, 40)
			ctx := context.Background()
			ids, err := r.client.ObjectList(ctx, r.peer, dev)
			if err != nil || len(ids) != 47 || ids[0] != dev || ids[1] != supplyTemp || ids[46].Instance != 139 {
				t.Fatalf("%d objects %v", len(ids), err)
			}
			// One read of the whole list; or that read aborted, the length, and the elements.
			if rp := r.sim.Requests(bacnet.ServiceReadProperty); (opts.NoSegmentation && rp != 2) || (!opts.NoSegmentation && rp != 1) {
				t.Errorf("%d reads of the object list", rp)
			}
			info, err := r.client.Describe(ctx, r.peer, ids[1:7])
			if err != nil {
				t.Fatal(err)
			}
			if info[0].Name != "AHU1 supply air temperature" || !info[0].HasUnits || bacnet.UnitSymbol(info[0].Units) != "°C" {
				t.Errorf("supply temperature %+v", info[0])
			}
			if info[1].ID != fanCommand || info[1].HasUnits || info[5].Name != "AHU1 mode" {
				t.Errorf("fan and mode %+v %+v", info[1], info[5])
			}
		})
	}
}

// A property too long for a device that does not segment fails alone: the read is halved
// down to it, and the properties around it are still read.
func TestBacnetSimulatorOneValueTooLong(t *testing.T) {
	r := newBACnetRig(t, BACnetOptions{MaxAPDU: 128, NoSegmentation: true}, 40)
	dev := bacnet.ObjectID{Type: bacnet.ObjectDevice, Instance: 2001}
	res, err := r.client.ReadProperties(context.Background(), r.peer, []bacnet.ReadPropertyRequest{
		{Object: supplyTemp, Property: bacnet.PropPresentValue, Index: bacnet.NoIndex},
		{Object: dev, Property: bacnet.PropObjectList, Index: bacnet.NoIndex},
		{Object: supplyTemp, Property: bacnet.PropStatusFlags, Index: bacnet.NoIndex},
	})
	if err != nil || len(res) != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	var ab *bacnet.AbortError
	if res[0].Err != nil || res[0].Values[0].Real != 16.5 || !errors.As(res[1].Err, &ab) || !ab.TooLong() || res[2].Err != nil {
		t.Errorf("results %+v", res)
	}
}

// COV or polling is chosen per point: a point the device refuses COV for is polled and not
// asked again; a device that restarted is subscribed again at once when told so.
func TestBacnetSimulatorCOVChosenPerPoint(t *testing.T) {
	r := newBACnetRig(t, BACnetOptions{}, 0)
	r.sim.mu.Lock()
	r.sim.objects[filter].NoCOV = true
	r.sim.mu.Unlock()
	subs := &bacnet.Subscriptions{Client: r.client, ProcessID: 1, Lifetime: 10 * time.Minute, Now: r.clock.Now}
	subs.Add(r.peer, supplyTemp)
	subs.Add(r.peer, filter)
	ctx := context.Background()
	if errs := subs.Renew(ctx); len(errs) != 0 {
		t.Fatalf("a refusal of COV counted as a failure: %v", errs)
	}
	if subs.Polled(r.peer, supplyTemp) || !subs.Polled(r.peer, filter) {
		t.Errorf("polled: supply temperature %v, filter %v", subs.Polled(r.peer, supplyTemp), subs.Polled(r.peer, filter))
	}
	if n := r.sim.Requests(bacnet.ServiceSubscribeCOV); n != 2 {
		t.Errorf("%d subscriptions sent", n)
	}
	r.clock.Step(time.Hour)
	subs.Renew(ctx)
	if n := r.sim.Requests(bacnet.ServiceSubscribeCOV); n != 3 {
		t.Errorf("%d subscriptions after an hour, want the renewal of the COV point alone", n)
	}

	r.sim.Restart()
	subs.Renew(ctx)
	if r.sim.Subscriptions() != 0 {
		t.Fatal("renewed before it was due")
	}
	subs.Restarted(r.peer)
	if errs := subs.Renew(ctx); len(errs) != 0 || r.sim.Subscriptions() != 1 || r.sim.Requests(bacnet.ServiceSubscribeCOV) != 4 {
		t.Errorf("after the restart: %v, %d subscriptions", errs, r.sim.Subscriptions())
	}
}
