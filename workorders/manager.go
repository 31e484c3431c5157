package workorders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/locale"
)

// OutOfService is what work orders need from the alarm engine: while an order is in
// progress, the device's equipment alarms are out of service. The engine never puts
// life-safety alarms out of service whatever it is asked; work orders do not ask for them
// either (orders from life-safety alarms and on OOS-exempt kinds make no call).
type OutOfService interface {
	SetOutOfService(device string, on bool, by, reason string) error
}

// Notification is a message for people: an assignment, a breach, an overdue follow-up, a
// warranty about to end.
type Notification struct {
	// ID is the notification's outbox id, the same at every delivery of it: a receiver that
	// sees an id again (a gateway died between sending and recording) drops it.
	ID     int64  `json:"id,omitempty"`
	Type   string `json:"type"`
	Order  string `json:"order,omitempty"`
	Device string `json:"device,omitempty"`
	// Assignee is the technician the order is assigned to; the notification also reaches
	// their handset.
	Assignee string `json:"assignee,omitempty"`
	// Home and Phone are a resident's: a reminder with a phone is texted to it (SMS).
	Home    string    `json:"home,omitempty"`
	Phone   string    `json:"phone,omitempty"`
	To      []string  `json:"to"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// Notifier delivers notifications (the patrol's channels, SMS, the console). The Manager
// calls it from Run with the notifications of its outbox (outbox.go), never from a request;
// an error is retried with backoff, with the same Notification.ID.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// NotifierFunc adapts a function to a Notifier.
type NotifierFunc func(ctx context.Context, n Notification) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, n Notification) error { return f(ctx, n) }

// Publisher is northbound MQTT: notices go to facility/{site}/notices.
type Publisher interface {
	Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error
}

// EventType names an order event.
type EventType string

// Order events.
const (
	EventCreated    EventType = "created"
	EventAttached   EventType = "attached" // another occurrence of the fault
	EventTransition EventType = "transition"
	EventBreach     EventType = "breach"
	EventNotice     EventType = "notice"
)

// Event is a change to the order book, for the console, the webhook and InfluxDB.
type Event struct {
	Type   EventType `json:"type"`
	Order  *Order    `json:"order,omitempty"`
	Notice *Notice   `json:"notice,omitempty"`
	Change *Change   `json:"change,omitempty"`
	At     time.Time `json:"at"`
}

// Sink receives order events; it must not block.
type Sink interface {
	OrderEvent(Event)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(Event)

// OrderEvent calls f(e).
func (f SinkFunc) OrderEvent(e Event) { f(e) }

// Options are the manager's collaborators; every one may be nil.
type Options struct {
	Clock     func() time.Time
	OOS       OutOfService
	Notifier  Notifier
	Publisher Publisher
	Sinks     []Sink
	Logger    *slog.Logger
	// Locale is the language of titles, notifications and notices to residents; empty is
	// English.
	Locale locale.Locale
	// SMS texts residents (homewarranty.go); nil: their reminders go to customer service.
	SMS SMS
}

// Manager is the work-order service: it consumes alarm events and snapshots, applies the
// lifecycle, watches deadlines and runs the preventive-maintenance plans.
type Manager struct {
	cfg    Config
	site   string
	store  Store
	policy *Policy
	ledger map[string]Device
	order  []string // ledger ids in configuration order
	zones  map[string]ZoneTeam
	exempt map[string]bool
	now    func() time.Time
	log    *slog.Logger
	opts   Options
	jobs   chan func(context.Context)
	owner  string        // this process's name on its outbox claims
	wake   chan struct{} // kicks the outbox delivery after a change that wrote to it

	mu     sync.Mutex
	meters map[string]float64 // plan/device → meter reading at the last order
	// meterBase is the reading of each meter plan's last stored order, loaded at start.
	meterBase map[string]float64
	sched     map[string]planMark // plan/device → the last job, or where a new plan counts from
	warned    map[string]bool
}

// New builds the manager over a store. cfg's zero fields take Default's values, and the
// result must pass Validate. devs is the equipment ledger: the polled devices and the
// assets that are not, in the order the ledger lists them; an id given twice keeps its
// first entry.
func New(cfg Config, site string, devs []Device, st Store, opts Options) (*Manager, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cal, err := NewCalendar(cfg.Calendar)
	if err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m := &Manager{
		cfg: cfg, site: site, store: st, now: opts.Clock, log: opts.Logger, opts: opts,
		policy: &Policy{Limits: NewLimits(cfg.Limits), Calendar: cal, FollowUpRepair: cfg.FollowUp.Repair, FollowUpHousehold: cfg.FollowUp.Household,
			Technicians: map[string]Technician{}, Supervisor: cfg.Supervisor, Sampling: cfg.FollowUp.Sampling,
			VerifyFrom: alarms.Priority(cfg.VerifyFrom), Duty: cfg.Duty, Prices: cfg.Prices,
			Cars: map[string]bool{}, Security: cfg.Drills.Security},
		ledger: map[string]Device{}, zones: map[string]ZoneTeam{}, exempt: map[string]bool{},
		jobs:  make(chan func(context.Context), 256),
		owner: ownerID(), wake: make(chan struct{}, 1),
		meters: map[string]float64{}, sched: map[string]planMark{}, warned: map[string]bool{},
	}
	for _, d := range devs {
		if _, dup := m.ledger[d.ID]; dup {
			continue
		}
		m.ledger[d.ID] = d
		m.order = append(m.order, d.ID)
		m.policy.Cars[d.ID] = d.Kind == string(devices.KindElevator)
	}
	for _, z := range cfg.Zones {
		m.zones[z.Zone] = z
	}
	for _, t := range cfg.Technicians {
		m.policy.Technicians[t.ID] = t
	}
	for _, k := range cfg.OOSExemptKinds {
		m.exempt[k] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.LoadMeters(ctx); err != nil {
		return nil, fmt.Errorf("workorders: meter plans: %w", err)
	}
	return m, nil
}

// Policy is the deadline policy in force.
func (m *Manager) Policy() *Policy { return m.policy }

// Store is the order book.
func (m *Manager) Store() Store { return m.store }

// Consumer is the work orders' reader of the alarm journal: a raised alarm becomes an order
// (or attaches to the open one) before the journal moves past it, so an alarm journalled just
// before a crash still opens its order after the restart.
func (m *Manager) Consumer() alarms.Consumer {
	return alarms.ConsumerFunc("workorders", func(ctx context.Context, e alarms.Event) error {
		_, err := m.HandleAlarm(ctx, e)
		return err
	})
}

// Run handles meter jobs, checks deadlines, follow-ups and plans every check interval,
// delivers the outbox's notifications and prunes what retention lets go every hour, until
// ctx ends. A notification not delivered by then stays in the outbox for the next start.
func (m *Manager) Run(ctx context.Context) error {
	every := m.cfg.CheckInterval
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.runOutbox(ctx)
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	prune := time.NewTicker(pruneEvery)
	defer prune.Stop()
	m.check(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case job := <-m.jobs:
			job(ctx)
		case <-t.C:
			m.check(ctx)
		case <-prune.C:
			if n, err := m.Prune(ctx); err != nil {
				m.log.Error("work-order retention", "err", err)
			} else if n > 0 {
				m.log.Info("work-order retention: pruned", "rows", n, "retention", m.cfg.Retention)
			}
		}
	}
}

func (m *Manager) check(ctx context.Context) {
	if err := m.Tick(ctx); err != nil {
		m.log.Error("work-order checks", "err", err)
	}
}

// Mapping returns the mapping for an alarm, and false when the alarm raises no order.
// Communication loss always goes to engineering IT, whatever the mappings say.
func (m *Manager) Mapping(a alarms.Alarm) (Mapping, bool) {
	for _, mp := range m.cfg.Mappings {
		if glob(mp.Class, string(a.Class)) && glob(mp.Kind, a.Kind) && glob(mp.Rule, a.Rule) {
			if a.Class == alarms.ClassCommunication && mp.Category != "engineering_it" && mp.Category != "none" {
				break
			}
			return mp, mp.Category != "none"
		}
	}
	if a.Class == alarms.ClassCommunication {
		return Mapping{Category: "engineering_it", Team: "engineering-it", Priority: "medium"}, true
	}
	return Mapping{}, false
}

func glob(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

// HandleAlarm turns a raised alarm into an order, or attaches it to the active order for the
// same device and fault. Other events, unmapped alarms and alarms of a device already out of
// service return nil.
func (m *Manager) HandleAlarm(ctx context.Context, e alarms.Event) (*Order, error) {
	if e.Type != alarms.EventRaised || e.Alarm.OutOfService {
		return nil, nil
	}
	a := e.Alarm
	mp, ok := m.Mapping(a)
	if !ok {
		return nil, nil
	}
	at := e.At
	if at.IsZero() {
		at = m.now()
	}
	o := &Order{
		Site: a.Site, Device: a.Device, Kind: a.Kind, Building: a.Building, Zone: a.Zone,
		Fault: a.Rule, Instance: alarmInstance(a), Category: mp.Category, Priority: alarms.Priority(mp.Priority),
		Source: SourceAlarm, AlarmID: a.ID, AlarmClass: a.Class, Title: a.Message, CreatedAt: at,
	}
	if o.Title == "" {
		o.Title = m.t("order.title.alarm", "kind", a.Kind, "device", a.Device, "rule", a.Rule)
	}
	if a.Class == alarms.ClassCommunication && !strings.Contains(o.Title, m.t("alarm.comm_loss")) {
		o.Title = m.t("order.title.comm_loss", "title", o.Title)
	}
	m.fill(o)
	if mp.Team != "" {
		o.Team = mp.Team
	}
	return m.open(ctx, o, "system")
}

// alarmInstance is the instance part of an alarm's id (device/rule/instance): the zone or
// circuit a rule over numbered points fired for, or "" for a rule over the whole device.
func alarmInstance(a alarms.Alarm) string {
	inst, ok := strings.CutPrefix(a.ID, a.Device+"/"+a.Rule+"/")
	if !ok {
		return ""
	}
	return inst
}

// fill completes an order from the ledger and the zone's responsibility.
func (m *Manager) fill(o *Order) {
	if d, ok := m.ledger[o.Device]; ok {
		if o.Kind == "" {
			o.Kind = d.Kind
		}
		if o.Zone == "" {
			o.Zone = d.Zone
		}
		if o.Building == "" {
			o.Building = d.Building
		}
		if o.Site == "" {
			o.Site = d.Site
		}
		// An elevator fault also goes to the elevator's maintenance contractor.
		if d.Asset != nil && o.Kind == string(devices.KindElevator) {
			o.Contractor = strings.TrimSpace(d.Asset.Contractor + " " + d.Asset.ContractorPhone)
		}
	}
	if o.Site == "" {
		o.Site = m.site
	}
	z, ok := m.zones[o.Zone]
	o.Team = m.cfg.DefaultTeam
	o.Supervisor = m.cfg.Supervisor
	if ok {
		o.Team, o.Butler = z.Team, z.Butler
		if z.Supervisor != "" {
			o.Supervisor = z.Supervisor
		}
	}
	if o.Team == "" {
		o.Team = "engineering"
	}
	if o.Priority == "" {
		o.Priority = alarms.PriorityMedium
	}
	o.State = StateNew
	o.ConfinedSpace = m.confinedSpace(o)
	m.policy.SetDeadlines(o)
}

// markRework marks o as rework of the last order for the same fault (device, fault and
// instance; or location and category) resolved within the rework window. Preventive jobs
// recur by design and complaints are not repairs: neither is ever rework.
func (m *Manager) markRework(ctx context.Context, o *Order) error {
	k := FaultKey{Device: o.Device, Fault: o.Fault, Instance: o.Instance}
	if o.Fault == "" {
		k = FaultKey{Location: o.Location, Category: o.Category}
	}
	if o.Source == SourcePreventive || o.Category == CategoryComplaint || (k.Fault == "" && k.Location == "") {
		return nil
	}
	prev, err := m.store.LastDone(ctx, k, o.CreatedAt.Add(-m.cfg.ReworkWindow))
	if err != nil {
		return err
	}
	if prev != nil {
		o.Rework, o.ReworkOf = true, prev.ID
	}
	return nil
}

// open stores a new order (or attaches to the active one), marks rework and tells the team.
func (m *Manager) open(ctx context.Context, o *Order, by string) (*Order, error) {
	if err := m.markRework(ctx, o); err != nil {
		return nil, err
	}
	note := o.Title
	if o.Rework {
		note = m.t("order.note.rework", "title", o.Title, "of", o.ReworkOf)
	}
	o.History = []Change{{At: o.CreatedAt, By: by, Action: "create", To: StateNew, Note: note}}
	stored, created, err := m.store.Open(ctx, o, func(stored *Order) []Notification {
		return []Notification{{Type: "assigned", Order: stored.ID, Device: stored.Device, To: recipients(stored.Team, stored.Butler, stored.Contractor),
			Message: m.t("order.notify.new", "id", stored.ID, "category", m.category(stored.Category), "priority", m.t("priority."+string(stored.Priority)),
				"zone", m.zoneName(stored), "title", stored.Title, "by", m.fmtTime(stored.AcceptBy)), At: o.CreatedAt}}
	})
	if err != nil {
		return nil, err
	}
	if stored == nil {
		return nil, nil // this alarm raise was applied before: delivered again after a crash
	}
	if !created {
		m.emit(Event{Type: EventAttached, Order: stored, At: o.CreatedAt})
		return stored, nil
	}
	m.kick()
	m.emit(Event{Type: EventCreated, Order: stored, At: o.CreatedAt})
	return stored, nil
}

func (m *Manager) zoneName(o *Order) string {
	if o.Zone == "" {
		return m.t("order.no_zone")
	}
	return m.t("order.zone", "zone", o.Zone)
}

// t is the message of key in the site's language.
func (m *Manager) t(key string, args ...any) string { return m.opts.Locale.T(key, args...) }

// category names a category in the site's language; one the catalogue lacks as configured.
func (m *Manager) category(c string) string {
	if m.opts.Locale.Has("category." + c) {
		return m.t("category." + c)
	}
	return c
}

func recipients(names ...string) []string {
	var out []string
	for _, n := range names {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// RaiseRequest is an order raised by hand, e.g. a resident's report of a household repair.
type RaiseRequest struct {
	Device   string `json:"device,omitempty"`
	Zone     string `json:"zone,omitempty"`
	Building string `json:"building,omitempty"`
	// Location is the home or room ("3-1802"); a repair there again is rework.
	Location string          `json:"location,omitempty"`
	Category string          `json:"category,omitempty"`
	Priority alarms.Priority `json:"priority,omitempty"`
	Title    string          `json:"title"`
	Reporter string          `json:"reporter,omitempty"`
	By       string          `json:"by"`
	Note     string          `json:"note,omitempty"`
	// Intake is what the customer-service desk takes down (intake.go); empty for an order
	// raised by engineering without a resident.
	Intake
}

// Raise stores an order raised by hand. Without a category it is a household repair.
func (m *Manager) Raise(ctx context.Context, r RaiseRequest) (*Order, error) {
	if strings.TrimSpace(r.Title) == "" {
		return nil, fmt.Errorf("%w: title: say what is wrong", ErrInvalid)
	}
	if strings.TrimSpace(r.By) == "" {
		return nil, fmt.Errorf("%w: by: say who raises the order", ErrInvalid)
	}
	if r.Device != "" {
		if _, ok := m.ledger[r.Device]; !ok {
			return nil, fmt.Errorf("%w: device %q is not in the configuration", ErrInvalid, r.Device)
		}
	}
	if r.Priority != "" && r.Priority.Rank() > 3 {
		return nil, fmt.Errorf("%w: priority %q is not one of critical, high, medium, low", ErrInvalid, r.Priority)
	}
	if err := m.intake(&r); err != nil {
		return nil, err
	}
	if r.Category == "" {
		r.Category = CategoryHousehold
	}
	if r.Priority == "" {
		r.Priority = alarms.PriorityLow
	}
	o := &Order{Device: r.Device, Zone: r.Zone, Building: r.Building, Location: strings.TrimSpace(r.Location), Category: r.Category, Priority: r.Priority,
		Source: SourceManual, Title: r.Title, Reporter: r.Reporter, CreatedAt: m.now()}
	m.fill(o)
	m.deskOrder(o, r)
	if err := m.markRework(ctx, o); err != nil {
		return nil, err
	}
	note := r.Note
	if o.Rework {
		note = strings.TrimSpace(note + " (rework of " + o.ReworkOf + ")")
	}
	o.History = []Change{{At: o.CreatedAt, By: r.By, Action: "create", To: StateNew, Note: note}}
	stored, err := m.store.Insert(ctx, o, func(stored *Order) []Notification {
		to := recipients(stored.Assignee, stored.Team, stored.Butler)
		if stored.Category == CategoryComplaint {
			// The department head visits the resident the same day.
			to = recipients(stored.Supervisor, stored.Team, stored.Butler)
		}
		return []Notification{{Type: "assigned", Order: stored.ID, Device: stored.Device, Assignee: stored.Assignee, To: to,
			Message: m.t("order.notify.request", "id", stored.ID, "category", m.category(stored.Category), "zone", m.zoneName(stored), "title", stored.Title), At: o.CreatedAt}}
	})
	if err != nil {
		return nil, err
	}
	m.kick()
	m.emit(Event{Type: EventCreated, Order: stored, At: o.CreatedAt})
	return stored, nil
}

// CircuitReporter is what the patrol's nightly lighting check calls for each failed circuit;
// the Manager satisfies it.
type CircuitReporter interface {
	CircuitFailed(device, circuit string, at time.Time)
}

// CircuitReporterFunc adapts a function to a CircuitReporter.
type CircuitReporterFunc func(device, circuit string, at time.Time)

// CircuitFailed calls f.
func (f CircuitReporterFunc) CircuitFailed(device, circuit string, at time.Time) {
	f(device, circuit, at)
}

var _ CircuitReporter = (*Manager)(nil)

// CircuitFailed queues a lighting order for a circuit the night check found dark; it never
// blocks the patrol.
func (m *Manager) CircuitFailed(device, circuit string, at time.Time) {
	job := func(ctx context.Context) {
		if _, err := m.FailedCircuit(ctx, device, circuit, at); err != nil {
			m.log.Error("lighting order from the night check", "device", device, "circuit", circuit, "err", err)
		}
	}
	select {
	case m.jobs <- job:
	default:
		m.log.Warn("work-order queue full: failed circuit dropped", "device", device, "circuit", circuit)
	}
}

// LightingRule is the lighting panels' alarm rule for a failed lamp (alarms/rules/lighting.yaml).
// The night check files a dark circuit under it too, so that one circuit has one order
// whether the alarm or the patrol found it first.
const LightingRule = "lamp_failure"

// FailedCircuit is the patrol's nightly lighting check reporting a failed circuit
// ("circuit_05" or "05"): a lighting order, one per device and circuit while it is being
// handled, shared with the circuit's lamp_failure alarm.
func (m *Manager) FailedCircuit(ctx context.Context, device, circuit string, at time.Time) (*Order, error) {
	circuit = strings.TrimPrefix(circuit, "circuit_")
	o := &Order{Device: device, Kind: string(devices.KindLighting), Fault: LightingRule, Instance: circuit, Category: "lighting",
		Priority: alarms.PriorityLow, Source: SourcePatrol, Title: m.t("order.title.circuit", "device", device, "circuit", circuit), CreatedAt: at}
	m.fill(o)
	return m.open(ctx, o, "patrol")
}

// Get returns one order with its history.
func (m *Manager) Get(ctx context.Context, id string) (*Order, error) { return m.store.Get(ctx, id) }

// List returns the orders the filter selects; overdue keeps only those past a deadline.
func (m *Manager) List(ctx context.Context, f Filter, overdue bool) ([]*Order, error) {
	list, err := m.store.List(ctx, f)
	if err != nil || !overdue {
		return list, err
	}
	now := m.now()
	out := list[:0]
	for _, o := range list {
		if o.Overdue(now) {
			out = append(out, o)
		}
	}
	return out, nil
}

// Transition applies an action to an order and stores it, retrying once when another
// gateway changed the order meanwhile. Starting work puts the device's equipment alarms out
// of service; leaving in_progress puts them back.
func (m *Manager) Transition(ctx context.Context, id string, a Action, in Input) (*Order, error) {
	for attempt := 0; ; attempt++ {
		cur, err := m.store.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		now := m.now()
		next, err := Apply(*cur, a, in, now, m.policy)
		if err != nil {
			return nil, err
		}
		ch := next.History[len(next.History)-1]
		ns := m.transitionNotes(a, &next, ch, in, now)
		if err := m.store.Update(ctx, &next, notes(ns...)); err != nil {
			if errors.Is(err, ErrConflict) && attempt < 2 {
				continue
			}
			return nil, err
		}
		if len(ns) > 0 {
			m.kick()
		}
		m.oos(cur, &next, in.By)
		m.emit(Event{Type: EventTransition, Order: &next, Change: &ch, At: now})
		return &next, nil
	}
}

// transitionNotes are the notifications a transition sends: a reopened order, a sampled
// follow-up found unsatisfied, an assignment.
func (m *Manager) transitionNotes(a Action, next *Order, ch Change, in Input, now time.Time) []Notification {
	var out []Notification
	if a == ActionFollowUp && next.State == StateAccepted {
		out = append(out, Notification{Type: "reopened", Order: next.ID, Device: next.Device, Assignee: next.Assignee, To: recipients(next.Assignee, next.Team, next.Butler, next.Supervisor),
			Message: m.t("order.notify.reopened", "id", next.ID, "note", in.Note), At: now})
	}
	if a == ActionFollowUp && ch.Level != m.policy.FirstLevel() && ch.Satisfied != nil && !*ch.Satisfied {
		out = append(out, Notification{Type: "sampled_unsatisfied", Order: next.ID, Device: next.Device, To: recipients(next.Supervisor, next.Butler),
			Message: m.t("order.notify.sampled_unsatisfied", "id", next.ID, "level", m.level(ch.Level), "note", in.Note), At: now})
	}
	if a == ActionAssign {
		out = append(out, Notification{Type: "assigned", Order: next.ID, Device: next.Device, Assignee: next.Assignee, To: recipients(next.Assignee),
			Message: m.t("order.notify.assigned", "id", next.ID, "by", in.By, "category", m.category(next.Category), "priority", m.t("priority."+string(next.Priority)),
				"zone", m.zoneName(next), "where", next.Location+next.Device, "title", next.Title), At: now})
	}
	return out
}

// oos drives the engine's out-of-service overlay from the order's move in or out of
// in_progress. Orders without a device, from life-safety alarms or on an exempt kind make no
// call at all.
func (m *Manager) oos(prev, next *Order, by string) {
	if m.opts.OOS == nil || next.Device == "" || m.exempt[next.Kind] {
		return
	}
	if next.AlarmClass == alarms.ClassLifeSafety {
		return
	}
	was, is := prev.State == StateInProgress, next.State == StateInProgress
	if was == is {
		return
	}
	reason := fmt.Sprintf("work order %s %s", next.ID, next.State)
	if err := m.opts.OOS.SetOutOfService(next.Device, is, by, reason); err != nil {
		m.log.Warn("out of service", "device", next.Device, "order", next.ID, "on", is, "err", err)
	}
}

func (m *Manager) emit(e Event) {
	for _, s := range m.opts.Sinks {
		s.OrderEvent(e)
	}
}

// enqueue writes a notification no order change causes to the outbox, once ever for a
// non-empty key, and wakes the delivery.
func (m *Manager) enqueue(ctx context.Context, key string, n Notification) {
	added, err := m.store.Enqueue(ctx, key, n)
	if err != nil {
		m.log.Error("work-order notification not queued", "type", n.Type, "device", n.Device, "err", err)
		return
	}
	if added {
		m.kick()
	}
}

// HandsetTopic is where a technician's handset hears of their orders, at QoS 1.
func HandsetTopic(site, handset string) string {
	return "facility/" + site + "/handsets/" + handset
}

// toHandset publishes a notification of an assigned order to the assignee's handset.
func (m *Manager) toHandset(ctx context.Context, n Notification) error {
	t, ok := m.policy.Technicians[n.Assignee]
	if !ok || t.Handset == "" || m.opts.Publisher == nil {
		return nil
	}
	payload, err := json.Marshal(n)
	if err != nil {
		return err
	}
	if err := m.opts.Publisher.Publish(ctx, HandsetTopic(m.site, t.Handset), 1, false, payload); err != nil {
		return fmt.Errorf("handset %s of %s: %w", t.Handset, t.ID, err)
	}
	return nil
}

// Technicians lists the technicians orders may be assigned to, in configuration order.
func (m *Manager) Technicians() []Technician {
	return append([]Technician{}, m.cfg.Technicians...)
}

// FollowUps returns the resolved orders awaiting their follow-up call: due (not yet late)
// and overdue.
func (m *Manager) FollowUps(ctx context.Context) (due, overdue []*Order, err error) {
	list, err := m.store.List(ctx, Filter{State: StateResolved})
	if err != nil {
		return nil, nil, err
	}
	now := m.now()
	for _, o := range list {
		if o.FollowUpDue.IsZero() { // awaiting verification, not a call (ClosingPath)
			continue
		}
		if now.After(o.FollowUpDue) {
			overdue = append(overdue, o)
		} else {
			due = append(due, o)
		}
	}
	return due, overdue, nil
}

// SampledFollowUps lists, for a sampled level (quality, management), the orders of its
// sample followed up by the first level in the last 30 days: those still to call and those
// called. ErrInvalid names the levels when level is not one.
func (m *Manager) SampledFollowUps(ctx context.Context, level string) (due, done []*Order, err error) {
	if !m.policy.level(level) {
		return nil, nil, fmt.Errorf("%w: level %q is not one of the follow-up levels %v (workorders.follow_up.sampling)", ErrInvalid, level, m.levels())
	}
	since := m.now().Add(-30 * 24 * time.Hour)
	for _, st := range []State{StateFollowedUp, StateClosed} {
		list, err := m.store.List(ctx, Filter{State: st})
		if err != nil {
			return nil, nil, err
		}
		for _, o := range list {
			if o.FollowedUpAt.Before(since) || !m.policy.Sampled(o, level) {
				continue
			}
			called := false
			for _, h := range o.History {
				called = called || (h.Action == string(ActionFollowUp) && h.Level == level)
			}
			if called {
				done = append(done, o)
			} else {
				due = append(due, o)
			}
		}
	}
	return due, done, nil
}

// FollowUpLevels is the follow-up levels in order, the first the call every order gets.
func (m *Manager) FollowUpLevels() []string { return m.levels() }

func (m *Manager) levels() []string {
	var out []string
	for _, l := range m.policy.Sampling {
		out = append(out, l.Level)
	}
	return out
}

// ReportOptions are the report's settings from this manager's configuration.
func (m *Manager) ReportOptions() ReportOptions {
	return ReportOptions{Levels: m.levels(), Target: m.cfg.FollowUp.Target, Locale: m.opts.Locale}
}

// Tick records and escalates breached deadlines and overdue follow-ups, reminds of
// warranties about to end, and raises the calendar plans' orders that are due. Run calls it
// every check interval; tests call it after stepping the clock.
func (m *Manager) Tick(ctx context.Context) error {
	now := m.now()
	var errs []error
	for _, st := range []State{StateNew, StateAccepted, StateInProgress, StateResolved} {
		list, err := m.store.List(ctx, Filter{State: st})
		if err != nil {
			return err
		}
		for _, o := range list {
			if err := m.checkDesk(ctx, o, now); err != nil {
				errs = append(errs, err)
			}
			if err := m.checkOrder(ctx, o, now); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := m.checkDoneDesk(ctx, now); err != nil {
		errs = append(errs, err)
	}
	m.warranties(ctx, now)
	m.homeWarranties(ctx, now)
	if err := m.runPlans(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if err := m.runDrills(ctx, now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (m *Manager) checkOrder(ctx context.Context, o *Order, now time.Time) error {
	var what string
	switch {
	case o.State == StateNew && !o.AcceptBreached && now.After(o.AcceptBy):
		o.AcceptBreached, what = true, m.t("order.breach.accept", "by", m.fmtTime(o.AcceptBy))
	case o.State.Active() && o.ArrivedAt.IsZero() && !o.ArriveBreached && !o.ArriveBy.IsZero() && now.After(o.ArriveBy):
		o.ArriveBreached, what = true, m.t("order.breach.arrive", "by", m.fmtTime(o.ArriveBy))
	case (o.State == StateAccepted || o.State == StateInProgress) && !o.CompleteBreached && !o.CompleteBy.IsZero() && now.After(o.CompleteBy):
		o.CompleteBreached, what = true, m.t("order.breach.complete", "by", m.fmtTime(o.CompleteBy))
	case o.State == StateResolved && !o.FollowUpOverdue && !o.FollowUpDue.IsZero() && now.After(o.FollowUpDue):
		o.FollowUpOverdue, what = true, m.t("order.breach.follow_up", "by", m.fmtTime(o.FollowUpDue))
	default:
		return nil
	}
	ch := Change{At: now, By: "system", Action: "breach", From: o.State, To: o.State, Note: what}
	o.History = append(o.History, ch)
	// A missed deadline of the work reaches the technician who has it; an overdue follow-up
	// call is customer service's.
	to, assignee := recipients(o.Supervisor, o.Team, o.Assignee), o.Assignee
	if o.State == StateResolved {
		to, assignee = recipients(o.Supervisor, o.Butler), ""
	}
	n := Notification{Type: "breach", Order: o.ID, Device: o.Device, Assignee: assignee, To: to,
		Message: m.t("order.notify.breach", "id", o.ID, "category", m.category(o.Category), "priority", m.t("priority."+string(o.Priority)),
			"zone", m.zoneName(o), "team", o.Team, "what", what), At: now}
	// The breach and its notification are one transaction: a gateway that loses the race
	// (ErrConflict) sends nothing, and the one that wins cannot record it without the notice.
	if err := m.store.Update(ctx, o, notes(n)); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil // another gateway recorded it, or the order moved on; next tick sees
		}
		return err
	}
	m.kick()
	m.emit(Event{Type: EventBreach, Order: o, Change: &ch, At: now})
	return nil
}

func (m *Manager) fmtTime(t time.Time) string {
	return t.In(m.policy.Calendar.Location()).Format("2006-01-02 15:04")
}

// warranties reminds engineering, once per device, a set time before its warranty ends.
func (m *Manager) warranties(ctx context.Context, now time.Time) {
	for _, id := range m.order {
		d := m.ledger[id]
		if d.Asset == nil || d.Asset.WarrantyEnd == "" {
			continue
		}
		end, err := time.ParseInLocation(time.DateOnly, d.Asset.WarrantyEnd, m.policy.Calendar.Location())
		if err != nil || now.Before(end.Add(-m.cfg.WarrantyReminder)) || now.After(end) {
			continue
		}
		m.mu.Lock()
		done := m.warned[id]
		m.warned[id] = true
		m.mu.Unlock()
		if !done {
			// Keyed by device and end date: once ever, across restarts and gateways.
			m.enqueue(ctx, "warranty/"+id+"/"+d.Asset.WarrantyEnd, Notification{Type: "warranty", Device: id, To: recipients(m.cfg.Supervisor, d.Asset.Contractor),
				Message: m.t("order.notify.warranty", "device", id, "make", d.Asset.Make, "model", d.Asset.Model, "serial", d.Asset.Serial, "end", d.Asset.WarrantyEnd), At: now})
		}
	}
}

// LedgerEntry is one device of the equipment ledger (设备台帐).
type LedgerEntry struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Building string `json:"building,omitempty"`
	Zone     string `json:"zone,omitempty"`
	Asset    *Asset `json:"asset,omitempty"`
}

// Ledger lists the equipment ledger in configuration order.
func (m *Manager) Ledger() []LedgerEntry {
	out := make([]LedgerEntry, 0, len(m.order))
	for _, id := range m.order {
		d := m.ledger[id]
		out = append(out, LedgerEntry{ID: id, Kind: d.Kind, Building: d.Building, Zone: d.Zone, Asset: d.Asset})
	}
	return out
}

// Notices lists the notices published in the last 30 days.
func (m *Manager) Notices(ctx context.Context) ([]Notice, error) {
	return m.store.Notices(ctx, m.now().Add(-30*24*time.Hour))
}

// level names a follow-up sampling level in the site's language.
func (m *Manager) level(l string) string {
	if m.opts.Locale.Has("report.level." + l) {
		return m.t("report.level." + l)
	}
	return l
}
