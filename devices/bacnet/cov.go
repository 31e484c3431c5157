package bacnet

import (
	"fmt"
)

// PropertyValue is a BACnetPropertyValue (ASHRAE 135-2020, 21): a property, its optional
// array index, its value and, in a write or notification, an optional priority.
type PropertyValue struct {
	Property PropertyID
	Index    uint32 // NoIndex when absent
	Values   []Value
	Priority uint8 // 0 when absent
}

// COVNotification is a ConfirmedCOVNotification or UnconfirmedCOVNotification request
// (13.6.1, 13.7.1): which subscription, which object, the time left on it and the values
// that changed (present value and status flags at least, 13.1.4).
type COVNotification struct {
	ProcessID     uint32
	Device        ObjectID
	Object        ObjectID
	TimeRemaining uint32 // seconds; 0 for a subscription without a lifetime
	Values        []PropertyValue
	// From and Confirmed are where it came from and whether it was a confirmed request
	// (acknowledged with a Simple-ACK by the client, 13.6.2); not part of the encoding.
	From      Peer
	Confirmed bool
}

// Value returns the first value of property p and whether it was there.
func (n COVNotification) Value(p PropertyID) (Value, bool) {
	for _, pv := range n.Values {
		if pv.Property == p && len(pv.Values) > 0 {
			return pv.Values[0], true
		}
	}
	return Value{}, false
}

// AppendCOVNotification appends the service request of n: [0] subscriber process, [1]
// initiating device, [2] monitored object, [3] time remaining, [4] list of values (13.6.1).
func AppendCOVNotification(dst []byte, n COVNotification) []byte {
	dst = AppendContext(dst, 0, Value{Kind: KindUnsigned, Uint: uint64(n.ProcessID)})
	dst = AppendContext(dst, 1, Value{Kind: KindObjectID, Object: n.Device})
	dst = AppendContext(dst, 2, Value{Kind: KindObjectID, Object: n.Object})
	dst = AppendContext(dst, 3, Value{Kind: KindUnsigned, Uint: uint64(n.TimeRemaining)})
	dst = AppendOpening(dst, 4)
	for _, pv := range n.Values {
		dst = appendPropertyValue(dst, pv)
	}
	return AppendClosing(dst, 4)
}

// appendPropertyValue writes a BACnetPropertyValue: [0] property, [1] index, [2] value,
// [3] priority (21).
func appendPropertyValue(dst []byte, pv PropertyValue) []byte {
	dst = AppendContext(dst, 0, Value{Kind: KindEnumerated, Uint: uint64(pv.Property)})
	if pv.Index != NoIndex {
		dst = AppendContext(dst, 1, Value{Kind: KindUnsigned, Uint: uint64(pv.Index)})
	}
	dst = AppendOpening(dst, 2)
	for _, v := range pv.Values {
		dst = AppendValue(dst, v)
	}
	dst = AppendClosing(dst, 2)
	if pv.Priority != 0 {
		dst = AppendContext(dst, 3, Value{Kind: KindUnsigned, Uint: uint64(pv.Priority)})
	}
	return dst
}

// DecodeCOVNotification reads the service request of a COV notification (13.6.1, 13.7.1).
func DecodeCOVNotification(b []byte) (COVNotification, error) {
	r := &reader{b: b}
	var n COVNotification
	pid, err := r.must(0, KindUnsigned)
	if err != nil {
		return n, fmt.Errorf("cov notification: %w", err)
	}
	dev, err := r.must(1, KindObjectID)
	if err != nil {
		return n, fmt.Errorf("cov notification: %w", err)
	}
	obj, err := r.must(2, KindObjectID)
	if err != nil {
		return n, fmt.Errorf("cov notification: %w", err)
	}
	left, err := r.must(3, KindUnsigned)
	if err != nil {
		return n, fmt.Errorf("cov notification: %w", err)
	}
	if pid.Uint > 0xffffffff || left.Uint > 0xffffffff {
		return n, fmt.Errorf("cov notification: process id or time remaining beyond 32 bits")
	}
	n = COVNotification{ProcessID: uint32(pid.Uint), Device: dev.Object, Object: obj.Object, TimeRemaining: uint32(left.Uint)}
	if err := r.opening(4); err != nil {
		return n, fmt.Errorf("cov notification %s: %w", n.Object, err)
	}
	for {
		if done, err := r.closed(4); err != nil {
			return n, fmt.Errorf("cov notification %s: %w", n.Object, err)
		} else if done {
			break
		}
		pv, err := r.propertyValue()
		if err != nil {
			return n, fmt.Errorf("cov notification %s: %w", n.Object, err)
		}
		n.Values = append(n.Values, pv)
	}
	if r.p != len(b) {
		return n, fmt.Errorf("cov notification: %d octets after the values", len(b)-r.p)
	}
	return n, nil
}

// propertyValue reads one BACnetPropertyValue (21).
func (r *reader) propertyValue() (PropertyValue, error) {
	p, err := r.must(0, KindEnumerated)
	if err != nil {
		return PropertyValue{}, err
	}
	pv := PropertyValue{Property: PropertyID(p.Uint), Index: NoIndex}
	if i, ok, err := r.context(1, KindUnsigned); err != nil {
		return pv, err
	} else if ok {
		pv.Index = uint32(i.Uint)
	}
	if pv.Values, err = r.valuesIn(2); err != nil {
		return pv, fmt.Errorf("property %d: %w", pv.Property, err)
	}
	if pr, ok, err := r.context(3, KindUnsigned); err != nil {
		return pv, err
	} else if ok {
		if pr.Uint < 1 || pr.Uint > 16 {
			return pv, fmt.Errorf("property %d: priority %d (1 to 16)", pv.Property, pr.Uint)
		}
		pv.Priority = uint8(pr.Uint)
	}
	return pv, nil
}

// opening consumes opening tag n or fails.
func (r *reader) opening(n uint8) error {
	if r.p >= len(r.b) {
		return ErrTruncated
	}
	t, h, err := DecodeTag(r.b[r.p:])
	if err != nil {
		return err
	}
	if !t.Opening || t.Number != n {
		return fmt.Errorf("opening tag %d missing", n)
	}
	r.p += h
	return nil
}

// closed consumes closing tag n if it is next; the end of the input before it is an error.
func (r *reader) closed(n uint8) (bool, error) {
	if r.p >= len(r.b) {
		return false, ErrTruncated
	}
	t, h, err := DecodeTag(r.b[r.p:])
	if err != nil || !t.Closing || t.Number != n {
		return false, nil
	}
	r.p += h
	return true, nil
}

// SubscribeCOV is the request of SubscribeCOV (13.14.1). Cancel sends neither the confirmed
// flag nor the lifetime, which cancels the subscription (13.14.1.3-4).
type SubscribeCOV struct {
	ProcessID uint32
	Object    ObjectID
	Confirmed bool
	Lifetime  uint32 // seconds; 0 asks for an indefinite subscription (13.14.1.4)
	Cancel    bool
}

// AppendSubscribeCOV appends the service request of s: [0] process, [1] object, [2]
// issue-confirmed-notifications, [3] lifetime (13.14.1).
func AppendSubscribeCOV(dst []byte, s SubscribeCOV) []byte {
	dst = AppendContext(dst, 0, Value{Kind: KindUnsigned, Uint: uint64(s.ProcessID)})
	dst = AppendContext(dst, 1, Value{Kind: KindObjectID, Object: s.Object})
	if s.Cancel {
		return dst
	}
	dst = AppendContext(dst, 2, Value{Kind: KindBoolean, Bool: s.Confirmed})
	return AppendContext(dst, 3, Value{Kind: KindUnsigned, Uint: uint64(s.Lifetime)})
}

// DecodeSubscribeCOV reads a SubscribeCOV request (for the simulator).
func DecodeSubscribeCOV(b []byte) (SubscribeCOV, error) {
	r := &reader{b: b}
	pid, err := r.must(0, KindUnsigned)
	if err != nil {
		return SubscribeCOV{}, fmt.Errorf("subscribe-cov: %w", err)
	}
	obj, err := r.must(1, KindObjectID)
	if err != nil {
		return SubscribeCOV{}, fmt.Errorf("subscribe-cov: %w", err)
	}
	s := SubscribeCOV{ProcessID: uint32(pid.Uint), Object: obj.Object}
	conf, okc, err := r.context(2, KindBoolean)
	if err != nil {
		return s, fmt.Errorf("subscribe-cov: %w", err)
	}
	life, okl, err := r.context(3, KindUnsigned)
	if err != nil {
		return s, fmt.Errorf("subscribe-cov: %w", err)
	}
	if r.p != len(b) || pid.Uint > 0xffffffff || life.Uint > 0xffffffff {
		return s, fmt.Errorf("subscribe-cov: malformed request")
	}
	s.Confirmed, s.Lifetime, s.Cancel = conf.Bool, uint32(life.Uint), !okc && !okl
	return s, nil
}

// StatusFlags is a point's BACnetStatusFlags (12.1.10, 21): four bits any object with a
// present value reports.
type StatusFlags struct{ InAlarm, Fault, Overridden, OutOfService bool }

// DecodeStatusFlags reads the bit string of Status_Flags: bit 0 in-alarm, 1 fault, 2
// overridden, 3 out-of-service (21, BACnetStatusFlags).
func DecodeStatusFlags(v Value) (StatusFlags, error) {
	if v.Kind != KindBitString || v.Bits.Len < 4 {
		return StatusFlags{}, fmt.Errorf("status flags: %s of %d bits, want a bit string of 4", v.Kind, v.Bits.Len)
	}
	return StatusFlags{v.Bits.Bit(0), v.Bits.Bit(1), v.Bits.Bit(2), v.Bits.Bit(3)}, nil
}

// Value encodes f as Status_Flags.
func (f StatusFlags) Value() Value {
	var o byte
	for i, b := range []bool{f.InAlarm, f.Fault, f.Overridden, f.OutOfService} {
		if b {
			o |= 0x80 >> i
		}
	}
	return Value{Kind: KindBitString, Bits: BitString{Len: 4, Bits: []byte{o}}}
}

// Good reports flags that leave a reading trustworthy: no fault, in service, not overridden.
// In-alarm is a state of the plant, not of the reading.
func (f StatusFlags) Good() bool { return !f.Fault && !f.OutOfService && !f.Overridden }
