package simulators

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// Zone states, as the profile's zone enum codes them.
const (
	zoneNormal      = 0
	zoneAlarm       = 1
	zoneFault       = 2
	zoneSupervisory = 3
)

// Standby battery of the simulated panel: two 12 V lead-acid blocks in series, float charged.
const (
	batteryFloat    = 27.2  // V on charge
	batteryOnMains  = 25.6  // V as soon as the charger stops
	batterySagPerH  = 0.25  // V an hour on battery
	batteryDead     = 21.0  // V, deep discharge cut-off
	batteryFaultyV  = 19.8  // V of a failed battery under load
	batteryTauSec   = 60.0  // s, how fast the voltage follows the charger
	batteryNoiseSig = 0.015 // V
)

type firePanel struct {
	rng                              *rand.Rand
	zones                            int
	alarm, supervisory, fault        []bool // by zone - 1
	acLoss, batteryFault, earthFault bool
	onBattery                        float64 // seconds since mains was lost
	battery, nBattery                float64
}

func newFirePanel(zones int, rng *rand.Rand) *firePanel {
	return &firePanel{
		rng:         rng,
		zones:       zones,
		alarm:       make([]bool, zones),
		supervisory: make([]bool, zones),
		fault:       make([]bool, zones),
		battery:     batteryFloat,
	}
}

func (f *firePanel) step(_ time.Time, dt time.Duration) {
	forSteps(dt, func(h float64) {
		target := batteryFloat
		if f.acLoss {
			f.onBattery += h
			target = max(batteryDead, batteryOnMains-batterySagPerH*f.onBattery/3600)
			if f.batteryFault {
				target = batteryFaultyV
			}
		}
		f.battery = lag(f.battery, target, h, batteryTauSec)
	})
	if dt > 0 {
		f.nBattery = noise(f.rng, batteryNoiseSig)
	}
}

// zoneState reports a zone by NFPA 72 precedence (10.7): alarm over supervisory over trouble.
func (f *firePanel) zoneState(i int) int {
	switch {
	case f.alarm[i]:
		return zoneAlarm
	case f.supervisory[i]:
		return zoneSupervisory
	case f.fault[i]:
		return zoneFault
	}
	return zoneNormal
}

func (f *firePanel) value(name string) (devices.Value, bool) {
	if z, ok := numbered(name, "zone_", ""); ok {
		if z > f.zones {
			return devices.Value{}, false
		}
		return number(float64(f.zoneState(z - 1))), true
	}
	// The general signals follow every condition present, not only what a zone shows: a zone in
	// alarm that also has a wiring fault still lights the trouble LED.
	switch name {
	case "general_alarm":
		return boolValue(anyTrue(f.alarm)), true
	case "general_supervisory":
		return boolValue(anyTrue(f.supervisory)), true
	case "general_trouble":
		return boolValue(anyTrue(f.fault) || f.acLoss || f.batteryFault || f.earthFault), true
	case "model":
		return devices.Value{Text: fmt.Sprintf("FP-%d SIM", f.zones)}, true
	case "ac_loss":
		return boolValue(f.acLoss), true
	case "battery_fault":
		return boolValue(f.batteryFault), true
	case "earth_fault":
		return boolValue(f.earthFault), true
	case "zones_in_alarm":
		n := 0
		for _, a := range f.alarm {
			if a {
				n++
			}
		}
		return number(float64(n)), true
	case "battery_voltage":
		return number(f.battery + f.nBattery), true
	}
	return devices.Value{}, false
}

func anyTrue(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}

func (f *firePanel) checkWrite(string, devices.Value) error { return errReadOnly }

func (f *firePanel) write(string, devices.Value) {}

// zoneSet is the per-zone flag a zone fault sets.
func (f *firePanel) zoneSet(fault string) []bool {
	switch fault {
	case "zone_alarm":
		return f.alarm
	case "zone_fault":
		return f.fault
	case "supervisory":
		return f.supervisory
	}
	return nil
}

func (f *firePanel) inject(fault string, params map[string]string) error {
	if set := f.zoneSet(fault); set != nil {
		z, err := numberedParam(params, "zone", f.zones, true)
		if err != nil {
			return err
		}
		set[z-1] = true
		return nil
	}
	switch fault {
	case "ac_loss":
		if !f.acLoss {
			f.acLoss, f.onBattery = true, 0
		}
	case "battery_fault":
		f.batteryFault = true
	case "earth_fault":
		f.earthFault = true
	}
	return nil
}

func (f *firePanel) clear(fault string, params map[string]string) error {
	if set := f.zoneSet(fault); set != nil {
		z, err := numberedParam(params, "zone", f.zones, false)
		if err != nil {
			return err
		}
		if z == 0 {
			clear(set)
			return nil
		}
		set[z-1] = false
		return nil
	}
	switch fault {
	case "ac_loss":
		f.acLoss, f.onBattery = false, 0
	case "battery_fault":
		f.batteryFault = false
	case "earth_fault":
		f.earthFault = false
	}
	return nil
}
