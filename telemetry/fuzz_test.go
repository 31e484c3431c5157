package telemetry

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testenv"
)

// FuzzAppendSnapshot: whatever names, tags, strings and numbers a device and its poll carry,
// the output is one line of valid line protocol holding comm_ok and the device tag as given
// (control characters aside, which line protocol cannot carry).
func FuzzAppendSnapshot(f *testing.F) {
	f.Add("P-1", "B 1", "zone,=\\", "pump", "name", 4.2, "text\"\\", int64(0), true)
	f.Add("a\\", "", "", "", "x=y", math.Inf(1), "\xff\xfe", int64(-1), false)
	f.Add("d", "b", "z", "generic", "n", math.NaN(), "", int64(math.MaxInt64), true)
	f.Fuzz(func(t *testing.T, id, building, zone, kind, point string, num float64, text string, ns int64, ok bool) {
		if id == "" || point == "" {
			return
		}
		prof := &devices.Profile{Name: "f", Kind: devices.Kind(kind), Points: []devices.Point{
			{Name: point, Table: devices.TableHolding, Type: devices.TypeFloat64, Scale: 1},
			{Name: point + "_s", Table: devices.TableHolding, Address: 4, Type: devices.TypeString, Length: 4, Scale: 1},
			{Name: point + "_e", Table: devices.TableHolding, Address: 8, Type: devices.TypeEnum, Scale: 1},
			{Name: point + "_b", Table: devices.TableCoil, Type: devices.TypeBool, Scale: 1},
		}}
		dev := &devices.Device{ID: id, Kind: devices.Kind(kind), Site: "s", Building: building, Zone: zone, Profile: prof}
		s := &devices.Snapshot{Device: dev, Time: time.Unix(0, ns),
			Values: []devices.Value{{Number: num}, {Text: text}, {Number: num}, {Number: num}}}
		if !ok {
			s.Values = nil
		}
		out, _, err := AppendSnapshot(nil, s)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(out), "\n") {
			t.Fatalf("no final newline: %q", out)
		}
		lines, err := testenv.ParseLines(string(out))
		if err != nil {
			t.Fatalf("%q is not valid line protocol: %v", out, err)
		}
		if len(lines) != 1 {
			t.Fatalf("%q holds %d lines", out, len(lines))
		}
		l := lines[0]
		if _, has := l.Fields[FieldCommOK]; !has {
			t.Fatalf("%q has no comm_ok", out)
		}
		if !strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) && l.Tags["device"] != id {
			t.Fatalf("device tag %q reads back as %q from %q", id, l.Tags["device"], out)
		}
	})
}
