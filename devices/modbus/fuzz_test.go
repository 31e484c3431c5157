package modbus

import (
	"bytes"
	"math"
	"testing"

	"github.com/facilityd/facilityd/devices"
)

var fuzzTypes = []devices.Type{devices.TypeBit, devices.TypeInt16, devices.TypeUint16, devices.TypeInt32,
	devices.TypeUint32, devices.TypeInt64, devices.TypeUint64, devices.TypeFloat32, devices.TypeFloat64,
	devices.TypeString, devices.TypeEnum}

var fuzzOrders = []devices.Order{devices.OrderABCD, devices.OrderDCBA, devices.OrderBADC, devices.OrderCDAB}

// FuzzDecodeRegisters: any registers, type and order decode without a panic; where the value
// is good, encoding it back and decoding again gives the same value (for unscaled points, the
// same registers, strings and floats aside).
func FuzzDecodeRegisters(f *testing.F) {
	f.Add(uint8(7), uint8(0), uint8(0), uint8(3), []byte{0xc1, 0x48, 0, 0})
	f.Add(uint8(1), uint8(2), uint8(15), uint8(1), []byte{0x80, 0x01})
	f.Add(uint8(9), uint8(3), uint8(0), uint8(4), []byte("FP-16\x00\x00\x00"))
	f.Add(uint8(5), uint8(1), uint8(0), uint8(0), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe})
	f.Fuzz(func(t *testing.T, typ, order, bit, length uint8, regs []byte) {
		p := &devices.Point{
			Type:  fuzzTypes[int(typ)%len(fuzzTypes)],
			Order: fuzzOrders[int(order)%len(fuzzOrders)],
			Table: devices.TableHolding,
			Scale: 1,
		}
		if p.Type == devices.TypeBit {
			p.Bit = bit % 16
		}
		if p.Type == devices.TypeString {
			p.Length = uint16(length%8) + 1
		}
		v := DecodeRegisters(p, regs)
		n := p.Width() * 2
		if len(regs) < n {
			if v.Quality != devices.QualityBad {
				t.Fatalf("%d bytes for a %d-byte point decoded as good", len(regs), n)
			}
			return
		}
		if v.Quality != devices.QualityGood {
			if !math.IsNaN(v.Number) && !math.IsInf(v.Number, 0) {
				t.Fatalf("bad quality for a finite value %v", v.Number)
			}
			return
		}
		out := make([]byte, n)
		copy(out, regs[:n]) // a bit point keeps the rest of its register
		EncodeRegisters(p, v, out)
		again := DecodeRegisters(p, out)
		if again.Number != v.Number || again.Text != v.Text {
			t.Fatalf("%s %s: %x decodes to %v %q, encodes to %x, decodes to %v %q", p.Type, p.Order, regs[:n], v.Number, v.Text, out, again.Number, again.Text)
		}
		if p.Type != devices.TypeString && p.Type != devices.TypeFloat32 && p.Type != devices.TypeFloat64 &&
			p.Type != devices.TypeInt64 && p.Type != devices.TypeUint64 && !bytes.Equal(out, regs[:n]) {
			t.Fatalf("%s %s: registers %x re-encode to %x", p.Type, p.Order, regs[:n], out)
		}
	})
}
