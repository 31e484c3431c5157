package bacnet

import (
	"testing"

	"github.com/facilityd/facilityd/devices"
)

// FuzzDraftLoads: whatever names and units a device sends (network input), the draft profile
// discover writes loads as it is, with one point per mapped object.
func FuzzDraftLoads(f *testing.F) {
	f.Add("Supply Air Temp", uint32(62), "Supply Air Temp", uint16(0))
	f.Add("", uint32(0), "time", uint16(3))
	f.Add("\"quoted\" \\ name\n", uint32(999), "comm_ok", uint16(19))
	f.Add("温度 #1: zone", uint32(98), "", uint16(8))
	f.Fuzz(func(t *testing.T, name string, units uint32, other string, typ uint16) {
		objs := []ObjectInfo{
			{ID: ObjectID{Type: ObjectDevice, Instance: 7}, Name: name},
			{ID: ObjectID{Type: ObjectAnalogInput, Instance: 1}, Name: name, Units: units, HasUnits: true},
			{ID: ObjectID{Type: ObjectAnalogValue, Instance: 2}, Name: name, Units: units, HasUnits: true},
			{ID: ObjectID{Type: ObjectBinaryOutput, Instance: 3}, Name: other},
			{ID: ObjectID{Type: ObjectType(typ % 1024), Instance: 4}, Name: other},
		}
		d := Draft{Name: "fuzz", Device: Found{IAm: IAm{Device: ObjectID{Type: ObjectDevice, Instance: 7}}}, Objects: objs}
		data := d.YAML()
		p, err := devices.ParseProfile("draft", data)
		if err != nil {
			t.Fatalf("the draft does not load: %v\n%s", err, data)
		}
		want := 0
		for _, o := range objs {
			if mapped(o.ID.Type) {
				want++
			}
		}
		if len(p.Points) != want {
			t.Fatalf("%d points for %d mapped objects\n%s", len(p.Points), want, data)
		}
	})
}
