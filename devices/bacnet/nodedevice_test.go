package bacnet

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	goflag "flag"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/internal/testutil"
)

var update = goflag.Bool("update", false, "rewrite testdata/node-readproperty-ack.hex from the node device")

// nodeCapture is the datagram the node device (testdata/device.js on @bacnet-js/client, a
// stack this repository did not write) sent in answer to Annex F.3.5's ReadProperty, captured
// by TestBacnetNodeDevice -update.
const nodeCapture = "testdata/node-readproperty-ack.hex"

// TestBacnetNodeDevice reads, subscribes to and writes a device of a stack this repository
// did not write, through the client: Who-Is, Annex F's ReadProperty byte for byte, a
// ReadPropertyMultiple with one unknown property, the object list by index, COV
// notifications confirmed and not, and a write at priority 8 relinquished.
func TestBacnetNodeDevice(t *testing.T) {
	d := testenv.NewBACnetNode(t)
	ctx := context.Background()

	// The capture: Annex F.3.5's request as a whole datagram, and the device's answer.
	raw, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	req := unhex(t, "810a0011"+"0104"+"0205010c"+annexReadPropertyRequest)
	raw.WriteToUDPAddrPort(req, d.Addr)
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1500)
	n, _, err := raw.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("no answer to the annex request: %v", err)
	}
	got := hex.EncodeToString(buf[:n])
	if *update {
		os.WriteFile(nodeCapture, []byte(got+"\n"), 0o644)
	}
	want, err := os.ReadFile(nodeCapture)
	if err != nil || strings.TrimSpace(string(want)) != got {
		t.Errorf("node device answered\n%s\nthe capture is\n%s (%v)", got, want, err)
	}

	var covs testutil.Recorder[COVNotification]
	c := newClient(t, ClientConfig{APDUTimeout: 2 * time.Second, OnCOV: func(n COVNotification) { covs.Add(n) }})
	found, err := c.WhoIs(ctx, d.Addr, 0, WhoIs{3001, 3001}, testutil.DefaultLimit)
	if err != nil || len(found) != 1 || found[0].Device.Instance != 3001 || found[0].Segmentation != NoSegmentation {
		t.Fatalf("who-is: %+v %v", found, err)
	}
	p := found[0].Peer
	if data, err := c.Request(ctx, p, ServiceReadProperty, unhex(t, annexReadPropertyRequest)); err != nil ||
		!bytes.Equal(data, unhex(t, annexReadPropertyACK)) {
		t.Errorf("annex read: % x %v, want %s", data, err, annexReadPropertyACK)
	}

	ai5, av1 := ObjectID{ObjectAnalogInput, 5}, ObjectID{ObjectAnalogValue, 1}
	dev := ObjectID{ObjectDevice, 3001}
	res, err := c.ReadProperties(ctx, p, []ReadPropertyRequest{
		{Object: ai5, Property: PropPresentValue, Index: NoIndex},
		{Object: ai5, Property: PropStatusFlags, Index: NoIndex},
		{Object: ai5, Property: PropPriorityArray, Index: NoIndex}, // an input has none
		{Object: av1, Property: PropObjectName, Index: NoIndex},
		{Object: dev, Property: PropObjectList, Index: 0},
	})
	if err != nil || len(res) != 5 {
		t.Fatalf("rpm: %+v %v", res, err)
	}
	if res[0].Values[0].Real != 72.3 || res[1].Err != nil || !errors.Is(res[2].Err, ErrUnknownProperty) ||
		res[3].Values[0].String != "Supply air setpoint" || res[4].Values[0].Uint != 4 {
		t.Errorf("rpm results %+v", res)
	}
	if f, err := DecodeStatusFlags(res[1].Values[0]); err != nil || !f.Good() {
		t.Errorf("status flags %+v %v", f, err)
	}
	if v, err := c.ReadProperty(ctx, p, dev, PropObjectList, 3); err != nil || v[0].Object != av1 {
		t.Errorf("object list [3]: %+v %v", v, err)
	}

	// Discovery: the object list, then names and units.
	ids, err := c.ObjectList(ctx, p, dev)
	if err != nil || len(ids) != 4 || ids[1] != ai5 {
		t.Fatalf("object list %v %v", ids, err)
	}
	info, err := c.Describe(ctx, p, ids[1:])
	if err != nil || info[0].Name != "Outside air temperature" || UnitSymbol(info[0].Units) != "°F" || info[2].HasUnits {
		t.Errorf("describe %+v %v", info, err)
	}

	// COV: the subscription's first notification, then one per write.
	if err := c.Subscribe(ctx, p, SubscribeCOV{ProcessID: 9, Object: av1, Lifetime: 300}); err != nil {
		t.Fatal(err)
	}
	if first := covs.WaitFor(t, 1)[0]; first.Object != av1 || first.ProcessID != 9 || first.Device != dev {
		t.Errorf("first notification %+v", first)
	}
	write := WriteProperty{ReadPropertyRequest: ReadPropertyRequest{Object: av1, Property: PropPresentValue, Index: NoIndex},
		Value: Value{Kind: KindReal, Real: 17.5}, Priority: 8}
	if err := c.Write(ctx, p, write); err != nil {
		t.Fatal(err)
	}
	if v, _ := covs.WaitFor(t, 2)[1].Value(PropPresentValue); v.Real != 17.5 {
		t.Errorf("notification of the write: %+v", v)
	}
	if v, err := c.ReadProperty(ctx, p, av1, PropPriorityArray, NoIndex); err != nil || len(v) != 16 || v[7].Real != 17.5 || v[6].Kind != KindNull {
		t.Errorf("priority array %+v %v", v, err)
	}
	if err := c.Relinquish(ctx, p, av1, 8); err != nil {
		t.Fatal(err)
	}
	if v, _ := covs.WaitFor(t, 3)[2].Value(PropPresentValue); v.Real != 20 {
		t.Errorf("after relinquish, the relinquish default: %+v", v)
	}
	if err := c.Write(ctx, p, WriteProperty{ReadPropertyRequest: ReadPropertyRequest{Object: ai5, Property: PropPresentValue,
		Index: NoIndex}, Value: Value{Kind: KindReal, Real: 1}}); !errors.Is(err, ErrWriteDenied) {
		t.Errorf("write to an input: %v", err)
	}

	// Confirmed notifications are acknowledged: the device says so.
	if err := c.Subscribe(ctx, p, SubscribeCOV{ProcessID: 9, Object: av1, Confirmed: true, Lifetime: 300}); err != nil {
		t.Fatal(err)
	}
	if cn := covs.WaitFor(t, 4)[3]; !cn.Confirmed {
		t.Errorf("confirmed subscription notified unconfirmed: %+v", cn)
	}
	testutil.WaitFor(t, "device.js to see its notification acknowledged", testutil.DefaultLimit, func() bool {
		for _, l := range d.Lines.All() {
			if l == "cov-ack 2:1" {
				return true
			}
		}
		return false
	})
}
