package simulators

import (
	"time"

	"github.com/facilityd/facilityd/devices"
)

// generic serves any profile of kind generic, for site profiles and load tests: every point
// moves once a second in a way a test can predict, but the last DeviceSpec.Steady, which hold
// their value at time zero. Numbers read GenericValue(point index, time); bools alternate each
// second; strings read "generic".
type generic struct {
	index map[string]int
	types map[string]devices.Type
	now   time.Time
	// moving is how many of the first points move; the rest hold their value at time zero.
	moving int
}

func newGeneric(p *devices.Profile, steady int, now time.Time) *generic {
	g := &generic{index: map[string]int{}, types: map[string]devices.Type{}, now: now, moving: max(len(p.Points)-steady, 0)}
	for i := range p.Points {
		g.index[p.Points[i].Name] = i
		g.types[p.Points[i].Name] = p.Points[i].Type
	}
	return g
}

// GenericValue is the number a generic simulator serves for its point at index i at time t:
// it counts up once a second from i, wrapping at 1000, so that it fits every numeric type.
func GenericValue(i int, t time.Time) float64 {
	return float64((t.Unix() + int64(i)) % 1000)
}

func (g *generic) step(now time.Time, _ time.Duration) { g.now = now }

func (g *generic) value(name string) (devices.Value, bool) {
	i, ok := g.index[name]
	if !ok {
		return devices.Value{}, false
	}
	now := g.now
	if i >= g.moving {
		now = time.Unix(0, 0)
	}
	switch g.types[name] {
	case devices.TypeBool, devices.TypeBit:
		return boolValue((now.Unix()+int64(i))%2 == 1), true
	case devices.TypeString:
		return devices.Value{Text: "generic"}, true
	}
	return number(GenericValue(i, now)), true
}

func (g *generic) checkWrite(string, devices.Value) error         { return errReadOnly }
func (g *generic) write(string, devices.Value)                    {}
func (g *generic) inject(fault string, _ map[string]string) error { return nil }
func (g *generic) clear(fault string, _ map[string]string) error  { return nil }
