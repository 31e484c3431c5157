package bacnet

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testutil"
)

// responder is a device written in the test: a UDP socket on loopback whose handler sees
// every message the client sends and returns the APDUs to answer with.
type responder struct {
	t    *testing.T
	conn *net.UDPConn
	mu   sync.Mutex
	seen []heard
	// handle returns the frames (whole BVLL messages) to send back.
	handle func(h heard) [][]byte
}

// heard is one message the responder received, decoded.
type heard struct {
	from netip.AddrPort
	bvlc BVLC
	npdu NPDU
	apdu APDU
}

func newResponder(t *testing.T, handle func(h heard) [][]byte) *responder {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &responder{t: t, conn: pc.(*net.UDPConn), handle: handle}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := r.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			b := append([]byte(nil), buf[:n]...)
			h := heard{from: from}
			if h.bvlc, err = DecodeBVLC(b); err != nil {
				t.Errorf("responder: %v", err)
				continue
			}
			if h.bvlc.NPDU != nil {
				h.npdu, _ = DecodeNPDU(h.bvlc.NPDU)
				h.apdu, _ = DecodeAPDU(h.npdu.APDU)
			}
			r.mu.Lock()
			r.seen = append(r.seen, h)
			r.mu.Unlock()
			for _, f := range r.handle(h) {
				r.conn.WriteToUDPAddrPort(f, from)
			}
		}
	}()
	t.Cleanup(func() { r.conn.Close(); <-done })
	return r
}

func (r *responder) peer() Peer { return Peer{Addr: r.conn.LocalAddr().(*net.UDPAddr).AddrPort()} }

func (r *responder) heard() []heard {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]heard(nil), r.seen...)
}

// frame wraps an APDU for the wire, with a source address when the responder plays a
// device behind a router.
func frame(t testing.TB, a APDU, source *Address) []byte {
	t.Helper()
	apdu, err := AppendAPDU(nil, a)
	if err != nil {
		t.Fatal(err)
	}
	n, err := AppendNPDU(nil, NPDU{Source: source, APDU: apdu})
	if err != nil {
		t.Fatal(err)
	}
	b, err := AppendBVLC(nil, BVLC{Function: BVLCOriginalUnicastNPDU, NPDU: n})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newClient(t *testing.T, cfg ClientConfig) *Client {
	t.Helper()
	cfg.Local = "127.0.0.1:0"
	if cfg.APDUTimeout == 0 {
		// Ours: loopback answers in microseconds, yet a loaded CI machine running the race
		// detector may take tens of milliseconds; half a second keeps a counted retry from
		// being one the test did not cause, and the retry tests short.
		cfg.APDUTimeout = 500 * time.Millisecond
	}
	c, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readAck(t testing.TB, h heard, v float32) []byte {
	req := &reader{b: h.apdu.Data}
	ref, err := req.propertyRef()
	if err != nil {
		t.Errorf("request: %v", err)
	}
	return frame(t, APDU{Type: PDUComplexACK, InvokeID: h.apdu.InvokeID, Service: ServiceReadProperty,
		Data: AppendReadPropertyACK(nil, ReadPropertyACK{ref, []Value{{Kind: KindReal, Real: v}}})}, nil)
}

func TestBacnetClientReadsAndWrapsInvokeIDs(t *testing.T) {
	r := newResponder(t, func(h heard) [][]byte { return [][]byte{readAck(t, h, 72.3)} })
	c := newClient(t, ClientConfig{})
	ctx := context.Background()
	for i := 0; i < 260; i++ {
		v, err := c.ReadProperty(ctx, r.peer(), ObjectID{ObjectAnalogInput, 5}, PropPresentValue, NoIndex)
		if err != nil || len(v) != 1 || v[0].Real != 72.3 {
			t.Fatalf("read %d: %+v %v", i, v, err)
		}
	}
	seen := r.heard()
	// 20.1.2.6: one id per outstanding request, wrapping after 255; each request expects a reply.
	if seen[255].apdu.InvokeID != 255 || seen[256].apdu.InvokeID != 0 || seen[259].apdu.InvokeID != 3 {
		t.Errorf("invoke ids %d %d %d", seen[255].apdu.InvokeID, seen[256].apdu.InvokeID, seen[259].apdu.InvokeID)
	}
	if !seen[0].npdu.ExpectingReply || !seen[0].apdu.SegmentedResponseAccepted || seen[0].apdu.MaxAPDU != 1476 {
		t.Errorf("request header %+v %+v", seen[0].npdu, seen[0].apdu)
	}
}

// Invoke ids are counted per device (20.1.2.6: an id tells apart the requests to one peer):
// requests to two devices in turn number each device's from 0.
func TestBacnetClientInvokeIDsPerPeer(t *testing.T) {
	a := newResponder(t, func(h heard) [][]byte { return [][]byte{readAck(t, h, 1)} })
	b := newResponder(t, func(h heard) [][]byte { return [][]byte{readAck(t, h, 2)} })
	c := newClient(t, ClientConfig{})
	for range 3 {
		for _, r := range []*responder{a, b} {
			if _, err := c.ReadProperty(context.Background(), r.peer(), ObjectID{ObjectAnalogInput, 1}, PropPresentValue, NoIndex); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, r := range []*responder{a, b} {
		for i, h := range r.heard() {
			if int(h.apdu.InvokeID) != i {
				t.Errorf("request %d to %s has invoke id %d", i, r.peer(), h.apdu.InvokeID)
			}
		}
	}
}

// Concurrent requests to one device each get their own invoke id and their own reply.
func TestBacnetClientConcurrentRequests(t *testing.T) {
	r := newResponder(t, func(h heard) [][]byte {
		return [][]byte{readAck(t, h, float32(h.apdu.InvokeID))}
	})
	c := newClient(t, ClientConfig{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.ReadProperty(context.Background(), r.peer(), ObjectID{ObjectAnalogInput, 1}, PropPresentValue, NoIndex); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	ids := map[uint8]bool{}
	for _, h := range r.heard() {
		ids[h.apdu.InvokeID] = true
	}
	if len(ids) != 20 {
		t.Errorf("%d distinct invoke ids for 20 requests", len(ids))
	}
}

func TestBacnetClientRetriesThenTimesOut(t *testing.T) {
	var mu sync.Mutex
	drop := 2
	r := newResponder(t, func(h heard) [][]byte {
		mu.Lock()
		defer mu.Unlock()
		if drop > 0 {
			drop--
			return nil
		}
		return [][]byte{readAck(t, h, 1)}
	})
	c := newClient(t, ClientConfig{Retries: 3})
	if _, err := c.ReadProperty(context.Background(), r.peer(), ObjectID{ObjectAnalogInput, 1}, PropPresentValue, NoIndex); err != nil {
		t.Fatalf("two replies dropped, three retries: %v", err)
	}
	// 5.4.4.1: a retry is the same request with the same invoke id.
	seen := r.heard()
	if len(seen) != 3 || seen[0].apdu.InvokeID != seen[2].apdu.InvokeID {
		t.Errorf("%d sends", len(seen))
	}

	silent := newResponder(t, func(h heard) [][]byte { return nil })
	_, err := c.ReadProperty(context.Background(), silent.peer(), ObjectID{ObjectAnalogInput, 1}, PropPresentValue, NoIndex)
	if !errors.Is(err, ErrTimeout) || len(silent.heard()) != 4 {
		t.Errorf("silent device: %v after %d sends, want ErrTimeout after 4", err, len(silent.heard()))
	}
}

// Error, Reject and Abort come back as errors that say what the device said (20.1.7-9).
func TestBacnetClientDeviceErrors(t *testing.T) {
	reply := map[uint8]APDU{
		1: {Type: PDUError, Service: ServiceReadProperty, Data: unhex(t, "91029120")},
		2: {Type: PDUReject, Service: RejectUnrecognizedService},
		3: {Type: PDUAbort, Server: true, Service: AbortSegmentationNotSupported},
		4: {Type: PDUSimpleACK, Service: ServiceReadProperty},
		5: {Type: PDUComplexACK, Service: ServiceWriteProperty},
	}
	r := newResponder(t, func(h heard) [][]byte {
		var ref ReadPropertyRequest
		ref, _ = (&reader{b: h.apdu.Data}).propertyRef()
		a := reply[uint8(ref.Object.Instance)]
		a.InvokeID = h.apdu.InvokeID
		return [][]byte{frame(t, a, nil)}
	})
	c := newClient(t, ClientConfig{})
	read := func(i uint32) error {
		_, err := c.ReadProperty(context.Background(), r.peer(), ObjectID{ObjectAnalogInput, i}, PropPresentValue, NoIndex)
		return err
	}
	var e *Error
	if err := read(1); !errors.As(err, &e) || !errors.Is(err, ErrUnknownProperty) || !strings.Contains(err.Error(), "unknown-property") {
		t.Errorf("error pdu: %v", err)
	}
	var rej *RejectError
	if err := read(2); !errors.As(err, &rej) || !strings.Contains(err.Error(), "unrecognized-service") {
		t.Errorf("reject: %v", err)
	}
	var ab *AbortError
	if err := read(3); !errors.As(err, &ab) || !ab.Server || !ab.TooLong() || !strings.Contains(err.Error(), "segmentation-not-supported") {
		t.Errorf("abort: %v", err)
	}
	if err := read(4); err == nil {
		t.Error("a simple ack to a read: no error")
	}
	if err := read(5); err == nil || !strings.Contains(err.Error(), "answered service 15") {
		t.Errorf("an ack of another service: %v", err)
	}
}

// A device behind a router: the request carries DNET/DADR, the reply SNET/SADR (6.2.2), and
// the reply is matched to the request by both.
func TestBacnetClientThroughARouter(t *testing.T) {
	behind := &Address{Net: 5, MAC: []byte{0x0a}}
	r := newResponder(t, func(h heard) [][]byte {
		if h.npdu.Dest == nil || h.npdu.Dest.Net != 5 || h.npdu.HopCount != 255 {
			t.Errorf("routed request npdu %+v", h.npdu)
		}
		ref, _ := (&reader{b: h.apdu.Data}).propertyRef()
		ack := APDU{Type: PDUComplexACK, InvokeID: h.apdu.InvokeID, Service: ServiceReadProperty,
			Data: AppendReadPropertyACK(nil, ReadPropertyACK{ref, []Value{{Kind: KindReal, Real: 5}}})}
		// A reply from another station with the same invoke id is not taken for ours.
		return [][]byte{frame(t, ack, &Address{Net: 5, MAC: []byte{0x0b}}), frame(t, ack, behind)}
	})
	c := newClient(t, ClientConfig{})
	p := r.peer()
	p.Route = behind
	v, err := c.ReadProperty(context.Background(), p, ObjectID{ObjectAnalogInput, 1}, PropPresentValue, NoIndex)
	if err != nil || v[0].Real != 5 {
		t.Fatalf("%+v %v", v, err)
	}
}

// segmenter answers every read with a complex ACK of the given data in segments of size
// octets, proposing window w, and records the Segment-ACKs (5.2, 5.4.5).
type segmenter struct {
	t        *testing.T
	data     []byte
	size     int
	w        uint8
	skipOnce int // a segment not sent the first time (a loss)
	mu       sync.Mutex
	acks     []APDU
}

func (s *segmenter) count() int { return (len(s.data) + s.size - 1) / s.size }

func (s *segmenter) segment(id uint8, seq int) []byte {
	end := min((seq+1)*s.size, len(s.data))
	return frame(s.t, APDU{Type: PDUComplexACK, Segmented: true, MoreFollows: seq < s.count()-1, InvokeID: id,
		Sequence: uint8(seq), WindowSize: s.w, Service: ServiceReadProperty, Data: s.data[seq*s.size : end]}, nil)
}

// handle sends segment 0 on the request, then each window after a Segment-ACK, from the
// sequence number after the acknowledged one (a NAK too, 5.4.5.3).
func (s *segmenter) handle(h heard) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var from int
	var w uint8
	switch h.apdu.Type {
	case PDUConfirmedRequest:
		return [][]byte{s.segment(h.apdu.InvokeID, 0)}
	case PDUSegmentACK:
		s.acks = append(s.acks, h.apdu)
		from, w = int(h.apdu.Sequence)+1, h.apdu.WindowSize
	default:
		return nil
	}
	var out [][]byte
	for seq := from; seq < from+int(w) && seq < s.count(); seq++ {
		if seq == s.skipOnce {
			s.skipOnce = -1
			continue
		}
		out = append(out, s.segment(h.apdu.InvokeID, seq))
	}
	return out
}

func TestBacnetClientReassemblesSegments(t *testing.T) {
	var list []Value
	for i := range 100 {
		list = append(list, Value{Kind: KindObjectID, Object: ObjectID{ObjectAnalogValue, uint32(i)}})
	}
	ref := ReadPropertyRequest{Object: ObjectID{ObjectDevice, 9}, Property: PropObjectList, Index: NoIndex}
	data := AppendReadPropertyACK(nil, ReadPropertyACK{ref, list})
	for _, c := range []struct {
		name string
		w    uint8
		skip int
	}{{"window 3", 3, -1}, {"window 3, segment 2 lost", 3, 2}, {"device window wider than ours", 100, 5}} {
		t.Run(c.name, func(t *testing.T) {
			s := &segmenter{t: t, data: data, size: 50, w: c.w, skipOnce: c.skip}
			r := newResponder(t, s.handle)
			cl := newClient(t, ClientConfig{WindowSize: 4})
			got, err := cl.ReadProperty(context.Background(), r.peer(), ref.Object, ref.Property, NoIndex)
			if err != nil || len(got) != 100 || got[99].Object.Instance != 99 {
				t.Fatalf("%d values, %v", len(got), err)
			}
			// The last Segment-ACK is sent as the reply is handed back.
			testutil.WaitFor(t, "the last segment acknowledged", testutil.DefaultLimit, func() bool {
				s.mu.Lock()
				defer s.mu.Unlock()
				return len(s.acks) > 0 && !s.acks[len(s.acks)-1].NAK && int(s.acks[len(s.acks)-1].Sequence) == s.count()-1
			})
			s.mu.Lock()
			defer s.mu.Unlock()
			last := s.acks[len(s.acks)-1]
			if last.NAK || int(last.Sequence) != s.count()-1 || last.WindowSize != min(c.w, 4) {
				t.Errorf("last segment ack %+v", last)
			}
			naks := 0
			for _, a := range s.acks {
				if a.NAK {
					naks++
				}
			}
			if (c.skip >= 0) != (naks > 0) {
				t.Errorf("%d negative acks with segment %d lost", naks, c.skip)
			}
		})
	}
}

// The first segment must be number 0; anything else ends the transaction (5.4.4.2).
func TestBacnetReassemblyRefusesOutOfWindow(t *testing.T) {
	var r reassembly
	seg := func(seq uint8, more bool) APDU {
		return APDU{Type: PDUComplexACK, Segmented: true, MoreFollows: more, Sequence: seq, WindowSize: 2, Data: []byte{seq}}
	}
	if _, _, err := r.add(seg(1, true), 4); !errors.Is(err, ErrOutOfWindow) {
		t.Errorf("first segment 1: %v", err)
	}
	ack, done, err := r.add(seg(0, true), 4)
	if err != nil || done || ack == nil || ack.Sequence != 0 || ack.WindowSize != 2 {
		t.Fatalf("segment 0: %+v %v %v", ack, done, err)
	}
	if ack, _, err := r.add(seg(2, true), 4); !errors.Is(err, ErrOutOfWindow) || !ack.NAK || ack.Sequence != 0 {
		t.Errorf("segment 2 after 0: %+v %v", ack, err)
	}
	if ack, _, err := r.add(seg(1, true), 4); err != nil || ack != nil {
		t.Errorf("segment 1 mid-window acked: %+v %v", ack, err)
	}
	ack, done, err = r.add(seg(2, false), 4)
	if err != nil || !done || ack == nil || ack.Sequence != 2 || !bytes.Equal(r.data, []byte{0, 1, 2}) {
		t.Errorf("last: %+v %v %v % x", ack, done, err, r.data)
	}
}

func TestBacnetWhoIsCollectsIAm(t *testing.T) {
	iam := func(inst uint32) []byte {
		return frame(t, APDU{Type: PDUUnconfirmedRequest, Service: ServiceIAm,
			Data: AppendIAm(nil, IAm{Device: ObjectID{ObjectDevice, inst}, MaxAPDU: 480, Segmentation: NoSegmentation, Vendor: 7})}, nil)
	}
	r := newResponder(t, func(h heard) [][]byte {
		if h.bvlc.Function != BVLCOriginalBroadcastNPDU || h.apdu.Type != PDUUnconfirmedRequest || h.apdu.Service != ServiceWhoIs {
			t.Errorf("who-is sent as %+v %+v", h.bvlc, h.apdu)
		}
		// Twice the same device, and one outside the range asked for.
		return [][]byte{iam(1234), iam(1234), iam(99)}
	})
	var heard testutil.Recorder[Found]
	c := newClient(t, ClientConfig{OnIAm: func(f Found) { heard.Add(f) }})
	found, err := c.WhoIs(context.Background(), r.peer().Addr, 0, WhoIs{1000, 2000}, time.Second)
	if err != nil || len(found) != 1 || found[0].Device.Instance != 1234 || found[0].Peer.Addr != r.peer().Addr {
		t.Fatalf("%+v %v", found, err)
	}
	// Every I-Am reaches OnIAm, those outside the range too (a device announcing itself).
	if all := heard.WaitFor(t, 3); all[2].Device.Instance != 99 {
		t.Errorf("i-am heard %+v", all)
	}
	// What the I-Am said is kept: a request longer than 480 octets is refused before sending.
	if i, ok := c.Known(r.peer()); !ok || i.MaxAPDU != 480 {
		t.Errorf("known %+v %v", i, ok)
	}
	if _, err := c.Request(context.Background(), r.peer(), ServiceReadProperty, make([]byte, 500)); err == nil ||
		!strings.Contains(err.Error(), "accepts 480") {
		t.Errorf("long request: %v", err)
	}
}

// A foreign device registers with the BBMD, renews its registration, and broadcasts through
// it; the I-Am the BBMD forwards names the original device (J.2.9, J.5.2).
func TestBacnetForeignDeviceRegistration(t *testing.T) {
	device := netip.MustParseAddrPort("192.0.2.10:47808")
	var mu sync.Mutex
	nak := false
	bbmd := newResponder(t, func(h heard) [][]byte {
		switch h.bvlc.Function {
		case BVLCRegisterForeignDevice:
			mu.Lock()
			defer mu.Unlock()
			code := ResultSuccessful
			if nak {
				code = ResultRegisterForeignDeviceNAK
			}
			b, _ := AppendBVLC(nil, BVLC{Function: BVLCResult, Result: code})
			return [][]byte{b}
		case BVLCDistributeBroadcastToNetwork:
			apdu, _ := AppendAPDU(nil, APDU{Type: PDUUnconfirmedRequest, Service: ServiceIAm,
				Data: AppendIAm(nil, IAm{Device: ObjectID{ObjectDevice, 7}, MaxAPDU: 1476, Vendor: 1})})
			n, _ := AppendNPDU(nil, NPDU{APDU: apdu})
			b, _ := AppendBVLC(nil, BVLC{Function: BVLCForwardedNPDU, Origin: device, NPDU: n})
			return [][]byte{b}
		}
		t.Errorf("bbmd got %+v", h.bvlc)
		return nil
	})
	c := newClient(t, ClientConfig{})
	tick := make(chan time.Time)
	asked := make(chan time.Duration, 4)
	c.after = func(d time.Duration) <-chan time.Time { asked <- d; return tick }
	if err := c.RegisterForeignDevice(context.Background(), bbmd.peer().Addr, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := <-asked; d != 30*time.Second {
		t.Errorf("refresh after %v, want half the ttl", d)
	}
	tick <- time.Time{}
	<-asked // the refresh went out and the next is due
	regs := 0
	for _, h := range bbmd.heard() {
		if h.bvlc.Function == BVLCRegisterForeignDevice && h.bvlc.TTL == 60 {
			regs++
		}
	}
	if regs != 2 {
		t.Errorf("%d registrations with ttl 60, want the first and its renewal", regs)
	}
	found, err := c.WhoIs(context.Background(), netip.MustParseAddrPort("255.255.255.255:47808"), 0, WhoIs{-1, -1}, time.Second)
	if err != nil || len(found) != 1 || found[0].Peer.Addr != device {
		t.Fatalf("who-is through the bbmd: %+v %v", found, err)
	}

	mu.Lock()
	nak = true
	mu.Unlock()
	c2 := newClient(t, ClientConfig{})
	if err := c2.RegisterForeignDevice(context.Background(), bbmd.peer().Addr, time.Minute); err == nil ||
		!strings.Contains(err.Error(), "refused") {
		t.Errorf("nak: %v", err)
	}
}
