package bacnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// SourceConfig is what a Source is opened with.
type SourceConfig struct {
	// Client is the endpoint's configuration; its OnCOV and OnIAm are the source's.
	Client ClientConfig
	// Broadcast is where a Who-Is for a device configured by instance alone goes.
	Broadcast netip.AddrPort
	// BBMD, if valid, is registered with as a foreign device for BBMDTTL (J.5).
	BBMD    netip.AddrPort
	BBMDTTL time.Duration
	// COVLifetime is each subscription's lifetime (DefaultCOVLifetime when zero).
	COVLifetime time.Duration
	// WhoIsWait bounds a Who-Is for one device (3 s when zero).
	WhoIsWait time.Duration
	// Now is the clock of readings and of subscriptions' lifetimes; tests step a fake one.
	Now func() time.Time
	// Metrics counts what the source sends and hears (NewMetrics); nil: counted nowhere.
	Metrics *Metrics
	Log     *slog.Logger
}

// covProcess is the subscriber process identifier of every subscription the source makes
// (13.14.1.1.1: the subscriber's own number, echoed in each notification).
const covProcess = 0xFD

// livenessEvery is how many intervals a device whose points are all kept by COV may stay
// silent before the source reads one property to know it is still there (ours: ten, so COV
// points cost a request only every ten intervals while unchanged, and comm loss is still
// raised within ten intervals plus offline_after).
const livenessEvery = 10

// Source reads BACnet devices as their profiles map them: points kept by COV are subscribed to
// and cost nothing while unchanged, the others are polled every interval; each change and each
// poll reaches the handler as a snapshot of the whole device, and a device that stops
// answering goes offline as a Modbus device does. It owns one Client and one goroutine per
// device; Run starts and stops them.
type Source struct {
	cfg    SourceConfig
	handle devices.Handler
	devs   []*sourceDevice
	log    *slog.Logger

	mu     sync.Mutex
	client *Client
}

// sourceDevice is one device and what the source knows of it.
type sourceDevice struct {
	dev    *devices.Device
	refs   []ReadPropertyRequest // one per profile point
	subs   *Subscriptions
	device ObjectID

	mu       sync.Mutex
	peer     Peer
	found    bool
	values   []devices.Value
	have     []bool // a point's value is known (read, or notified since)
	failures int
	comm     devices.Comm
	heard    time.Time // last answer or notification
}

// NewSource checks every BACnet device's profile against this package (objects and properties
// it can name) and builds the source; nothing is sent before Run.
func NewSource(devs []*devices.Device, handle devices.Handler, cfg SourceConfig) (*Source, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WhoIsWait <= 0 {
		cfg.WhoIsWait = 3 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	s := &Source{cfg: cfg, handle: handle, log: cfg.Log}
	var errs []error
	for _, d := range devs {
		if d.BACnet == nil || d.Profile == nil {
			continue
		}
		sd := &sourceDevice{dev: d, device: ObjectID{Type: ObjectDevice, Instance: d.BACnet.Instance},
			values: make([]devices.Value, len(d.Profile.Points)), have: make([]bool, len(d.Profile.Points))}
		for i := range d.Profile.Points {
			pt := &d.Profile.Points[i]
			o, err := ParseObjectID(pt.Object)
			if err != nil {
				errs = append(errs, fmt.Errorf("device %s point %s: %w", d.ID, pt.Name, err))
				continue
			}
			prop, err := ParsePropertyID(pt.BACnetProperty())
			if err != nil {
				errs = append(errs, fmt.Errorf("device %s point %s: %w", d.ID, pt.Name, err))
				continue
			}
			sd.refs = append(sd.refs, ReadPropertyRequest{Object: o, Property: prop, Index: NoIndex})
		}
		s.devs = append(s.devs, sd)
	}
	return s, errors.Join(errs...)
}

// Empty reports a source with no device to read: the daemon then opens no socket.
func (s *Source) Empty() bool { return len(s.devs) == 0 }

// Run opens the client, registers with the BBMD if one is configured, and reads every device
// until ctx ends; then it closes the client.
func (s *Source) Run(ctx context.Context) error {
	if s.Empty() {
		<-ctx.Done()
		return nil
	}
	cc := s.cfg.Client
	cc.OnCOV, cc.OnIAm = s.onCOV, s.onIAm
	if cc.Log == nil {
		cc.Log = s.log
	}
	c, err := Listen(cc)
	if err != nil {
		return fmt.Errorf("bacnet: %w (set bacnet.local)", err)
	}
	defer c.Close()
	s.mu.Lock()
	s.client = c
	s.mu.Unlock()
	for _, d := range s.devs {
		d.subs = s.newSubscriptions(c)
	}
	if s.cfg.BBMD.IsValid() {
		if err := c.RegisterForeignDevice(ctx, s.cfg.BBMD, s.cfg.BBMDTTL); err != nil {
			// Devices with an address are read all the same; Who-Is waits for the BBMD.
			s.log.Warn("bacnet foreign device registration", "bbmd", s.cfg.BBMD, "error", err)
		}
	}
	var wg sync.WaitGroup
	for _, d := range s.devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, c, d)
		}()
	}
	wg.Wait()
	return nil
}

// newSubscriptions is an empty set of subscriptions as the source keeps them: confirmed
// notifications (13.6: the device knows each one arrived, and sends it again if not).
func (s *Source) newSubscriptions(c *Client) *Subscriptions {
	return &Subscriptions{Client: c, ProcessID: covProcess, Lifetime: s.cfg.COVLifetime, Confirmed: true, Now: s.cfg.Now}
}

// loop reads one device every interval until ctx ends.
func (s *Source) loop(ctx context.Context, c *Client, d *sourceDevice) {
	t := time.NewTicker(d.dev.Interval)
	defer t.Stop()
	for {
		if snap := s.cycle(ctx, c, d); snap != nil {
			s.handle(snap)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// cycle is one interval of one device: find it, keep its subscriptions, read what is polled
// (and what COV has not told yet), and say what came of it. A cycle with nothing to send
// returns nil: an unchanged device kept by COV costs nothing.
func (s *Source) cycle(ctx context.Context, c *Client, d *sourceDevice) *devices.Snapshot {
	// The poll bounds itself to the interval: a poll never runs into the next.
	ctx, cancel := context.WithTimeout(ctx, d.dev.Interval)
	defer cancel()
	start := s.cfg.Now()
	peer, err := s.locate(ctx, c, d)
	if err != nil {
		return s.failed(d, start, err)
	}
	var commErr error
	before := d.subs.sent()
	errs := d.subs.Renew(ctx)
	s.cfg.Metrics.subscriptions.Add(float64(d.subs.sent() - before))
	for _, err := range errs {
		if errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			commErr = fmt.Errorf("device %s at %s: %w", d.dev.ID, peer, err)
		} else {
			s.log.Warn("bacnet cov subscription", "device", d.dev.ID, "error", err)
		}
	}
	if commErr != nil {
		return s.failed(d, start, commErr)
	}
	todo := s.due(d, peer, start)
	if len(todo) == 0 {
		s.cfg.Metrics.cycles.WithLabelValues("idle").Inc()
		return nil
	}
	var refs []ReadPropertyRequest
	for _, i := range todo {
		refs = append(refs, d.refs[i])
		if d.refs[i].Property == PropPresentValue {
			refs = append(refs, ReadPropertyRequest{Object: d.refs[i].Object, Property: PropStatusFlags, Index: NoIndex})
		}
	}
	s.cfg.Metrics.reads.Inc()
	res, err := c.ReadProperties(ctx, peer, refs)
	if err != nil {
		return s.failed(d, start, fmt.Errorf("device %s at %s: %w", d.dev.ID, peer, err))
	}
	s.cfg.Metrics.cycles.WithLabelValues("ok").Inc()
	d.mu.Lock()
	defer d.mu.Unlock()
	var pointErr error
	k := 0
	for _, i := range todo {
		r := res[k]
		k++
		flags := StatusFlags{}
		if d.refs[i].Property == PropPresentValue {
			if f := res[k]; f.Err == nil && len(f.Values) == 1 {
				flags, _ = DecodeStatusFlags(f.Values[0])
			}
			k++
		}
		if r.Err != nil {
			d.values[i] = devices.Value{Quality: devices.QualityBad}
			pointErr = fmt.Errorf("device %s point %s (%s): %w", d.dev.ID, d.dev.Profile.Points[i].Name, d.refs[i].Object, r.Err)
			continue
		}
		d.values[i] = pointValue(&d.dev.Profile.Points[i], r.Values, flags)
		d.have[i] = true
	}
	return s.online(d, start, pointErr)
}

// locate is where the device answers: its address (and route), or what a Who-Is for its
// instance found, kept until the device goes offline.
func (s *Source) locate(ctx context.Context, c *Client, d *sourceDevice) (Peer, error) {
	d.mu.Lock()
	peer, found := d.peer, d.found
	d.mu.Unlock()
	if found {
		return peer, nil
	}
	b := d.dev.BACnet
	var route *Address
	if b.Network != 0 {
		route = &Address{Net: b.Network, MAC: b.MAC}
	}
	if b.Address != "" {
		ua, err := net.ResolveUDPAddr("udp4", b.Address)
		if err != nil {
			return Peer{}, fmt.Errorf("device %s: address %s: %w", d.dev.ID, b.Address, err)
		}
		// Unmapped: replies come from the IPv4 address, and are matched by it.
		peer = Peer{Addr: netip.AddrPortFrom(ua.AddrPort().Addr().Unmap(), ua.AddrPort().Port()), Route: route}
	} else {
		network := uint16(0)
		if route != nil {
			network = route.Net
		}
		wait := min(s.cfg.WhoIsWait, d.dev.Interval)
		got, err := c.WhoIs(ctx, s.cfg.Broadcast, network, WhoIs{Low: int32(b.Instance), High: int32(b.Instance)}, wait)
		if len(got) == 0 {
			if err == nil {
				err = ErrTimeout
			}
			return Peer{}, fmt.Errorf("device %s: no I-Am for instance %d from a Who-Is on %s: %w", d.dev.ID, b.Instance, s.cfg.Broadcast, err)
		}
		peer = got[0].Peer
	}
	d.mu.Lock()
	if d.peer != (Peer{}) && d.peer.key() != peer.key() {
		// Found somewhere else: the subscriptions to the old address go with it.
		d.subs = s.newSubscriptions(c)
	}
	d.peer, d.found = peer, true
	d.mu.Unlock()
	for i := range d.refs {
		if d.dev.Profile.Points[i].WantsCOV() {
			d.subs.Add(peer, d.refs[i].Object)
		}
	}
	return peer, nil
}

// due lists the points to read this cycle: every polled point, each COV point whose value is
// not known yet (at the start, after a restart or an outage) or whose device refused COV, and
// one COV point when the device has been silent for livenessEvery intervals.
func (s *Source) due(d *sourceDevice, peer Peer, now time.Time) []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	var todo []int
	for i := range d.refs {
		pt := &d.dev.Profile.Points[i]
		if !pt.WantsCOV() || !d.have[i] || d.subs.Polled(peer, d.refs[i].Object) {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 && now.Sub(d.heard) >= livenessEvery*d.dev.Interval && len(d.refs) > 0 {
		todo = append(todo, 0)
	}
	return todo
}

// failed counts a failed cycle: retrying, then offline with every point comm_fail once
// offline_after cycles in a row have failed (the same rule as devices/modbus). A device found
// by Who-Is is looked for again once offline: it may have moved.
func (s *Source) failed(d *sourceDevice, now time.Time, err error) *devices.Snapshot {
	s.cfg.Metrics.cycles.WithLabelValues("error").Inc()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failures, d.comm = commStep(d.failures, false, d.dev.OfflineAfter)
	snap := &devices.Snapshot{Device: d.dev, Time: now, Comm: d.comm, Err: err}
	if d.comm == devices.CommOffline {
		for i := range d.values {
			d.values[i] = devices.Value{Quality: devices.QualityCommFail}
			d.have[i] = false
		}
		snap.Values = append([]devices.Value(nil), d.values...)
		if d.failures == d.dev.OfflineAfter {
			s.log.Warn("device offline", "device", d.dev.ID, "failed_polls", d.failures, "err", err)
		}
		if d.dev.BACnet.Address == "" {
			d.found = false
		}
	}
	return snap
}

// online is the snapshot of a cycle that had answers; the caller holds d.mu. A device back
// from offline is subscribed again at once: its subscriptions may have lapsed meanwhile.
func (s *Source) online(d *sourceDevice, now time.Time, pointErr error) *devices.Snapshot {
	if d.comm == devices.CommOffline {
		s.log.Info("device back online", "device", d.dev.ID, "after_failed_polls", d.failures)
		d.subs.Restarted(d.peer)
	}
	d.failures, d.comm = commStep(d.failures, true, d.dev.OfflineAfter)
	d.heard = now
	return &devices.Snapshot{Device: d.dev, Time: now, Comm: d.comm, Err: pointErr, Values: append([]devices.Value(nil), d.values...),
		Latency: s.cfg.Now().Sub(now)}
}

// commStep is a device's communication state after one cycle: a pure function of the failures
// in a row before it, whether it succeeded, and offline_after.
func commStep(failures int, ok bool, offlineAfter int) (int, devices.Comm) {
	if ok {
		return 0, devices.CommOnline
	}
	failures++
	if failures >= offlineAfter {
		return failures, devices.CommOffline
	}
	return failures, devices.CommRetrying
}

// onCOV takes a change-of-value notification (13.6, 13.7): the points of that object take its
// present value and status flags, and the device's snapshot goes to the handler at once. It
// runs on the client's receiving goroutine and does not block.
func (s *Source) onCOV(n COVNotification) {
	if n.ProcessID != covProcess {
		return
	}
	s.cfg.Metrics.notifications.Inc()
	for _, d := range s.devs {
		if d.device != n.Device {
			continue
		}
		pv, ok := n.Value(PropPresentValue)
		if !ok {
			return
		}
		flags := StatusFlags{}
		if f, ok := n.Value(PropStatusFlags); ok {
			flags, _ = DecodeStatusFlags(f)
		}
		now := s.cfg.Now()
		d.mu.Lock()
		changed := false
		for i, r := range d.refs {
			if r.Object == n.Object && r.Property == PropPresentValue && d.dev.Profile.Points[i].WantsCOV() {
				d.values[i] = pointValue(&d.dev.Profile.Points[i], []Value{pv}, flags)
				d.have[i], changed = true, true
			}
		}
		// A device is shown whole: until every point is known (the first notifications
		// arrive as the subscriptions are made, 13.14.2), the next poll reads the rest.
		var snap *devices.Snapshot
		if changed && d.comm != devices.CommOffline && d.known() {
			snap = s.online(d, now, nil)
		}
		d.mu.Unlock()
		if snap != nil {
			s.handle(snap)
		}
		return
	}
}

// known reports whether every point's value is known; the caller holds d.mu.
func (d *sourceDevice) known() bool {
	for _, h := range d.have {
		if !h {
			return false
		}
	}
	return true
}

// onIAm hears a device announce itself: one of ours that does so unasked has restarted and
// forgotten its subscriptions (13.14), so they are made again and its COV points read once.
func (s *Source) onIAm(f Found) {
	for _, d := range s.devs {
		if d.device != f.Device {
			continue
		}
		d.mu.Lock()
		if d.found && d.subs != nil {
			d.subs.Restarted(d.peer)
			for i := range d.have {
				d.have[i] = false
			}
		}
		d.mu.Unlock()
	}
}

// pointValue is a point's value from what the device sent: a number (scaled as the profile
// says), a bool, a state code or a text, bad when the status flags say so (StatusFlags.Quality)
// or when the device sent a kind the point cannot read.
func pointValue(pt *devices.Point, vs []Value, flags StatusFlags) devices.Value {
	if len(vs) != 1 {
		return devices.Value{Quality: devices.QualityBad}
	}
	v := vs[0]
	q := flags.Quality()
	if pt.Type == devices.TypeString {
		if v.Kind != KindCharString {
			return devices.Value{Quality: devices.QualityBad}
		}
		return devices.Value{Text: v.String, Quality: q}
	}
	f, ok := v.Float()
	if !ok {
		return devices.Value{Quality: devices.QualityBad}
	}
	if !pt.IsBool() && pt.Type != devices.TypeEnum {
		f = f*pt.Scale + pt.Offset
	}
	return devices.Value{Number: f, Quality: q}
}
