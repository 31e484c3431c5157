package bacnet

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testutil"
)

// Each service's encoding decodes to what was encoded.
func TestBacnetServiceEncodings(t *testing.T) {
	refs := []ReadPropertyRequest{
		{Object: ObjectID{ObjectAnalogInput, 1}, Property: PropPresentValue, Index: NoIndex},
		{Object: ObjectID{ObjectAnalogInput, 1}, Property: PropStatusFlags, Index: NoIndex},
		{Object: ObjectID{ObjectDevice, 9}, Property: PropObjectList, Index: 3},
	}
	got, err := DecodeReadPropertyMultiple(AppendReadPropertyMultiple(nil, refs))
	if err != nil || !reflect.DeepEqual(got, refs) {
		t.Errorf("rpm request %+v %v", got, err)
	}
	res := []PropertyResult{
		{ReadPropertyRequest: refs[0], Values: []Value{{Kind: KindReal, Real: 21.5}}},
		{ReadPropertyRequest: refs[1], Err: ErrUnknownProperty},
		{ReadPropertyRequest: refs[2], Values: []Value{{Kind: KindObjectID, Object: ObjectID{ObjectAnalogValue, 2}}}},
	}
	back, err := DecodeReadPropertyMultipleACK(AppendReadPropertyMultipleACK(nil, res))
	if err != nil || len(back) != 3 || back[0].Values[0].Real != 21.5 || !errors.Is(back[1].Err, ErrUnknownProperty) ||
		back[2].Values[0].Object.Instance != 2 || back[2].Index != 3 {
		t.Errorf("rpm ack %+v %v", back, err)
	}
	w := WriteProperty{ReadPropertyRequest: refs[0], Value: Value{Kind: KindReal, Real: 18}, Priority: 8}
	if gw, err := DecodeWriteProperty(AppendWriteProperty(nil, w)); err != nil || !reflect.DeepEqual(gw, w) {
		t.Errorf("write %+v %v", gw, err)
	}
	for _, s := range []SubscribeCOV{{ProcessID: 1, Object: refs[0].Object, Confirmed: true, Lifetime: 300},
		{ProcessID: 1, Object: refs[0].Object, Cancel: true}} {
		if gs, err := DecodeSubscribeCOV(AppendSubscribeCOV(nil, s)); err != nil || gs != s {
			t.Errorf("subscribe %+v: %+v %v", s, gs, err)
		}
	}
	n := COVNotification{ProcessID: 1, Device: ObjectID{ObjectDevice, 9}, Object: refs[0].Object, TimeRemaining: 299,
		Values: []PropertyValue{
			{Property: PropPresentValue, Index: NoIndex, Values: []Value{{Kind: KindReal, Real: 22}}},
			{Property: PropStatusFlags, Index: NoIndex, Values: []Value{StatusFlags{Fault: true}.Value()}},
		}}
	gn, err := DecodeCOVNotification(AppendCOVNotification(nil, n))
	if err != nil || !reflect.DeepEqual(gn, n) {
		t.Errorf("cov %+v %v", gn, err)
	}
	sf, _ := gn.Value(PropStatusFlags)
	if f, err := DecodeStatusFlags(sf); err != nil || !f.Fault || f.InAlarm || f.Good() {
		t.Errorf("status flags %+v %v", f, err)
	}
	// Truncated inputs are errors, or (cut between objects) fewer results, which the client
	// refuses as an incomplete answer.
	full := AppendReadPropertyMultipleACK(nil, res)
	for i := 1; i < len(full); i++ {
		if got, err := DecodeReadPropertyMultipleACK(full[:i]); err == nil && len(got) == len(res) {
			t.Errorf("rpm ack cut at %d of %d: no error", i, len(full))
		}
	}
	cov := AppendCOVNotification(nil, n)
	for i := 1; i < len(cov); i++ {
		if _, err := DecodeCOVNotification(cov[:i]); err == nil {
			t.Errorf("cov cut at %d of %d: no error", i, len(cov))
		}
	}
}

// rpmDevice answers ReadPropertyMultiple from values (an unknown property gets an access
// error), or rejects it when plain, and ReadProperty in any case.
func rpmDevice(t *testing.T, values map[ReadPropertyRequest]Value, plain bool) func(h heard) [][]byte {
	return func(h heard) [][]byte {
		a := h.apdu
		reply := APDU{Type: PDUComplexACK, InvokeID: a.InvokeID, Service: a.Service}
		switch {
		case a.Service == ServiceReadPropertyMultiple && plain:
			reply = APDU{Type: PDUReject, InvokeID: a.InvokeID, Service: RejectUnrecognizedService}
		case a.Service == ServiceReadPropertyMultiple:
			refs, err := DecodeReadPropertyMultiple(a.Data)
			if err != nil {
				t.Error(err)
			}
			var res []PropertyResult
			for _, r := range refs {
				if v, ok := values[r]; ok {
					res = append(res, PropertyResult{ReadPropertyRequest: r, Values: []Value{v}})
				} else {
					res = append(res, PropertyResult{ReadPropertyRequest: r, Err: ErrUnknownProperty})
				}
			}
			reply.Data = AppendReadPropertyMultipleACK(nil, res)
		case a.Service == ServiceReadProperty:
			r, _ := (&reader{b: a.Data}).propertyRef()
			v, ok := values[r]
			if !ok {
				reply = APDU{Type: PDUError, InvokeID: a.InvokeID, Service: a.Service, Data: unhex(t, "91029120")}
			} else {
				reply.Data = AppendReadPropertyACK(nil, ReadPropertyACK{r, []Value{v}})
			}
		}
		return [][]byte{frame(t, reply, nil)}
	}
}

func TestBacnetReadPropertiesSplitsAndFallsBack(t *testing.T) {
	values := map[ReadPropertyRequest]Value{}
	var refs []ReadPropertyRequest
	for i := range 10 {
		r := ReadPropertyRequest{Object: ObjectID{ObjectAnalogInput, uint32(i)}, Property: PropPresentValue, Index: NoIndex}
		values[r] = Value{Kind: KindReal, Real: float32(i)}
		refs = append(refs, r, ReadPropertyRequest{Object: r.Object, Property: PropUnits, Index: NoIndex})
	}
	check := func(t *testing.T, res []PropertyResult, err error) {
		t.Helper()
		if err != nil || len(res) != 20 {
			t.Fatalf("%d results, %v", len(res), err)
		}
		for i, r := range res {
			if i%2 == 0 && (r.Err != nil || r.Values[0].Real != float32(i/2)) {
				t.Errorf("result %d: %+v", i, r)
			}
			// Units were not there: the error stays with that property alone.
			if i%2 == 1 && !errors.Is(r.Err, ErrUnknownProperty) {
				t.Errorf("result %d: %+v", i, r)
			}
		}
	}
	t.Run("max-apdu 50, no segmentation", func(t *testing.T) {
		r := newResponder(t, rpmDevice(t, values, false))
		c := newClient(t, ClientConfig{})
		c.Learn(r.peer(), IAm{Device: ObjectID{ObjectDevice, 1}, MaxAPDU: 50, Segmentation: NoSegmentation})
		res, err := c.ReadProperties(context.Background(), r.peer(), refs)
		check(t, res, err)
		seen := r.heard()
		if len(seen) < 5 {
			t.Errorf("%d requests for 20 properties within 50 octets", len(seen))
		}
		for _, h := range seen {
			if h.apdu.Service != ServiceReadPropertyMultiple {
				t.Errorf("service %d", h.apdu.Service)
			}
		}
	})
	t.Run("large max-apdu: one request", func(t *testing.T) {
		r := newResponder(t, rpmDevice(t, values, false))
		c := newClient(t, ClientConfig{})
		c.Learn(r.peer(), IAm{Device: ObjectID{ObjectDevice, 1}, MaxAPDU: 1476, Segmentation: NoSegmentation})
		res, err := c.ReadProperties(context.Background(), r.peer(), refs)
		check(t, res, err)
		if n := len(r.heard()); n != 1 {
			t.Errorf("%d requests", n)
		}
	})
	t.Run("no ReadPropertyMultiple", func(t *testing.T) {
		r := newResponder(t, rpmDevice(t, values, true))
		c := newClient(t, ClientConfig{})
		res, err := c.ReadProperties(context.Background(), r.peer(), refs)
		check(t, res, err)
		// Rejected once, then ReadProperty alone: the device is remembered.
		before := len(r.heard())
		c.ReadProperties(context.Background(), r.peer(), refs[:2])
		seen := r.heard()
		if seen[0].apdu.Service != ServiceReadPropertyMultiple || len(seen)-before != 2 ||
			seen[len(seen)-1].apdu.Service != ServiceReadProperty {
			t.Errorf("%d requests after the fallback", len(seen)-before)
		}
	})
}

// A confirmed COV notification reaches the callback and is acknowledged (13.6.2); an
// unconfirmed one reaches it too.
func TestBacnetCOVNotificationsDelivered(t *testing.T) {
	var got testutil.Recorder[COVNotification]
	c := newClient(t, ClientConfig{OnCOV: func(n COVNotification) { got.Add(n) }})
	n := COVNotification{ProcessID: 1, Device: ObjectID{ObjectDevice, 9}, Object: ObjectID{ObjectAnalogValue, 1},
		Values: []PropertyValue{{Property: PropPresentValue, Index: NoIndex, Values: []Value{{Kind: KindReal, Real: 3}}}}}
	var acks testutil.Recorder[APDU]
	dev := newResponder(t, func(h heard) [][]byte { acks.Add(h.apdu); return nil })
	send := func(a APDU) {
		dev.conn.WriteToUDPAddrPort(frame(t, a, nil), c.LocalAddr())
	}
	send(APDU{Type: PDUConfirmedRequest, MaxAPDU: 1476, InvokeID: 42, Service: ServiceConfirmedCOVNotification,
		Data: AppendCOVNotification(nil, n)})
	if a := acks.WaitFor(t, 1)[0]; a.Type != PDUSimpleACK || a.InvokeID != 42 || a.Service != ServiceConfirmedCOVNotification {
		t.Errorf("ack %+v", a)
	}
	send(APDU{Type: PDUUnconfirmedRequest, Service: ServiceUnconfirmedCOVNotification, Data: AppendCOVNotification(nil, n)})
	all := got.WaitFor(t, 2)
	if !all[0].Confirmed || all[1].Confirmed || all[1].Values[0].Values[0].Real != 3 || all[0].From.Addr != dev.peer().Addr {
		t.Errorf("%+v", all)
	}
	// Another confirmed service is rejected, not left to time out.
	send(APDU{Type: PDUConfirmedRequest, MaxAPDU: 1476, InvokeID: 43, Service: ServiceReadProperty})
	if a := acks.WaitFor(t, 2)[1]; a.Type != PDUReject || a.Service != RejectUnrecognizedService {
		t.Errorf("reply to a read %+v", a)
	}
}

// Subscriptions are sent at once, renewed at half their lifetime and retried a minute after a
// failure, by a stepped clock.
func TestBacnetSubscriptionsRenew(t *testing.T) {
	var mu = make(chan struct{}, 1)
	refuse := false
	r := newResponder(t, func(h heard) [][]byte {
		mu <- struct{}{}
		defer func() { <-mu }()
		if refuse {
			return [][]byte{frame(t, APDU{Type: PDUError, InvokeID: h.apdu.InvokeID, Service: h.apdu.Service,
				Data: unhex(t, "91059129")}, nil)}
		}
		return [][]byte{frame(t, APDU{Type: PDUSimpleACK, InvokeID: h.apdu.InvokeID, Service: h.apdu.Service}, nil)}
	})
	clock := testutil.NewClock(time.Unix(0, 0))
	s := &Subscriptions{Client: newClient(t, ClientConfig{}), ProcessID: 7, Lifetime: 10 * time.Minute, Now: clock.Now}
	s.Add(r.peer(), ObjectID{ObjectAnalogValue, 1})
	s.Add(r.peer(), ObjectID{ObjectAnalogValue, 1}) // once only
	ctx := context.Background()
	subs := func() int { return len(r.heard()) }
	if errs := s.Renew(ctx); len(errs) != 0 || subs() != 1 {
		t.Fatalf("first: %v, %d sent", errs, subs())
	}
	h := r.heard()[0]
	sub, _ := DecodeSubscribeCOV(h.apdu.Data)
	if sub.ProcessID != 7 || sub.Lifetime != 600 || sub.Cancel {
		t.Errorf("subscription %+v", sub)
	}
	clock.Step(4 * time.Minute)
	s.Renew(ctx)
	if subs() != 1 {
		t.Errorf("renewed before half the lifetime")
	}
	clock.Step(time.Minute)
	mu <- struct{}{}
	refuse = true
	<-mu
	if errs := s.Renew(ctx); len(errs) != 1 || subs() != 2 {
		t.Fatalf("renewal at half: %v, %d sent", errs, subs())
	}
	mu <- struct{}{}
	refuse = false
	<-mu
	clock.Step(30 * time.Second)
	s.Renew(ctx)
	if subs() != 2 {
		t.Error("a refused subscription retried within the minute")
	}
	clock.Step(30 * time.Second)
	if errs := s.Renew(ctx); len(errs) != 0 || subs() != 3 {
		t.Errorf("retry: %v, %d sent", errs, subs())
	}
}

// Status flags become the reading's quality: a fault, out of service or an override make it
// bad; in-alarm alone does not (it is the plant's state, for the alarm rules).
func TestBacnetStatusFlagsQuality(t *testing.T) {
	for _, c := range []struct {
		f    StatusFlags
		good bool
	}{
		{StatusFlags{}, true},
		{StatusFlags{InAlarm: true}, true},
		{StatusFlags{Fault: true}, false},
		{StatusFlags{Overridden: true}, false},
		{StatusFlags{OutOfService: true}, false},
	} {
		back, err := DecodeStatusFlags(c.f.Value())
		if err != nil || back != c.f {
			t.Errorf("%+v decoded %+v %v", c.f, back, err)
		}
		if got := c.f.Quality() == devices.QualityGood; got != c.good {
			t.Errorf("%+v: good %v", c.f, got)
		}
	}
	// 20.2.10: bit 0 is the most significant bit of the first octet: in-alarm is 0x80.
	if f, _ := DecodeStatusFlags(Value{Kind: KindBitString, Bits: BitString{Len: 4, Bits: []byte{0x80}}}); !f.InAlarm || f.Fault {
		t.Errorf("in-alarm bit %+v", f)
	}
}
