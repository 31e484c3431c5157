package simulators

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// Default floors of a simulated elevator: three basement levels (car park) up to floor 20.
const (
	DefaultLowestFloor  = -2
	DefaultHighestFloor = 20
)

// Figures of the simulated elevator: a 1.75 m/s traction lift with 3.2 m floors, 1000 kg rated.
const (
	liftSpeed       = 0.55 // floors a second
	doorOpeningTime = 2.0  // s
	doorOpenDwell   = 5.0  // s
	doorClosingTime = 3.0  // s
	doorZone        = 0.08 // floors either side of a landing in which the doors may open
	liftRatedLoad   = 1000 // kg
	passengerMass   = 70   // kg
	idleMin         = 3.0  // s the car waits, doors closed, for the next call
	idleMax         = 25.0 // s
	codeDoorFault   = 12   // profile enum: door lock circuit fault
	codeEntrapment  = 21   // profile enum: stopped outside door zone
)

// Door states, as the profile's door_state enum codes them.
const (
	doorClosed  = 0
	doorOpening = 1
	doorOpen    = 2
	doorClosing = 3
)

type liftPhase int

const (
	liftIdle      liftPhase = iota // at a landing, doors closed, waiting for a call
	liftMoving                     // travelling to target
	liftOpening                    // doors opening at a landing
	liftOpen                       // doors open, passengers in and out
	liftClosing                    // doors closing
	liftStuck                      // entrapment: stopped between floors
	liftDoorFault                  // out of service at a landing, doors reopening
)

type elevator struct {
	rng        *rand.Rand
	lo, hi     int
	pos        float64 // car position in floors
	target     int
	dir        int // +1 up, -1 down, 0 stopped
	phase      liftPhase
	timer      float64 // seconds left in the phase
	doorCycle  int     // door_state while the door fault cycles the doors
	trips      float64
	load       float64
	entrapped  bool
	doorFaulty bool
}

func newElevator(lo, hi int, rng *rand.Rand) *elevator {
	e := &elevator{
		rng:   rng,
		lo:    lo,
		hi:    hi,
		trips: float64(100000 + rng.IntN(50000)),
		phase: liftIdle,
	}
	e.pos = float64(lo + rng.IntN(hi-lo+1))
	e.timer = idleMin + (idleMax-idleMin)*rng.Float64()
	return e
}

func (e *elevator) step(_ time.Time, dt time.Duration) {
	forSteps(dt, e.tick)
}

func (e *elevator) tick(h float64) {
	e.timer -= h
	switch e.phase {
	case liftIdle:
		if e.timer <= 0 {
			e.depart()
		}
	case liftMoving:
		d := float64(e.target) - e.pos
		if math.Abs(d) <= liftSpeed*h {
			e.pos, e.dir = float64(e.target), 0
			if e.doorFaulty {
				e.phase, e.doorCycle, e.timer = liftDoorFault, doorOpen, doorOpenDwell
				return
			}
			e.phase, e.timer = liftOpening, doorOpeningTime
			return
		}
		e.pos += float64(e.dir) * liftSpeed * h
	case liftOpening:
		if e.timer <= 0 {
			e.phase, e.timer = liftOpen, doorOpenDwell
			// Passengers get out and in.
			e.load = float64(passengerMass * e.rng.IntN(liftRatedLoad/passengerMass/2+1))
		}
	case liftOpen:
		if e.timer <= 0 {
			e.phase, e.timer = liftClosing, doorClosingTime
		}
	case liftClosing:
		if e.timer <= 0 {
			e.phase, e.timer = liftIdle, idleMin+(idleMax-idleMin)*e.rng.Float64()
		}
	case liftDoorFault:
		// The lock circuit never makes: the doors try to close and reopen, again and again.
		if e.timer <= 0 {
			if e.doorCycle == doorOpen {
				e.doorCycle, e.timer = doorClosing, doorClosingTime
			} else {
				e.doorCycle, e.timer = doorOpen, doorOpenDwell
			}
		}
	case liftStuck:
	}
}

// depart answers the next call: a random landing, the ground floor more often than others.
func (e *elevator) depart() {
	here := e.landing()
	for {
		t := e.lo + e.rng.IntN(e.hi-e.lo+1)
		if e.rng.IntN(4) == 0 && e.lo <= 1 && 1 <= e.hi {
			t = 1
		}
		if t != here {
			e.target = t
			break
		}
		if e.lo == e.hi {
			e.timer = idleMax
			return
		}
	}
	e.dir = 1
	if e.target < here {
		e.dir = -1
	}
	e.phase = liftMoving
	e.trips++
}

// landing is the nearest landing.
func (e *elevator) landing() int { return int(math.Round(e.pos)) }

// floor is the current floor, or while travelling the last floor passed.
func (e *elevator) floor() int {
	switch {
	case e.dir > 0:
		return int(math.Floor(e.pos + 1e-9))
	case e.dir < 0:
		return int(math.Ceil(e.pos - 1e-9))
	}
	return e.landing()
}

func (e *elevator) doorState() int {
	switch e.phase {
	case liftOpening:
		return doorOpening
	case liftOpen:
		return doorOpen
	case liftClosing:
		return doorClosing
	case liftDoorFault:
		return e.doorCycle
	}
	return doorClosed
}

func (e *elevator) faultCode() int {
	switch {
	case e.entrapped:
		return codeEntrapment
	case e.doorFaulty:
		return codeDoorFault
	}
	return 0
}

func (e *elevator) value(name string) (devices.Value, bool) {
	switch name {
	case "floor":
		return number(float64(e.floor())), true
	case "direction":
		switch e.dir {
		case 1:
			return number(1), true
		case -1:
			return number(2), true
		}
		return number(0), true
	case "door_state":
		return number(float64(e.doorState())), true
	case "fault_code":
		return number(float64(e.faultCode())), true
	case "trips":
		return number(e.trips), true
	case "load":
		return number(e.load), true
	case "running":
		return boolValue(e.phase == liftMoving), true
	case "in_door_zone":
		return boolValue(math.Abs(e.pos-math.Round(e.pos)) <= doorZone), true
	case "alarm_button":
		return boolValue(e.entrapped), true
	case "in_service":
		return boolValue(!e.entrapped && !e.doorFaulty), true
	}
	return devices.Value{}, false
}

func (e *elevator) checkWrite(string, devices.Value) error { return errReadOnly }

func (e *elevator) write(string, devices.Value) {}

func (e *elevator) inject(fault string, _ map[string]string) error {
	switch fault {
	case "entrapment":
		// The safety circuit opens and the car stops where it is; if that is at a landing,
		// the simulated car stops as if it had just left it, half a floor away.
		if math.Abs(e.pos-math.Round(e.pos)) < 0.25 {
			base := math.Floor(e.pos + 0.25)
			if base >= float64(e.hi) {
				base = float64(e.hi) - 1
			}
			e.pos = base + 0.5
		}
		e.entrapped, e.phase, e.dir = true, liftStuck, 0
	case "door_fault":
		e.doorFaulty = true
		if e.entrapped {
			return nil // the car is rescued to a landing first; see clear
		}
		if e.phase == liftMoving {
			// Finish at the next landing in the direction of travel, then stay there.
			next := math.Ceil(e.pos)
			if e.dir < 0 {
				next = math.Floor(e.pos)
			}
			e.target = int(next)
			return nil
		}
		e.toDoorFault()
	}
	return nil
}

func (e *elevator) toDoorFault() {
	e.pos, e.dir = float64(e.landing()), 0
	e.phase, e.doorCycle, e.timer = liftDoorFault, doorOpen, doorOpenDwell
}

func (e *elevator) clear(fault string, _ map[string]string) error {
	switch fault {
	case "entrapment":
		if !e.entrapped {
			return nil
		}
		// Rescue: the car is relevelled to the nearest landing and the doors open.
		e.entrapped = false
		e.pos, e.dir = float64(e.landing()), 0
		if e.doorFaulty {
			e.toDoorFault()
			return nil
		}
		e.phase, e.timer = liftOpening, doorOpeningTime
	case "door_fault":
		if !e.doorFaulty {
			return nil
		}
		e.doorFaulty = false
		if e.phase == liftDoorFault {
			e.phase, e.timer = liftClosing, doorClosingTime
		}
	}
	return nil
}
