package bacnet

import (
	"bytes"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
)

// ANNEX F.3.5's ReadProperty of (Analog Input, 5) Present_Value and its ACK of 72.3: the
// service data octets, the headers round them from this package's fields.
const (
	annexReadPropertyRequest = "0c000000051955"
	annexReadPropertyACK     = "0c0000000519553e444290999a3f"
)

func TestReadPropertyOfAnnexF(t *testing.T) {
	req := ReadPropertyRequest{Object: ObjectID{ObjectAnalogInput, 5}, Property: PropPresentValue, Index: NoIndex}
	if got := AppendReadProperty(nil, req); !bytes.Equal(got, unhex(t, annexReadPropertyRequest)) {
		t.Errorf("request % x, want %s", got, annexReadPropertyRequest)
	}
	ack, err := DecodeReadPropertyACK(unhex(t, annexReadPropertyACK))
	if err != nil {
		t.Fatal(err)
	}
	if ack.ReadPropertyRequest != req || len(ack.Values) != 1 || ack.Values[0].Real != 72.3 {
		t.Errorf("ack %+v", ack)
	}
	if got := AppendReadPropertyACK(nil, ack); !bytes.Equal(got, unhex(t, annexReadPropertyACK)) {
		t.Errorf("ack encoded % x", got)
	}
	// The same ACK as another stack sends it (@bacnet-js/client, captured by
	// TestBacnetNodeDevice): a whole datagram whose service data is the annex's, octet for octet.
	capture, err := os.ReadFile(nodeCapture)
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeBVLC(unhex(t, strings.TrimSpace(string(capture))))
	if err != nil {
		t.Fatal(err)
	}
	n, err := DecodeNPDU(m.NPDU)
	if err != nil {
		t.Fatal(err)
	}
	a, err := DecodeAPDU(n.APDU)
	if err != nil || a.Type != PDUComplexACK || a.Service != ServiceReadProperty || !bytes.Equal(a.Data, unhex(t, annexReadPropertyACK)) {
		t.Errorf("captured ack %+v %v, want service data %s", a, err, annexReadPropertyACK)
	}
	// An array element (15.5.1.1.3): object-list index 0, the count.
	idx := ReadPropertyRequest{Object: ObjectID{ObjectDevice, 1234}, Property: PropObjectList, Index: 0}
	b := AppendReadPropertyACK(nil, ReadPropertyACK{idx, []Value{{Kind: KindUnsigned, Uint: 12}}})
	got, err := DecodeReadPropertyACK(b)
	if err != nil || got.ReadPropertyRequest != idx || got.Values[0].Uint != 12 {
		t.Errorf("indexed ack % x: %+v %v", b, got, err)
	}
	for name, h := range map[string]string{
		"no closing tag":  "0c0000000519553e444290999a",
		"no property":     "0c000000053e444290999a3f",
		"trailing octets": annexReadPropertyACK + "00",
		"value truncated": "0c0000000519553e4442903f",
		"no opening tag":  "0c000000051955444290999a3f",
	} {
		if _, err := DecodeReadPropertyACK(unhex(t, h)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// A whole confirmed ReadProperty to a device behind a router, as it goes on the wire: BVLC
// Original-Unicast-NPDU (J.2.11), an NPDU with DNET 5 and a one-octet MAC (6.2.2), then the
// confirmed request header (20.1.2) with max-APDU 1476 and segmented response accepted.
func TestConfirmedRequestThroughARouter(t *testing.T) {
	apdu, err := AppendAPDU(nil, APDU{Type: PDUConfirmedRequest, SegmentedResponseAccepted: true,
		MaxSegments: 64, MaxAPDU: 1476, InvokeID: 7, Service: ServiceReadProperty,
		Data: unhex(t, annexReadPropertyRequest)})
	if err != nil {
		t.Fatal(err)
	}
	npdu, err := AppendNPDU(nil, NPDU{ExpectingReply: true, Dest: &Address{Net: 5, MAC: []byte{0x0a}}, HopCount: DefaultHopCount, APDU: apdu})
	if err != nil {
		t.Fatal(err)
	}
	frame, err := AppendBVLC(nil, BVLC{Function: BVLCOriginalUnicastNPDU, NPDU: npdu})
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "810a0016"+"0124"+"0005010a"+"ff"+"02"+"65"+"07"+"0c"+annexReadPropertyRequest)
	if !bytes.Equal(frame, want) {
		t.Fatalf("frame\n% x\nwant\n% x", frame, want)
	}
	m, err := DecodeBVLC(frame)
	if err != nil {
		t.Fatal(err)
	}
	n, err := DecodeNPDU(m.NPDU)
	if err != nil || n.Dest == nil || n.Dest.Net != 5 || !bytes.Equal(n.Dest.MAC, []byte{0x0a}) || n.HopCount != 0xff || !n.ExpectingReply {
		t.Fatalf("npdu %+v %v", n, err)
	}
	a, err := DecodeAPDU(n.APDU)
	if err != nil {
		t.Fatal(err)
	}
	if a.Type != PDUConfirmedRequest || !a.SegmentedResponseAccepted || a.MaxSegments != 64 || a.MaxAPDU != 1476 ||
		a.InvokeID != 7 || a.Service != ServiceReadProperty || !bytes.Equal(a.Data, unhex(t, annexReadPropertyRequest)) {
		t.Errorf("apdu %+v", a)
	}
}

// Every APDU type encodes and decodes to the same fields (20.1.2 to 20.1.9).
func TestAPDURoundTrip(t *testing.T) {
	for _, a := range []APDU{
		{Type: PDUConfirmedRequest, MaxAPDU: 50, InvokeID: 1, Service: ServiceWriteProperty, Data: []byte{1}},
		{Type: PDUConfirmedRequest, Segmented: true, MoreFollows: true, MaxSegments: 4, MaxAPDU: 480, InvokeID: 2,
			Sequence: 3, WindowSize: 4, Service: 1, Data: []byte{}},
		{Type: PDUUnconfirmedRequest, Service: ServiceWhoIs, Data: []byte{}},
		{Type: PDUSimpleACK, InvokeID: 9, Service: ServiceWriteProperty, Data: []byte{}},
		{Type: PDUComplexACK, Segmented: true, MoreFollows: true, InvokeID: 9, Sequence: 0, WindowSize: 2,
			Service: ServiceReadProperty, Data: []byte{0x0c}},
		{Type: PDUComplexACK, InvokeID: 10, Service: ServiceReadPropertyMultiple, Data: []byte{}},
		{Type: PDUSegmentACK, NAK: true, Server: false, InvokeID: 9, Sequence: 5, WindowSize: 2, Data: []byte{}},
		{Type: PDUError, InvokeID: 3, Service: ServiceReadProperty, Data: unhex(t, "91029120")},
		{Type: PDUReject, InvokeID: 4, Service: 9, Data: []byte{}},
		{Type: PDUAbort, Server: true, InvokeID: 5, Service: 4, Data: []byte{}},
	} {
		b, err := AppendAPDU(nil, a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeAPDU(b)
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Errorf("% x decoded\n%+v, %v\nwant\n%+v", b, got, err, a)
		}
	}
	// 20.1.2.5: codes 6 to 15 of max-APDU-length-accepted are reserved.
	if _, err := DecodeAPDU([]byte{0x00, 0x06, 0x01, 0x0c}); err == nil {
		t.Error("reserved max-apdu code: no error")
	}
	// The error of 20.1.7: class property (2), code unknown-property (32).
	a, _ := DecodeAPDU(unhex(t, "50030c91029120"))
	e, err := DecodeError(a.Service, a.Data)
	if err != nil || e.Class != 2 || e.Code != 32 || e.Service != ServiceReadProperty {
		t.Errorf("error pdu: %+v %v", e, err)
	}
}

func TestBVLCMessages(t *testing.T) {
	origin := netip.MustParseAddrPort("192.0.2.10:47808")
	for _, c := range []struct {
		m   BVLC
		hex string
	}{
		{BVLC{Function: BVLCResult, Result: ResultRegisterForeignDeviceNAK}, "810000060030"},                // J.2.1
		{BVLC{Function: BVLCRegisterForeignDevice, TTL: 60}, "81050006003c"},                                // J.2.6
		{BVLC{Function: BVLCForwardedNPDU, Origin: origin, NPDU: []byte{1, 0}}, "8104000cc000020abac00100"}, // J.2.9
		{BVLC{Function: BVLCDistributeBroadcastToNetwork, NPDU: []byte{1, 0}}, "810900060100"},              // J.2.10
		{BVLC{Function: BVLCOriginalBroadcastNPDU, NPDU: []byte{1, 0}}, "810b00060100"},                     // J.2.12
	} {
		b, err := AppendBVLC(nil, c.m)
		if err != nil || !bytes.Equal(b, unhex(t, c.hex)) {
			t.Errorf("%+v: % x %v, want %s", c.m, b, err, c.hex)
			continue
		}
		m, err := DecodeBVLC(b)
		if err != nil || !reflect.DeepEqual(m, c.m) {
			t.Errorf("%s decoded %+v %v", c.hex, m, err)
		}
	}
	for name, h := range map[string]string{
		"not BACnet/IP":   "820a00060100",
		"length too long": "810a00070100",
		"short header":    "810a00",
		"short forwarded": "81040009c000020aba",
	} {
		if _, err := DecodeBVLC(unhex(t, h)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestNPDUAddresses(t *testing.T) {
	// A reply from a router: SNET 5, SADR 0a, no destination (6.2.2).
	n, err := DecodeNPDU(unhex(t, "01080005010a"+"30"))
	if err != nil || n.Source == nil || n.Source.Net != 5 || n.Source.MAC[0] != 0x0a || n.Dest != nil || n.APDU[0] != 0x30 {
		t.Errorf("routed reply %+v %v", n, err)
	}
	// A global broadcast: DNET FFFF, DLEN 0, hop count.
	b, _ := AppendNPDU(nil, NPDU{Dest: &Address{Net: GlobalBroadcast}, HopCount: DefaultHopCount, APDU: []byte{0x10, 0x08}})
	if want := unhex(t, "0120ffff00ff1008"); !bytes.Equal(b, want) {
		t.Errorf("global broadcast % x, want % x", b, want)
	}
	// 6.2.2: SLEN 0 is invalid.
	if _, err := DecodeNPDU(unhex(t, "010800050030")); err == nil {
		t.Error("slen 0: no error")
	}
	if _, err := AppendNPDU(nil, NPDU{Source: &Address{Net: 5}}); err == nil {
		t.Error("encoding slen 0: no error")
	}
	// A network layer message (Who-Is-Router-To-Network, 0x00) carries its type, and a
	// proprietary one its vendor id too.
	n, err = DecodeNPDU(unhex(t, "018000"))
	if err != nil || !n.NetworkMessage || n.MessageType != 0 {
		t.Errorf("network message %+v %v", n, err)
	}
	if _, err := DecodeNPDU(unhex(t, "01808000")); err == nil {
		t.Error("proprietary message without its vendor id: no error")
	}
}

func TestWhoIsAndIAm(t *testing.T) {
	if b := AppendWhoIs(nil, WhoIs{-1, -1}); len(b) != 0 {
		t.Errorf("who-is of all devices: % x", b)
	}
	if b := AppendWhoIs(nil, WhoIs{1234, 1234}); !bytes.Equal(b, unhex(t, "0a04d21a04d2")) {
		t.Errorf("who-is 1234: % x", b)
	}
	i := IAm{Device: ObjectID{ObjectDevice, 1234}, MaxAPDU: 1476, Segmentation: NoSegmentation, Vendor: 260}
	b := AppendIAm(nil, i)
	if want := unhex(t, "c4020004d22205c49103220104"); !bytes.Equal(b, want) {
		t.Errorf("i-am % x, want % x", b, want)
	}
	got, err := DecodeIAm(b)
	if err != nil || got != i {
		t.Errorf("i-am decoded %+v %v", got, err)
	}
	if _, err := DecodeIAm(unhex(t, "c4000004d22205c49103220104")); err == nil {
		t.Error("i-am of an analog input: no error")
	}
}
