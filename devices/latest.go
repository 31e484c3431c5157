package devices

import (
	"sort"
	"sync"
	"time"
)

// State is what is known of one device now: its communication status and latest values.
type State struct {
	Device *Device
	Comm   Comm
	// LastPoll is when the device was last polled, LastOK when a poll last succeeded.
	LastPoll time.Time
	LastOK   time.Time
	// LastError is the last failed poll's error; it is kept after recovery for diagnosis.
	LastError string
	// Values are the latest values, taken at ValuesTime; nil before the first good poll.
	Values     []Value
	ValuesTime time.Time
	Polls      uint64
	Failures   uint64
}

// Readings expands the latest values into one Reading per point.
func (s *State) Readings() []Reading {
	if s.Values == nil {
		return nil
	}
	snap := Snapshot{Device: s.Device, Time: s.ValuesTime, Values: s.Values}
	return snap.Readings()
}

// Latest is the live cache: the latest state of every device, safe for concurrent use. The
// API, the console and later stages read it; drivers' snapshots update it.
type Latest struct {
	mu    sync.RWMutex
	byID  map[string]*State
	order []string
}

// NewLatest starts a cache that knows the given devices, each in status unknown.
func NewLatest(devs []*Device) *Latest {
	l := &Latest{byID: make(map[string]*State, len(devs))}
	for _, d := range devs {
		l.byID[d.ID] = &State{Device: d}
		l.order = append(l.order, d.ID)
	}
	sort.Strings(l.order)
	return l
}

// Update records a snapshot. A failed poll keeps the previous values until the device is
// offline; then every value reads comm_fail.
func (l *Latest) Update(s *Snapshot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.byID[s.Device.ID]
	if st == nil {
		st = &State{Device: s.Device}
		l.byID[s.Device.ID] = st
		l.order = append(l.order, s.Device.ID)
		sort.Strings(l.order)
	}
	st.Comm = s.Comm
	st.LastPoll = s.Time
	st.Polls++
	if s.Err != nil {
		st.LastError = s.Err.Error()
	}
	if s.Comm == CommRetrying || s.Comm == CommOffline {
		st.Failures++
	} else {
		st.LastOK = s.Time
	}
	if s.Values != nil {
		st.Values = s.Values
		st.ValuesTime = s.Time
	}
}

// Get returns a copy of one device's state.
func (l *Latest) Get(id string) (State, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	st, ok := l.byID[id]
	if !ok {
		return State{}, false
	}
	return *st, true
}

// List returns a copy of every device's state, sorted by id.
func (l *Latest) List() []State {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]State, 0, len(l.order))
	for _, id := range l.order {
		out = append(out, *l.byID[id])
	}
	return out
}

// SetDevices makes the cache know exactly devs, for a configuration reload: a device that
// remains keeps its state (comm status, values, counts) under its new definition, a new one
// starts unknown, and one no longer configured is forgotten.
func (l *Latest) SetDevices(devs []*Device) {
	l.mu.Lock()
	defer l.mu.Unlock()
	byID := make(map[string]*State, len(devs))
	order := make([]string, 0, len(devs))
	for _, d := range devs {
		st := l.byID[d.ID]
		if st == nil {
			st = &State{Device: d}
		} else {
			st.Device = d
			if d.Profile == nil || len(st.Values) != len(d.Profile.Points) {
				st.Values = nil // the profile changed shape: old values no longer line up
			}
		}
		byID[d.ID] = st
		order = append(order, d.ID)
	}
	sort.Strings(order)
	l.byID, l.order = byID, order
}
