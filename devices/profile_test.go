package devices

import (
	"strings"
	"testing"
)

func TestBuiltinProfiles(t *testing.T) {
	t.Parallel()
	want := map[string]Kind{"pump": KindPump, "elevator": KindElevator, "fire_panel": KindFirePanel, "lighting": KindLighting, "lighting_mqtt": KindLighting}
	if got := BuiltinNames(); len(got) != len(want) {
		t.Fatalf("built-in profiles %v, want %d", got, len(want))
	}
	for name, kind := range want {
		p, ok := Builtin(name)
		if !ok {
			t.Fatalf("no built-in profile %q", name)
		}
		if p.Kind != kind {
			t.Errorf("profile %s kind = %s, want %s", name, p.Kind, kind)
		}
	}
	fp, _ := Builtin("fire_panel")
	for _, zone := range []string{"zone_01", "zone_16"} {
		if _, _, ok := fp.Point(zone); !ok {
			t.Errorf("fire_panel has no point %s", zone)
		}
	}
	lp, _ := Builtin("lighting")
	if _, _, ok := lp.Point("circuit_24_lamp_fail"); !ok {
		t.Error("lighting has no point circuit_24_lamp_fail")
	}
}

func TestParseProfileErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		yaml string
		want []string // every line must appear in the error
	}{
		{
			name: "writable only on coils and holding registers",
			yaml: "name: x\npoints:\n  - {name: a, table: input, address: 0, type: uint16, writable: true}\n  - {name: b, table: discrete, address: 0, type: bool, writable: true}\n  - {name: c, table: holding, address: 0, type: uint16, writable: true}\n",
			want: []string{
				`point "a": writable: only coils and holding registers can be written, not input`,
				`point "b": writable: only coils and holding registers can be written, not discrete`,
			},
		},
		{
			name: "unknown key",
			yaml: "name: x\nkind: pump\npoints:\n  - {name: a, table: holding, address: 0, type: uint16, adress: 3}\n",
			want: []string{"profile test.yaml: yaml: unmarshal errors:", "line 4: field adress not found"},
		},
		{
			name: "type does not fit table",
			yaml: "name: x\npoints:\n  - {name: run, table: coil, address: 0, type: uint16}\n  - {name: flag, table: holding, address: 0, type: bool}\n",
			want: []string{
				`point "run": type: uint16 does not fit table coil, which holds single bits: use type bool`,
				`point "flag": type: bool does not fit table holding, which holds registers: use type bit with bit: 0-15`,
			},
		},
		{
			name: "unknown order, table and type",
			yaml: "name: x\npoints:\n  - {name: a, table: holding, address: 0, type: float32, order: ABDC}\n  - {name: b, table: register, address: 0, type: uint16}\n  - {name: c, table: input, address: 0, type: real}\n",
			want: []string{
				`point "a": order: "ABDC" is not one of ABCD, DCBA, BADC, CDAB`,
				`point "b": table: "register" is not one of coil, discrete, holding, input`,
				`point "c": type: "real" is not one of bool, bit, int16`,
			},
		},
		{
			name: "overlapping points",
			yaml: "name: x\npoints:\n  - {name: pressure, table: input, address: 0, type: float32}\n  - {name: flow, table: input, address: 1, type: uint16}\n  - {name: a, table: input, address: 5, type: bit, bit: 2}\n  - {name: b, table: input, address: 5, type: bit, bit: 2}\n  - {name: c, table: input, address: 5, type: bit, bit: 3}\n",
			want: []string{
				`point "flow": input 1-1 overlaps point "pressure" at 0-1`,
				`point "b": input 5 bit 2 is also point "a"`,
			},
		},
		{
			name: "duplicate names, missing bits",
			yaml: "name: x\nkind: boiler\npoints:\n  - {name: a, table: holding, address: 0, type: uint16}\n  - {name: a, table: holding, address: 1, type: uint16}\n  - {name: s, table: holding, address: 2, type: string}\n  - {name: e, table: holding, address: 20, type: enum}\n  - {name: f, table: holding, address: 21, type: bit, bit: 16}\n  - {name: g, table: holding, address: 22, type: string, length: 200}\n",
			want: []string{
				`kind: "boiler" is not one of pump, elevator, fire_panel, lighting, generic`,
				`point "a": name used again (first at points[0])`,
				`point "s": length: a string point needs its length in registers`,
				`point "e": enum: an enum point needs labels for its codes`,
				`point "f": bit: 16 is past the last bit of a register (0-15)`,
				`point "g": length: 200 registers cannot be read in one request (at most 125)`,
			},
		},
		{
			name: "scaled enum and address past the end",
			yaml: "name: x\npoints:\n  - {name: e, table: input, address: 0, type: enum, scale: 2, enum: {0: ok}}\n  - {name: big, table: input, address: 65535, type: uint32}\n",
			want: []string{
				`point "e": scale, offset: only numeric points can be scaled`,
				`point "big": address: 65535 plus its width 2 runs past the last address 65535`,
			},
		},
		{
			name: "empty",
			yaml: "kind: pump\n",
			want: []string{"name: missing", "points: a profile needs at least one point"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseProfile("test.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("profile accepted, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q; it says:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseProfileDefaults(t *testing.T) {
	t.Parallel()
	p, err := ParseProfile("ok.yaml", []byte("name: meter\npoints:\n  - {name: kwh, table: input, address: 0, type: uint32, order: cdab}\n"))
	if err != nil {
		t.Fatal(err)
	}
	pt := p.Points[0]
	if pt.Order != OrderCDAB || pt.Scale != 1 || p.Kind != KindGeneric {
		t.Errorf("defaults: order %s scale %v kind %s, want CDAB 1 generic", pt.Order, pt.Scale, p.Kind)
	}
}
