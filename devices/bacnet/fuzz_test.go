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
