package patrol

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// Switcher writes to the plant for the night lighting check. The commands service
// (devices/commands.Service) is one, so a circuit switched on at dusk is checked against its
// profile, sent, read back and journalled like a write through the API. result is how the
// write ended: confirmed, mismatch, failed or unconfirmed; err means it never went out.
type Switcher interface {
	Switch(ctx context.Context, device, point string, on bool, by, reason string) (result string, err error)
}

// SwitchBy is who the night lighting check's writes are journalled as.
const SwitchBy = "system"

const lastSwitchKey = "lighting.last_switch_on"

// switchParallel bounds the writes in flight at once; those to one Modbus connection queue
// at its poller anyway.
const switchParallel = 8

// SwitchTarget is a circuit the night check switches on.
type SwitchTarget struct {
	Device  string
	Point   string
	Circuit int
}

// CircuitsToSwitchOn lists the circuits that the schedule of their lighting panel lights
// tonight (it is in the on_time–off_time window at now, or its on_time is still to come
// before midnight: dusk often comes before the schedule in winter) but whose writable
// command point reads off. Panels without a schedule, unknown values and circuits without a
// writable command are left alone.
func CircuitsToSwitchOn(states []devices.State, now time.Time, loc *time.Location) []SwitchTarget {
	lt := now.In(loc)
	minute := lt.Hour()*60 + lt.Minute()
	var out []SwitchTarget
	for _, st := range states {
		d := st.Device
		if d == nil || d.Kind != devices.KindLighting || d.Profile == nil || st.Values == nil {
			continue
		}
		vals := goodValues(&st)
		on, okOn := vals["on_time"]
		off, okOff := vals["off_time"]
		if !okOn || !okOff || !tonight(int(on.Number), int(off.Number), minute) {
			continue
		}
		for _, n := range circuitNumbers(d.Profile) {
			name := fmt.Sprintf("circuit_%02d_command", n)
			pt, _, ok := d.Profile.Point(name)
			cmd, known := vals[name]
			if ok && pt.Writable && known && cmd.Number == 0 {
				out = append(out, SwitchTarget{Device: d.ID, Point: name, Circuit: n})
			}
		}
	}
	return out
}

// tonight reports whether a schedule from on to off (minutes after midnight) lights the
// circuits at minute or later the same evening.
func tonight(on, off, minute int) bool {
	return inWindow(on, off, minute) || (on != off && on > minute)
}

// switchOn switches tonight's dark circuits on, once per local date: the date is recorded
// before the first write, so a restart does not switch again what a person has since
// switched off. It returns when every write has its result.
func (s *Service) switchOn(ctx context.Context, now time.Time, date string) {
	last, err := s.store.Meta(lastSwitchKey)
	if err != nil {
		s.log.Error("patrol.store: lighting switch-on", "err", err)
		return
	}
	if last == date {
		return
	}
	if err := s.store.SetMeta(lastSwitchKey, date); err != nil {
		s.log.Error("patrol.store: lighting switch-on date not saved; circuits not switched", "err", err)
		return
	}
	targets := CircuitsToSwitchOn(s.deps.Latest.List(), now, s.roster.Location())
	reason := "night lighting check " + date + ": scheduled for the night, found off"
	results := make([]string, len(targets))
	sem := make(chan struct{}, switchParallel)
	var wg sync.WaitGroup
	for i, tg := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res, err := s.deps.Switcher.Switch(ctx, tg.Device, tg.Point, true, SwitchBy, reason)
			if err != nil {
				res = "refused"
				s.log.Warn("night lighting: circuit not switched on", "device", tg.Device, "point", tg.Point, "err", err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	counts := map[string]int{}
	for _, r := range results {
		counts[r]++
	}
	s.log.Info("night lighting: circuits switched on before the check", "date", date, "circuits", len(targets), "results", counts)
}

// goodValues maps a device's point names to their latest values of good quality.
func goodValues(st *devices.State) map[string]devices.Value {
	vals := map[string]devices.Value{}
	for i, p := range st.Device.Profile.Points {
		if i < len(st.Values) && st.Values[i].Quality == devices.QualityGood {
			vals[p.Name] = st.Values[i]
		}
	}
	return vals
}
