package modbus

import (
	"math"
	"testing"

	"github.com/facilityd/facilityd/devices"
)

func TestDecodeRegisters(t *testing.T) {
	t.Parallel()
	f32 := math.Float32bits(-12.5) // c1 48 00 00
	_ = f32
	cases := []struct {
		name  string
		point devices.Point
		regs  []byte
		want  float64
		text  string
		bad   bool
	}{
		{name: "uint16", point: devices.Point{Type: devices.TypeUint16}, regs: []byte{0x12, 0x34}, want: 0x1234},
		{name: "uint16 byte swapped", point: devices.Point{Type: devices.TypeUint16, Order: devices.OrderBADC}, regs: []byte{0x34, 0x12}, want: 0x1234},
		{name: "uint16 DCBA", point: devices.Point{Type: devices.TypeUint16, Order: devices.OrderDCBA}, regs: []byte{0x34, 0x12}, want: 0x1234},
		{name: "uint16 CDAB is plain for one word", point: devices.Point{Type: devices.TypeUint16, Order: devices.OrderCDAB}, regs: []byte{0x12, 0x34}, want: 0x1234},
		{name: "int16 negative", point: devices.Point{Type: devices.TypeInt16}, regs: []byte{0xff, 0xfe}, want: -2},
		{name: "int16 scaled", point: devices.Point{Type: devices.TypeInt16, Scale: 0.01}, regs: []byte{0xfe, 0x0c}, want: -5.0},
		{name: "uint16 scale and offset", point: devices.Point{Type: devices.TypeUint16, Scale: 0.1, Offset: -40}, regs: []byte{0x01, 0xf4}, want: 10},
		{name: "uint32 ABCD", point: devices.Point{Type: devices.TypeUint32}, regs: []byte{0xaa, 0xbb, 0xcc, 0xdd}, want: 0xaabbccdd},
		{name: "uint32 CDAB", point: devices.Point{Type: devices.TypeUint32, Order: devices.OrderCDAB}, regs: []byte{0xcc, 0xdd, 0xaa, 0xbb}, want: 0xaabbccdd},
		{name: "uint32 BADC", point: devices.Point{Type: devices.TypeUint32, Order: devices.OrderBADC}, regs: []byte{0xbb, 0xaa, 0xdd, 0xcc}, want: 0xaabbccdd},
		{name: "uint32 DCBA", point: devices.Point{Type: devices.TypeUint32, Order: devices.OrderDCBA}, regs: []byte{0xdd, 0xcc, 0xbb, 0xaa}, want: 0xaabbccdd},
		{name: "int32 negative", point: devices.Point{Type: devices.TypeInt32}, regs: []byte{0xff, 0xff, 0xff, 0x9c}, want: -100},
		{name: "int32 negative CDAB", point: devices.Point{Type: devices.TypeInt32, Order: devices.OrderCDAB}, regs: []byte{0xff, 0x9c, 0xff, 0xff}, want: -100},
		{name: "float32 ABCD", point: devices.Point{Type: devices.TypeFloat32}, regs: []byte{0xc1, 0x48, 0x00, 0x00}, want: -12.5},
		{name: "float32 CDAB", point: devices.Point{Type: devices.TypeFloat32, Order: devices.OrderCDAB}, regs: []byte{0x00, 0x00, 0xc1, 0x48}, want: -12.5},
		{name: "float32 BADC", point: devices.Point{Type: devices.TypeFloat32, Order: devices.OrderBADC}, regs: []byte{0x48, 0xc1, 0x00, 0x00}, want: -12.5},
		{name: "float32 DCBA", point: devices.Point{Type: devices.TypeFloat32, Order: devices.OrderDCBA}, regs: []byte{0x00, 0x00, 0x48, 0xc1}, want: -12.5},
		{name: "float32 NaN is bad", point: devices.Point{Type: devices.TypeFloat32}, regs: []byte{0x7f, 0xc0, 0x00, 0x00}, bad: true},
		{name: "uint64 ABCD", point: devices.Point{Type: devices.TypeUint64}, regs: []byte{0, 0, 0, 0x01, 0, 0, 0, 0x02}, want: 1<<32 + 2},
		{name: "uint64 CDAB", point: devices.Point{Type: devices.TypeUint64, Order: devices.OrderCDAB}, regs: []byte{0, 0x02, 0, 0, 0, 0x01, 0, 0}, want: 1<<32 + 2},
		{name: "uint64 DCBA", point: devices.Point{Type: devices.TypeUint64, Order: devices.OrderDCBA}, regs: []byte{0x02, 0, 0, 0, 0x01, 0, 0, 0}, want: 1<<32 + 2},
		{name: "uint64 BADC", point: devices.Point{Type: devices.TypeUint64, Order: devices.OrderBADC}, regs: []byte{0, 0, 0x01, 0, 0, 0, 0x02, 0}, want: 1<<32 + 2},
		{name: "int64 negative", point: devices.Point{Type: devices.TypeInt64}, regs: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, want: -2},
		{name: "float64 ABCD", point: devices.Point{Type: devices.TypeFloat64}, regs: []byte{0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18}, want: math.Pi},
		{name: "float64 CDAB", point: devices.Point{Type: devices.TypeFloat64, Order: devices.OrderCDAB}, regs: []byte{0x2d, 0x18, 0x54, 0x44, 0x21, 0xfb, 0x40, 0x09}, want: math.Pi},
		{name: "bit 0 set", point: devices.Point{Type: devices.TypeBit, Bit: 0}, regs: []byte{0x00, 0x01}, want: 1},
		{name: "bit 15 set", point: devices.Point{Type: devices.TypeBit, Bit: 15}, regs: []byte{0x80, 0x00}, want: 1},
		{name: "bit 3 clear", point: devices.Point{Type: devices.TypeBit, Bit: 3}, regs: []byte{0xff, 0xf7}, want: 0},
		{name: "bit with bytes swapped", point: devices.Point{Type: devices.TypeBit, Bit: 8, Order: devices.OrderBADC}, regs: []byte{0x01, 0x00}, want: 0},
		{name: "bit 0 with bytes swapped", point: devices.Point{Type: devices.TypeBit, Bit: 8, Order: devices.OrderBADC}, regs: []byte{0x00, 0x01}, want: 1},
		{name: "enum ignores scale", point: devices.Point{Type: devices.TypeEnum, Scale: 1}, regs: []byte{0x00, 0x15}, want: 21},
		{name: "string", point: devices.Point{Type: devices.TypeString, Length: 4}, regs: []byte("FP-16\x00\x00\x00"), text: "FP-16"},
		{name: "string byte swapped", point: devices.Point{Type: devices.TypeString, Length: 2, Order: devices.OrderBADC}, regs: []byte("PFA-"), text: "FP-A"},
		{name: "short input is bad", point: devices.Point{Type: devices.TypeUint32}, regs: []byte{0x00, 0x01}, bad: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := tc.point
			if p.Order == "" {
				p.Order = devices.OrderABCD
			}
			if p.Scale == 0 {
				p.Scale = 1
			}
			if p.Table == "" {
				p.Table = devices.TableHolding
			}
			got := DecodeRegisters(&p, tc.regs)
			if tc.bad {
				if got.Quality != devices.QualityBad {
					t.Fatalf("quality = %v, want bad", got.Quality)
				}
				return
			}
			if got.Quality != devices.QualityGood {
				t.Fatalf("quality = %v, want good", got.Quality)
			}
			if got.Text != tc.text {
				t.Errorf("text = %q, want %q", got.Text, tc.text)
			}
			if math.Abs(got.Number-tc.want) > 1e-9 {
				t.Errorf("number = %v, want %v", got.Number, tc.want)
			}
			// Every decodable value survives the simulators' encoder unchanged.
			regs := make([]byte, p.Width()*2)
			copy(regs, tc.regs)
			EncodeRegisters(&p, got, regs)
			if back := DecodeRegisters(&p, regs); back != got {
				t.Errorf("round trip through EncodeRegisters = %+v, want %+v", back, got)
			}
		})
	}
}

func TestBits(t *testing.T) {
	t.Parallel()
	data := make([]byte, 3)
	for _, i := range []int{0, 7, 8, 17} {
		SetBit(data, i, true)
	}
	if want := []byte{0x81, 0x01, 0x02}; string(data) != string(want) {
		t.Fatalf("SetBit packed % x, want % x (LSB of the first byte is the first bit)", data, want)
	}
	for i := 0; i < 24; i++ {
		want := i == 0 || i == 7 || i == 8 || i == 17
		if BitAt(data, i) != want {
			t.Errorf("BitAt(%d) = %v, want %v", i, !want, want)
		}
	}
	if BitAt(data, 24) {
		t.Error("BitAt past the data reads true")
	}
	SetBit(data, 7, false)
	if data[0] != 0x01 {
		t.Errorf("SetBit(7, false) left % x", data[0])
	}
}

func BenchmarkDecodeRegisters(b *testing.B) {
	p := devices.Point{Type: devices.TypeFloat32, Order: devices.OrderCDAB, Scale: 0.1, Table: devices.TableInput}
	regs := []byte{0x00, 0x00, 0xc1, 0x48}
	b.ReportAllocs()
	for b.Loop() {
		_ = DecodeRegisters(&p, regs)
	}
}
