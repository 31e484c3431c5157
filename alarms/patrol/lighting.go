package patrol

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// LatestReader is what the lighting check needs of the live cache (*devices.Latest).
type LatestReader interface {
	List() []devices.State
}

// Circuit faults found by the night lighting check.
const (
	FaultOff      = "off"       // should be on, is off (a tripped breaker, a failed contactor)
	FaultLampFail = "lamp_fail" // on, but the panel reports failed lamps
)

// ChecklistItem is one circuit for the patrol to look at.
type ChecklistItem struct {
	// ID is "<device>:<circuit>", e.g. "LP-1:05".
	ID       string    `json:"id"`
	Site     string    `json:"site"`
	Building string    `json:"building,omitempty"`
	Zone     string    `json:"zone,omitempty"`
	Device   string    `json:"device"`
	Circuit  int       `json:"circuit"`
	Fault    string    `json:"fault"`
	Done     bool      `json:"done"`
	DoneBy   string    `json:"done_by,omitempty"`
	DoneAt   time.Time `json:"done_at,omitzero"`
	Note     string    `json:"note,omitempty"`
	Found    time.Time `json:"found"`
	Shift    string    `json:"shift,omitempty"`
	Recorded bool      `json:"-"`
}

// Checklist is the night lighting check of one site: one alert for the patrol, its items
// grouped by zone and panel.
type Checklist struct {
	// ID is "lighting/<site>/<local date>".
	ID        string          `json:"id"`
	Site      string          `json:"site"`
	Date      string          `json:"date"`
	CreatedAt time.Time       `json:"created_at"`
	Items     []ChecklistItem `json:"items"`
}

// Open counts the items not yet ticked off.
func (c *Checklist) Open() int {
	n := 0
	for _, it := range c.Items {
		if !it.Done {
			n++
		}
	}
	return n
}

// LightingFault is one failed circuit, handed to the work-order module's hook.
type LightingFault struct {
	Site, Building, Zone, Device string
	Circuit                      int
	Fault                        string
	At                           time.Time
}

// CheckLighting lists every circuit of the lighting panels in states that should be lit at
// now but is off or has failed lamps. A circuit should be lit if its command coil says so
// or, on panels without command points, if now falls in the on_time–off_time schedule. Values
// of bad quality are skipped: an offline panel is communication loss, not a lamp fault.
func CheckLighting(states []devices.State, now time.Time, loc *time.Location) []ChecklistItem {
	var out []ChecklistItem
	lt := now.In(loc)
	minute := lt.Hour()*60 + lt.Minute()
	for _, st := range states {
		d := st.Device
		if d == nil || d.Kind != devices.KindLighting || d.Profile == nil || st.Values == nil {
			continue
		}
		vals := goodValues(&st)
		scheduled := false
		if on, ok := vals["on_time"]; ok {
			if off, ok := vals["off_time"]; ok {
				scheduled = inWindow(int(on.Number), int(off.Number), minute)
			}
		}
		for _, n := range circuitNumbers(d.Profile) {
			prefix := fmt.Sprintf("circuit_%02d_", n)
			should := scheduled
			if cmd, ok := vals[prefix+"command"]; ok {
				should = cmd.Number != 0
			}
			if !should {
				continue
			}
			fault := ""
			if on, ok := vals[prefix+"on"]; ok && on.Number == 0 {
				fault = FaultOff
			} else if lf, ok := vals[prefix+"lamp_fail"]; ok && lf.Number != 0 {
				fault = FaultLampFail
			}
			if fault == "" {
				continue
			}
			out = append(out, ChecklistItem{
				ID: fmt.Sprintf("%s:%02d", d.ID, n), Site: d.Site, Building: d.Building, Zone: d.Zone,
				Device: d.ID, Circuit: n, Fault: fault, Found: now,
			})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Zone != b.Zone {
			return a.Zone < b.Zone
		}
		if a.Device != b.Device {
			return a.Device < b.Device
		}
		return a.Circuit < b.Circuit
	})
	return out
}

// circuitNumbers are the circuits a lighting profile has points of, in order.
func circuitNumbers(p *devices.Profile) []int {
	seen := map[int]bool{}
	var nums []int
	for _, pt := range p.Points {
		if n, ok := circuitNumber(pt.Name); ok && !seen[n] {
			seen[n] = true
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	return nums
}

// circuitNumber reads NN from circuit_NN_<anything>.
func circuitNumber(point string) (int, bool) {
	rest, ok := strings.CutPrefix(point, "circuit_")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, "_")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil && n > 0
}

// inWindow reports whether minute falls between on and off (minutes after midnight); the
// window may span midnight, and equal times never switch on.
func inWindow(on, off, minute int) bool {
	switch {
	case on == off:
		return false
	case on < off:
		return minute >= on && minute < off
	}
	return minute >= on || minute < off
}

// checkTime is when the lighting check runs on the local date of day: a fixed time, or
// afterDusk past sunset. ok is false when no check is configured or the sun does not set.
func checkTime(day time.Time, at string, afterDusk time.Duration, lat, lon float64) (time.Time, bool) {
	y, m, d := day.Date()
	if at != "" {
		var hh, mm int
		if _, err := fmt.Sscanf(at, "%d:%d", &hh, &mm); err != nil {
			return time.Time{}, false
		}
		return time.Date(y, m, d, hh, mm, 0, 0, day.Location()), true
	}
	if afterDusk == 0 {
		return time.Time{}, false
	}
	dusk, ok := Sunset(time.Date(y, m, d, 12, 0, 0, 0, day.Location()), lat, lon)
	if !ok {
		return time.Time{}, false
	}
	return dusk.Add(afterDusk), true
}
