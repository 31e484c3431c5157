package bacnet

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/facilityd/facilityd/devices"
)

// ErrNotFound is a write to a device the source has not found (or reached) yet.
var ErrNotFound = errors.New("bacnet: device not found yet")

// Write writes a point of one of the source's devices as devices/commands asks: the value at
// the point's priority (19.2), or NULL there when v.Relinquish (19.2.1.2), so that the next
// priority or the relinquish default takes over. It then reads the point back and returns the
// device's snapshot, which also goes to the handler. The caller has checked the point is
// writable and the value within its limits.
func (s *Source) Write(ctx context.Context, dev *devices.Device, pt *devices.Point, v devices.Value) (*devices.Snapshot, error) {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	var d *sourceDevice
	for _, x := range s.devs {
		if x.dev.ID == dev.ID {
			d = x
		}
	}
	if d == nil || c == nil {
		return nil, fmt.Errorf("device %s is not read over BACnet now", dev.ID)
	}
	// The point as the source reads it: its own profile, which a reload does not change.
	own, idx, ok := d.dev.Profile.Point(pt.Name)
	if !ok || idx >= len(d.refs) || own.Object != pt.Object {
		return nil, fmt.Errorf("device %s point %s: the profile changed since the BACnet source started; restart facilityd to write it", dev.ID, pt.Name)
	}
	d.mu.Lock()
	peer, found := d.peer, d.found
	d.mu.Unlock()
	if !found {
		return nil, fmt.Errorf("device %s (instance %d): %w", dev.ID, dev.BACnet.Instance, ErrNotFound)
	}
	ref, prio := d.refs[idx], pt.WritePriority()
	var err error
	if v.Relinquish {
		if ref.Property != PropPresentValue {
			return nil, fmt.Errorf("device %s point %s: only a present value is relinquished (19.2.1.2), not property %d", dev.ID, pt.Name, ref.Property)
		}
		err = c.Relinquish(ctx, peer, ref.Object, prio)
	} else {
		var val Value
		if val, err = wireValue(ref.Object.Type, pt, v); err != nil {
			return nil, fmt.Errorf("device %s point %s: %w", dev.ID, pt.Name, err)
		}
		err = c.Write(ctx, peer, WriteProperty{ReadPropertyRequest: ref, Value: val, Priority: prio})
	}
	if err != nil {
		return nil, fmt.Errorf("device %s point %s (%s at priority %d): %w", dev.ID, pt.Name, ref.Object, prio, err)
	}
	snap := s.readBack(ctx, c, d, peer, idx)
	if snap != nil {
		s.handle(snap)
	}
	return snap, nil
}

// readBack reads one point after a write, with its status flags, and returns the device's
// snapshot; nil when the read failed (the next poll or notification reads it back).
func (s *Source) readBack(ctx context.Context, c *Client, d *sourceDevice, peer Peer, i int) *devices.Snapshot {
	start := s.cfg.Now()
	refs := []ReadPropertyRequest{d.refs[i]}
	if d.refs[i].Property == PropPresentValue {
		refs = append(refs, ReadPropertyRequest{Object: d.refs[i].Object, Property: PropStatusFlags, Index: NoIndex})
	}
	res, err := c.ReadProperties(ctx, peer, refs)
	if err != nil || res[0].Err != nil {
		return nil
	}
	flags := StatusFlags{}
	if len(res) > 1 && res[1].Err == nil && len(res[1].Values) == 1 {
		flags, _ = DecodeStatusFlags(res[1].Values[0])
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.values[i] = pointValue(&d.dev.Profile.Points[i], res[0].Values, flags)
	d.have[i] = true
	if !d.known() {
		return nil
	}
	return s.online(d, start, nil)
}

// wireValue encodes a value to write as the object's present value takes it: REAL for analog
// objects (12.2.4), BACnetBinaryPV for binary ones (an enumeration, 12.6.4), Unsigned for
// multi-state ones (12.18.4), and by the point's type otherwise. Scale and offset are taken
// off a number, as the point reads it with them.
func wireValue(t ObjectType, pt *devices.Point, v devices.Value) (Value, error) {
	n := v.Number
	if !pt.IsBool() && pt.Type != devices.TypeEnum && pt.Type != devices.TypeString && pt.Scale != 0 {
		n = (n - pt.Offset) / pt.Scale
	}
	switch {
	case t == ObjectAnalogInput || t == ObjectAnalogOutput || t == ObjectAnalogValue:
		return Value{Kind: KindReal, Real: float32(n)}, nil
	case t == ObjectBinaryInput || t == ObjectBinaryOutput || t == ObjectBinaryValue:
		if n != 0 {
			return Value{Kind: KindEnumerated, Uint: 1}, nil
		}
		return Value{Kind: KindEnumerated}, nil
	case pt.Type == devices.TypeString:
		return Value{Kind: KindCharString, String: v.Text}, nil
	case pt.IsBool():
		return Value{Kind: KindBoolean, Bool: n != 0}, nil
	case pt.Type == devices.TypeFloat32:
		return Value{Kind: KindReal, Real: float32(n)}, nil
	case pt.Type == devices.TypeFloat64:
		return Value{Kind: KindDouble, Double: n}, nil
	}
	if n != math.Trunc(n) {
		return Value{}, fmt.Errorf("%v is not a whole number for a %s point", v.Number, pt.Type)
	}
	if n < 0 {
		return Value{Kind: KindSigned, Int: int64(n)}, nil
	}
	return Value{Kind: KindUnsigned, Uint: uint64(n)}, nil
}
