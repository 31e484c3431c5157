package devices

import (
	"math"
	"sync"
	"time"
)

// Sample is one value of a point at one time, in the shape charts want: Unix milliseconds and
// a number (booleans 0 or 1, enum codes as numbers). A NaN value marks a gap (the device was
// offline or the value was bad), so a chart breaks its line there instead of bridging it.
type Sample struct {
	Time  int64
	Value float64
}

// sampleBytes is the memory one Sample takes in a ring.
const sampleBytes = 16

// History keeps the recent numeric values of every device point in bounded rings, so the
// console can chart the last hour without InfluxDB. Each device's ring holds at most Window's
// worth of samples of all its numeric points and its capacity is chosen so that all rings
// together stay under the memory budget: with many points the ring keeps one sample every
// Step instead of every poll. String points are not kept. Safe for concurrent use.
type History struct {
	window time.Duration
	budget int

	mu      sync.RWMutex
	devices map[string]*deviceRing
	step    map[string]time.Duration
}

// deviceRing is one device's samples: a row per recorded poll, holding its time and the value
// of every numeric point of the profile it was laid out for. One ring a device, not one a
// point, keeps the cost of a fleet's rings in their samples (at 100,000 points a ring a point
// took more memory in maps and headers than in samples).
type deviceRing struct {
	profile *Profile
	cols    []int // the profile's index of each column's point
	times   []int64
	values  []float64 // len(times) rows of len(cols)
	next    int       // the row the next sample goes in
	full    bool
}

func newDeviceRing(p *Profile, capacity int) *deviceRing {
	r := &deviceRing{profile: p, times: make([]int64, capacity)}
	for i := range p.Points {
		if p.Points[i].Type != TypeString {
			r.cols = append(r.cols, i)
		}
	}
	r.values = make([]float64, capacity*len(r.cols))
	return r
}

// newest is the time of the latest row, and whether there is one.
func (r *deviceRing) newest() (int64, bool) {
	if !r.full && r.next == 0 {
		return 0, false
	}
	return r.times[(r.next+len(r.times)-1)%len(r.times)], true
}

// NewHistory sizes the rings for devs: every numeric point gets capacity for window at the
// device's poll interval, reduced (by keeping fewer samples, never a shorter window) until
// the total fits budgetBytes. Rings are allocated on their first sample.
func NewHistory(devs []*Device, window time.Duration, budgetBytes int) *History {
	h := &History{window: window, budget: budgetBytes, devices: map[string]*deviceRing{}, step: map[string]time.Duration{}}
	h.size(devs)
	return h
}

// HistoryCapacity is the most samples one point's ring holds (one an hour at one second).
const HistoryCapacity = 3600

// SetDevices resizes the rings for a new device set (a configuration reload): a device that
// remains keeps its samples when its ring keeps its size and its profile, a new one starts
// empty, and one no longer configured is forgotten.
func (h *History) SetDevices(devs []*Device) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.step
	h.step = map[string]time.Duration{}
	h.size(devs)
	profiles := make(map[string]*Profile, len(devs))
	for _, d := range devs {
		profiles[d.ID] = d.Profile
	}
	for id, r := range h.devices {
		if step, ok := h.step[id]; !ok || step != old[id] || !sameColumns(r, profiles[id]) {
			delete(h.devices, id)
		}
	}
}

// sameColumns reports whether a ring laid out for its profile fits p: the same numeric points
// in the same order.
func sameColumns(r *deviceRing, p *Profile) bool {
	if p == nil {
		return false
	}
	if p == r.profile {
		return true
	}
	i := 0
	for j := range p.Points {
		if p.Points[j].Type == TypeString {
			continue
		}
		if i >= len(r.cols) || r.profile.Points[r.cols[i]].Name != p.Points[j].Name {
			return false
		}
		i++
	}
	return i == len(r.cols)
}

func (h *History) size(devs []*Device) {
	var total int
	for _, d := range devs {
		total += numericPoints(d)
	}
	perPoint := HistoryCapacity
	if total > 0 && h.budget > 0 {
		if fit := h.budget / (total * sampleBytes); fit < perPoint {
			perPoint = max(fit, 2)
		}
	}
	for _, d := range devs {
		iv := d.Interval
		if iv <= 0 {
			iv = time.Second
		}
		n := min(int(h.window/iv), perPoint)
		n = max(n, 2)
		h.step[d.ID] = max(iv, h.window/time.Duration(n))
	}
}

func numericPoints(d *Device) int {
	if d.Profile == nil {
		return 0
	}
	n := 0
	for i := range d.Profile.Points {
		if d.Profile.Points[i].Type != TypeString {
			n++
		}
	}
	return n
}

// Capacity is how many samples one point of the device keeps.
func (h *History) Capacity(device string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	step, ok := h.step[device]
	if !ok || step <= 0 {
		return 0
	}
	return int(h.window / step)
}

// MaxBytes is the memory all rings take once full.
func (h *History) MaxBytes(devs []*Device) int {
	n := 0
	for _, d := range devs {
		n += numericPoints(d) * h.Capacity(d.ID) * sampleBytes
	}
	return n
}

// Record adds a snapshot's values. A failed poll records a gap in every point, so the chart
// shows the outage. It keeps at most one sample per Step of the device.
func (h *History) Record(s *Snapshot) {
	d := s.Device
	if d == nil || d.Profile == nil {
		return
	}
	ms := s.Time.UnixMilli()
	h.mu.Lock()
	defer h.mu.Unlock()
	step, ok := h.step[d.ID]
	if !ok {
		return // no longer configured
	}
	r := h.devices[d.ID]
	switch {
	case r == nil || !sameColumns(r, d.Profile):
		r = newDeviceRing(d.Profile, int(h.window/step))
		h.devices[d.ID] = r
	case r.profile != d.Profile:
		// A reloaded profile with the same numeric points: its own indexes from now on.
		r.profile, r.cols = d.Profile, newDeviceRing(d.Profile, 0).cols
	}
	if last, seen := r.newest(); seen && ms-last < step.Milliseconds() {
		return
	}
	row := r.values[r.next*len(r.cols) : (r.next+1)*len(r.cols)]
	for c, pi := range r.cols {
		v := math.NaN()
		if pi < len(s.Values) && s.Values[pi].Quality == QualityGood {
			v = s.Values[pi].Number
		}
		row[c] = v
	}
	r.times[r.next] = ms
	r.next++
	if r.next == len(r.times) {
		r.next, r.full = 0, true
	}
}

// Since returns the point's samples newer than since, oldest first; ok is false when the
// device or point has no ring.
func (h *History) Since(device, point string, since time.Time) (out []Sample, ok bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	r := h.devices[device]
	if r == nil {
		_, known := h.step[device]
		return nil, known
	}
	col := -1
	for c, pi := range r.cols {
		if r.profile.Points[pi].Name == point {
			col = c
		}
	}
	if col < 0 {
		return nil, true
	}
	cut := since.UnixMilli()
	n, start := r.next, 0
	if r.full {
		n, start = len(r.times), r.next
	}
	out = make([]Sample, 0, n)
	for i := range n {
		row := (start + i) % len(r.times)
		if t := r.times[row]; t > cut {
			out = append(out, Sample{Time: t, Value: r.values[row*len(r.cols)+col]})
		}
	}
	return out, true
}
