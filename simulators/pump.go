package simulators

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// Pump roles: a supply (booster) pump holds the building's water pressure; a drainage pump
// empties a basement pit between two level switches.
const (
	RoleSupply   = "supply"
	RoleDrainage = "drainage"
)

// Figures of the simulated pumps. They are of the order found in residential plant rooms: a
// 4 bar booster set of about 25 m³/h, an 11 kW motor, a sump pit of 2 m.
const (
	supplySetpoint = 4.0  // bar, pressure the VFD holds
	supplyInlet    = 1.2  // bar, town-main pressure through a stopped booster
	supplyMaxFlow  = 25.0 // m³/h at full load
	drainDischarge = 1.6  // bar while pumping
	drainFlow      = 36.0 // m³/h while pumping
	ratedCurrent   = 22.0 // A

	pitStart    = 1.20 // m, level switch that starts the drainage pump
	pitStop     = 0.40 // m, level switch that stops it
	pitHighHigh = 1.60 // m, high-high float switch
	pitDepth    = 2.00 // m, the pit is full (and the plant room floods)
	// A pit of about 1.5 m² fills from stop to start level in about four minutes and is
	// pumped down in about a minute and a half: a cycle every five or six minutes.
	pitInflow   = 0.0033 // m/s at normal inflow
	pitPumpRate = 0.0133 // m/s the pump takes out

	overloadTripAfter = 5.0 // s of overcurrent before the overload relay trips
	dryRunTripAfter   = 3.0 // s of lost suction before dry-run protection trips
	pumpTau           = 2.0 // s, time constant of pressure, flow and current
)

// supplyDemand is a residential building's water demand by hour of day as a fraction of the
// booster's capacity: little at night, a morning and a bigger evening peak.
var supplyDemand = [24]float64{
	0.10, 0.08, 0.07, 0.07, 0.08, 0.15, 0.45, 0.80, 0.75, 0.45, 0.35, 0.40,
	0.45, 0.40, 0.30, 0.30, 0.35, 0.50, 0.75, 0.90, 0.85, 0.65, 0.40, 0.20,
}

type pump struct {
	drainage bool
	rng      *rand.Rand
	loc      *time.Location
	now      time.Time
	inflow   float64 // this pit's normal inflow, m/s

	cmd     bool // run_command: the controller's (or a client's) order
	reset   bool // fault_reset as last written; a write of on resets
	running bool
	// lagged physical values and the noise of the latest reading
	pressure, flow, current, freq     float64
	nPressure, nFlow, nCurrent, nFreq float64
	runSeconds                        float64
	starts                            float64
	level                             float64

	overload, dryRun      bool    // fault injected
	overloadT, dryRunT    float64 // seconds run since injected
	overloadTrip, dryTrip bool    // protection has tripped
	vfdCode               int
	pitFlood              bool // inflow exceeds the pump's capacity
}

func newPump(role string, rng *rand.Rand, loc *time.Location, now time.Time) *pump {
	p := &pump{
		drainage:   role == RoleDrainage,
		rng:        rng,
		loc:        loc,
		now:        now,
		inflow:     pitInflow * (0.8 + 0.4*rng.Float64()),
		runSeconds: (8000 + 4000*rng.Float64()) * 3600,
		starts:     float64(1000 + rng.IntN(500)),
	}
	if p.drainage {
		p.level = pitStop + (pitStart-pitStop)*rng.Float64()
	} else {
		p.cmd = true
		p.running = true
	}
	// Start settled: the values a poll sees first are already those of steady running.
	pt, ft, it, fr := p.targets()
	p.pressure, p.flow, p.current, p.freq = pt, ft, it, fr
	return p
}

func (p *pump) tripped() bool { return p.overloadTrip || p.dryTrip || p.vfdCode != 0 }

// targets are where pressure, flow, current and frequency head in the pump's present state.
func (p *pump) targets() (pressure, flow, current, freq float64) {
	if !p.running {
		if p.drainage || p.dryRun {
			return 0, 0, 0, 0
		}
		return supplyInlet, 0, 0, 0
	}
	var load float64
	if p.drainage {
		pressure, flow, freq, load = drainDischarge, drainFlow, 49.5, 0.8
	} else {
		load = supplyDemand[int(hourOfDay(p.now, p.loc))%24]
		pressure, flow, freq = supplySetpoint, load*supplyMaxFlow, 45+5*load
	}
	current = ratedCurrent * (0.35 + 0.6*load)
	if p.dryRun { // lost suction: no pressure, no flow, the motor runs light
		pressure, flow, current, freq = 0.05, 0, ratedCurrent*0.25, 50
	}
	if p.overload { // jammed impeller or failing bearing: current climbs
		current = ratedCurrent * 1.45
	}
	return pressure, flow, current, freq
}

func (p *pump) step(now time.Time, dt time.Duration) {
	p.now = now
	forSteps(dt, func(h float64) {
		// Protection counts only while the motor runs: a stopped pump cannot overload or run dry.
		if p.overload && !p.overloadTrip && p.running {
			if p.overloadT += h; p.overloadT >= overloadTripAfter {
				p.overloadTrip = true
			}
		}
		if p.dryRun && !p.dryTrip && p.running {
			if p.dryRunT += h; p.dryRunT >= dryRunTripAfter {
				p.dryTrip = true
			}
		}
		if p.drainage {
			in := p.inflow
			if p.pitFlood {
				in = 1.5 * pitPumpRate
			}
			out := 0.0
			if p.running && !p.dryRun {
				out = pitPumpRate
			}
			p.level = min(pitDepth, max(0, p.level+(in-out)*h))
			// The level controller: start at the high switch, stop at the low one.
			if p.level >= pitStart {
				p.cmd = true
			} else if p.level <= pitStop {
				p.cmd = false
			}
		}
		p.setRunning(p.cmd && !p.tripped())
		if p.running {
			p.runSeconds += h
		}
		pt, ft, it, fr := p.targets()
		p.pressure = lag(p.pressure, pt, h, pumpTau)
		p.flow = lag(p.flow, ft, h, pumpTau)
		p.current = lag(p.current, it, h, pumpTau/4)
		p.freq = lag(p.freq, fr, h, pumpTau)
	})
	if dt > 0 && p.running {
		p.nPressure = noise(p.rng, 0.03)
		p.nFlow = noise(p.rng, 0.02*p.flow)
		p.nCurrent = noise(p.rng, 0.2)
		p.nFreq = noise(p.rng, 0.1)
	} else if dt > 0 {
		p.nPressure, p.nFlow, p.nCurrent, p.nFreq = 0, 0, 0, 0
	}
}

// setRunning switches the motor, counting starts.
func (p *pump) setRunning(on bool) {
	if on && !p.running {
		p.starts++
	}
	p.running = on
}

func (p *pump) value(name string) (devices.Value, bool) {
	switch name {
	case "running":
		return boolValue(p.running), true
	case "fault":
		return boolValue(p.tripped()), true
	case "overload":
		return boolValue(p.overloadTrip), true
	case "dry_run":
		return boolValue(p.dryTrip), true
	case "pit_high":
		return boolValue(p.drainage && p.level >= pitHighHigh), true
	case "auto_mode":
		return boolValue(true), true
	case "run_command":
		return boolValue(p.cmd), true
	case "fault_reset":
		return boolValue(p.reset), true
	case "pressure":
		return number(max(0, p.pressure+p.nPressure)), true
	case "flow":
		return number(max(0, p.flow+p.nFlow)), true
	case "motor_current":
		return number(max(0, p.current+p.nCurrent)), true
	case "frequency":
		return number(max(0, p.freq+p.nFreq)), true
	case "running_hours":
		return number(p.runSeconds / 3600), true
	case "pit_level":
		return number(p.level), true
	case "vfd_fault_code":
		return number(float64(p.vfdCode)), true
	case "role":
		if p.drainage {
			return number(1), true
		}
		return number(0), true
	case "starts":
		return number(p.starts), true
	}
	return devices.Value{}, false
}

func (p *pump) checkWrite(name string, v devices.Value) error {
	if name != "run_command" && name != "fault_reset" {
		return errReadOnly
	}
	return nil
}

// write takes a run command or a fault reset. A run command starts or stops a supply pump; on
// a drainage pump the level controller overrides it at the next level switch, as in automatic
// mode. A reset (fault_reset written on) clears each protection trip whose cause is gone, as a
// motor protection relay does: an overload or dry run still present trips again.
func (p *pump) write(name string, v devices.Value) {
	switch name {
	case "run_command":
		p.cmd = v.Number != 0
	case "fault_reset":
		p.reset = v.Number != 0
		if p.reset {
			if !p.overload {
				p.overloadTrip, p.overloadT = false, 0
			}
			if !p.dryRun {
				p.dryTrip, p.dryRunT = false, 0
			}
		}
	}
	p.setRunning(p.cmd && !p.tripped())
}

func (p *pump) inject(fault string, params map[string]string) error {
	switch fault {
	case "overload":
		if !p.overload {
			p.overload, p.overloadT = true, 0
		}
	case "dry_run":
		if !p.dryRun {
			p.dryRun, p.dryRunT = true, 0
		}
	case "vfd_fault":
		code, err := strconv.Atoi(params["code"])
		if err != nil || code < 1 || code > 0xFFFF {
			return &paramError{"code", fmt.Sprintf("%q is not a VFD fault code 1-65535 (the profile labels 1-6)", params["code"])}
		}
		p.vfdCode = code
		p.setRunning(false)
	case "pit_high":
		p.pitFlood = true
	}
	return nil
}

// armed says what an overload or a lost suction waits for on a stopped pump: protection acts
// only while the motor runs, so the fault trips after the next start.
func (p *pump) armed(fault string) string {
	switch {
	case fault == "overload" && p.overload && !p.overloadTrip && !p.running:
		return fmt.Sprintf("the pump is stopped: the overload relay trips %gs after its next start", overloadTripAfter)
	case fault == "dry_run" && p.dryRun && !p.dryTrip && !p.running:
		return fmt.Sprintf("the pump is stopped: dry-run protection trips %gs after its next start", dryRunTripAfter)
	}
	return ""
}

func (p *pump) clear(fault string, params map[string]string) error {
	latched := params["latch"] == "1"
	switch fault {
	case "overload":
		p.overload, p.overloadT = false, 0
		p.overloadTrip = p.overloadTrip && latched
	case "dry_run":
		p.dryRun, p.dryRunT = false, 0
		p.dryTrip = p.dryTrip && latched
	case "vfd_fault":
		p.vfdCode = 0
	case "pit_high":
		p.pitFlood = false
	}
	// A reset pump starts again at once if it is commanded to run.
	p.setRunning(p.cmd && !p.tripped())
	return nil
}
