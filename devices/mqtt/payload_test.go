package mqtt

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
)

func TestParseTime(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 11, 29, 9, 41, 0, 0, shanghai)
	tests := []struct {
		name string
		raw  any
		unit devices.TimeUnit
		want time.Time
		err  string
	}{
		{name: "RFC 3339 with offset", raw: "2026-11-29T09:41:00+08:00", want: want},
		{name: "RFC 3339 UTC with fractions", raw: "2026-11-29T01:41:00.500Z", want: want.Add(500 * time.Millisecond)},
		{name: "without offset: the site's zone", raw: "2026-11-29T09:41:00", want: want},
		{name: "without offset, with fractions", raw: "2026-11-29T09:41:00.123456", want: want.Add(123456 * time.Microsecond)},
		{name: "with a space", raw: "2026-11-29 09:41:00", want: want},
		{name: "with a space and an offset", raw: "2026-11-29 01:41:00Z", want: want},
		{name: "epoch seconds inferred", raw: json.Number("1795916460"), want: want},
		{name: "epoch seconds with fractions", raw: json.Number("1795916460.25"), want: want.Add(250 * time.Millisecond)},
		{name: "epoch milliseconds inferred", raw: json.Number("1795916460000"), want: want},
		{name: "epoch microseconds inferred", raw: json.Number("1795916460000000"), want: want},
		{name: "epoch nanoseconds inferred", raw: json.Number("1795916460000000000"), want: want},
		{name: "epoch as text", raw: "1795916460000", want: want},
		{name: "stated unit wins", raw: json.Number("1795916460000"), unit: devices.UnitMicroseconds, want: time.UnixMicro(1795916460000)},
		{name: "stated seconds", raw: json.Number("1795916460"), unit: devices.UnitSeconds, want: want},
		{name: "float64 from a plain decoder", raw: 1795916460.0, want: want},
		{name: "not a time", raw: "yesterday", err: `"yesterday" is not RFC 3339`},
		{name: "day first", raw: "29/11/2026 09:41", err: "is not RFC 3339"},
		{name: "a bool", raw: true, err: "want time text or an epoch number, got a bool"},
		{name: "beyond a time series", raw: json.Number("99999999999"), unit: devices.UnitSeconds, err: "outside the years 1678-2261"},
		{name: "overflow", raw: json.Number("1e400"), err: "out of range"},
		{name: "nanoseconds beyond int64", raw: json.Number("1e19"), unit: devices.UnitNanoseconds, err: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTime(tt.raw, TimeRules{Unit: tt.unit, Location: shanghai})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("ParseTime(%v) = %v, %v; want an error saying %q", tt.raw, got, err, tt.err)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("ParseTime(%v) = %v, %v; want %v", tt.raw, got, err, tt.want)
			}
		})
	}
}

func TestDecodeWords(t *testing.T) {
	t.Parallel()
	relay := &devices.Point{Name: "relay", Type: devices.TypeBool}
	custom := &devices.Point{Name: "zone", Type: devices.TypeBool, True: []string{"FIRE", "alarm"}, False: []string{"normal"}}
	temp := &devices.Point{Name: "temp", Type: devices.TypeFloat64, Scale: 0.1, Offset: -40}
	count := &devices.Point{Name: "count", Type: devices.TypeUint16, Scale: 1}
	label := &devices.Point{Name: "fw", Type: devices.TypeString}
	tests := []struct {
		name  string
		point *devices.Point
		raw   any
		want  float64
		text  string
		err   string
	}{
		{name: "ON", point: relay, raw: "ON", want: 1},
		{name: "off any case", point: relay, raw: "Off", want: 0},
		{name: "open", point: relay, raw: "open", want: 1},
		{name: "CLOSED", point: relay, raw: "CLOSED", want: 0},
		{name: "yes", point: relay, raw: " yes ", want: 1},
		{name: "inactive", point: relay, raw: "inactive", want: 0},
		{name: "text true", point: relay, raw: "TRUE", want: 1},
		{name: "number 1", point: relay, raw: json.Number("1"), want: 1},
		{name: "number 0.0", point: relay, raw: json.Number("0.0"), want: 0},
		{name: "text 0", point: relay, raw: "0", want: 0},
		{name: "JSON true", point: relay, raw: true, want: 1},
		{name: "number 2", point: relay, raw: json.Number("2"), err: "relay wants 0 or 1, got 2"},
		{name: "unknown word", point: relay, raw: "toggle", err: `relay: "toggle" is none of on/true/yes/open/active (true) or off/false/no/closed/inactive (false)`},
		{name: "own words", point: custom, raw: "Fire", want: 1},
		{name: "own words replace defaults", point: custom, raw: "on", err: `zone: "on" is none of FIRE/alarm (true) or normal (false)`},
		{name: "own false word", point: custom, raw: "NORMAL", want: 0},
		{name: "numeric text, scaled", point: temp, raw: "635", want: 23.5},
		{name: "numeric text with spaces", point: temp, raw: " 635\n", want: 23.5},
		{name: "negative exponent text", point: temp, raw: "4.05e2", want: 0.5},
		{name: "not a number", point: temp, raw: "n/a", err: `temp: "n/a" is not a number`},
		{name: "NaN text", point: temp, raw: "NaN", err: `temp: "NaN" is not a number`},
		{name: "hex text", point: temp, raw: "0x10", err: `is not a number`},
		{name: "unit in the text", point: temp, raw: "23.5 °C", err: `is not a number`},
		{name: "whole text", point: count, raw: "7", want: 7},
		{name: "fraction into an integer", point: count, raw: "7.5", err: "7.5 is not a whole number in the range of uint16"},
		{name: "bool for a number", point: count, raw: false, err: "count wants a number, got a bool"},
		{name: "number for a string", point: label, raw: json.Number("1.10"), text: "1.10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.point, tt.raw)
			if tt.err != "" {
				if !errors.Is(err, ErrWrongType) || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("Decode(%v) = %+v, %v; want an error saying %q", tt.raw, got, err, tt.err)
				}
				return
			}
			if err != nil || math.Abs(got.Number-tt.want) > 1e-9 || got.Text != tt.text {
				t.Errorf("Decode(%v) = %+v, %v; want %v %q", tt.raw, got, err, tt.want, tt.text)
			}
		})
	}
}

func TestPlainValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		payload string
		want    any
	}{
		{"23.5", json.Number("23.5")},
		{" 23.5\r\n", json.Number("23.5")},
		{"ON", "ON"},
		{`"ON"`, "ON"},
		{"true", true},
		{"23.5 °C", "23.5 °C"},
		{"", ""},
		{"null", nil},
	}
	for _, tt := range tests {
		if got := plainValue([]byte(tt.payload)); got != tt.want {
			t.Errorf("plainValue(%q) = %#v, want %#v", tt.payload, got, tt.want)
		}
	}
}

// fuzzProfile has a point of every type a payload can be read as, located every way.
var fuzzProfile = func() *devices.Profile {
	p, err := devices.ParseProfile("fuzz", []byte(`name: fuzz
time_path: ts
points:
  - {name: b, path: b, type: bool}
  - {name: w, path: "s[id=w].v", type: bool, true: [alarm], false: [ok]}
  - {name: i16, path: i16, type: int16, scale: 0.1}
  - {name: u64, path: "a[1]", type: uint64}
  - {name: f32, path: f32, type: float32, offset: -40}
  - {name: f64, path: x.y, type: float64}
  - {name: s, path: s, type: string}
  - {name: e, path: e, type: enum, enum: {0: idle, 1: run}, map: {RUN: 1}}
  - {name: t, topic: t, type: float64}
`))
	if err != nil {
		panic(err)
	}
	return p
}()

// FuzzDecodePayload: any payload, read as a device's JSON or as a point's plain value, gives
// values or a reason, never a panic; a good value is a finite number, and a payload time is
// one a time series can hold.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range shapes {
		for _, m := range s.msgs {
			f.Add([]byte(m.payload))
		}
	}
	f.Add([]byte(`{"ts":"2026-11-29T09:41:00","b":"ON","s":[{"id":"w","v":"alarm"}],"i16":"-32768","a":[0,"18446744073709551615"],"f32":"3.4e39","x":{"y":1e308},"e":"run"}`))
	f.Add([]byte(`{"ts":-9223372036854775808,"b":1}`))
	f.Add([]byte(`{"ts":"1e400"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		values := make([]devices.Value, len(fuzzProfile.Points))
		ts, _, err := decodePayload(fuzzProfile, payload, values, TimeRules{Location: time.UTC})
		if err == nil && !ts.IsZero() && (ts.Before(minTime) || ts.After(maxTime)) {
			t.Fatalf("payload time %v is outside the range a time series holds", ts)
		}
		for i, v := range values {
			if v.Quality == devices.QualityGood && (math.IsNaN(v.Number) || math.IsInf(v.Number, 0)) {
				t.Fatalf("point %s good with %v", fuzzProfile.Points[i].Name, v.Number)
			}
		}
		for i := range fuzzProfile.Points {
			v, err := Decode(&fuzzProfile.Points[i], plainValue(payload))
			if err == nil && (math.IsNaN(v.Number) || math.IsInf(v.Number, 0)) {
				t.Fatalf("plain %q as %s: %v", payload, fuzzProfile.Points[i].Name, v.Number)
			}
		}
	})
}

// BenchmarkDecodePayload: one smart plug's telemetry (local time, "POWER":"ON", numbers) read
// into its points, as the driver does for every message.
func BenchmarkDecodePayload(b *testing.B) {
	prof, err := devices.ParseProfile("plug", []byte(shapes[0].profile))
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(shapes[0].msgs[0].payload)
	values := make([]devices.Value, len(prof.Points))
	rules := TimeRules{Location: shanghai}
	b.ReportAllocs()
	for b.Loop() {
		if _, bad, err := decodePayload(prof, payload, values, rules); err != nil || bad != nil {
			b.Fatal(err, bad)
		}
	}
}
