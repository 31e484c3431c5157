package simulators

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/facilityd/facilityd/devices/bacnet"
)

// BACnetOptions describe the device a BACnetServer plays and the faults it shows.
type BACnetOptions struct {
	// Addr is the UDP address to serve on; "127.0.0.1:0" picks a free loopback port.
	Addr string
	// Instance and Name are the Device object's identifier and Object_Name.
	Instance uint32
	Name     string
	// MaxAPDU is the Max_APDU_Length_Accepted announced in I-Am and kept to in replies
	// (20.1.2.5: 50, 128, 206, 480, 1024 or 1476); 0 means 1476.
	MaxAPDU int
	// NoSegmentation makes the device refuse to segment: a reply longer than MaxAPDU is
	// aborted with segmentation-not-supported (5.2, 21 BACnetAbortReason).
	NoSegmentation bool
	// NoReadPropertyMultiple makes the device reject ReadPropertyMultiple as an unrecognized
	// service (20.1.8), as small controllers do.
	NoReadPropertyMultiple bool
	// Vendor is the Vendor_Identifier; 0 is ASHRAE's own.
	Vendor uint16
	// Now is the clock subscriptions' lifetimes run on; tests step a fake one.
	Now    func() time.Time
	Logger *slog.Logger
}

// maxSegmentedReplies bounds the segmented replies kept waiting for Segment-ACKs (ours: far
// more than the tests and the demo have in flight at once).
const maxSegmentedReplies = 64

// bacnetWindow is the proposed-window-size of this device's segmented replies (ours: 4, so
// that a test of a long object list crosses several windows).
const bacnetWindow = 4

// BACnetServer is a simulated BACnet/IP device: a Device object and its analog, binary and
// multi-state objects, served over UDP with ReadProperty, ReadPropertyMultiple,
// WriteProperty with a priority array, SubscribeCOV with lifetimes and COV notifications, and
// segmented replies. Faults: dropped replies (DropReplies) and a restart that forgets every
// subscription (Restart). The encoding is devices/bacnet's; everything a device decides
// (which property exists, what a write does) is here.
type BACnetServer struct {
	opts BACnetOptions
	log  *slog.Logger

	mu       sync.Mutex
	conn     *net.UDPConn
	objects  map[bacnet.ObjectID]*object
	order    []bacnet.ObjectID // object-list order, the device first
	subs     []subscription
	drop     int
	requests map[uint8]int // confirmed requests received, by service
	acks     int           // simple ACKs of confirmed notifications
	nextID   uint8
	segs     map[segKey]*outgoing
	done     chan struct{}
}

type subscription struct {
	to        netip.AddrPort
	route     *bacnet.Address
	process   uint32
	object    bacnet.ObjectID
	confirmed bool
	expires   time.Time // zero: no lifetime
}

type segKey struct {
	to netip.AddrPort
	id uint8
}

// outgoing is a segmented reply in transmission (5.4.5): its segments, sent a window at a
// time as Segment-ACKs arrive.
type outgoing struct {
	segments [][]byte
	service  uint8
	route    *bacnet.Address
}

// NewBACnetServer builds the device and its objects; Start serves it.
func NewBACnetServer(opts BACnetOptions, objects []BACnetObject) (*BACnetServer, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.MaxAPDU == 0 {
		opts.MaxAPDU = bacnet.DefaultMaxAPDU
	}
	if !slices.Contains([]int{50, 128, 206, 480, 1024, 1476}, opts.MaxAPDU) {
		return nil, fmt.Errorf("bacnet simulator %q: max apdu %d is not one of 20.1.2.5's 50, 128, 206, 480, 1024, 1476", opts.Name, opts.MaxAPDU)
	}
	if opts.Instance >= bacnet.MaxInstance {
		return nil, fmt.Errorf("bacnet simulator %q: device instance %d beyond %d", opts.Name, opts.Instance, bacnet.MaxInstance-1)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dev := bacnet.ObjectID{Type: bacnet.ObjectDevice, Instance: opts.Instance}
	s := &BACnetServer{opts: opts, log: log, objects: map[bacnet.ObjectID]*object{}, order: []bacnet.ObjectID{dev},
		requests: map[uint8]int{}, segs: map[segKey]*outgoing{}}
	for _, o := range objects {
		if _, dup := s.objects[o.ID]; dup || o.ID.Type == bacnet.ObjectDevice {
			return nil, fmt.Errorf("bacnet simulator %q: object %s twice or a second device", opts.Name, o.ID)
		}
		s.objects[o.ID] = newObject(o)
		s.order = append(s.order, o.ID)
	}
	return s, nil
}

// Start listens and serves in a goroutine until Close.
func (s *BACnetServer) Start() error {
	pc, err := net.ListenPacket("udp4", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("bacnet simulator %q: listen %s: %w", s.opts.Name, s.opts.Addr, err)
	}
	s.mu.Lock()
	s.conn, s.done = pc.(*net.UDPConn), make(chan struct{})
	s.mu.Unlock()
	go s.serve()
	s.log.Info("bacnet device started", "address", pc.LocalAddr().String(), "instance", s.opts.Instance)
	return nil
}

// Addr is the address served on.
func (s *BACnetServer) Addr() netip.AddrPort {
	return s.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Close stops serving and waits.
func (s *BACnetServer) Close() error {
	err := s.conn.Close()
	<-s.done
	return err
}

// DropReplies makes the device leave the next n confirmed requests unanswered.
func (s *BACnetServer) DropReplies(n int) {
	s.mu.Lock()
	s.drop = n
	s.mu.Unlock()
}

// Restart plays a device restart: subscriptions are forgotten (13.14: they do not survive a
// reset unless kept in non-volatile memory, which small controllers do not), values and the
// priority array kept.
func (s *BACnetServer) Restart() {
	s.mu.Lock()
	s.subs = nil
	s.segs = map[segKey]*outgoing{}
	s.mu.Unlock()
}

// Announce sends an I-Am to one client unasked, as a device does when it starts (16.10.2:
// a device may announce itself at any time), so that after Restart a client hears that it
// must subscribe again.
func (s *BACnetServer) Announce(to netip.AddrPort) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendIAm(to, nil)
}

// Subscriptions is the count of subscriptions in force now.
func (s *BACnetServer) Subscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	return len(s.subs)
}

// Requests is how many confirmed requests of a service the device has received.
func (s *BACnetServer) Requests(service uint8) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[service]
}

// NotificationACKs is how many confirmed COV notifications subscribers acknowledged.
func (s *BACnetServer) NotificationACKs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acks
}

// Present is an object's present value.
func (s *BACnetServer) Present(id bacnet.ObjectID) (bacnet.Value, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[id]
	if !ok {
		return bacnet.Value{}, false
	}
	return o.present, true
}

// Set changes an object's present value as the plant would (a sensor reading) and notifies
// its subscribers (13.1: any change of a binary or multi-state value, and here of an analog
// one, COV_Increment 0). For a commandable object it sets the relinquish default, which is
// the present value only while no priority commands it (19.2.1.3).
func (s *BACnetServer) Set(id bacnet.ObjectID, v bacnet.Value) error {
	return s.change(id, func(o *object) error {
		if err := o.check(v); err != nil {
			return fmt.Errorf("bacnet simulator: set %s: %w", id, err)
		}
		if o.commandable() {
			o.relDef = v
			o.settle()
		} else {
			o.present = v
		}
		return nil
	})
}

// SetFlags changes an object's status flags and notifies its subscribers (13.1: a change of
// Status_Flags is notified).
func (s *BACnetServer) SetFlags(id bacnet.ObjectID, f bacnet.StatusFlags) error {
	return s.change(id, func(o *object) error { o.flags = f; return nil })
}

func (s *BACnetServer) change(id bacnet.ObjectID, do func(*object) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[id]
	if !ok {
		return fmt.Errorf("bacnet simulator: no object %s", id)
	}
	before, flags := o.present, o.flags
	if err := do(o); err != nil {
		return err
	}
	if !same(before, o.present) || flags != o.flags {
		s.notify(o)
	}
	return nil
}

func same(a, b bacnet.Value) bool {
	return string(bacnet.AppendValue(nil, a)) == string(bacnet.AppendValue(nil, b))
}

func (s *BACnetServer) serve() {
	defer close(s.done)
	buf := make([]byte, 2048)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.handle(from, buf[:n])
	}
}

// handle answers one datagram; what does not decode is dropped, as a device does.
func (s *BACnetServer) handle(from netip.AddrPort, b []byte) {
	m, err := bacnet.DecodeBVLC(b)
	if err != nil || (m.Function != bacnet.BVLCOriginalUnicastNPDU && m.Function != bacnet.BVLCOriginalBroadcastNPDU) {
		return
	}
	n, err := bacnet.DecodeNPDU(m.NPDU)
	if err != nil || n.NetworkMessage {
		return
	}
	a, err := bacnet.DecodeAPDU(n.APDU)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch a.Type {
	case bacnet.PDUUnconfirmedRequest:
		if a.Service == bacnet.ServiceWhoIs && s.askedFor(a.Data) {
			s.sendIAm(from, n.Source)
		}
	case bacnet.PDUConfirmedRequest:
		s.requests[a.Service]++
		if s.drop > 0 {
			s.drop--
			return
		}
		s.confirmed(from, n.Source, a)
	case bacnet.PDUSegmentACK:
		s.segmentACK(from, a)
	case bacnet.PDUSimpleACK:
		if a.Service == bacnet.ServiceConfirmedCOVNotification {
			s.acks++
		}
	}
}

// askedFor reads a Who-Is's range (16.10.1.1): no range, or one holding this instance.
func (s *BACnetServer) askedFor(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	var lim [2]uint64
	for i := range lim {
		t, h, err := bacnet.DecodeTag(b)
		if err != nil || !t.Context || int(t.Length) > len(b)-h {
			return false
		}
		v, err := bacnet.DecodeContent(bacnet.KindUnsigned, b[h:h+int(t.Length)])
		if err != nil {
			return false
		}
		lim[i], b = v.Uint, b[h+int(t.Length):]
	}
	return uint64(s.opts.Instance) >= lim[0] && uint64(s.opts.Instance) <= lim[1]
}

func (s *BACnetServer) iam() bacnet.IAm {
	seg := bacnet.SegmentedTransmit
	if s.opts.NoSegmentation {
		seg = bacnet.NoSegmentation
	}
	return bacnet.IAm{Device: bacnet.ObjectID{Type: bacnet.ObjectDevice, Instance: s.opts.Instance},
		MaxAPDU: uint32(s.opts.MaxAPDU), Segmentation: seg, Vendor: s.opts.Vendor}
}

// sendIAm answers a Who-Is to the asker (16.10.2; on loopback there is no one else to tell).
func (s *BACnetServer) sendIAm(to netip.AddrPort, route *bacnet.Address) {
	s.send(to, route, bacnet.APDU{Type: bacnet.PDUUnconfirmedRequest, Service: bacnet.ServiceIAm,
		Data: bacnet.AppendIAm(nil, s.iam())})
}

func (s *BACnetServer) send(to netip.AddrPort, route *bacnet.Address, a bacnet.APDU) {
	apdu, err := bacnet.AppendAPDU(nil, a)
	if err != nil {
		return
	}
	n := bacnet.NPDU{APDU: apdu, ExpectingReply: a.Type == bacnet.PDUConfirmedRequest}
	if route != nil {
		// 6.2.2: a reply goes back to the network and station it came from.
		n.Dest, n.HopCount = route, bacnet.DefaultHopCount
	}
	b, err := bacnet.AppendNPDU(nil, n)
	if err != nil {
		return
	}
	if b, err = bacnet.AppendBVLC(nil, bacnet.BVLC{Function: bacnet.BVLCOriginalUnicastNPDU, NPDU: b}); err == nil {
		s.conn.WriteToUDPAddrPort(b, to)
	}
}

// confirmed answers a confirmed request: an ACK, an Error, a Reject or an Abort (20.1).
func (s *BACnetServer) confirmed(from netip.AddrPort, route *bacnet.Address, a bacnet.APDU) {
	reply := func(t bacnet.PDUType, data []byte) {
		s.send(from, route, bacnet.APDU{Type: t, InvokeID: a.InvokeID, Service: a.Service, Data: data})
	}
	fail := func(err error) {
		var e *bacnet.Error
		if errors.As(err, &e) {
			data := bacnet.AppendValue(nil, bacnet.Value{Kind: bacnet.KindEnumerated, Uint: uint64(e.Class)})
			reply(bacnet.PDUError, bacnet.AppendValue(data, bacnet.Value{Kind: bacnet.KindEnumerated, Uint: uint64(e.Code)}))
			return
		}
		// 20.1.8: a request that does not parse is rejected (invalid-tag, 21).
		s.send(from, route, bacnet.APDU{Type: bacnet.PDUReject, InvokeID: a.InvokeID, Service: 4})
	}
	if a.Segmented {
		s.abort(from, route, a.InvokeID, bacnet.AbortSegmentationNotSupported)
		return
	}
	switch a.Service {
	case bacnet.ServiceReadProperty:
		ack, err := s.readProperty(a.Data)
		if err != nil {
			fail(err)
			return
		}
		s.complexACK(from, route, a, bacnet.AppendReadPropertyACK(nil, ack))
	case bacnet.ServiceReadPropertyMultiple:
		if s.opts.NoReadPropertyMultiple {
			s.send(from, route, bacnet.APDU{Type: bacnet.PDUReject, InvokeID: a.InvokeID, Service: bacnet.RejectUnrecognizedService})
			return
		}
		refs, err := bacnet.DecodeReadPropertyMultiple(a.Data)
		if err != nil {
			fail(err)
			return
		}
		res := make([]bacnet.PropertyResult, len(refs))
		for i, r := range refs {
			res[i].ReadPropertyRequest = r
			res[i].Values, res[i].Err = s.read(r)
		}
		s.complexACK(from, route, a, bacnet.AppendReadPropertyMultipleACK(nil, res))
	case bacnet.ServiceWriteProperty:
		w, err := bacnet.DecodeWriteProperty(a.Data)
		if err == nil {
			err = s.write(w)
		}
		if err != nil {
			fail(err)
			return
		}
		reply(bacnet.PDUSimpleACK, nil)
	case bacnet.ServiceSubscribeCOV:
		sub, err := bacnet.DecodeSubscribeCOV(a.Data)
		if err == nil {
			err = s.subscribe(from, route, sub)
		}
		if err != nil {
			fail(err)
			return
		}
		reply(bacnet.PDUSimpleACK, nil)
		// 13.14.2: a successful subscription is followed by a notification of the values.
		if !sub.Cancel {
			s.notifyOne(s.subs[len(s.subs)-1], s.objects[sub.Object])
		}
	default:
		s.send(from, route, bacnet.APDU{Type: bacnet.PDUReject, InvokeID: a.InvokeID, Service: bacnet.RejectUnrecognizedService})
	}
}

func (s *BACnetServer) readProperty(b []byte) (bacnet.ReadPropertyACK, error) {
	r, err := bacnet.DecodeReadProperty(b)
	if err != nil {
		return bacnet.ReadPropertyACK{}, err
	}
	vs, err := s.read(r)
	return bacnet.ReadPropertyACK{ReadPropertyRequest: r, Values: vs}, err
}

// read reads one property of an object or of the Device object (12.11).
func (s *BACnetServer) read(r bacnet.ReadPropertyRequest) ([]bacnet.Value, error) {
	dev := bacnet.ObjectID{Type: bacnet.ObjectDevice, Instance: s.opts.Instance}
	// 15.5.1.1.1: instance 4194303 in a request means this device.
	if r.Object.Type == bacnet.ObjectDevice && r.Object.Instance == bacnet.MaxInstance {
		r.Object = dev
	}
	if r.Object != dev {
		o, ok := s.objects[r.Object]
		if !ok {
			return nil, errUnknownObject
		}
		return o.read(r.Property, r.Index)
	}
	one := func(v bacnet.Value) ([]bacnet.Value, error) {
		if r.Index != bacnet.NoIndex {
			return nil, errNotAnArray
		}
		return []bacnet.Value{v}, nil
	}
	switch r.Property {
	case propObjectIdentifier:
		return one(bacnet.Value{Kind: bacnet.KindObjectID, Object: dev})
	case bacnet.PropObjectName:
		return one(bacnet.Value{Kind: bacnet.KindCharString, String: s.opts.Name})
	case propObjectType:
		return one(bacnet.Value{Kind: bacnet.KindEnumerated, Uint: uint64(bacnet.ObjectDevice)})
	case bacnet.PropObjectList:
		list := make([]bacnet.Value, len(s.order))
		for i, id := range s.order {
			list[i] = bacnet.Value{Kind: bacnet.KindObjectID, Object: id}
		}
		return arrayRead(list, r.Index)
	case bacnet.PropMaxAPDULengthAccepted:
		return one(bacnet.Value{Kind: bacnet.KindUnsigned, Uint: uint64(s.opts.MaxAPDU)})
	case bacnet.PropSegmentationSupported:
		return one(bacnet.Value{Kind: bacnet.KindEnumerated, Uint: uint64(s.iam().Segmentation)})
	case propVendorIdentifier:
		return one(bacnet.Value{Kind: bacnet.KindUnsigned, Uint: uint64(s.opts.Vendor)})
	case propProtocolVersion:
		return one(bacnet.Value{Kind: bacnet.KindUnsigned, Uint: 1})
	}
	return nil, errUnknownProperty
}

func (s *BACnetServer) write(w bacnet.WriteProperty) error {
	o, ok := s.objects[w.Object]
	if !ok {
		if w.Object.Type == bacnet.ObjectDevice && w.Object.Instance == s.opts.Instance {
			return errWriteDenied
		}
		return errUnknownObject
	}
	before := o.present
	if err := o.write(w); err != nil {
		return err
	}
	if !same(before, o.present) {
		s.notify(o)
	}
	return nil
}

// subscribe adds, renews or cancels a subscription (13.14.2): one per subscriber, process
// and object, a renewal replacing the lifetime.
func (s *BACnetServer) subscribe(from netip.AddrPort, route *bacnet.Address, sub bacnet.SubscribeCOV) error {
	o, ok := s.objects[sub.Object]
	if !ok {
		return errUnknownObject
	}
	if o.NoCOV {
		return errNoCOV
	}
	s.subs = slices.DeleteFunc(s.subs, func(x subscription) bool {
		return x.to == from && x.process == sub.ProcessID && x.object == sub.Object
	})
	if sub.Cancel {
		return nil
	}
	n := subscription{to: from, route: route, process: sub.ProcessID, object: sub.Object, confirmed: sub.Confirmed}
	if sub.Lifetime > 0 {
		n.expires = s.opts.Now().Add(time.Duration(sub.Lifetime) * time.Second)
	}
	s.subs = append(s.subs, n)
	return nil
}

// expire drops subscriptions whose lifetime has run out (13.14.1.4).
func (s *BACnetServer) expire() {
	now := s.opts.Now()
	s.subs = slices.DeleteFunc(s.subs, func(x subscription) bool { return !x.expires.IsZero() && !now.Before(x.expires) })
}

// notify sends a COV notification of o's present value and status flags to each subscriber
// (13.1, 13.6, 13.7), confirmed or not as each asked.
func (s *BACnetServer) notify(o *object) {
	s.expire()
	for _, sub := range s.subs {
		if sub.object == o.ID {
			s.notifyOne(sub, o)
		}
	}
}

// notifyOne sends one subscriber the notification of o.
func (s *BACnetServer) notifyOne(sub subscription, o *object) {
	now := s.opts.Now()
	var left uint32
	if !sub.expires.IsZero() {
		left = uint32(sub.expires.Sub(now) / time.Second)
	}
	n := bacnet.COVNotification{ProcessID: sub.process, Device: bacnet.ObjectID{Type: bacnet.ObjectDevice, Instance: s.opts.Instance},
		Object: o.ID, TimeRemaining: left, Values: []bacnet.PropertyValue{
			{Property: bacnet.PropPresentValue, Index: bacnet.NoIndex, Values: []bacnet.Value{o.present}},
			{Property: bacnet.PropStatusFlags, Index: bacnet.NoIndex, Values: []bacnet.Value{o.flags.Value()}},
		}}
	data := bacnet.AppendCOVNotification(nil, n)
	if sub.confirmed {
		s.nextID++
		s.send(sub.to, sub.route, bacnet.APDU{Type: bacnet.PDUConfirmedRequest, MaxAPDU: s.opts.MaxAPDU, InvokeID: s.nextID,
			Service: bacnet.ServiceConfirmedCOVNotification, Data: data})
	} else {
		s.send(sub.to, sub.route, bacnet.APDU{Type: bacnet.PDUUnconfirmedRequest, Service: bacnet.ServiceUnconfirmedCOVNotification, Data: data})
	}
}

func (s *BACnetServer) abort(to netip.AddrPort, route *bacnet.Address, id, reason uint8) {
	s.send(to, route, bacnet.APDU{Type: bacnet.PDUAbort, Server: true, InvokeID: id, Service: reason})
}

// complexACK sends the reply whole when it fits both ends' max APDU, and segmented otherwise
// if this device segments and the requester accepts segments (5.2, 20.1.2.3-5).
func (s *BACnetServer) complexACK(to netip.AddrPort, route *bacnet.Address, req bacnet.APDU, data []byte) {
	limit := min(s.opts.MaxAPDU, req.MaxAPDU)
	if 3+len(data) <= limit {
		s.send(to, route, bacnet.APDU{Type: bacnet.PDUComplexACK, InvokeID: req.InvokeID, Service: req.Service, Data: data})
		return
	}
	if s.opts.NoSegmentation || !req.SegmentedResponseAccepted {
		s.abort(to, route, req.InvokeID, bacnet.AbortSegmentationNotSupported)
		return
	}
	// 20.1.5: a segment's header is 5 octets; each carries the rest of the APDU.
	per := limit - 5
	var segs [][]byte
	for p := 0; p < len(data); p += per {
		segs = append(segs, data[p:min(p+per, len(data))])
	}
	if req.MaxSegments > 0 && len(segs) > req.MaxSegments {
		// 5.2.1: more segments than the requester accepts.
		s.abort(to, route, req.InvokeID, bacnet.AbortBufferOverflow)
		return
	}
	if len(segs) > 256 {
		s.abort(to, route, req.InvokeID, bacnet.AbortBufferOverflow)
		return
	}
	if len(s.segs) >= maxSegmentedReplies {
		// Requesters that never acknowledged: forget them rather than grow without bound.
		clear(s.segs)
	}
	s.segs[segKey{to, req.InvokeID}] = &outgoing{segments: segs, service: req.Service, route: route}
	// 5.4.5.1: the first segment goes alone; the requester's Segment-ACK gives the window.
	s.sendSegment(to, req.InvokeID, 0)
}

func (s *BACnetServer) sendSegment(to netip.AddrPort, id uint8, seq int) {
	o := s.segs[segKey{to, id}]
	s.send(to, o.route, bacnet.APDU{Type: bacnet.PDUComplexACK, Segmented: true, MoreFollows: seq < len(o.segments)-1,
		InvokeID: id, Sequence: uint8(seq), WindowSize: bacnetWindow, Service: o.service, Data: o.segments[seq]})
}

// segmentACK sends the next window after the acknowledged segment, or ends the
// transmission when the last one is acknowledged (5.4.5.3).
func (s *BACnetServer) segmentACK(from netip.AddrPort, a bacnet.APDU) {
	k := segKey{from, a.InvokeID}
	o, ok := s.segs[k]
	if !ok {
		return
	}
	if a.WindowSize < 1 || a.WindowSize > 127 {
		delete(s.segs, k)
		s.abort(from, o.route, a.InvokeID, bacnet.AbortWindowSizeOutOfRange)
		return
	}
	// Sequence numbers are modulo 256 (5.1); replies here are at most 256 segments, so the
	// acknowledged one is found by its low octet.
	next := int(a.Sequence) + 1
	if next >= len(o.segments) {
		delete(s.segs, k)
		return
	}
	for seq := next; seq < next+int(a.WindowSize) && seq < len(o.segments); seq++ {
		s.sendSegment(from, a.InvokeID, seq)
	}
}
