package bacnet

import (
	"errors"
	"fmt"
)

// Service choices (ASHRAE 135-2020, 21, BACnetConfirmedServiceChoice and
// BACnetUnconfirmedServiceChoice).
const (
	ServiceConfirmedCOVNotification uint8 = 1
	ServiceSubscribeCOV             uint8 = 5
	ServiceReadProperty             uint8 = 12
	ServiceReadPropertyMultiple     uint8 = 14
	ServiceWriteProperty            uint8 = 15

	ServiceIAm                        uint8 = 0
	ServiceUnconfirmedCOVNotification uint8 = 2
	ServiceWhoIs                      uint8 = 8
)

// PropertyID is a BACnetPropertyIdentifier (21).
type PropertyID uint32

// Properties this package reads and writes (21, BACnetPropertyIdentifier).
const (
	PropMaxAPDULengthAccepted PropertyID = 62
	PropObjectList            PropertyID = 76
	PropObjectName            PropertyID = 77
	PropPresentValue          PropertyID = 85
	PropPriorityArray         PropertyID = 87
	PropSegmentationSupported PropertyID = 107
	PropStatusFlags           PropertyID = 111
	PropUnits                 PropertyID = 117
)

// NoIndex is a property reference without an array index (15.5.1.1.3: the index is
// optional; absent, the whole property is meant).
const NoIndex = ^uint32(0)

// ReadPropertyRequest is the request of ReadProperty (15.5.1.1).
type ReadPropertyRequest struct {
	Object   ObjectID
	Property PropertyID
	Index    uint32 // NoIndex when absent
}

// AppendReadProperty appends the service request of r: [0] object, [1] property, [2] index.
func AppendReadProperty(dst []byte, r ReadPropertyRequest) []byte {
	dst = AppendContext(dst, 0, Value{Kind: KindObjectID, Object: r.Object})
	dst = AppendContext(dst, 1, Value{Kind: KindEnumerated, Uint: uint64(r.Property)})
	if r.Index != NoIndex {
		dst = AppendContext(dst, 2, Value{Kind: KindUnsigned, Uint: uint64(r.Index)})
	}
	return dst
}

// ReadPropertyACK is the result of ReadProperty (15.5.1.3): the property reference and its
// value, one or more application-tagged values (an array or list has several).
type ReadPropertyACK struct {
	ReadPropertyRequest
	Values []Value
}

// DecodeReadPropertyACK reads the service data of a ReadProperty complex ACK (15.5.1.3).
func DecodeReadPropertyACK(b []byte) (ReadPropertyACK, error) {
	r := &reader{b: b}
	var ack ReadPropertyACK
	ref, err := r.propertyRef()
	if err != nil {
		return ack, fmt.Errorf("readproperty ack: %w", err)
	}
	ack.ReadPropertyRequest = ref
	if ack.Values, err = r.valuesIn(3); err != nil {
		return ack, fmt.Errorf("readproperty ack %s: %w", ref.Object, err)
	}
	if r.p != len(b) {
		return ack, fmt.Errorf("readproperty ack: %d octets after the value", len(b)-r.p)
	}
	return ack, nil
}

// AppendReadPropertyACK appends the service data of a ReadProperty ACK (for the simulator).
func AppendReadPropertyACK(dst []byte, ack ReadPropertyACK) []byte {
	dst = AppendReadProperty(dst, ack.ReadPropertyRequest)
	dst = AppendOpening(dst, 3)
	for _, v := range ack.Values {
		dst = AppendValue(dst, v)
	}
	return AppendClosing(dst, 3)
}

// WhoIs is the Who-Is request (16.10.1.1): the range of device instances asked to answer;
// Low and High both -1 for every device.
type WhoIs struct{ Low, High int32 }

// AppendWhoIs appends the service request of w (16.10.1.1.1-2: both limits or neither).
func AppendWhoIs(dst []byte, w WhoIs) []byte {
	if w.Low < 0 || w.High < 0 {
		return dst
	}
	dst = AppendContext(dst, 0, Value{Kind: KindUnsigned, Uint: uint64(w.Low)})
	return AppendContext(dst, 1, Value{Kind: KindUnsigned, Uint: uint64(w.High)})
}

// Segmentation is a BACnetSegmentation (21): which directions a device can segment.
type Segmentation uint8

const (
	SegmentedBoth     Segmentation = 0
	SegmentedTransmit Segmentation = 1
	SegmentedReceive  Segmentation = 2
	NoSegmentation    Segmentation = 3
)

// IAm is the I-Am request (16.10.2.1).
type IAm struct {
	Device       ObjectID
	MaxAPDU      uint32
	Segmentation Segmentation
	Vendor       uint16
}

// AppendIAm appends the service request of i: four application-tagged values (16.10.2.1).
func AppendIAm(dst []byte, i IAm) []byte {
	dst = AppendValue(dst, Value{Kind: KindObjectID, Object: i.Device})
	dst = AppendValue(dst, Value{Kind: KindUnsigned, Uint: uint64(i.MaxAPDU)})
	dst = AppendValue(dst, Value{Kind: KindEnumerated, Uint: uint64(i.Segmentation)})
	return AppendValue(dst, Value{Kind: KindUnsigned, Uint: uint64(i.Vendor)})
}

// DecodeIAm reads the service request of an I-Am (16.10.2.1).
func DecodeIAm(b []byte) (IAm, error) {
	kinds := [4]Kind{KindObjectID, KindUnsigned, KindEnumerated, KindUnsigned}
	var vs [4]Value
	p := 0
	for i, k := range kinds {
		v, n, err := DecodeValue(b[p:])
		if err != nil {
			return IAm{}, fmt.Errorf("i-am: %w", err)
		}
		if v.Kind != k {
			return IAm{}, fmt.Errorf("i-am: parameter %d is %s, want %s", i+1, v.Kind, k)
		}
		vs[i], p = v, p+n
	}
	if vs[0].Object.Type != ObjectDevice || vs[2].Uint > 3 || vs[3].Uint > 0xffff || vs[1].Uint > 0xffffffff {
		return IAm{}, errors.New("i-am: device identifier, segmentation or vendor out of range")
	}
	return IAm{Device: vs[0].Object, MaxAPDU: uint32(vs[1].Uint), Segmentation: Segmentation(vs[2].Uint),
		Vendor: uint16(vs[3].Uint)}, nil
}

// Error is a BACnet-Error-PDU's error (20.1.7, 18): its class and code, both enumerated.
type Error struct {
	Service uint8
	Class   uint32
	Code    uint32
}

// DecodeError reads the data of an Error PDU of the services this package uses, whose error
// is the plain Error production (21: error-class, error-code, both application enumerated).
func DecodeError(service uint8, b []byte) (*Error, error) {
	c, n, err := DecodeValue(b)
	if err != nil {
		return nil, fmt.Errorf("error pdu: %w", err)
	}
	d, _, err := DecodeValue(b[n:])
	if err != nil {
		return nil, fmt.Errorf("error pdu: %w", err)
	}
	if c.Kind != KindEnumerated || d.Kind != KindEnumerated || c.Uint > 0xffff || d.Uint > 0xffff {
		return nil, errors.New("error pdu: class and code are not enumerated")
	}
	return &Error{Service: service, Class: uint32(c.Uint), Code: uint32(d.Uint)}, nil
}

// reader walks the context-tagged parameters of a service.
type reader struct {
	b []byte
	p int
}

// context reads context tag number n as a primitive of kind k; ok is false, with nothing
// consumed, when the next item is not that tag (an optional parameter left out).
func (r *reader) context(n uint8, k Kind) (v Value, ok bool, err error) {
	if r.p >= len(r.b) {
		return Value{}, false, nil
	}
	t, h, err := DecodeTag(r.b[r.p:])
	if err != nil || !t.Context || t.Number != n || t.Opening || t.Closing {
		return Value{}, false, err
	}
	c, err := content(r.b[r.p:], h, t)
	if err != nil {
		return Value{}, false, err
	}
	v, err = DecodeContent(k, c)
	if err != nil {
		return Value{}, false, fmt.Errorf("context tag %d: %w", n, err)
	}
	r.p += h + len(c)
	return v, true, nil
}

// must reads a required context parameter.
func (r *reader) must(n uint8, k Kind) (Value, error) {
	v, ok, err := r.context(n, k)
	if err == nil && !ok {
		err = fmt.Errorf("context tag %d (%s) missing", n, k)
	}
	return v, err
}

// propertyRef reads [0] object, [1] property, [2] optional index.
func (r *reader) propertyRef() (ReadPropertyRequest, error) {
	o, err := r.must(0, KindObjectID)
	if err != nil {
		return ReadPropertyRequest{}, err
	}
	p, err := r.must(1, KindEnumerated)
	if err != nil {
		return ReadPropertyRequest{}, err
	}
	ref := ReadPropertyRequest{Object: o.Object, Property: PropertyID(p.Uint), Index: NoIndex}
	i, ok, err := r.context(2, KindUnsigned)
	if ok {
		ref.Index = uint32(i.Uint)
	}
	return ref, err
}

// valuesIn reads the application values between opening and closing tag n.
func (r *reader) valuesIn(n uint8) ([]Value, error) {
	t, h, err := DecodeTag(r.b[r.p:])
	if err != nil {
		return nil, err
	}
	if !t.Opening || t.Number != n {
		return nil, fmt.Errorf("opening tag %d missing", n)
	}
	r.p += h
	var vs []Value
	for {
		t, h, err := DecodeTag(r.b[r.p:])
		if err != nil {
			return nil, err
		}
		if t.Closing && t.Number == n {
			r.p += h
			return vs, nil
		}
		if t.Context {
			return nil, fmt.Errorf("context tag %d inside value %d is not read by this package", t.Number, n)
		}
		v, m, err := DecodeValue(r.b[r.p:])
		if err != nil {
			return nil, err
		}
		vs, r.p = append(vs, v), r.p+m
	}
}

// DecodeReadProperty reads the request of ReadProperty (15.5.1.1), as a device does.
func DecodeReadProperty(b []byte) (ReadPropertyRequest, error) {
	r := &reader{b: b}
	ref, err := r.propertyRef()
	if err != nil {
		return ref, fmt.Errorf("readproperty: %w", err)
	}
	if r.p != len(b) {
		return ref, fmt.Errorf("readproperty: %d octets after the request", len(b)-r.p)
	}
	return ref, nil
}
