package devices

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones the tests name, on machines without a zone database
)

func TestBuiltinProfiles(t *testing.T) {
	t.Parallel()
	want := map[string]Kind{"pump": KindPump, "elevator": KindElevator, "fire_panel": KindFirePanel, "lighting": KindLighting, "lighting_mqtt": KindLighting, "ahu_bacnet": KindGeneric}
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
			name: "MQTT time fields",
			yaml: "name: plug\ntime_path: Time\ntime_unit: minutes\ntime_zone: Mars/Olympus\npoints:\n  - {name: relay, path: POWER, type: bool}\n",
			want: []string{
				`profile test.yaml: time_unit: "minutes" is not one of s, ms, us, ns`,
				`time_zone: "Mars/Olympus" is not an IANA time zone (e.g. Asia/Shanghai)`,
			},
		},
		{
			name: "northbound deadbands",
			yaml: "name: pump\ndeadband: 1.5\npoints:\n  - {name: pressure, path: p, type: float64, deadband: -0.1}\n  - {name: running, path: r, type: bool, deadband: 1}\n",
			want: []string{
				"deadband: 1.5 must be a fraction from 0 to below 1 (0.01 is 1% of the value)",
				`point "pressure": deadband -0.1 must not be negative`,
				`point "running": deadband applies to numbers; a bool point is published on every change`,
			},
		},
		{
			name: "time unit and zone without a time path",
			yaml: "name: plug\ntime_unit: ms\ntime_zone: UTC\npoints:\n  - {name: relay, path: POWER, type: bool}\n",
			want: []string{
				"time_unit: says how to read time_path, which is not set",
				"time_zone: says how to read time_path, which is not set",
			},
		},
		{
			name: "MQTT point fields",
			yaml: "name: plug\npoints:\n" +
				"  - {name: both, path: POWER, topic: POWER, type: bool}\n" +
				"  - {name: overlap, path: a, type: bool, true: [ON, open], false: [off, Open]}\n" +
				"  - {name: half, path: b, type: bool, true: [alarm]}\n" +
				"  - {name: words_on_number, path: c, type: float64, true: [x], false: [y]}\n" +
				"  - {name: abs, topic: /sensor/temp, type: float64}\n" +
				"  - {name: wild, topic: sensor/+, type: float64}\n" +
				"  - {name: t1, topic: temp, type: float64}\n" +
				"  - {name: t2, topic: temp, type: float64}\n" +
				"  - {name: mode, path: mode, type: enum, enum: {0: idle, 1: run}, map: {RUN: 1, FAULT: 9, idle: 1, Stop: 0, stop: 0}}\n" +
				"  - {name: map_on_bool, path: d, type: bool, map: {x: 1}}\n" +
				"  - {name: modbus_words, table: coil, address: 0, type: bool, true: [on], false: [off]}\n",
			want: []string{
				`point "both": path, topic: give one: path reads a member of the JSON payload on the device's topic, topic a plain value on a topic of its own`,
				`point "overlap": true, false: "Open" is in both lists`,
				`point "half": true, false: give both lists`,
				`point "words_on_number": true, false: only bool points read words as true or false`,
				`point "abs": topic: "/sensor/temp": is relative to the device's topic; leave out the leading '/'`,
				`point "wild": topic: "sensor/+": a point's topic names one topic; wildcards (+, #) belong in the device's topic`,
				`point "t2": topic "temp" is also point "t1"'s; a plain payload holds one value`,
				`point "mode": map: "FAULT" gives code 9, which has no label in enum`,
				`point "mode": map: "idle" gives code 1, but it is the label of code 0`,
				`point "mode": map: "Stop" and "stop" are one word in any case`,
				`point "map_on_bool": map: only enum points map words to codes`,
				`point "modbus_words": true, false, map: only points heard over MQTT (path or topic) read words`,
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

func TestParseProfileMQTTFields(t *testing.T) {
	t.Parallel()
	p, err := ParseProfile("plug.yaml", []byte(`name: plug
time_path: Time
time_unit: ms
time_zone: Asia/Shanghai
points:
  - {name: relay, topic: POWER, type: bool}
  - {name: door, path: "inputs[id=door].state", type: bool, true: [OPEN, ajar], false: [shut]}
  - {name: mode, path: mode, type: enum, enum: {0: idle, 1: run}, map: {RUN: 1, STOP: 0}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Transport() != "mqtt" {
		t.Errorf("transport %q, want mqtt: every point is heard over MQTT", p.Transport())
	}
	if loc := p.Location(); loc == nil || loc.String() != "Asia/Shanghai" {
		t.Errorf("location %v, want Asia/Shanghai", loc)
	}
	if p.TimeUnit.Duration() != time.Millisecond {
		t.Errorf("time unit %s reads as %v", p.TimeUnit, p.TimeUnit.Duration())
	}
}
