package bacnet

import (
	"fmt"
)

// PropertyResult is one property's part of a ReadPropertyMultiple ACK (ASHRAE 135-2020,
// 15.7.1.3): its values, or the error the device gave for it alone (15.7.1.3.1,
// propertyAccessError), the other properties of the same read unaffected.
type PropertyResult struct {
	ReadPropertyRequest
	Values []Value
	// Err is what the device answered for this property alone: a *Error, or an *AbortError
	// when the one value did not fit the device's APDU (read it by index); nil when good.
	Err error
}

// AppendReadPropertyMultiple appends the service request for refs: one
// ReadAccessSpecification per run of references to the same object, each [0] object and [1]
// its list of BACnetPropertyReference, [0] property and [1] index (15.7.1.1, 21).
func AppendReadPropertyMultiple(dst []byte, refs []ReadPropertyRequest) []byte {
	for i := 0; i < len(refs); {
		o := refs[i].Object
		dst = AppendContext(dst, 0, Value{Kind: KindObjectID, Object: o})
		dst = AppendOpening(dst, 1)
		for ; i < len(refs) && refs[i].Object == o; i++ {
			dst = AppendContext(dst, 0, Value{Kind: KindEnumerated, Uint: uint64(refs[i].Property)})
			if refs[i].Index != NoIndex {
				dst = AppendContext(dst, 1, Value{Kind: KindUnsigned, Uint: uint64(refs[i].Index)})
			}
		}
		dst = AppendClosing(dst, 1)
	}
	return dst
}

// DecodeReadPropertyMultiple reads the request (for the simulator).
func DecodeReadPropertyMultiple(b []byte) ([]ReadPropertyRequest, error) {
	r := &reader{b: b}
	var refs []ReadPropertyRequest
	for r.p < len(b) {
		o, err := r.must(0, KindObjectID)
		if err != nil {
			return nil, fmt.Errorf("readpropertymultiple: %w", err)
		}
		if err := r.opening(1); err != nil {
			return nil, fmt.Errorf("readpropertymultiple %s: %w", o.Object, err)
		}
		n := 0
		for {
			if done, err := r.closed(1); err != nil {
				return nil, fmt.Errorf("readpropertymultiple %s: %w", o.Object, err)
			} else if done {
				break
			}
			p, err := r.must(0, KindEnumerated)
			if err != nil {
				return nil, fmt.Errorf("readpropertymultiple %s: %w", o.Object, err)
			}
			ref := ReadPropertyRequest{Object: o.Object, Property: PropertyID(p.Uint), Index: NoIndex}
			i, ok, err := r.context(1, KindUnsigned)
			if err != nil {
				return nil, err
			}
			if ok {
				ref.Index = uint32(i.Uint)
			}
			refs, n = append(refs, ref), n+1
		}
		if n == 0 {
			return nil, fmt.Errorf("readpropertymultiple %s: no property asked", o.Object)
		}
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("readpropertymultiple: no object asked")
	}
	return refs, nil
}

// AppendReadPropertyMultipleACK appends the ACK of results: per run of one object, [0]
// object and [1] its results, each [2] property, [3] index, then [4] values or [5] error
// (15.7.1.3, 21 ReadAccessResult).
func AppendReadPropertyMultipleACK(dst []byte, results []PropertyResult) []byte {
	for i := 0; i < len(results); {
		o := results[i].Object
		dst = AppendContext(dst, 0, Value{Kind: KindObjectID, Object: o})
		dst = AppendOpening(dst, 1)
		for ; i < len(results) && results[i].Object == o; i++ {
			res := results[i]
			dst = AppendContext(dst, 2, Value{Kind: KindEnumerated, Uint: uint64(res.Property)})
			if res.Index != NoIndex {
				dst = AppendContext(dst, 3, Value{Kind: KindUnsigned, Uint: uint64(res.Index)})
			}
			if e, ok := res.Err.(*Error); ok {
				dst = AppendOpening(dst, 5)
				dst = AppendValue(dst, Value{Kind: KindEnumerated, Uint: uint64(e.Class)})
				dst = AppendValue(dst, Value{Kind: KindEnumerated, Uint: uint64(e.Code)})
				dst = AppendClosing(dst, 5)
				continue
			}
			dst = AppendOpening(dst, 4)
			for _, v := range res.Values {
				dst = AppendValue(dst, v)
			}
			dst = AppendClosing(dst, 4)
		}
		dst = AppendClosing(dst, 1)
	}
	return dst
}

// DecodeReadPropertyMultipleACK reads the service data of a ReadPropertyMultiple ACK.
func DecodeReadPropertyMultipleACK(b []byte) ([]PropertyResult, error) {
	r := &reader{b: b}
	var out []PropertyResult
	for r.p < len(b) {
		o, err := r.must(0, KindObjectID)
		if err != nil {
			return nil, fmt.Errorf("readpropertymultiple ack: %w", err)
		}
		if err := r.opening(1); err != nil {
			return nil, fmt.Errorf("readpropertymultiple ack %s: %w", o.Object, err)
		}
		for {
			if done, err := r.closed(1); err != nil {
				return nil, fmt.Errorf("readpropertymultiple ack %s: %w", o.Object, err)
			} else if done {
				break
			}
			res, err := r.accessResult(o.Object)
			if err != nil {
				return nil, fmt.Errorf("readpropertymultiple ack %s: %w", o.Object, err)
			}
			out = append(out, res)
		}
	}
	return out, nil
}

// accessResult reads one element of listOfResults (21, ReadAccessResult).
func (r *reader) accessResult(o ObjectID) (PropertyResult, error) {
	p, err := r.must(2, KindEnumerated)
	if err != nil {
		return PropertyResult{}, err
	}
	res := PropertyResult{ReadPropertyRequest: ReadPropertyRequest{Object: o, Property: PropertyID(p.Uint), Index: NoIndex}}
	if i, ok, err := r.context(3, KindUnsigned); err != nil {
		return res, err
	} else if ok {
		res.Index = uint32(i.Uint)
	}
	if r.p >= len(r.b) {
		return res, ErrTruncated
	}
	t, _, err := DecodeTag(r.b[r.p:])
	if err != nil {
		return res, err
	}
	if t.Opening && t.Number == 5 {
		// 15.7.1.3.1: propertyAccessError, an Error of class and code.
		r.p++
		c, n, err := DecodeValue(r.b[r.p:])
		if err != nil {
			return res, err
		}
		d, m, err := DecodeValue(r.b[r.p+n:])
		if err != nil {
			return res, err
		}
		r.p += n + m
		if done, err := r.closed(5); err != nil || !done || c.Kind != KindEnumerated || d.Kind != KindEnumerated ||
			c.Uint > 0xffff || d.Uint > 0xffff {
			return res, fmt.Errorf("property %d: malformed access error", res.Property)
		}
		res.Err = &Error{Service: ServiceReadPropertyMultiple, Class: uint32(c.Uint), Code: uint32(d.Uint)}
		return res, nil
	}
	if res.Values, err = r.valuesIn(4); err != nil {
		return res, fmt.Errorf("property %d: %w", res.Property, err)
	}
	return res, nil
}
