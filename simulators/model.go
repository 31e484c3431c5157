package simulators

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// model is one device's physics: state that moves with time, read and written by point name.
// A model knows nothing of Modbus; device.go encodes its values into the register banks.
// Models are not safe for concurrent use: the device's lock guards them.
type model interface {
	// step advances the state by dt of simulated time (wall time times Options.TimeScale),
	// ending at now, whose time of day drives schedules and demand curves.
	step(now time.Time, dt time.Duration)
	// value returns a point's current value; ok is false for a name the model does not know,
	// which then reads as zero.
	value(name string) (v devices.Value, ok bool)
	// checkWrite says whether a client may write v to the point: nil, errReadOnly (answered
	// with exception 02) or a reason the value is wrong (exception 03). It changes nothing.
	checkWrite(name string, v devices.Value) error
	// write applies a write checkWrite accepted.
	write(name string, v devices.Value)
	// inject starts a fault of the device's kind with its parameters, already checked for
	// syntax and defaulted; a *paramError says which parameter is out of range.
	inject(fault string, params map[string]string) error
	// clear ends a fault; for faults with a key parameter (zone, circuit) an empty key clears
	// every instance.
	clear(fault string, params map[string]string) error
}

// armer is a model whose faults may be unable to show at once (an overload on a stopped
// pump): armed says, for a fault in force, what it waits for, or "" when it shows. The
// control API reports an armed fault as such; the model trips it when it can.
type armer interface {
	armed(fault string) string
}

// errReadOnly is checkWrite's answer for a point no client may write.
var errReadOnly = errors.New("read-only point")

// paramError is a model's complaint about one fault parameter.
type paramError struct {
	param  string
	reason string
}

func (e *paramError) Error() string { return "parameter " + e.param + ": " + e.reason }

// numberedParam reads a 1-based instance number (zone, circuit) from params, checked against
// n. An absent parameter returns 0 when optional.
func numberedParam(params map[string]string, name string, n int, required bool) (int, error) {
	raw, ok := params[name]
	if !ok || raw == "" {
		if required {
			return 0, &paramError{name, fmt.Sprintf("missing; give the %s number 1-%d, e.g. ?%s=1", name, n, name)}
		}
		return 0, nil
	}
	i, err := strconv.Atoi(raw)
	if err != nil || i < 1 || i > n {
		return 0, &paramError{name, fmt.Sprintf("%q is not a %s number 1-%d", raw, name, n)}
	}
	return i, nil
}

// numbered parses names like zone_03 or circuit_12_on: the prefix, a number and the suffix.
func numbered(name, prefix, suffix string) (int, bool) {
	if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) || len(name) <= len(prefix)+len(suffix) {
		return 0, false
	}
	i, err := strconv.Atoi(name[len(prefix) : len(name)-len(suffix)])
	if err != nil || i < 1 {
		return 0, false
	}
	return i, true
}

// countNumbered is the highest N among the profile's points named prefix+N+suffix, so that the
// number of zones or circuits follows the profile.
func countNumbered(p *devices.Profile, prefix, suffix string) int {
	n := 0
	for i := range p.Points {
		if k, ok := numbered(p.Points[i].Name, prefix, suffix); ok {
			n = max(n, k)
		}
	}
	return n
}

// forSteps integrates over dt in slices of at most a second of simulated time, so that level
// switches and door timers see their thresholds; a long gap between reads is cut into at most
// maxSteps slices, which keeps a read after hours of silence cheap.
func forSteps(dt time.Duration, fn func(h float64)) {
	const maxSteps = 20000
	total := dt.Seconds()
	if total <= 0 {
		return
	}
	n := int(math.Ceil(total))
	if n > maxSteps {
		n = maxSteps
	}
	h := total / float64(n)
	for i := 0; i < n; i++ {
		fn(h)
	}
}

// lag moves x toward target as a first-order system with time constant tau (seconds).
func lag(x, target, h, tau float64) float64 {
	return target + (x-target)*math.Exp(-h/tau)
}

// noise is a normally distributed disturbance with standard deviation sigma, cut at 3 sigma
// so a reading never jumps out of its band.
func noise(rng *rand.Rand, sigma float64) float64 {
	return sigma * math.Max(-3, math.Min(3, rng.NormFloat64()))
}

func boolValue(b bool) devices.Value {
	if b {
		return devices.Value{Number: 1}
	}
	return devices.Value{}
}

func number(x float64) devices.Value { return devices.Value{Number: x} }

// minuteOfDay is the number of minutes after local midnight.
func minuteOfDay(t time.Time, loc *time.Location) int {
	t = t.In(loc)
	return t.Hour()*60 + t.Minute()
}

// hourOfDay is the time of day in fractional hours.
func hourOfDay(t time.Time, loc *time.Location) float64 {
	t = t.In(loc)
	return float64(t.Hour()) + float64(t.Minute())/60 + float64(t.Second())/3600
}
