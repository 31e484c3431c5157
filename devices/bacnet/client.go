package bacnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults of a client: the values the standard suggests for the Device object's properties
// that govern a requester (ASHRAE 135-2020, 12.11: APDU_Timeout 3000 ms, APDU_Segment_Timeout
// 2000 ms, Number_Of_APDU_Retries 3), and BACnet/IP's largest APDU (Annex J: 1476 octets).
const (
	DefaultAPDUTimeout    = 3 * time.Second
	DefaultSegmentTimeout = 2 * time.Second
	DefaultRetries        = 3
	DefaultMaxAPDU        = 1476
	DefaultMaxSegments    = 64
)

// Port is the UDP port of BACnet/IP, X'BAC0' (J.1).
const Port = 47808

// ClientConfig is what a Client is opened with; zero fields take the defaults above.
type ClientConfig struct {
	// Local is the UDP address to listen on: ":47808" to hear broadcasts on the BACnet port,
	// "127.0.0.1:0" for a free loopback port.
	Local string
	// APDUTimeout is how long one try of a confirmed request waits (12.11, APDU_Timeout).
	APDUTimeout time.Duration
	// SegmentTimeout is how long a reassembly waits for the next segment; four of them
	// end it (5.4.4.3, Tseg, and 12.11, APDU_Segment_Timeout).
	SegmentTimeout time.Duration
	// Retries is how many times a request is sent again after a timeout (12.11,
	// Number_Of_APDU_Retries); 0 takes the default, a negative number means none.
	Retries int
	// MaxAPDU and MaxSegments are what requests announce this client accepts (20.1.2.4-5);
	// MaxSegments 1 refuses segmented replies.
	MaxAPDU, MaxSegments int
	// WindowSize is the actual-window-size this client grants a segmenting device (5.2,
	// 20.1.6.4: 1 to 127).
	WindowSize uint8
	// OnCOV receives the change-of-value notifications of subscriptions (13.6, 13.7). It runs
	// on the receiving goroutine: it must not block.
	OnCOV func(COVNotification)
	// OnIAm receives every I-Am heard, asked for or not: a device that announces itself
	// unasked has usually just started, and lost its COV subscriptions (Subscriptions.Restarted).
	// It runs on the receiving goroutine: it must not block.
	OnIAm func(Found)
	Log   *slog.Logger
}

func (c ClientConfig) withDefaults() ClientConfig {
	if c.APDUTimeout <= 0 {
		c.APDUTimeout = DefaultAPDUTimeout
	}
	if c.SegmentTimeout <= 0 {
		c.SegmentTimeout = DefaultSegmentTimeout
	}
	if c.Retries < 0 {
		c.Retries = 0
	} else if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	if c.MaxAPDU <= 0 {
		c.MaxAPDU = DefaultMaxAPDU
	}
	if c.MaxSegments <= 0 {
		c.MaxSegments = DefaultMaxSegments
	}
	if c.WindowSize == 0 || c.WindowSize > 127 {
		c.WindowSize = DefaultWindowSize
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Peer is where a device is reached: its B/IP address, or the address of the router in
// front of it and its network number and MAC there (6.2.2, DNET and DADR).
type Peer struct {
	Addr  netip.AddrPort
	Route *Address
}

// key names the peer for the invoke-id table: the same device behind the same router.
func (p Peer) key() string {
	if p.Route == nil {
		return p.Addr.String()
	}
	return fmt.Sprintf("%s/%d/%x", p.Addr, p.Route.Net, p.Route.MAC)
}

func (p Peer) String() string {
	if p.Route == nil {
		return p.Addr.String()
	}
	return fmt.Sprintf("%s network %d mac %x", p.Addr, p.Route.Net, p.Route.MAC)
}

// Found is a device that answered a Who-Is: its I-Am and where it is.
type Found struct {
	IAm
	Peer Peer
}

// Client is one BACnet/IP endpoint on a local UDP port that sends confirmed requests, hears
// I-Am and COV notifications, and registers as a foreign device with a BBMD. It owns the
// goroutine that reads the socket; Close stops it. Safe for concurrent use.
type Client struct {
	cfg  ClientConfig
	conn *net.UDPConn
	// after is time.After, replaced in tests to step the foreign-device refresh by hand.
	after func(time.Duration) <-chan time.Time

	mu      sync.Mutex
	pending map[txKey]chan APDU
	nextID  map[string]uint8
	iams    map[chan Found]struct{}
	results chan bvlcResult
	bbmd    netip.AddrPort  // the BBMD registered with, if any
	known   map[string]IAm  // the I-Am of each peer heard
	plain   map[string]bool // peers that do not offer ReadPropertyMultiple

	stop      chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
}

type txKey struct {
	peer string
	id   uint8
}

type bvlcResult struct {
	from netip.AddrPort
	code uint16
}

// Listen opens a client on cfg.Local.
func Listen(cfg ClientConfig) (*Client, error) {
	cfg = cfg.withDefaults()
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		// Who-Is goes to a broadcast address, which the kernel refuses without SO_BROADCAST.
		var serr error
		err := rc.Control(func(fd uintptr) { serr = setBroadcast(fd) })
		return errors.Join(err, serr)
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp4", cfg.Local)
	if err != nil {
		return nil, fmt.Errorf("bacnet: listen on %q: %w", cfg.Local, err)
	}
	c := &Client{cfg: cfg, conn: pc.(*net.UDPConn), after: time.After,
		pending: map[txKey]chan APDU{}, nextID: map[string]uint8{}, iams: map[chan Found]struct{}{},
		results: make(chan bvlcResult, 4), known: map[string]IAm{}, plain: map[string]bool{}, stop: make(chan struct{})}
	c.wg.Add(1)
	go c.read()
	return c, nil
}

// LocalAddr is the address the client listens on.
func (c *Client) LocalAddr() netip.AddrPort {
	return c.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Close stops the client and waits for its goroutines; later calls return the same.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		close(c.stop)
		c.mu.Unlock()
		c.closeErr = c.conn.Close()
		c.wg.Wait()
	})
	return c.closeErr
}

// Request sends a confirmed request and waits for its reply: the service data of a complex
// ACK (reassembled when segmented), nil for a simple ACK, or an *Error, *RejectError,
// *AbortError or ErrTimeout.
func (c *Client) Request(ctx context.Context, p Peer, service uint8, data []byte) ([]byte, error) {
	id, replies, err := c.begin(p)
	if err != nil {
		return nil, err
	}
	defer c.end(p, id)
	req := APDU{Type: PDUConfirmedRequest, SegmentedResponseAccepted: c.cfg.MaxSegments > 1,
		MaxSegments: c.cfg.MaxSegments, MaxAPDU: c.cfg.MaxAPDU, InvokeID: id, Service: service, Data: data}
	apdu, err := AppendAPDU(nil, req)
	if err != nil {
		return nil, err
	}
	if max := c.peerMaxAPDU(p); len(apdu) > max {
		// 5.2: a request longer than the device accepts would have to be segmented, which
		// this client does not do for requests (its requests are short).
		return nil, fmt.Errorf("bacnet: request of %d octets to %s, which accepts %d", len(apdu), p, max)
	}
	// 5.4.4.1: send, wait APDU_Timeout, and send again up to Number_Of_APDU_Retries times.
	for try := 0; try <= c.cfg.Retries; try++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := c.send(p, true, apdu); err != nil {
			return nil, err
		}
		out, err, timedOut := c.await(ctx, p, req, replies)
		if !timedOut {
			return out, err
		}
	}
	return nil, fmt.Errorf("%w from %s to service %d after %d tries of %v", ErrTimeout, p, service,
		c.cfg.Retries+1, c.cfg.APDUTimeout)
}

// await waits one APDU_Timeout for the reply to req; timedOut asks for another try.
func (c *Client) await(ctx context.Context, p Peer, req APDU, replies chan APDU) (out []byte, err error, timedOut bool) {
	timer := time.NewTimer(c.cfg.APDUTimeout)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err(), false
		case <-c.stop:
			return nil, errors.New("bacnet: client closed"), false
		case <-timer.C:
			return nil, nil, true
		case a := <-replies:
			if a.Service != req.Service && (a.Type == PDUSimpleACK || a.Type == PDUComplexACK || a.Type == PDUError) {
				// 20.1.4-7: an ACK or error names the service it answers.
				return nil, fmt.Errorf("bacnet: %s answered service %d to a request of service %d", p, a.Service, req.Service), false
			}
			switch a.Type {
			case PDUSimpleACK:
				return nil, nil, false
			case PDUComplexACK:
				if !a.Segmented {
					return a.Data, nil, false
				}
				out, err := c.reassemble(ctx, p, a, replies)
				return out, err, false
			case PDUError:
				e, err := DecodeError(a.Service, a.Data)
				if err != nil {
					return nil, fmt.Errorf("bacnet: %s: %w", p, err), false
				}
				return nil, e, false
			case PDUReject:
				return nil, &RejectError{Reason: a.Service}, false
			case PDUAbort:
				return nil, &AbortError{Reason: a.Service, Server: a.Server}, false
			}
			// A Segment-ACK answers segmented requests, which this client does not send.
		}
	}
}

// reassemble collects a segmented complex ACK whose first segment is first (5.4.4.2-3),
// acknowledging each window, until the last segment or four segment timeouts.
func (c *Client) reassemble(ctx context.Context, p Peer, first APDU, replies chan APDU) ([]byte, error) {
	var r reassembly
	a := first
	for {
		ack, done, err := r.add(a, c.cfg.WindowSize)
		if ack != nil {
			if b, e := AppendAPDU(nil, *ack); e == nil {
				c.send(p, false, b)
			}
		}
		switch {
		case errors.Is(err, ErrOutOfWindow):
			// Discarded; the negative ACK asks for the rest again.
		case err != nil:
			c.abort(p, a.InvokeID, abortInvalidAPDUInThisState)
			return nil, fmt.Errorf("bacnet: segmented reply from %s: %w", p, err)
		case done:
			return r.data, nil
		}
		timer := time.NewTimer(4 * c.cfg.SegmentTimeout)
		select {
		case <-ctx.Done():
			timer.Stop()
			c.abort(p, a.InvokeID, abortOther)
			return nil, ctx.Err()
		case <-c.stop:
			timer.Stop()
			return nil, errors.New("bacnet: client closed")
		case <-timer.C:
			return nil, fmt.Errorf("%w: segment %d of a reply from %s did not come", ErrTimeout, r.next, p)
		case a = <-replies:
			timer.Stop()
			if a.Type == PDUAbort {
				return nil, &AbortError{Reason: a.Service, Server: a.Server}
			}
		}
	}
}

// abort ends a transaction from this side (20.1.9, SRV 0).
func (c *Client) abort(p Peer, id, reason uint8) {
	if b, err := AppendAPDU(nil, APDU{Type: PDUAbort, InvokeID: id, Service: reason}); err == nil {
		c.send(p, false, b)
	}
}

// begin takes the next free invoke id of the peer (20.1.2.6: an id identifies one
// outstanding request to one device; ids wrap at 256).
func (c *Client) begin(p Peer) (uint8, chan APDU, error) {
	k := p.key()
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextID[k]
	for range 256 {
		t := txKey{k, id}
		if _, busy := c.pending[t]; !busy {
			// Room for a whole window of segments arriving at once (5.2), and a few more.
			ch := make(chan APDU, int(c.cfg.WindowSize)+4)
			c.pending[t] = ch
			c.nextID[k] = id + 1
			return id, ch, nil
		}
		id++
	}
	return 0, nil, fmt.Errorf("bacnet: 256 requests to %s outstanding: every invoke id is in use", p)
}

func (c *Client) end(p Peer, id uint8) {
	c.mu.Lock()
	delete(c.pending, txKey{p.key(), id})
	c.mu.Unlock()
}

// peerMaxAPDU is the max APDU the peer announced in its I-Am, or ours when it has not been
// heard (a request too long for it is then aborted or rejected by the device).
func (c *Client) peerMaxAPDU(p Peer) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, ok := c.known[p.key()]; ok && i.MaxAPDU >= 50 {
		return int(i.MaxAPDU)
	}
	return c.cfg.MaxAPDU
}

// Known is the I-Am a peer sent, if it has been heard.
func (c *Client) Known(p Peer) (IAm, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.known[p.key()]
	return i, ok
}

// Learn records what a peer accepts without a Who-Is (a configured device).
func (c *Client) Learn(p Peer, i IAm) {
	c.mu.Lock()
	c.known[p.key()] = i
	c.mu.Unlock()
}

// send writes one APDU to the peer in an Original-Unicast-NPDU (J.2.11).
func (c *Client) send(p Peer, expectingReply bool, apdu []byte) error {
	n := NPDU{ExpectingReply: expectingReply, APDU: apdu}
	if p.Route != nil {
		n.Dest, n.HopCount = p.Route, DefaultHopCount
	}
	b, err := AppendNPDU(nil, n)
	if err != nil {
		return err
	}
	if b, err = AppendBVLC(nil, BVLC{Function: BVLCOriginalUnicastNPDU, NPDU: b}); err != nil {
		return err
	}
	if _, err := c.conn.WriteToUDPAddrPort(b, p.Addr); err != nil {
		return fmt.Errorf("bacnet: send to %s: %w", p, err)
	}
	return nil
}

// Broadcast sends an unconfirmed request to every device: through the BBMD as a
// Distribute-Broadcast-To-Network when registered as a foreign device (J.5: a foreign
// device is not on the BBMD's subnet, so its own broadcasts reach no one), otherwise as an Original-Broadcast-NPDU (J.2.12) to
// dest, a broadcast address such as 255.255.255.255:47808. network is a DNET to reach
// behind routers (GlobalBroadcast for all), 0 for the local network only.
func (c *Client) Broadcast(dest netip.AddrPort, network uint16, service uint8, data []byte) error {
	apdu, _ := AppendAPDU(nil, APDU{Type: PDUUnconfirmedRequest, Service: service, Data: data})
	n := NPDU{APDU: apdu}
	if network != 0 {
		n.Dest, n.HopCount = &Address{Net: network}, DefaultHopCount
	}
	b, err := AppendNPDU(nil, n)
	if err != nil {
		return err
	}
	fn := BVLCOriginalBroadcastNPDU
	c.mu.Lock()
	if c.bbmd.IsValid() {
		fn, dest = BVLCDistributeBroadcastToNetwork, c.bbmd
	}
	c.mu.Unlock()
	if b, err = AppendBVLC(nil, BVLC{Function: fn, NPDU: b}); err != nil {
		return err
	}
	if _, err := c.conn.WriteToUDPAddrPort(b, dest); err != nil {
		return fmt.Errorf("bacnet: broadcast to %s: %w", dest, err)
	}
	return nil
}

// WhoIs broadcasts a Who-Is (16.10) and collects the I-Am that come within wait, one per
// device, in the order heard. network is as for Broadcast. A Who-Is for one instance returns
// as soon as that device answers: instances are unique in an internetwork (12.11.1).
func (c *Client) WhoIs(ctx context.Context, dest netip.AddrPort, network uint16, w WhoIs, wait time.Duration) ([]Found, error) {
	ch := make(chan Found, 64)
	c.mu.Lock()
	c.iams[ch] = struct{}{}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.iams, ch)
		c.mu.Unlock()
	}()
	if err := c.Broadcast(dest, network, ServiceWhoIs, AppendWhoIs(nil, w)); err != nil {
		return nil, err
	}
	var found []Found
	seen := map[ObjectID]bool{}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return found, ctx.Err()
		case <-timer.C:
			return found, nil
		case f := <-ch:
			inRange := w.Low < 0 || (f.Device.Instance >= uint32(w.Low) && f.Device.Instance <= uint32(w.High))
			if !seen[f.Device] && inRange {
				seen[f.Device] = true
				found = append(found, f)
				if w.Low >= 0 && w.Low == w.High {
					return found, nil
				}
			}
		}
	}
}

// RegisterForeignDevice registers with a BBMD for ttl (J.5, J.2.6) and keeps the registration
// alive until Close, registering again each half ttl (ours: half leaves a lost refresh time to
// be tried again before the BBMD drops the entry). Broadcasts go
// through the BBMD from then on.
func (c *Client) RegisterForeignDevice(ctx context.Context, bbmd netip.AddrPort, ttl time.Duration) error {
	secs := int(ttl / time.Second)
	if secs < 1 || secs > 0xffff {
		return fmt.Errorf("bacnet: foreign-device ttl %v: want 1 s to 65535 s (J.2.6)", ttl)
	}
	if err := c.register(ctx, bbmd, uint16(secs)); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.stop:
		return errors.New("bacnet: client closed")
	default:
	}
	if !c.bbmd.IsValid() {
		// Added under mu, which Close takes before it stops: never after Close's Wait.
		c.wg.Add(1)
		go c.refresh(bbmd, uint16(secs), ttl/2)
	}
	c.bbmd = bbmd
	return nil
}

func (c *Client) refresh(bbmd netip.AddrPort, ttl uint16, every time.Duration) {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.after(every):
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		if err := c.register(ctx, bbmd, ttl); err != nil {
			c.cfg.Log.Warn("bacnet foreign-device registration not renewed", "bbmd", bbmd, "error", err)
		}
		cancel()
	}
}

// register sends Register-Foreign-Device (J.2.6) and waits for the BBMD's BVLC-Result
// (J.2.1), trying as a confirmed request is tried.
func (c *Client) register(ctx context.Context, bbmd netip.AddrPort, ttl uint16) error {
	b, _ := AppendBVLC(nil, BVLC{Function: BVLCRegisterForeignDevice, TTL: ttl})
	for try := 0; try <= c.cfg.Retries; try++ {
		if _, err := c.conn.WriteToUDPAddrPort(b, bbmd); err != nil {
			return fmt.Errorf("bacnet: register with bbmd %s: %w", bbmd, err)
		}
		timer := time.NewTimer(c.cfg.APDUTimeout)
	wait:
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return ctx.Err()
			case <-c.stop:
				timer.Stop()
				return errors.New("bacnet: client closed")
			case <-timer.C:
				break wait
			case r := <-c.results:
				if r.from != bbmd {
					continue
				}
				timer.Stop()
				if r.code == ResultSuccessful {
					return nil
				}
				return fmt.Errorf("bacnet: bbmd %s refused the foreign-device registration (result 0x%04x, J.2.1.1): "+
					"enable foreign devices on it or name another bbmd", bbmd, r.code)
			}
		}
	}
	return fmt.Errorf("%w from bbmd %s to Register-Foreign-Device", ErrTimeout, bbmd)
}

// read is the receiving goroutine: every datagram is decoded and handed on; what does not
// decode is dropped, as a datagram on a shared port may be anything.
func (c *Client) read() {
	defer c.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := c.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			select {
			case <-c.stop:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if !strings.Contains(err.Error(), "refused") {
				c.cfg.Log.Debug("bacnet read", "error", err)
			}
			continue
		}
		c.handle(from, append([]byte(nil), buf[:n]...))
	}
}

// handle dispatches one datagram.
func (c *Client) handle(from netip.AddrPort, b []byte) {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	m, err := DecodeBVLC(b)
	if err != nil {
		return
	}
	switch m.Function {
	case BVLCResult:
		select {
		case c.results <- bvlcResult{from, m.Result}:
		default:
		}
		return
	case BVLCForwardedNPDU:
		// J.2.9: a broadcast the BBMD passed on; the original source is in the message.
		from = m.Origin
	case BVLCOriginalUnicastNPDU, BVLCOriginalBroadcastNPDU:
	default:
		return
	}
	n, err := DecodeNPDU(m.NPDU)
	if err != nil || n.NetworkMessage {
		return
	}
	p := Peer{Addr: from, Route: n.Source}
	a, err := DecodeAPDU(n.APDU)
	if err != nil {
		return
	}
	switch a.Type {
	case PDUUnconfirmedRequest:
		c.unconfirmed(p, a)
	case PDUConfirmedRequest:
		c.confirmed(p, a)
	default:
		c.mu.Lock()
		ch := c.pending[txKey{p.key(), a.InvokeID}]
		c.mu.Unlock()
		if ch == nil {
			return // a late reply to a request given up
		}
		select {
		case ch <- a:
		default:
		}
	}
}

func (c *Client) unconfirmed(p Peer, a APDU) {
	switch a.Service {
	case ServiceIAm:
		i, err := DecodeIAm(a.Data)
		if err != nil {
			return
		}
		f := Found{IAm: i, Peer: p}
		c.mu.Lock()
		c.known[p.key()] = i
		for ch := range c.iams {
			select {
			case ch <- f:
			default:
			}
		}
		c.mu.Unlock()
		if c.cfg.OnIAm != nil {
			c.cfg.OnIAm(f)
		}
	case ServiceUnconfirmedCOVNotification:
		if n, err := DecodeCOVNotification(a.Data); err == nil && c.cfg.OnCOV != nil {
			n.From = p
			c.cfg.OnCOV(n)
		}
	}
}

// confirmed answers a confirmed request from a device: a COV notification is handed on and
// acknowledged with a Simple-ACK (13.7.2); anything else is rejected (20.1.8).
func (c *Client) confirmed(p Peer, a APDU) {
	reply := APDU{Type: PDUReject, InvokeID: a.InvokeID, Service: RejectUnrecognizedService}
	switch {
	case a.Segmented:
		reply = APDU{Type: PDUAbort, Server: true, InvokeID: a.InvokeID, Service: AbortSegmentationNotSupported}
	case a.Service == ServiceConfirmedCOVNotification && c.cfg.OnCOV != nil:
		n, err := DecodeCOVNotification(a.Data)
		if err != nil {
			reply.Service = 4 // invalid-tag (21, BACnetRejectReason)
			break
		}
		n.From, n.Confirmed = p, true
		c.cfg.OnCOV(n)
		reply = APDU{Type: PDUSimpleACK, InvokeID: a.InvokeID, Service: a.Service}
	}
	if b, err := AppendAPDU(nil, reply); err == nil {
		c.send(p, false, b)
	}
}
