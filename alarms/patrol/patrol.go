// Package patrol turns notifiable alarm events into alerts for the night patrol: routed by
// priority, class, zone and shift to the guards' handsets (MQTT), a webhook and the console;
// owned by the first guard to claim them (首问责任制); re-sent and escalated to the shift's
// supervisor while nobody does; and closed with an all-clear. It also runs the night lighting
// check. Alert transitions are pure functions of (alert, input, time) (alert.go); Service
// holds the alerts, persists them in SQLite and owns the goroutines.
package patrol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "time/tzdata" // site time zones on machines without a zoneinfo database

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/internal/webhook"
	"github.com/facilityd/facilityd/locale"
)

// Acker acknowledges alarms in the alarm engine; the engine satisfies it.
type Acker interface {
	Ack(alarmID, by, note string) error
}

// Subscriber is what the patrol needs of the northbound MQTT client to hear handsets.
type Subscriber interface {
	Subscribe(topic string, qos byte, handle func(topic string, payload []byte)) error
}

// Deps are the parts the daemon wires in. Any may be nil: the channel or feature it serves is
// then off.
type Deps struct {
	Publisher  Publisher
	Subscriber Subscriber
	Events     EventPublisher
	Acker      Acker
	Latest     LatestReader
	// LightingFault is called for every failed circuit the night check finds, e.g. by the
	// work-order module. It must not block.
	LightingFault func(LightingFault)
	// Switcher switches dark circuits on before the lighting check (patrol.lighting.switch_on);
	// nil leaves them as they are.
	Switcher   Switcher
	Registerer prometheus.Registerer
	Log        *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Channels replaces the channels built from the configuration, for tests.
	Channels []Channel
	// ChannelHealth hears each phone channel's self-test result (nil: passed) and each
	// message a channel gave up, e.g. the gateway device, whose alarm it becomes.
	ChannelHealth func(channel string, err error)
}

// Service is the patrol: it follows the alarm journal (Consumer), keeps the alerts
// and the lighting checklists, and sends messages through the dispatcher.
type Service struct {
	site     string
	lang     locale.Locale
	cfg      Config
	roster   *Roster
	store    *Store
	deps     Deps
	now      func() time.Time
	log      *slog.Logger
	metrics  *Metrics
	dispatch *Dispatcher
	chans    []Channel
	links    *linkSigner
	tests    selfTests

	mu         sync.Mutex
	alerts     map[string]*Alert
	byAlarm    map[string][]string // alarm id → alert ids not yet cleared
	checklists map[string]*Checklist
	// archived are cleared alerts out of view (older than ViewWindow) but still kept in the
	// store for the records, by id with the time they cleared.
	archived  map[string]time.Time
	lastCheck string    // local date of the last lighting check
	lastPrune time.Time // when forgotten alerts were last removed
	started   time.Time // by the service's clock, for the lighting check's grace
}

// New checks cfg (Validate), builds the patrol and opens its store (cfg.Store). Close it
// when Run has returned.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	roster, err := NewRoster(cfg)
	if err != nil {
		return nil, err
	}
	store, err := OpenStore(cfg.Store)
	if err != nil {
		return nil, err
	}
	s := &Service{
		site: cfg.Site, lang: cfg.Locale, cfg: cfg, roster: roster, store: store, deps: deps, now: deps.Now,
		log: deps.Log, metrics: NewMetrics(deps.Registerer),
		alerts: map[string]*Alert{}, byAlarm: map[string][]string{}, checklists: map[string]*Checklist{}, archived: map[string]time.Time{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.started = s.now()
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.chans = deps.Channels; s.chans == nil {
		if s.chans, err = s.channels(cfg); err != nil {
			store.Close()
			return nil, err
		}
	}
	if s.links, err = linkKey(store); err != nil {
		store.Close()
		return nil, fmt.Errorf("patrol.store: %w", err)
	}
	s.dispatch = NewDispatcher(store, s.chans, s.metrics, s.log, DispatchOptions{
		Now: s.now, Retries: cfg.Phones.Retries, Needed: s.needed, Summary: s.summary, Health: deps.ChannelHealth,
	})
	if err := s.load(); err != nil {
		store.Close()
		return nil, err
	}
	return s, nil
}

// channels builds the configured channels: MQTT and the console where the daemon wired them
// in, the webhook and the phones where cfg configures them.
func (s *Service) channels(cfg Config) ([]Channel, error) {
	var chans []Channel
	if s.deps.Publisher != nil {
		chans = append(chans, &MQTTChannel{Pub: s.deps.Publisher, Retained: cfg.Retained})
	}
	if w := cfg.Webhook; w.URL != "" {
		sender, err := webhook.New(w.URL, []byte(w.Secret))
		if err != nil {
			return nil, fmt.Errorf("patrol.webhook: %w", err)
		}
		sender.Timeout, sender.Retries, sender.BackoffMin, sender.BackoffMax, sender.Now = w.Timeout, w.Retries, w.BackoffMin, w.BackoffMax, s.now
		chans = append(chans, &Webhook{Sender: sender})
	}
	if s.deps.Events != nil {
		chans = append(chans, &ConsoleChannel{Events: s.deps.Events})
	}
	phones, err := s.phoneChannels(cfg.Phones)
	if err != nil {
		return nil, err
	}
	return append(chans, phones...), nil
}

func (s *Service) load() error {
	list, err := s.store.Alerts()
	if err != nil {
		return fmt.Errorf("patrol.store: %w", err)
	}
	for i := range list {
		a := list[i]
		s.alerts[a.ID] = &a
		if a.State != StateCleared {
			for _, al := range a.Alarms {
				if !slices.Contains(a.ClearedAlarms, al.ID) {
					s.byAlarm[al.ID] = append(s.byAlarm[al.ID], a.ID)
				}
			}
		}
	}
	cls, err := s.store.Checklists()
	if err != nil {
		return fmt.Errorf("patrol.store: %w", err)
	}
	for i := range cls {
		s.checklists[cls[i].ID] = &cls[i]
	}
	return nil
}

// Close closes the store.
func (s *Service) Close() error { return s.store.Close() }

// Roster is the roster the service routes by.
func (s *Service) Roster() *Roster { return s.roster }

// Consumer is the patrol's reader of the alarm journal: each event is handled (and the alert
// stored) before the journal moves past it, so an alarm journalled just before a crash still
// reaches the patrol after the restart, once (Handle ignores a seq already handled).
func (s *Service) Consumer() alarms.Consumer {
	return alarms.ConsumerFunc("patrol", func(_ context.Context, e alarms.Event) error { return s.Handle(e) })
}

// Run runs the timers (every second) and the lighting check, drains the channels, and listens
// to the handsets until ctx ends. Alarm events come through Consumer.
func (s *Service) Run(ctx context.Context) error {
	if s.deps.Subscriber != nil {
		topic := "facility/" + s.site + "/patrol/+/claims"
		if err := s.deps.Subscriber.Subscribe(topic, 1, s.HandsetMessage); err != nil {
			return fmt.Errorf("patrol: subscribe %s: %w", topic, err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.dispatch.Run(ctx)
	}()
	for _, c := range s.chans {
		if sc, ok := c.(*smsChannel); ok {
			if l, ok := sc.sms.(*modemLink); ok {
				modemDone := make(chan struct{})
				go func() { defer close(modemDone); l.run(ctx) }()
				defer func() { <-modemDone }()
			}
		}
	}
	// The lighting check ticks on its own: switching circuits on waits for the panels'
	// read-back, and the alerts' timers must not wait for it.
	lighting := make(chan struct{})
	go func() {
		defer close(lighting)
		every(ctx, func() { s.lightingCheck(ctx, s.now()) })
	}()
	every(ctx, func() {
		now := s.now()
		s.tickAlerts(now)
		s.selfTest(ctx, now)
	})
	<-lighting
	<-done
	return nil
}

// every calls f once a second until ctx ends.
func every(ctx context.Context, f func()) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			f()
		}
	}
}

// Handle applies one alarm event: raised and realarm (when Notify) send an alert, flood one
// summary alert, cleared the all-clear. An event already handled (by Seq, across restarts)
// is ignored.
func (s *Service) Handle(e alarms.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Seq != 0 {
		seen, err := s.store.Seen(e.Seq)
		if err != nil {
			return err
		}
		if seen {
			return nil
		}
	}
	now := s.now()
	var changed []Alert
	var out []Message
	switch e.Type {
	case alarms.EventRaised, alarms.EventRealarm:
		if !e.Notify {
			break
		}
		if e.Type == alarms.EventRealarm && len(s.byAlarm[e.Alarm.ID]) > 0 {
			changed, out = s.realarm(e.Alarm.ID, now)
			break
		}
		a := s.newAlert(e, []alarms.Alarm{e.Alarm}, now)
		changed = append(changed, a)
		out = append(out, s.message(&a, Notice{Action: ActionAlert, To: a.Recipients}, now))
	case alarms.EventFlood:
		if !e.Notify || len(e.Flood) == 0 {
			break
		}
		a := s.newAlert(e, e.Flood, now)
		changed = append(changed, a)
		out = append(out, s.message(&a, Notice{Action: ActionAlert, To: a.Recipients}, now))
	case alarms.EventAcknowledged:
		// Acknowledged at the console (or echoed from an ack through the patrol): the alert
		// stops calling for someone. A flood summary waits for its own acknowledgement.
		for _, id := range s.byAlarm[e.Alarm.ID] {
			if len(s.alerts[id].Alarms) != 1 {
				continue
			}
			a, n, _ := Acknowledge(*s.alerts[id], e.By, now)
			if n != nil {
				changed = append(changed, a)
				out = append(out, s.message(&a, *n, now))
			}
		}
	case alarms.EventShelved, alarms.EventSuppressed, alarms.EventOutOfService,
		alarms.EventUnshelved, alarms.EventUnsuppressed, alarms.EventReturnedToService:
		// An operator shelved the alarm (or design suppressed it, or a work order took the
		// device out of service): stop calling guards about it until that ends.
		held := ""
		switch e.Type {
		case alarms.EventShelved, alarms.EventSuppressed, alarms.EventOutOfService:
			held = string(e.Type) + " by " + e.By
		}
		for _, id := range s.byAlarm[e.Alarm.ID] {
			a := *s.alerts[id]
			if len(a.Alarms) != 1 || (a.Held == "") == (held == "") {
				continue
			}
			a.Held, a.UpdatedAt = held, now
			if held == "" {
				a.SentAt, a.TimersFrom = now, now // the timers start again, not in a burst
			}
			changed = append(changed, a)
		}
	case alarms.EventCleared:
		for _, id := range s.byAlarm[e.Alarm.ID] {
			a, n := ClearAlarm(*s.alerts[id], e.Alarm.ID, now)
			changed = append(changed, a)
			if n != nil {
				out = append(out, s.message(&a, *n, now))
			}
		}
	}
	rows := s.dispatch.Outgoing(out)
	if err := s.store.CommitWith(e.Seq, changed, rows); err != nil {
		return fmt.Errorf("patrol.store: %w", err)
	}
	for i := range changed {
		s.put(changed[i])
	}
	s.dispatch.Wake(rows)
	return nil
}

// realarm sends the open alerts of an alarm still active and unacknowledged again: to
// everyone told, or to the owner of a claimed one. Called with mu held.
func (s *Service) realarm(alarmID string, now time.Time) (changed []Alert, out []Message) {
	for _, id := range s.byAlarm[alarmID] {
		a := *s.alerts[id]
		if a.State == StateAcked || a.State == StateCleared {
			continue
		}
		a.SentAt, a.Sends, a.UpdatedAt = now, a.Sends+1, now
		to := a.told()
		if a.Owner != "" {
			to = []string{a.Owner} // claimed, not yet acknowledged: remind the owner
		}
		changed = append(changed, a)
		out = append(out, s.message(&a, Notice{Action: ActionResend, To: to}, now))
	}
	return changed, out
}

// newAlert builds the alert for a raised alarm or a flood of them, routed at now.
func (s *Service) newAlert(e alarms.Event, list []alarms.Alarm, now time.Time) Alert {
	lead := list[0]
	for _, al := range list[1:] {
		if al.Priority.Rank() < lead.Priority.Rank() || (al.Priority == lead.Priority && al.Class == alarms.ClassLifeSafety) {
			lead = al
		}
	}
	a := Alert{
		ID: "A" + strconv.FormatUint(e.Seq, 10), Seq: e.Seq, Kind: KindAlarm, Site: e.Alarm.Site,
		Zone: e.Alarm.Zone, AlarmID: e.Alarm.ID, Alarms: list, Message: e.Alarm.Message,
		Priority: lead.Priority, Class: lead.Class, State: StateOpen,
		CreatedAt: now, SentAt: now, TimersFrom: now, Sends: 1, UpdatedAt: now,
	}
	if a.Site == "" {
		a.Site = lead.Site
	}
	if a.Site == "" {
		a.Site = s.site
	}
	route := s.roster.Route(lead, now)
	if e.Type == alarms.EventFlood {
		a.Kind, a.AlarmID, a.Zone = KindFlood, "", ""
		for _, al := range list {
			a.Zones = appendNew(a.Zones, al.Zone)
			r := s.roster.Route(al, now)
			for _, g := range r.Guards {
				route.Guards = appendNew(route.Guards, g)
			}
			for _, c := range r.Channels {
				route.Channels = appendNew(route.Channels, c)
			}
		}
		sort.Strings(a.Zones)
		if len(a.Zones) == 1 {
			a.Zone = a.Zones[0]
		}
		// A flood always reaches the supervisor: too much at once for one group.
		route.Guards = appendNew(route.Guards, route.Supervisor)
		a.Message = floodText(s.lang, a.Site, e.Alarm.Message, list)
	}
	a.Shift, a.Recipients, a.Supervisor, a.Fallback = route.Shift, route.Guards, route.Supervisor, route.Fallback
	a.Channels = route.Channels
	a.ResendEvery, a.EscalateAfter = route.Timing.Resend, route.Timing.Escalate
	a.Ladder = route.Ladder
	return a
}

// put stores a in memory and keeps the index of uncleared alerts by alarm.
func (s *Service) put(a Alert) {
	s.alerts[a.ID] = &a
	for _, al := range a.Alarms {
		ids := slices.DeleteFunc(s.byAlarm[al.ID], func(id string) bool { return id == a.ID })
		if a.State != StateCleared && !slices.Contains(a.ClearedAlarms, al.ID) {
			ids = append(ids, a.ID)
		}
		if len(ids) == 0 {
			delete(s.byAlarm, al.ID)
		} else {
			s.byAlarm[al.ID] = ids
		}
	}
}

func (s *Service) message(a *Alert, n Notice, now time.Time) Message {
	m := Message{
		Type: n.Action, Alert: a.ID, Kind: a.Kind, Alarm: a.AlarmID, Message: a.Message,
		Priority: string(a.Priority), Class: string(a.Class), Site: a.Site, Zone: a.Zone, Zones: a.Zones,
		Owner: a.Owner, State: a.State, Sends: a.Sends, At: now, To: []Guard{}, channels: a.Channels,
	}
	if n.Channels != nil {
		m.channels = n.Channels
	}
	if a.Kind == KindFlood {
		for _, al := range a.Alarms {
			m.Alarms = append(m.Alarms, al.ID)
		}
	}
	if !a.ClaimedAt.IsZero() {
		t := a.ClaimedAt
		m.Claimed = &t
	}
	m.Text = s.handsetText(&m, a)
	for _, id := range n.To {
		m.To = append(m.To, s.guard(id))
	}
	for _, id := range n.Reach {
		m.Reach = append(m.Reach, s.guard(id))
	}
	return m
}

// guard is the roster's guard id, or a guard of that id alone if the roster lost it.
func (s *Service) guard(id string) Guard {
	if g, ok := s.roster.Guard(id); ok {
		return g
	}
	return Guard{ID: id}
}

// Tick runs the timers of every unclaimed alert and, when due, the night lighting check
// (switching circuits on first where configured, and waiting for their read-back).
func (s *Service) Tick() {
	now := s.now()
	s.tickAlerts(now)
	s.lightingCheck(context.Background(), now)
}

// tickAlerts runs the timers of every unclaimed alert: re-sends and escalations.
func (s *Service) tickAlerts(now time.Time) {
	s.mu.Lock()
	var changed []Alert
	var out []Message
	for _, p := range s.alerts {
		a, notices := Due(*p, now)
		if len(notices) == 0 {
			continue
		}
		changed = append(changed, a)
		for _, n := range notices {
			if n.Action == ActionEscalate {
				s.metrics.escalations.Inc()
				s.log.Warn("patrol alert unclaimed: escalated", "alert", a.ID, "alarm", a.AlarmID, "to", n.To)
			}
			out = append(out, s.message(&a, n, now))
		}
	}
	var rows []Outgoing
	if len(changed) > 0 {
		rows = s.dispatch.Outgoing(out)
		if err := s.store.CommitWith(0, changed, rows); err != nil {
			// Nothing was saved: the timers fire again at the next tick.
			s.log.Error("patrol.store: timers not saved", "err", err)
			s.mu.Unlock()
			return
		}
		for i := range changed {
			s.put(changed[i])
		}
	}
	if now.Sub(s.lastPrune) >= time.Hour {
		s.prune(now)
	}
	s.mu.Unlock()
	s.dispatch.Wake(rows)
}

// ViewWindow is how long a cleared alert stays in the list of alerts (the API, the console);
// older ones stay in the store, for the records and the report, until the retention ends.
const ViewWindow = 30 * 24 * time.Hour

// prune takes cleared alerts older than the view window out of view, and forgets alerts and
// checklists older than the retention, in the store too. Called with mu held.
func (s *Service) prune(now time.Time) {
	s.lastPrune = now
	for id, a := range s.alerts {
		if a.State == StateCleared && a.ClearedAt.Before(now.Add(-ViewWindow)) {
			s.archived[id] = a.ClearedAt
			delete(s.alerts, id)
		}
	}
	if s.cfg.Retention <= 0 {
		return
	}
	before := now.Add(-s.cfg.Retention)
	var alertIDs, checklistIDs []string
	for id, cleared := range s.archived {
		if cleared.Before(before) {
			alertIDs = append(alertIDs, id)
		}
	}
	for id, a := range s.alerts {
		if a.State == StateCleared && a.ClearedAt.Before(before) {
			alertIDs = append(alertIDs, id)
		}
	}
	for id, c := range s.checklists {
		if c.CreatedAt.Before(before) {
			checklistIDs = append(checklistIDs, id)
		}
	}
	if len(alertIDs)+len(checklistIDs) == 0 {
		return
	}
	if err := s.store.PruneOutbox(before); err != nil {
		s.log.Error("patrol.store: old outbox messages not removed", "err", err)
	}
	if err := s.store.Delete(alertIDs, checklistIDs); err != nil {
		s.log.Error("patrol.store: old alerts not removed", "err", err)
		return
	}
	for _, id := range alertIDs {
		delete(s.alerts, id)
		delete(s.archived, id)
	}
	for _, id := range checklistIDs {
		delete(s.checklists, id)
	}
}

// Claim makes guard the owner of alert id and tells everyone it reached. A second guard's
// claim is refused with a *ClaimedError naming the owner and when they claimed.
func (s *Service) Claim(id, guard string) (Alert, error) {
	return s.act(id, guard, func(a Alert, now time.Time) (Alert, *Notice, error) {
		// A claimed alert answers every other guard with its owner, whatever their zone.
		if a.Owner == "" && !s.mayAnswer(a, guard) {
			s.metrics.claims.WithLabelValues("refused").Inc()
			return a, nil, fmt.Errorf("%w: %s does not patrol zone %s of alert %s (patrol.groups)", ErrNotYourZone, guard, a.Zone, a.ID)
		}
		return Claim(a, guard, now)
	})
}

// mayAnswer reports whether guard may own alert a: someone it reached, or a guard whose
// groups patrol one of its zones (a site-wide alert, any guard).
func (s *Service) mayAnswer(a Alert, guard string) bool {
	if slices.Contains(a.told(), guard) || guard == a.Supervisor || guard == a.Fallback {
		return true
	}
	zones := a.Zones
	if len(zones) == 0 {
		zones = []string{a.Zone}
	}
	for _, z := range zones {
		if z == "" || s.roster.Covers(guard, z) {
			return true
		}
	}
	return false
}

// Ack acknowledges alert id's alarms in the engine, as by, and tells everyone it reached.
func (s *Service) Ack(id, by, note string) (Alert, error) {
	return s.act(id, by, func(a Alert, now time.Time) (Alert, *Notice, error) {
		if !a.AckedAt.IsZero() {
			return a, nil, nil
		}
		if s.deps.Acker != nil {
			for _, al := range a.Alarms {
				if err := s.deps.Acker.Ack(al.ID, by, note); err != nil {
					return a, nil, fmt.Errorf("acknowledge alarm %s: %w", al.ID, err)
				}
			}
		}
		return Acknowledge(a, by, now)
	})
}

func (s *Service) act(id, guard string, f func(Alert, time.Time) (Alert, *Notice, error)) (Alert, error) {
	if _, ok := s.roster.Guard(guard); !ok {
		s.metrics.claims.WithLabelValues("invalid").Inc()
		return Alert{}, fmt.Errorf("%w %q: not in patrol.guards", ErrUnknownGuard, guard)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.alerts[id]
	if !ok {
		return Alert{}, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	now := s.now()
	a, n, err := f(*p, now)
	if err != nil {
		var ce *ClaimedError
		if errors.As(err, &ce) {
			s.metrics.claims.WithLabelValues("refused").Inc()
		}
		return *p, err
	}
	if n == nil {
		return a, nil
	}
	rows := s.dispatch.Outgoing([]Message{s.message(&a, *n, now)})
	if err := s.store.CommitWith(0, []Alert{a}, rows); err != nil {
		return *p, fmt.Errorf("patrol.store: %w", err)
	}
	s.put(a)
	if n.Action == ActionClaim {
		s.metrics.claims.WithLabelValues("ok").Inc()
	}
	s.dispatch.Wake(rows)
	return a, nil
}

// HandsetRequest is what a handset publishes on facility/{site}/patrol/{zone}/claims.
type HandsetRequest struct {
	Alert  string `json:"alert"`
	Guard  string `json:"guard"`
	Action string `json:"action"` // claim or ack
	Note   string `json:"note,omitempty"`
}

// HandsetMessage handles a claim or an acknowledgement from a handset. Bad requests and
// refusals are logged and counted; the refused guard learns the owner from the claim message
// that went out on the zone's topic.
func (s *Service) HandsetMessage(topic string, payload []byte) {
	if err := s.handset(payload); err != nil {
		s.log.Warn("patrol handset request refused", "topic", topic, "err", err)
	}
}

func (s *Service) handset(payload []byte) error {
	var r HandsetRequest
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		s.metrics.claims.WithLabelValues("invalid").Inc()
		return fmt.Errorf("payload is not {\"alert\", \"guard\", \"action\"}: %w", err)
	}
	if r.Alert == "" || r.Guard == "" {
		s.metrics.claims.WithLabelValues("invalid").Inc()
		return errors.New("alert and guard are required")
	}
	var err error
	switch r.Action {
	case "claim":
		_, err = s.Claim(r.Alert, r.Guard)
	case "ack":
		_, err = s.Ack(r.Alert, r.Guard, r.Note)
	default:
		s.metrics.claims.WithLabelValues("invalid").Inc()
		return fmt.Errorf("action %q is not claim or ack", r.Action)
	}
	if err != nil {
		s.refuse(r, err)
	}
	return err
}

// refuse tells a handset why its request was refused, on its alert's zone topic: a guard
// whose claim lost learns who owns the alert.
func (s *Service) refuse(r HandsetRequest, err error) {
	a, ok := s.Alert(r.Alert)
	if !ok {
		return
	}
	now := s.now()
	m := s.message(&a, Notice{Action: ActionRefused, To: []string{r.Guard}}, now)
	m.Message = err.Error()
	m.Text = s.refusedText(&a, err)
	m.channels = []string{"mqtt"}
	s.dispatch.Enqueue(m)
}

// Filter selects alerts; empty fields match all.
type Filter struct {
	Zone, State, Owner string
}

// Alerts lists the alerts that match f: those still needing someone first, then by priority,
// newest first.
func (s *Service) Alerts(f Filter) []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Alert{}
	for _, a := range s.alerts {
		if (f.Zone != "" && a.Zone != f.Zone && !slices.Contains(a.Zones, f.Zone)) ||
			(f.State != "" && string(a.State) != f.State) || (f.Owner != "" && a.Owner != f.Owner) {
			continue
		}
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ca, cb := a.State == StateCleared, b.State == StateCleared; ca != cb {
			return cb
		}
		if a.Priority.Rank() != b.Priority.Rank() {
			return a.Priority.Rank() < b.Priority.Rank()
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.After(b.CreatedAt)
		}
		return a.Seq > b.Seq
	})
	return out
}

// Alert returns one alert.
func (s *Service) Alert(id string) (Alert, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.alerts[id]
	if !ok {
		return Alert{}, false
	}
	return *a, true
}
