package alarms

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/locale"
)

// Config is the engine's configuration; zero fields take the defaults of DefaultConfig.
type Config struct {
	// Location is the site's time zone, for suppression windows.
	Location *time.Location
	// Realarm re-announces an alarm still active and unacknowledged after this long; 0 never.
	Realarm time.Duration
	// FloodLimit: more than this many new alarms within FloodWindow at one site is a flood
	// (EEMUA 191: 10 in 10 minutes).
	FloodLimit  int
	FloodWindow time.Duration
	// ChatterCount activations within ChatterWindow flag an alarm as chattering.
	ChatterCount  int
	ChatterWindow time.Duration
	// ShelveMax bounds every shelf.
	ShelveMax time.Duration
	// Rules are the rule sets by profile name; nil means BuiltinRules.
	Rules map[string]*RuleSet
	// Overrides change rules per device id.
	Overrides map[string][]Override
	// Locale is the language of alarm messages; empty is English.
	Locale locale.Locale
	// Retention is how long the journal keeps events every consumer has handled
	// (retention.go); the default is a year, the estate's practice for duty records.
	Retention time.Duration
}

// DefaultConfig is the engine's configuration when nothing is set.
func DefaultConfig() Config {
	return Config{
		Location: time.Local, Realarm: 30 * time.Minute, FloodLimit: 10, FloodWindow: 10 * time.Minute,
		ChatterCount: 3, ChatterWindow: time.Minute, ShelveMax: 8 * time.Hour,
		Retention: 365 * 24 * time.Hour,
	}
}

// Engine evaluates the rules on every snapshot, runs each alarm's lifecycle, journals every
// transition and hands it to the sinks. It is safe for concurrent use. Observe does its work
// inline (rules are compiled, evaluation is a few comparisons, each transition one SQLite
// transaction); Enqueue is the devices.Handler for pollers, which must never wait on the
// journal: it hands the snapshot to Run through a bounded queue. Run also drives the timers.
//
// Two locks: commitMu orders the changes (Observe, Tick, Ack, Shelve, out of service) and is
// held across the journal's commit and the sinks, so the journal's seq order is the order
// of the changes and each alarm's events reach the sinks in order; mu guards the alarms'
// state and is held only while events are built or applied, never across the commit's
// fsync, so the API's reads (List, Get, the metrics) never wait for the disk.
type Engine struct {
	cfg     Config
	journal *Journal
	clock   func() time.Time
	sinks   []Sink
	queue   chan *devices.Snapshot
	dropped atomic.Uint64

	inMu     sync.RWMutex // guards inClosed against Enqueue
	inClosed bool
	// inputs is what Enqueue compares a snapshot with, by device with rules (the map is fixed
	// at New).
	inputs map[string]*input

	commitMu sync.Mutex // taken before mu by every change; readers take mu only
	mu       sync.Mutex
	byDevice map[string][]*binding
	byID     map[string]*binding
	state    map[string]*status
	oos      map[string]bool
	floods   map[string]*flood
	err      error // the last journal error, reported by Err
}

// flood is one site's recent raises, for flood detection.
type flood struct {
	raises []time.Time
	active bool
	// toldLifeSafety is set once a notified summary of this flood held a life-safety alarm;
	// until then a life-safety alarm raised during the flood notifies a summary of its own.
	// It is not journalled: after a restart the next life-safety alarm is told once more.
	toldLifeSafety bool
}

// New compiles every device's rules and restores the alarms from the journal. An error names
// the device and rule at fault.
func New(cfg Config, devs []*devices.Device, journal *Journal, clock func() time.Time, sinks ...Sink) (*Engine, error) {
	def := DefaultConfig()
	if cfg.Location == nil {
		cfg.Location = def.Location
	}
	if cfg.FloodLimit == 0 {
		cfg.FloodLimit = def.FloodLimit
	}
	if cfg.FloodWindow == 0 {
		cfg.FloodWindow = def.FloodWindow
	}
	if cfg.ChatterCount == 0 {
		cfg.ChatterCount = def.ChatterCount
	}
	if cfg.ChatterWindow == 0 {
		cfg.ChatterWindow = def.ChatterWindow
	}
	if cfg.ShelveMax == 0 {
		cfg.ShelveMax = def.ShelveMax
	}
	if cfg.Retention <= 0 {
		cfg.Retention = def.Retention
	}
	if cfg.Rules == nil {
		rs, err := BuiltinRules()
		if err != nil {
			return nil, err
		}
		cfg.Rules = rs
	}
	if journal == nil {
		return nil, fmt.Errorf("alarms: no journal")
	}
	e := &Engine{
		cfg: cfg, journal: journal, clock: clock, sinks: sinks,
		byDevice: map[string][]*binding{}, byID: map[string]*binding{}, state: map[string]*status{},
		oos: map[string]bool{}, floods: map[string]*flood{},
		inputs: map[string]*input{},
	}
	known := map[string]bool{}
	for _, d := range devs {
		known[d.ID] = true
		bs, err := bind(d, cfg.Rules[profileName(d)], cfg.Overrides[d.ID])
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			b.lang = cfg.Locale
		}
		e.byDevice[d.ID] = bs
		if len(bs) > 0 {
			e.inputs[d.ID] = &input{reads: reads(bs)}
		}
		for _, b := range bs {
			e.byID[b.id] = b
			e.state[b.id] = &status{Alarm: b.blank()}
		}
	}
	e.queue = make(chan *devices.Snapshot, max(queueSize, 2*len(e.inputs)))
	for id := range cfg.Overrides {
		if !known[id] {
			return nil, fmt.Errorf("alarms: overrides for device %q, which is not configured", id)
		}
	}
	prev, err := journal.latest()
	if err != nil {
		return nil, err
	}
	for id, r := range prev {
		st := e.state[id]
		if st == nil {
			continue // a rule or device that is gone
		}
		b := e.byID[id]
		a := r.alarm
		// Identity and description come from today's configuration; state from the journal.
		a.Site, a.Device, a.Kind, a.Building, a.Zone, a.Rule = st.Site, st.Device, st.Kind, st.Building, st.Zone, st.Rule
		a.Priority, a.Class = b.rule.Priority, b.rule.Class
		st.Alarm = a
		st.Present = a.Active
		st.Announced = r.announced
		if a.OutOfService {
			e.oos[a.Device] = true
		}
	}
	// The flood window goes on across a restart: a flood is not forgotten by restarting.
	raises, floods, err := journal.raisesSince(clock().Add(-cfg.FloodWindow))
	if err != nil {
		return nil, err
	}
	for site, ts := range raises {
		e.floods[site] = &flood{raises: ts, active: floods[site] && len(ts) > cfg.FloodLimit}
	}
	return e, nil
}

// blank is the alarm of a binding in NORM.
func (b *binding) blank() Alarm {
	d := b.dev
	return Alarm{
		ID: b.id, Site: d.Site, Device: d.ID, Kind: string(d.Kind), Building: d.Building, Zone: d.Zone,
		Rule: b.rule.Name, Priority: b.rule.Priority, Class: b.rule.Class, State: StateNormal,
		Message: b.message(reading{}),
	}
}

func (e *Engine) params(b *binding) params {
	return params{
		OnDelay: b.rule.OnDelay, OffDelay: b.rule.OffDelay, Realarm: e.cfg.Realarm,
		ChatterCount: e.cfg.ChatterCount, ChatterWindow: e.cfg.ChatterWindow,
	}
}

// Observe evaluates a device's rules on a snapshot. It is a devices.Handler.
func (e *Engine) Observe(s *devices.Snapshot) {
	if s == nil || s.Device == nil {
		return
	}
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	e.mu.Lock()
	now := e.clock()
	var batch []Event
	for _, b := range e.byDevice[s.Device.ID] {
		st := e.state[b.id]
		rd := b.evaluate(s, st.Active)
		if !rd.valid {
			// A value the rule needs is not good (the device is offline, or a point is bad):
			// the alarm holds; only communication loss speaks for the device.
			batch = append(batch, e.advance(b, st, st.Present, nil, now)...)
			continue
		}
		batch = append(batch, e.advance(b, st, rd.present, &rd, now)...)
	}
	batch = e.detectFloods(batch, now)
	e.mu.Unlock()
	e.commit(batch)
}

// Tick runs the timers at the clock's time: on- and off-delays, shelf expiry, re-alarm,
// suppression windows. Run calls it every second.
func (e *Engine) Tick() {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	e.mu.Lock()
	now := e.clock()
	var batch []Event
	for _, id := range e.sortedIDs() {
		b := e.byID[id]
		st := e.state[id]
		batch = append(batch, e.advance(b, st, st.Present, nil, now)...)
	}
	batch = e.detectFloods(batch, now)
	e.mu.Unlock()
	e.commit(batch)
}

func (e *Engine) sortedIDs() []string {
	ids := make([]string, 0, len(e.byID))
	for id := range e.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// queueSize bounds the snapshots waiting for Run: a few polls of a few hundred devices, or two
// of every device with rules, whichever is more, so that a burst of polls that all change
// (slots put a tenth of the fleet in each) fits.
const queueSize = 1024

// input is what a device's rules read, and what they read in the last snapshot handed to Run.
type input struct {
	last atomic.Pointer[handed]
	// reads are the profile indexes of the points any rule of the device reads, in order;
	// a change elsewhere cannot change an alarm.
	reads []int
}

// reads is the union of the points the bindings read: their points and the variables of their
// when and condition expressions.
func reads(bs []*binding) []int {
	seen := map[int]bool{}
	var out []int
	for _, b := range bs {
		for _, set := range [][]int{b.idx, b.whenVars, b.condVars} {
			for _, i := range set {
				if !seen[i] {
					seen[i] = true
					out = append(out, i)
				}
			}
		}
	}
	sort.Ints(out)
	return out
}

// Enqueue hands a snapshot to Run without waiting; when the queue is full the snapshot is
// dropped and counted (Dropped), and the next poll of the device brings the alarm up to date.
// After CloseInput it drops and counts too. A snapshot of a device without rules, or whose
// points that rules read (and comm and errors) read exactly as the last one handed over, is
// not handed over: evaluating it would change nothing (Tick runs the timers), and a poll that
// changed nothing an alarm depends on should cost nothing here.
func (e *Engine) Enqueue(s *devices.Snapshot) {
	if s == nil || s.Device == nil {
		return
	}
	in := e.inputs[s.Device.ID]
	if in == nil {
		return
	}
	last := &in.last
	if prev := last.Load(); prev != nil && prev.same(s, in.reads) {
		return
	}
	e.inMu.RLock()
	defer e.inMu.RUnlock()
	if e.inClosed {
		e.dropped.Add(1)
		return
	}
	select {
	case e.queue <- s:
		last.Store(handedOver(s, in.reads))
	default:
		e.dropped.Add(1)
		last.Store(nil) // the next snapshot goes through, whatever it reads
	}
}

// handed is what the rules of a device read in the snapshot last handed to Run: only that is
// kept, not the snapshot, so that a device whose values all move holds no poll of its own here.
type handed struct {
	comm      devices.Comm
	ok        bool
	hasValues bool
	n         int // len(Values)
	profile   *devices.Profile
	values    []devices.Value // at reads
}

func handedOver(s *devices.Snapshot, reads []int) *handed {
	h := &handed{comm: s.Comm, ok: s.OK(), hasValues: s.Values != nil, n: len(s.Values), profile: s.Device.Profile}
	for _, i := range reads {
		if i < len(s.Values) {
			h.values = append(h.values, s.Values[i])
		}
	}
	return h
}

// same reports whether s reads as h for the device's rules: comm, success, and the value and
// quality of every point in reads.
func (h *handed) same(s *devices.Snapshot, reads []int) bool {
	if h.comm != s.Comm || h.ok != s.OK() || h.n != len(s.Values) || h.hasValues != (s.Values != nil) ||
		h.profile != s.Device.Profile || len(h.values) != len(reads) {
		return false
	}
	for k, i := range reads {
		x, y := h.values[k], s.Values[i]
		if x.Quality != y.Quality || x.Text != y.Text || x.Number != y.Number {
			return false
		}
	}
	return true
}

// CloseInput ends the engine's input: Run evaluates what is queued and returns. Call it once
// every source of snapshots has stopped.
func (e *Engine) CloseInput() {
	e.inMu.Lock()
	defer e.inMu.Unlock()
	if !e.inClosed {
		e.inClosed = true
		close(e.queue)
	}
}

// Dropped is the number of snapshots Enqueue dropped because the queue was full.
func (e *Engine) Dropped() uint64 { return e.dropped.Load() }

// Run evaluates enqueued snapshots and ticks the timers every second until its input is
// closed (CloseInput) and drained, or ctx ends (the hard stop: what is queued is left). It
// prunes the journal every hour meanwhile, in a goroutine of its own that it waits for.
func (e *Engine) Run(ctx context.Context) error {
	mctx, stop := context.WithCancel(ctx)
	maintained := make(chan struct{})
	go func() {
		defer close(maintained)
		e.maintain(mctx, slog.Default())
	}()
	defer func() {
		stop()
		<-maintained
	}()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case s, ok := <-e.queue:
			if !ok {
				return nil
			}
			e.Observe(s)
		case <-t.C:
			e.Tick()
		}
	}
}

// advance applies suppression windows and one lifecycle step to a binding and returns its
// events (Notify decided, Seq not yet assigned).
func (e *Engine) advance(b *binding, st *status, present bool, rd *reading, now time.Time) []Event {
	var out []Event
	mk := func(typ EventType, reason string, notify bool) {
		out = append(out, Event{Type: typ, Alarm: st.Alarm, At: now, By: "system", Reason: reason, Notify: notify})
	}
	if sup := b.suppressed(now, e.cfg.Location); sup != st.Suppressed {
		st.Suppressed = sup
		if st.State != StateNormal || st.Active {
			st.UpdatedAt = now
			if sup {
				mk(EventSuppressed, "suppressed by design (time window)", false)
			} else {
				if lifted(*st) {
					st.Announced = now
				}
				mk(EventUnsuppressed, "suppression window ended", lifted(*st))
			}
		}
	}
	// A one-shot shelf ends with the clearing it hides: the all-clear stays silent.
	oneShot := st.Shelved && st.ShelfOneShot
	if rd != nil {
		st.last = rd
	}
	next, ts := step(*st, present, now, e.params(b))
	if last := next.last; last != nil && len(ts) > 0 {
		next.Value = last.value
		if last.value != nil || last.label != "" {
			next.Message = b.message(*last)
		}
	}
	*st = next
	for _, t := range ts {
		notify := false
		switch t.Type {
		case EventRaised, EventRealarm, EventCleared:
			notify = !st.Shelved && !(t.Type == EventCleared && oneShot) && !st.Suppressed && !st.OutOfService && !e.masked(b)
			// A chattering alarm stops notifying until it settles; life safety never does.
			if st.Chattering && t.Type != EventCleared && st.Class != ClassLifeSafety {
				notify = false
			}
		case EventUnshelved:
			notify = lifted(*st)
		}
		mk(t.Type, t.Reason, notify)
	}
	return out
}

// masked applies NFPA 72 precedence: a zone in alarm hides the notifications of that zone's
// supervisory and trouble signals.
func (e *Engine) masked(b *binding) bool {
	if b.rule.NFPA != "supervisory" && b.rule.NFPA != "trouble" || b.instance == "" {
		return false
	}
	for _, o := range e.byDevice[b.dev.ID] {
		if o.rule.NFPA == "alarm" && o.instance == b.instance && e.state[o.id].Active {
			return true
		}
	}
	return false
}

// detectFloods applies flood detection to a batch's raised events and returns the batch with its
// flood summaries. It runs under mu.
func (e *Engine) detectFloods(batch []Event, now time.Time) []Event {
	if len(batch) == 0 {
		// Floods end when the window empties.
		for _, f := range e.floods {
			f.prune(now, e.cfg.FloodWindow)
			if f.active && len(f.raises) <= e.cfg.FloodLimit {
				f.active = false
			}
		}
		return nil
	}
	bySite := map[string][]int{}
	var sites []string
	for i, ev := range batch {
		if ev.Type == EventRaised {
			if _, ok := bySite[ev.Alarm.Site]; !ok {
				sites = append(sites, ev.Alarm.Site)
			}
			bySite[ev.Alarm.Site] = append(bySite[ev.Alarm.Site], i)
		}
	}
	var summaries []Event
	for _, site := range sites {
		idx := bySite[site]
		f := e.floods[site]
		if f == nil {
			f = &flood{}
			e.floods[site] = f
		}
		f.prune(now, e.cfg.FloodWindow)
		for range idx {
			f.raises = append(f.raises, now)
		}
		if len(f.raises) <= e.cfg.FloodLimit {
			if f.active {
				f.active = false
			}
			continue
		}
		var list []Alarm
		for _, i := range idx {
			batch[i].Notify = false
			list = append(list, batch[i].Alarm)
		}
		// One notified summary per flood; later raises in the same flood are journalled with
		// a silent summary so the console still sees what they stand for, unless they bring
		// the flood's first life-safety alarm: a fire or an entrapment never waits behind a
		// flood of lamp failures.
		lifeSafety := false
		for _, a := range list {
			lifeSafety = lifeSafety || a.Class == ClassLifeSafety
		}
		if !f.active {
			f.toldLifeSafety = false
		}
		notify := !f.active || (lifeSafety && !f.toldLifeSafety)
		if notify && lifeSafety {
			f.toldLifeSafety = true
		}
		f.active = true
		reason := fmt.Sprintf("alarm flood: %d new alarms within %v at site %s (limit %d, EEMUA 191)",
			len(f.raises), e.cfg.FloodWindow, site, e.cfg.FloodLimit)
		summaries = append(summaries, Event{
			Type: EventFlood, At: now, By: "system", Reason: reason, Notify: notify, Flood: list,
			Alarm: Alarm{ID: "flood/" + site, Site: site, Rule: "flood", Priority: list[0].Priority,
				Message: e.cfg.Locale.T("alarm.flood", "site", site, "n", len(list)), State: StateUnacknowledged, Active: true, UpdatedAt: now},
		})
		for _, a := range list {
			if a.Priority.Rank() < summaries[len(summaries)-1].Alarm.Priority.Rank() {
				summaries[len(summaries)-1].Alarm.Priority = a.Priority
			}
		}
	}
	return append(batch, summaries...)
}

// commit journals a batch in one transaction (one fsync) and hands it to the sinks. It runs
// under commitMu and not under mu: the API reads while the disk syncs.
func (e *Engine) commit(batch []Event) error {
	if len(batch) == 0 {
		return nil
	}
	stored, err := e.journal.AppendAll(batch)
	if err != nil {
		// Not journalled, not delivered: a notification the journal cannot keep would be
		// sent again after a restart.
		e.mu.Lock()
		e.err = err
		e.mu.Unlock()
		return err
	}
	for _, ev := range stored {
		for _, s := range e.sinks {
			s.AlarmEvent(ev)
		}
	}
	return nil
}

func (f *flood) prune(now time.Time, window time.Duration) {
	keep := f.raises[:0]
	for _, t := range f.raises {
		if now.Sub(t) < window {
			keep = append(keep, t)
		}
	}
	f.raises = keep
}

// Err returns the last journal error, if any; events that could not be journalled were not
// delivered.
func (e *Engine) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// Ack acknowledges an alarm: UNACK becomes ACKED, RTNUN becomes NORM.
func (e *Engine) Ack(id, by, note string) error {
	if strings.TrimSpace(by) == "" {
		return fmt.Errorf("%w: say who acknowledges (by)", ErrInvalid)
	}
	return e.act(id, func(st status, now time.Time) (status, Event, error) {
		next, err := ack(st, by, now)
		return next, Event{Type: EventAcknowledged, By: by, Reason: note}, err
	})
}

// Shelve shelves an alarm for d (at most alarms.shelve_max); oneShot also ends the shelf when
// the alarm clears (d 0 then means the maximum). Life-safety alarms refuse with ErrNotAllowed.
func (e *Engine) Shelve(id, by, reason string, d time.Duration, oneShot bool) error {
	if strings.TrimSpace(by) == "" || strings.TrimSpace(reason) == "" {
		return fmt.Errorf("%w: shelving needs who (by) and why (reason)", ErrInvalid)
	}
	return e.act(id, func(st status, now time.Time) (status, Event, error) {
		next, err := shelve(st, by, d, e.cfg.ShelveMax, oneShot, now)
		r := fmt.Sprintf("%s (until %s)", reason, next.ShelvedUntil.UTC().Format(time.RFC3339))
		if oneShot {
			r = fmt.Sprintf("%s (one-shot, until it clears, at most until %s)", reason, next.ShelvedUntil.UTC().Format(time.RFC3339))
		}
		return next, Event{Type: EventShelved, By: by, Reason: r}, err
	})
}

// Unshelve lifts a shelf before it expires.
func (e *Engine) Unshelve(id, by, reason string) error {
	if strings.TrimSpace(by) == "" {
		return fmt.Errorf("%w: say who unshelves (by)", ErrInvalid)
	}
	return e.act(id, func(st status, now time.Time) (status, Event, error) {
		if !st.Shelved {
			return st, Event{}, fmt.Errorf("alarm %q: %w: it is not shelved", id, ErrNotAllowed)
		}
		next := unshelve(st)
		next.UpdatedAt = now
		if lifted(next) {
			next.Announced = now
		}
		return next, Event{Type: EventUnshelved, By: by, Reason: reason, Notify: lifted(next)}, nil
	})
}

// act applies an operator's action: the event is built under mu, journalled outside it, and
// the alarm changes (for the readers) once the event is durable.
func (e *Engine) act(id string, f func(status, time.Time) (status, Event, error)) error {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	e.mu.Lock()
	st, ok := e.state[id]
	if !ok {
		e.mu.Unlock()
		return fmt.Errorf("alarm %q: %w; GET /api/v1/alarms lists them", id, ErrUnknownAlarm)
	}
	now := e.clock()
	next, ev, err := f(*st, now)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	ev.Alarm, ev.At = next.Alarm, now
	stored, err := e.journal.Append(ev)
	if err != nil {
		return fmt.Errorf("alarm %q: not changed: %w", id, err)
	}
	e.mu.Lock()
	*st = next // nothing else changed st meanwhile: every change holds commitMu
	e.mu.Unlock()
	for _, s := range e.sinks {
		s.AlarmEvent(stored)
	}
	return nil
}

// SetOutOfService takes a device's alarms out of service (OOSRV) while a work order is in
// progress on it, or returns them. Life-safety alarms never go out of service and are left as
// they are. It is the interface the work-order module drives.
func (e *Engine) SetOutOfService(device string, on bool, by, reason string) error {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	e.mu.Lock()
	bs, ok := e.byDevice[device]
	if !ok {
		e.mu.Unlock()
		return fmt.Errorf("device %q: %w: no such device", device, ErrUnknownAlarm)
	}
	if e.oos[device] == on {
		e.mu.Unlock()
		return nil
	}
	now := e.clock()
	typ := EventOutOfService
	if !on {
		typ = EventReturnedToService
	}
	var sts []*status
	var nexts []status
	var evs []Event
	for _, b := range bs {
		st := e.state[b.id]
		if st.Class == ClassLifeSafety {
			continue
		}
		next := *st
		next.OutOfService, next.UpdatedAt = on, now
		notify := !on && lifted(next)
		if notify {
			next.Announced = now
		}
		sts, nexts = append(sts, st), append(nexts, next)
		evs = append(evs, Event{Type: typ, Alarm: next.Alarm, At: now, By: by, Reason: reason, Notify: notify})
	}
	e.mu.Unlock()
	// The device's alarms go out of (or back into) service together, in one transaction.
	stored, err := e.journal.AppendAll(evs)
	if err != nil {
		return fmt.Errorf("device %q: out of service: %w", device, err)
	}
	e.mu.Lock()
	for i, st := range sts {
		*st = nexts[i]
	}
	e.oos[device] = on
	e.mu.Unlock()
	for _, ev := range stored {
		for _, s := range e.sinks {
			s.AlarmEvent(ev)
		}
	}
	return nil
}

// Filter selects alarms for List; empty fields match all. By default List leaves out alarms
// in NORM that nothing overlays; All includes them.
type Filter struct {
	State    State
	Priority Priority
	Class    Class
	Device   string
	Zone     string
	Active   *bool
	Shelved  *bool
	All      bool
}

// List returns the alarms that match, most urgent first: by priority, then NFPA 72 order
// (alarm, supervisory, trouble), unacknowledged before acknowledged, newest first.
func (e *Engine) List(f Filter) []Alarm {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Alarm
	for id, st := range e.state {
		a := st.Alarm
		if !f.All && f.State == "" && a.State == StateNormal && !a.Shelved {
			continue
		}
		if f.State != "" && a.State != f.State || f.Priority != "" && a.Priority != f.Priority ||
			f.Class != "" && a.Class != f.Class || f.Device != "" && a.Device != f.Device ||
			f.Zone != "" && a.Zone != f.Zone || f.Active != nil && a.Active != *f.Active ||
			f.Shelved != nil && a.Shelved != *f.Shelved {
			continue
		}
		_ = id
		out = append(out, a)
	}
	nfpa := func(a Alarm) int {
		switch e.byID[a.ID].rule.NFPA {
		case "alarm":
			return 0
		case "supervisory":
			return 1
		case "trouble":
			return 2
		}
		return 3
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Priority.Rank() != b.Priority.Rank() {
			return a.Priority.Rank() < b.Priority.Rank()
		}
		if na, nb := nfpa(a), nfpa(b); na != nb {
			return na < nb
		}
		if ua, ub := a.State == StateUnacknowledged, b.State == StateUnacknowledged; ua != ub {
			return ua
		}
		if !a.ActivatedAt.Equal(b.ActivatedAt) {
			return a.ActivatedAt.After(b.ActivatedAt)
		}
		return a.ID < b.ID
	})
	return out
}

// Get returns one alarm, in whatever state.
func (e *Engine) Get(id string) (Alarm, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.state[id]
	if !ok {
		return Alarm{}, fmt.Errorf("alarm %q: %w; GET /api/v1/alarms lists them", id, ErrUnknownAlarm)
	}
	return st.Alarm, nil
}

// History returns an alarm's journalled events, oldest first (at most limit; 0 is all).
func (e *Engine) History(ctx context.Context, id string, limit int) ([]Event, error) {
	if _, err := e.Get(id); err != nil {
		return nil, err
	}
	return e.journal.History(ctx, id, limit)
}

// Check compiles every device's rules as New would, without a journal: check-config uses it
// to report an override of an unknown rule or a condition over an unknown point.
func Check(cfg Config, devs []*devices.Device) error {
	rules := cfg.Rules
	if rules == nil {
		var err error
		if rules, err = BuiltinRules(); err != nil {
			return err
		}
	}
	known := map[string]bool{}
	for _, d := range devs {
		known[d.ID] = true
		if _, err := bind(d, rules[profileName(d)], cfg.Overrides[d.ID]); err != nil {
			return err
		}
	}
	for id := range cfg.Overrides {
		if !known[id] {
			return fmt.Errorf("alarms: overrides for device %q, which is not configured", id)
		}
	}
	return nil
}
