package bacnet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ReadProperty reads one property (ASHRAE 135-2020, 15.5) and returns its values: one for a
// plain property, several for an array or list read whole.
func (c *Client) ReadProperty(ctx context.Context, p Peer, o ObjectID, prop PropertyID, index uint32) ([]Value, error) {
	ref := ReadPropertyRequest{Object: o, Property: prop, Index: index}
	b, err := c.Request(ctx, p, ServiceReadProperty, AppendReadProperty(nil, ref))
	if err != nil {
		return nil, err
	}
	ack, err := DecodeReadPropertyACK(b)
	if err != nil {
		return nil, fmt.Errorf("bacnet: %s: %w", p, err)
	}
	if ack.ReadPropertyRequest != ref {
		return nil, fmt.Errorf("bacnet: %s answered a read of %s property %d with %s property %d",
			p, o, prop, ack.Object, ack.Property)
	}
	return ack.Values, nil
}

// unknownMaxAPDU is what a device that has sent no I-Am is taken to accept (ours: 480 is
// the commonest size among field controllers, and a smaller guess costs only more requests;
// a device that does not fit aborts and the read is split again).
const unknownMaxAPDU = 480

// Reply size estimates for splitting a ReadPropertyMultiple (ours, from 20.2's encodings):
// an object's part of the ACK costs its identifier and the opening and closing of its list;
// a property its identifier, the opening and closing of its value and the value, which is at
// most 5 octets for a real, enumeration or bit string and a short name for a string.
const (
	rpmObjectCost   = 7
	rpmPropertyCost = 5
	rpmValueCost    = 10
	rpmNameCost     = 40
	rpmHeaderCost   = 5 // complex ACK header, segmented (20.1.5)
)

func estimate(r ReadPropertyRequest) int {
	switch {
	case r.Property == PropObjectName || r.Property == 28: // 28: description (21)
		return rpmPropertyCost + rpmNameCost
	case r.Property == PropPriorityArray && r.Index == NoIndex:
		return rpmPropertyCost + 16*rpmValueCost/2
	case r.Property == PropObjectList && r.Index == NoIndex:
		return rpmPropertyCost + 1024 // a whole object list: read it by index instead
	}
	return rpmPropertyCost + rpmValueCost
}

// replyBudget is the longest reply the peer can send this client: one APDU of the smaller of
// the two maxima, or as many as the segments both accept when the device can transmit
// segmented (5.2, 20.1.2.4; I-Am's segmentation, 16.10.2.1).
func (c *Client) replyBudget(p Peer) int {
	i, ok := c.Known(p)
	max, seg := unknownMaxAPDU, NoSegmentation
	if ok && i.MaxAPDU >= 50 {
		max, seg = int(i.MaxAPDU), i.Segmentation
	}
	max = min(max, c.cfg.MaxAPDU)
	if (seg == SegmentedBoth || seg == SegmentedTransmit) && c.cfg.MaxSegments > 1 {
		return max * c.cfg.MaxSegments
	}
	return max
}

// splitRefs cuts refs into runs whose estimated reply fits budget (and whose request fits
// one APDU of the same size).
func splitRefs(refs []ReadPropertyRequest, budget, reqBudget int) [][]ReadPropertyRequest {
	var out [][]ReadPropertyRequest
	var cur []ReadPropertyRequest
	size, req := rpmHeaderCost, 4
	for _, r := range refs {
		add, addReq := estimate(r), 4
		if len(cur) == 0 || cur[len(cur)-1].Object != r.Object {
			add, addReq = add+rpmObjectCost, addReq+7
		}
		if len(cur) > 0 && (size+add > budget || req+addReq > reqBudget) {
			out, cur, size, req = append(out, cur), nil, rpmHeaderCost, 4
			add, addReq = estimate(r)+rpmObjectCost, 11
		}
		cur, size, req = append(cur, r), size+add, req+addReq
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// ReadProperties reads many properties of one device with as few requests as fit: in
// ReadPropertyMultiple requests (15.7) split by what the device's max-APDU and segmentation
// allow, split further when the device aborts for length, and read one by one with
// ReadProperty when the device does not offer ReadPropertyMultiple (it rejects or refuses the
// service). The results are in the order of refs; a property the device refused carries its
// error and the rest are still good. The error is for the read as a whole (the device did
// not answer).
func (c *Client) ReadProperties(ctx context.Context, p Peer, refs []ReadPropertyRequest) ([]PropertyResult, error) {
	out := make([]PropertyResult, 0, len(refs))
	budget := c.replyBudget(p)
	for _, group := range splitRefs(refs, budget, min(budget, c.peerMaxAPDU(p))) {
		res, err := c.readGroup(ctx, p, group)
		if err != nil {
			return out, err
		}
		out = append(out, res...)
	}
	return out, nil
}

// readGroup reads one run of refs, halving it when the reply is too long for the device.
func (c *Client) readGroup(ctx context.Context, p Peer, refs []ReadPropertyRequest) ([]PropertyResult, error) {
	if c.noRPM(p) {
		return c.readEach(ctx, p, refs)
	}
	b, err := c.Request(ctx, p, ServiceReadPropertyMultiple, AppendReadPropertyMultiple(nil, refs))
	var ab *AbortError
	var rej *RejectError
	var e *Error
	switch {
	case err == nil:
		res, err := DecodeReadPropertyMultipleACK(b)
		if err != nil {
			return nil, fmt.Errorf("bacnet: %s: %w", p, err)
		}
		return matchResults(p, refs, res)
	case errors.As(err, &ab) && ab.TooLong(), errors.As(err, &rej) && rej.Reason == 1:
		// 21, BACnetAbortReason and BACnetRejectReason: the reply did not fit; halve.
		if len(refs) == 1 {
			return c.readEach(ctx, p, refs)
		}
		first, err := c.readGroup(ctx, p, refs[:len(refs)/2])
		if err != nil {
			return nil, err
		}
		rest, err := c.readGroup(ctx, p, refs[len(refs)/2:])
		return append(first, rest...), err
	case errors.As(err, &rej) && rej.Reason == RejectUnrecognizedService,
		errors.As(err, &e) && e.Class == 5: // 18.6: class services, the service is not offered
		c.mu.Lock()
		c.plain[p.key()] = true
		c.mu.Unlock()
		return c.readEach(ctx, p, refs)
	}
	return nil, err
}

// matchResults puts the ACK's results in the order of refs and checks that each was answered.
func matchResults(p Peer, refs []ReadPropertyRequest, res []PropertyResult) ([]PropertyResult, error) {
	if len(res) != len(refs) {
		return nil, fmt.Errorf("bacnet: %s answered %d of %d properties", p, len(res), len(refs))
	}
	for i := range refs {
		if res[i].ReadPropertyRequest != refs[i] {
			return nil, fmt.Errorf("bacnet: %s answered %s property %d where %s property %d was asked",
				p, res[i].Object, res[i].Property, refs[i].Object, refs[i].Property)
		}
	}
	return res, nil
}

// readEach reads refs one ReadProperty at a time; what the device answered for a property
// (an error, or an abort because that one value does not fit) stays with that property.
func (c *Client) readEach(ctx context.Context, p Peer, refs []ReadPropertyRequest) ([]PropertyResult, error) {
	out := make([]PropertyResult, 0, len(refs))
	for _, r := range refs {
		v, err := c.ReadProperty(ctx, p, r.Object, r.Property, r.Index)
		var e *Error
		var ab *AbortError
		if err != nil && !errors.As(err, &e) && !(errors.As(err, &ab) && ab.TooLong()) {
			return out, err
		}
		out = append(out, PropertyResult{ReadPropertyRequest: r, Values: v, Err: err})
	}
	return out, nil
}

func (c *Client) noRPM(p Peer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.plain[p.key()]
}

// WriteProperty is the request of WriteProperty (15.9.1.1): Priority 1 (highest) to 16 for
// a commandable property, 0 to send none (the device then uses 16, 15.9.1.1.5).
type WriteProperty struct {
	ReadPropertyRequest
	Value    Value
	Priority uint8
}

// AppendWriteProperty appends the service request: [0] object, [1] property, [2] index, [3]
// value, [4] priority (15.9.1.1).
func AppendWriteProperty(dst []byte, w WriteProperty) []byte {
	dst = AppendReadProperty(dst, w.ReadPropertyRequest)
	dst = AppendOpening(dst, 3)
	dst = AppendValue(dst, w.Value)
	dst = AppendClosing(dst, 3)
	if w.Priority != 0 {
		dst = AppendContext(dst, 4, Value{Kind: KindUnsigned, Uint: uint64(w.Priority)})
	}
	return dst
}

// DecodeWriteProperty reads the request (for the simulator).
func DecodeWriteProperty(b []byte) (WriteProperty, error) {
	r := &reader{b: b}
	ref, err := r.propertyRef()
	if err != nil {
		return WriteProperty{}, fmt.Errorf("writeproperty: %w", err)
	}
	w := WriteProperty{ReadPropertyRequest: ref}
	vs, err := r.valuesIn(3)
	if err != nil {
		return w, fmt.Errorf("writeproperty %s: %w", ref.Object, err)
	}
	if len(vs) != 1 {
		return w, fmt.Errorf("writeproperty %s: %d values, want 1", ref.Object, len(vs))
	}
	w.Value = vs[0]
	pr, ok, err := r.context(4, KindUnsigned)
	if err != nil {
		return w, fmt.Errorf("writeproperty %s: %w", ref.Object, err)
	}
	if ok {
		if pr.Uint < 1 || pr.Uint > 16 {
			return w, fmt.Errorf("writeproperty %s: priority %d (15.9.1.1.5: 1 to 16)", ref.Object, pr.Uint)
		}
		w.Priority = uint8(pr.Uint)
	}
	if r.p != len(b) {
		return w, fmt.Errorf("writeproperty: %d octets after the request", len(b)-r.p)
	}
	return w, nil
}

// Write writes a property, at a priority for a commandable one (15.9; the priority array,
// 19.2). The device answers with a Simple-ACK.
func (c *Client) Write(ctx context.Context, p Peer, w WriteProperty) error {
	if w.Priority > 16 {
		return fmt.Errorf("bacnet: write priority %d: want 1 (highest) to 16 (15.9.1.1.5), or 0 for none", w.Priority)
	}
	_, err := c.Request(ctx, p, ServiceWriteProperty, AppendWriteProperty(nil, w))
	return err
}

// Relinquish gives up this writer's command of o's present value at priority: it writes NULL
// there (19.2.1.2), and the next priority in the array, or the relinquish default, takes over.
func (c *Client) Relinquish(ctx context.Context, p Peer, o ObjectID, priority uint8) error {
	if priority < 1 || priority > 16 {
		return fmt.Errorf("bacnet: relinquish priority %d: want 1 to 16 (19.2.1.2)", priority)
	}
	return c.Write(ctx, p, WriteProperty{ReadPropertyRequest: ReadPropertyRequest{Object: o, Property: PropPresentValue, Index: NoIndex},
		Value: Value{Kind: KindNull}, Priority: priority})
}

// Subscribe sends SubscribeCOV (13.14); the device acknowledges with a Simple-ACK and sends
// notifications to this client until the lifetime runs out.
func (c *Client) Subscribe(ctx context.Context, p Peer, s SubscribeCOV) error {
	_, err := c.Request(ctx, p, ServiceSubscribeCOV, AppendSubscribeCOV(nil, s))
	return err
}

// DefaultCOVLifetime is the lifetime asked for a subscription (ours: 5 minutes, renewed each
// half, so that a device that restarted and forgot its subscriptions, 13.14.1.4, sends
// notifications again within 2.5 minutes, for one short request per point per 2.5 minutes).
const DefaultCOVLifetime = 5 * time.Minute

// covRetry is how soon a failed subscription is tried again (ours: a device that refused or
// did not answer gets another chance within a minute, without a storm of requests).
const covRetry = time.Minute

// Subscriptions keeps COV subscriptions alive: each is renewed at half its lifetime, and one
// that failed is tried again after covRetry. Renew does the sends; what is due is a pure
// function of each subscription's state and the time (due).
type Subscriptions struct {
	Client    *Client
	ProcessID uint32
	Lifetime  time.Duration // DefaultCOVLifetime when zero
	Confirmed bool
	Now       func() time.Time // time.Now when nil

	mu    sync.Mutex
	subs  map[subKey]*subState
	sends int // SubscribeCOV requests sent, for the source's metrics
}

type subKey struct {
	peer   string
	object ObjectID
}

type subState struct {
	peer Peer
	ok   bool      // the last subscription was acknowledged
	at   time.Time // when it was last sent
	err  error
	// noCOV: the device said it cannot notify this object; it is polled instead and not
	// asked again.
	noCOV bool
}

// due reports whether a subscription should be sent now: never sent, half its lifetime gone
// since acknowledged, or covRetry gone since it failed.
func due(s subState, now time.Time, lifetime time.Duration) bool {
	switch {
	case s.noCOV:
		return false
	case s.at.IsZero():
		return true
	case s.ok:
		return now.Sub(s.at) >= lifetime/2
	}
	return now.Sub(s.at) >= covRetry
}

// Add starts keeping a subscription to o on p (sent on the next Renew).
func (s *Subscriptions) Add(p Peer, o ObjectID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs == nil {
		s.subs = map[subKey]*subState{}
	}
	if _, ok := s.subs[subKey{p.key(), o}]; !ok {
		s.subs[subKey{p.key(), o}] = &subState{peer: p}
	}
}

// Renew sends the subscriptions that are due and returns the errors of those that failed,
// each naming its device and object. A device's refusal of COV for an object is not an error:
// that point is Polled from then on.
func (s *Subscriptions) Renew(ctx context.Context) []error {
	life := s.Lifetime
	if life <= 0 {
		life = DefaultCOVLifetime
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	s.mu.Lock()
	var todo []subKey
	for k, st := range s.subs {
		if due(*st, now, life) {
			todo = append(todo, k)
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, k := range todo {
		s.mu.Lock()
		p := s.subs[k].peer
		s.mu.Unlock()
		err := s.Client.Subscribe(ctx, p, SubscribeCOV{ProcessID: s.ProcessID, Object: k.object,
			Confirmed: s.Confirmed, Lifetime: uint32(life / time.Second)})
		s.mu.Lock()
		*s.subs[k] = subState{peer: p, ok: err == nil, at: now, err: err, noCOV: covRefused(err)}
		s.sends++
		s.mu.Unlock()
		if err != nil && !covRefused(err) {
			errs = append(errs, fmt.Errorf("subscribe-cov %s on %s: %w", k.object, p, err))
		}
	}
	return errs
}

// sent is how many SubscribeCOV requests Renew has sent.
func (s *Subscriptions) sent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sends
}

// Polled reports a point whose device refused COV for it: it is to be polled instead. Until
// the first answer a point counts as COV.
func (s *Subscriptions) Polled(p Peer, o ObjectID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.subs[subKey{p.key(), o}]
	return ok && st.noCOV
}

// Restarted marks every subscription to p as due, for a device known to have restarted (it
// announced itself with an I-Am, or its uptime went back): its subscriptions are gone
// (13.14), and the next Renew makes them again instead of waiting for half their lifetime.
// Points the device refused COV for stay polled.
func (s *Subscriptions) Restarted(p Peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.subs {
		if k.peer == p.key() && !st.noCOV {
			st.at = time.Time{}
		}
	}
}

// covRefused reports an answer to SubscribeCOV that says the device will never notify this
// object: it does not offer the service (20.1.8, unrecognized-service), or not for this
// object or property (18, cov-subscription-failed 43, not-cov-property 44,
// optional-functionality-not-supported 45). Other errors (a timeout, resources) are tried
// again.
func covRefused(err error) bool {
	var rej *RejectError
	var e *Error
	switch {
	case errors.As(err, &rej):
		return rej.Reason == RejectUnrecognizedService
	case errors.As(err, &e):
		return e.Code == 43 || e.Code == 44 || e.Code == 45
	}
	return false
}

// Run renews every interval until ctx ends, logging failures.
func (s *Subscriptions) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, err := range s.Renew(ctx) {
			s.Client.cfg.Log.Warn("bacnet cov subscription", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
