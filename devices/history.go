package devices

import (
	"math"
	"strings"
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
// console can chart the last hour without InfluxDB. Each point's ring holds at most Window's
// worth of samples and its capacity is chosen so that all rings together stay under the
// memory budget: with many points the ring keeps one sample every Step instead of every poll.
// String points are not kept. Safe for concurrent use.
type History struct {
	window time.Duration
	budget int

	mu     sync.RWMutex
	points map[string]*ring // device "\x00" point
	step   map[string]time.Duration
	// last is when each device was last recorded (ms): a snapshot within its step is passed
	// over whole, before any per-point work.
	last map[string]int64
}

type ring struct {
	buf  []Sample
	next int // where the next sample goes
	full bool
	last int64 // time of the newest sample, ms
}

// NewHistory sizes the rings for devs: every numeric point gets capacity for window at the
// device's poll interval, reduced (by keeping fewer samples, never a shorter window) until
// the total fits budgetBytes. Rings are allocated on their first sample.
func NewHistory(devs []*Device, window time.Duration, budgetBytes int) *History {
	h := &History{window: window, budget: budgetBytes, points: map[string]*ring{}, step: map[string]time.Duration{}, last: map[string]int64{}}
	h.size(devs)
	return h
}

// HistoryCapacity is the most samples one point's ring holds (one an hour at one second).
const HistoryCapacity = 3600

// SetDevices resizes the rings for a new device set (a configuration reload): a device that
// remains keeps its samples when its ring keeps its size, a new one starts empty, and one no
// longer configured is forgotten.
func (h *History) SetDevices(devs []*Device) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.step
	h.step = map[string]time.Duration{}
	h.size(devs)
	for key := range h.points {
		id, _, _ := strings.Cut(key, "\x00")
		if step, ok := h.step[id]; !ok || step != old[id] {
			delete(h.points, key)
		}
	}
	for id := range h.last {
		if step, ok := h.step[id]; !ok || step != old[id] {
			delete(h.last, id)
		}
	}
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
	if last, seen := h.last[d.ID]; seen && ms-last < step.Milliseconds() {
		return
	}
	h.last[d.ID] = ms
	capacity := int(h.window / step)
	for i := range d.Profile.Points {
		p := &d.Profile.Points[i]
		if p.Type == TypeString {
			continue
		}
		key := d.ID + "\x00" + p.Name
		r := h.points[key]
		if r == nil {
			r = &ring{buf: make([]Sample, capacity)}
			h.points[key] = r
		}
		if r.full || r.next > 0 {
			if ms-r.last < step.Milliseconds() {
				continue
			}
		}
		v := math.NaN()
		if s.Values != nil && i < len(s.Values) && s.Values[i].Quality == QualityGood {
			v = s.Values[i].Number
		}
		r.buf[r.next] = Sample{Time: ms, Value: v}
		r.last = ms
		r.next++
		if r.next == len(r.buf) {
			r.next, r.full = 0, true
		}
	}
}

// Since returns the point's samples newer than since, oldest first; ok is false when the
// device or point has no ring.
func (h *History) Since(device, point string, since time.Time) (out []Sample, ok bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	r := h.points[device+"\x00"+point]
	if r == nil {
		_, known := h.step[device]
		return nil, known
	}
	cut := since.UnixMilli()
	n := r.next
	start := 0
	if r.full {
		n = len(r.buf)
		start = r.next
	}
	out = make([]Sample, 0, n)
	for i := range n {
		s := r.buf[(start+i)%len(r.buf)]
		if s.Time > cut {
			out = append(out, s)
		}
	}
	return out, true
}
