package bacnet

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
)

// FuzzDecodeValue: any octets decode without a panic; a value that decodes encodes back to
// octets that decode and encode to the same octets (compared as octets, so a NaN counts).
func FuzzDecodeValue(f *testing.F) {
	for _, c := range standardValues {
		b, _ := hex.DecodeString(c.hex)
		f.Add(b)
	}
	f.Add([]byte{0x3d, 0xfe, 0xff, 0xff})
	f.Add([]byte{0xf5, 0x0f, 0xff, 0, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n, err := DecodeValue(b)
		if err != nil {
			return
		}
		if n > len(b) {
			t.Fatalf("took %d of %d octets", n, len(b))
		}
		enc := AppendValue(nil, v)
		again, _, err := DecodeValue(enc)
		if err != nil || !bytes.Equal(AppendValue(nil, again), enc) {
			t.Fatalf("%+v re-decoded as %+v, %v", v, again, err)
		}
	})
}

// FuzzDecodeAPDU: any datagram goes through BVLC, NPDU, APDU and the service decoders without
// a panic, and a header that decodes encodes back to the same octets.
func FuzzDecodeAPDU(f *testing.F) {
	for _, h := range []string{
		"810a001601240005010aff0265070c0c000000051955",
		"30010c" + annexReadPropertyACK,
		"3c010002" + "0c" + annexReadPropertyACK,
		"50030c91029120",
		"1000c4020004d22205c49103220104",
		"40090502", "600409", "710504", "20090f",
	} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := DecodeBVLC(b); err == nil {
			if n, err := DecodeNPDU(m.NPDU); err == nil {
				b = n.APDU
			}
		}
		a, err := DecodeAPDU(b)
		if err != nil {
			return
		}
		DecodeReadPropertyACK(a.Data)
		DecodeIAm(a.Data)
		DecodeError(a.Service, a.Data)
		enc, err := AppendAPDU(nil, a)
		if err != nil {
			t.Fatalf("%+v does not encode: %v", a, err)
		}
		if a.Type != PDUConfirmedRequest && !bytes.Equal(enc, b) {
			// Reserved bits (20.1: sent as 0) are the only difference allowed.
			if again, err := DecodeAPDU(enc); err != nil || !reflect.DeepEqual(again, a) {
				t.Fatalf("% x re-encoded as % x", b, enc)
			}
		}
	})
}

// FuzzReassembly: any run of APDUs fed to a reassembly never panics, never keeps more than
// its bound, and what it reports done is the in-order concatenation it acknowledged.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0x3c, 0x01, 0x00, 0x02, 0x0c, 0xaa, 0xff, 0x38, 0x01, 0x01, 0x02, 0x0c, 0xbb})
	f.Add([]byte{0x3c, 0x01, 0x01, 0x02, 0x0c, 0xff, 0x3c, 0x01, 0x00, 0x00, 0x0c})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r reassembly
		var want []byte
		// Datagrams are separated by 0xff octets.
		for _, d := range bytes.Split(b, []byte{0xff}) {
			a, err := DecodeAPDU(d)
			if err != nil {
				continue
			}
			ack, done, err := r.add(a, 4)
			if err == nil {
				want = append(want, a.Data...)
			}
			if ack != nil && (ack.Type != PDUSegmentACK || ack.WindowSize < 1 || ack.WindowSize > 127) {
				t.Fatalf("segment ack %+v", ack)
			}
			if len(r.data) > maxReassembled || !bytes.Equal(r.data, want) {
				t.Fatalf("kept %d octets, want %d", len(r.data), len(want))
			}
			if done {
				return
			}
		}
	})
}

// FuzzDecodeServices: the service decoders of this package's requests and replies (COV
// notification, ReadPropertyMultiple ACK and request, WriteProperty, SubscribeCOV) never
// panic, and what decodes encodes to octets that decode to the same.
func FuzzDecodeServices(f *testing.F) {
	ref := ReadPropertyRequest{Object: ObjectID{ObjectAnalogInput, 1}, Property: PropPresentValue, Index: NoIndex}
	f.Add(AppendCOVNotification(nil, COVNotification{ProcessID: 1, Device: ObjectID{ObjectDevice, 9}, Object: ref.Object,
		Values: []PropertyValue{{Property: PropPresentValue, Index: NoIndex, Values: []Value{{Kind: KindReal, Real: 1}}, Priority: 8}}}))
	f.Add(AppendReadPropertyMultipleACK(nil, []PropertyResult{{ReadPropertyRequest: ref, Values: []Value{{Kind: KindNull}}},
		{ReadPropertyRequest: ReadPropertyRequest{Object: ref.Object, Property: PropUnits, Index: 2}, Err: ErrUnknownProperty}}))
	f.Add(AppendReadPropertyMultiple(nil, []ReadPropertyRequest{ref, ref}))
	f.Add(AppendWriteProperty(nil, WriteProperty{ReadPropertyRequest: ref, Value: Value{Kind: KindNull}, Priority: 16}))
	f.Add(AppendSubscribeCOV(nil, SubscribeCOV{ProcessID: 3, Object: ref.Object, Confirmed: true, Lifetime: 60}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if n, err := DecodeCOVNotification(b); err == nil {
			if again, err := DecodeCOVNotification(AppendCOVNotification(nil, n)); err != nil || len(again.Values) != len(n.Values) {
				t.Fatalf("cov %+v re-decoded %+v %v", n, again, err)
			}
		}
		if res, err := DecodeReadPropertyMultipleACK(b); err == nil {
			if again, err := DecodeReadPropertyMultipleACK(AppendReadPropertyMultipleACK(nil, res)); err != nil || len(again) != len(res) {
				t.Fatalf("rpm ack %+v re-decoded %+v %v", res, again, err)
			}
		}
		if refs, err := DecodeReadPropertyMultiple(b); err == nil {
			if again, err := DecodeReadPropertyMultiple(AppendReadPropertyMultiple(nil, refs)); err != nil || !reflect.DeepEqual(again, refs) {
				t.Fatalf("rpm %+v re-decoded %+v %v", refs, again, err)
			}
		}
		if w, err := DecodeWriteProperty(b); err == nil {
			if again, err := DecodeWriteProperty(AppendWriteProperty(nil, w)); err != nil || again.ReadPropertyRequest != w.ReadPropertyRequest {
				t.Fatalf("write %+v re-decoded %+v %v", w, again, err)
			}
		}
		if s, err := DecodeSubscribeCOV(b); err == nil {
			if again, err := DecodeSubscribeCOV(AppendSubscribeCOV(nil, s)); err != nil || (again != s && !s.Cancel) {
				t.Fatalf("subscribe %+v re-decoded %+v %v", s, again, err)
			}
		}
	})
}
