package simulators

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// Schedule of a simulated lighting panel, in minutes after local midnight, until a client
// writes on_time or off_time.
const (
	DefaultLightsOn  = 18 * 60
	DefaultLightsOff = 6 * 60
	minutesPerDay    = 24 * 60
	circuitKW        = 0.15 // kW a circuit of healthy lamps draws
)

type lighting struct {
	rng               *rand.Rand
	loc               *time.Location
	now               time.Time
	n                 int // circuits
	onTime, offTime   int
	sched             bool // the schedule's state at the last step
	cmd               []bool
	lampFail, tripped []bool
	energy            float64 // kWh
	nPower            float64 // relative noise of the latest power reading
}

func newLighting(circuits int, rng *rand.Rand, loc *time.Location, now time.Time) *lighting {
	l := &lighting{
		rng:      rng,
		loc:      loc,
		now:      now,
		n:        circuits,
		onTime:   DefaultLightsOn,
		offTime:  DefaultLightsOff,
		cmd:      make([]bool, circuits),
		lampFail: make([]bool, circuits),
		tripped:  make([]bool, circuits),
		energy:   20000 + 10000*rng.Float64(),
	}
	l.sched = l.inWindow(now)
	for i := range l.cmd {
		l.cmd[i] = l.sched
	}
	return l
}

// inWindow reports whether t falls between on and off time; a window may span midnight, and
// equal times mean the schedule never switches on.
func (l *lighting) inWindow(t time.Time) bool {
	m := minuteOfDay(t, l.loc)
	switch {
	case l.onTime == l.offTime:
		return false
	case l.onTime < l.offTime:
		return m >= l.onTime && m < l.offTime
	}
	return m >= l.onTime || m < l.offTime
}

// on is the actual state of circuit i: its contactor follows the command unless the breaker
// has tripped.
func (l *lighting) on(i int) bool { return l.cmd[i] && !l.tripped[i] }

// power is the panel's load: a circuit draws only while on and its lamps work.
func (l *lighting) power() float64 {
	n := 0
	for i := 0; i < l.n; i++ {
		if l.on(i) && !l.lampFail[i] {
			n++
		}
	}
	return circuitKW * float64(n)
}

func (l *lighting) step(now time.Time, dt time.Duration) {
	// The load held over the interval; switching happens at its end.
	l.energy += l.power() * dt.Hours()
	l.now = now
	// The schedule switches every circuit at its on and off times. Between those edges a
	// circuit keeps whatever a client last commanded, as a manual override does.
	if s := l.inWindow(now); s != l.sched {
		l.sched = s
		for i := range l.cmd {
			l.cmd[i] = s
		}
	}
	if dt > 0 {
		l.nPower = noise(l.rng, 0.01)
	}
}

func (l *lighting) value(name string) (devices.Value, bool) {
	switch name {
	case "energy":
		return number(l.energy), true
	case "power":
		return number(l.power() * (1 + l.nPower)), true
	case "on_time":
		return number(float64(l.onTime)), true
	case "off_time":
		return number(float64(l.offTime)), true
	case "dark":
		return boolValue(l.inWindow(l.now)), true
	}
	if i, ok := l.circuit(name, "_command"); ok {
		return boolValue(l.cmd[i]), true
	}
	if i, ok := l.circuit(name, "_on"); ok {
		return boolValue(l.on(i)), true
	}
	if i, ok := l.circuit(name, "_lamp_fail"); ok {
		return boolValue(l.lampFail[i]), true
	}
	return devices.Value{}, false
}

// circuit maps circuit_NN<suffix> to a 0-based circuit index.
func (l *lighting) circuit(name, suffix string) (int, bool) {
	i, ok := numbered(name, "circuit_", suffix)
	if !ok || i > l.n {
		return 0, false
	}
	return i - 1, true
}

func (l *lighting) checkWrite(name string, v devices.Value) error {
	switch name {
	case "on_time", "off_time":
		if v.Number < 0 || v.Number >= minutesPerDay {
			return fmt.Errorf("%s %v is not a time of day in minutes 0-%d", name, v.Number, minutesPerDay-1)
		}
		return nil
	}
	if _, ok := l.circuit(name, "_command"); ok {
		return nil
	}
	return errReadOnly
}

func (l *lighting) write(name string, v devices.Value) {
	switch name {
	case "on_time":
		l.onTime = int(v.Number)
	case "off_time":
		l.offTime = int(v.Number)
	}
	if i, ok := l.circuit(name, "_command"); ok {
		l.cmd[i] = v.Number != 0
	}
	// A new schedule takes effect now if it changes whether lights should be on.
	if s := l.inWindow(l.now); s != l.sched {
		l.sched = s
		for i := range l.cmd {
			l.cmd[i] = s
		}
	}
}

func (l *lighting) circuitSet(fault string) []bool {
	switch fault {
	case "lamp_failure":
		return l.lampFail
	case "circuit_trip":
		return l.tripped
	}
	return nil
}

func (l *lighting) inject(fault string, params map[string]string) error {
	c, err := numberedParam(params, "circuit", l.n, true)
	if err != nil {
		return err
	}
	if set := l.circuitSet(fault); set != nil {
		set[c-1] = true
	}
	return nil
}

func (l *lighting) clear(fault string, params map[string]string) error {
	c, err := numberedParam(params, "circuit", l.n, false)
	if err != nil {
		return err
	}
	set := l.circuitSet(fault)
	switch {
	case set == nil:
	case c == 0:
		clear(set)
	default:
		set[c-1] = false
	}
	return nil
}
