package modbus

import (
	"fmt"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/devices"
)

func profileOf(t *testing.T, points ...devices.Point) *devices.Profile {
	t.Helper()
	for i := range points {
		if points[i].Name == "" {
			points[i].Name = fmt.Sprintf("p%d", i)
		}
		if points[i].Order == "" {
			points[i].Order = devices.OrderABCD
		}
		if points[i].Scale == 0 {
			points[i].Scale = 1
		}
	}
	p := &devices.Profile{Name: "test", Kind: devices.KindGeneric, Points: points}
	if err := p.Validate(); err != nil {
		t.Fatalf("test profile invalid: %v", err)
	}
	return p
}

func reg(table devices.Table, addr uint16, typ devices.Type) devices.Point {
	return devices.Point{Table: table, Address: addr, Type: typ}
}

func describe(reqs []request) string {
	var parts []string
	for _, r := range reqs {
		parts = append(parts, r.String())
	}
	return strings.Join(parts, "; ")
}

func TestPlan(t *testing.T) {
	t.Parallel()
	const H, I, C, D = devices.TableHolding, devices.TableInput, devices.TableCoil, devices.TableDiscrete
	many := func(table devices.Table, n int, typ devices.Type, step uint16) []devices.Point {
		var pts []devices.Point
		for i := 0; i < n; i++ {
			pts = append(pts, reg(table, uint16(i)*step, typ))
		}
		return pts
	}
	cases := []struct {
		name    string
		points  []devices.Point
		gapRegs int
		gapBits int
		want    string
	}{
		{name: "adjacent registers merge", points: []devices.Point{reg(H, 0, devices.TypeUint16), reg(H, 1, devices.TypeFloat32), reg(H, 3, devices.TypeInt64)},
			want: "read holding 0-6"},
		{name: "a gap splits when no gap is allowed", points: []devices.Point{reg(H, 0, devices.TypeUint16), reg(H, 5, devices.TypeUint16)},
			want: "read holding 0-0; read holding 5-5"},
		{name: "a gap within the limit is read", points: []devices.Point{reg(H, 0, devices.TypeUint16), reg(H, 5, devices.TypeUint16)}, gapRegs: 4,
			want: "read holding 0-5"},
		{name: "a gap one past the limit splits", points: []devices.Point{reg(H, 0, devices.TypeUint16), reg(H, 6, devices.TypeUint16)}, gapRegs: 4,
			want: "read holding 0-0; read holding 6-6"},
		{name: "tables never merge", points: []devices.Point{reg(H, 0, devices.TypeUint16), reg(I, 1, devices.TypeUint16), reg(C, 0, devices.TypeBool), reg(D, 1, devices.TypeBool)},
			want: "read coil 0-0; read discrete 1-1; read holding 0-0; read input 1-1"},
		{name: "125 registers in one request", points: many(I, 125, devices.TypeUint16, 1),
			want: "read input 0-124"},
		{name: "126 registers need two", points: many(I, 126, devices.TypeUint16, 1),
			want: "read input 0-124; read input 125-125"},
		{name: "a wide value is not split across requests", points: many(I, 32, devices.TypeUint64, 4),
			want: "read input 0-123; read input 124-127"},
		{name: "2000 bits in one request", points: many(C, 2000, devices.TypeBool, 1),
			want: "read coil 0-1999"},
		{name: "2001 bits need two", points: many(C, 2001, devices.TypeBool, 1),
			want: "read coil 0-1999; read coil 2000-2000"},
		{name: "bit gap", points: []devices.Point{reg(D, 0, devices.TypeBool), reg(D, 100, devices.TypeBool)}, gapBits: 99,
			want: "read discrete 0-100"},
		{name: "gap never breaks the size limit", points: []devices.Point{reg(H, 0, devices.TypeUint16), reg(H, 124, devices.TypeUint32)}, gapRegs: 200,
			want: "read holding 0-0; read holding 124-125"},
		{name: "bits of one register share a read", points: []devices.Point{
			{Table: I, Address: 16, Type: devices.TypeBit, Bit: 0}, {Table: I, Address: 16, Type: devices.TypeBit, Bit: 1}, reg(I, 17, devices.TypeUint16)},
			want: "read input 16-17"},
		{name: "unsorted points", points: []devices.Point{reg(H, 10, devices.TypeUint16), reg(H, 8, devices.TypeUint16), reg(H, 9, devices.TypeUint16)},
			want: "read holding 8-10"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := profileOf(t, tc.points...)
			got := plan(p, tc.gapRegs, tc.gapBits)
			if d := describe(got); d != tc.want {
				t.Fatalf("plan = %s\nwant   %s", d, tc.want)
			}
			seen := map[int]bool{}
			for _, r := range got {
				limit := devices.MaxRegisters
				if r.table.Bits() {
					limit = devices.MaxBits
				}
				if int(r.count) > limit {
					t.Errorf("%s: %d over the limit %d", r, r.count, limit)
				}
				for _, i := range r.points {
					pt := p.Points[i]
					if int(pt.Address) < int(r.start) || pt.End() > int(r.start)+int(r.count) {
						t.Errorf("%s does not cover point %s at %d-%d", r, pt.Name, pt.Address, pt.End()-1)
					}
					seen[i] = true
				}
			}
			if len(seen) != len(p.Points) {
				t.Errorf("plan covers %d of %d points", len(seen), len(p.Points))
			}
		})
	}
}

func TestPlanBuiltinProfiles(t *testing.T) {
	t.Parallel()
	for _, name := range devices.BuiltinNames() {
		p, _ := devices.Builtin(name)
		reqs := plan(p, 0, 0)
		t.Logf("%s: %d points in %d requests: %s", name, len(p.Points), len(reqs), describe(reqs))
		if len(reqs) > 6 {
			t.Errorf("profile %s needs %d requests a poll; its map should merge into at most 6", name, len(reqs))
		}
	}
}

func TestDecodeIntoBits(t *testing.T) {
	t.Parallel()
	p := profileOf(t, reg(devices.TableDiscrete, 3, devices.TypeBool), reg(devices.TableDiscrete, 12, devices.TypeBool))
	reqs := plan(p, 0, 20)
	values := make([]devices.Value, 2)
	// Bits 3..12: bit 3 is the request's bit 0, bit 12 its bit 9.
	reqs[0].decodeInto(p, []byte{0x01, 0x02}, values)
	if values[0].Number != 1 || values[1].Number != 1 {
		t.Fatalf("decoded %+v, want both set", values)
	}
	reqs[0].decodeInto(p, []byte{0x01}, values)
	if values[1].Quality != devices.QualityBad {
		t.Errorf("a short reply left point p1 %v, want bad", values[1].Quality)
	}
}
