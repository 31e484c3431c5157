package workorders

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testutil"
)

type oosCall struct {
	Device string
	On     bool
}

type fakeOOS struct {
	mu    sync.Mutex
	calls []oosCall
}

func (f *fakeOOS) SetOutOfService(device string, on bool, by, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, oosCall{device, on})
	return nil
}

// fakeNotifier records what it is told. flush, when set, delivers the manager's outbox
// before ofType reads: what Run's delivery would have sent by the time a person looks.
type fakeNotifier struct {
	mu    sync.Mutex
	sent  []Notification
	flush func()
	// fail, when set, is the error of the next deliveries while it returns one.
	fail func(Notification) error
}

func (f *fakeNotifier) Notify(_ context.Context, n Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		if err := f.fail(n); err != nil {
			return err
		}
	}
	f.sent = append(f.sent, n)
	return nil
}

func (f *fakeNotifier) ofType(typ string) []Notification {
	if f.flush != nil {
		f.flush()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Notification
	for _, n := range f.sent {
		if n.Type == typ {
			out = append(out, n)
		}
	}
	return out
}

type published struct {
	Topic   string
	QoS     byte
	Payload string
}

type fakePublisher struct {
	mu    sync.Mutex
	msgs  []published
	flush func()
}

func (f *fakePublisher) Publish(_ context.Context, topic string, qos byte, _ bool, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, published{topic, qos, string(payload)})
	return nil
}

func (f *fakePublisher) on(topic string) []published {
	if f.flush != nil {
		f.flush()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []published
	for _, m := range f.msgs {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

type rig struct {
	m      *Manager
	clock  *testutil.Clock
	oos    *fakeOOS
	notes  *fakeNotifier
	pub    *fakePublisher
	events chan Event
}

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// estate is the test site's configuration: two zones, a pump, an elevator with its
// contractor, a fire panel and a lighting controller.
func estate() (Config, []Device) {
	cfg := Default()
	cfg.Calendar.Days = []string{"mon", "tue", "wed", "thu", "fri"}
	cfg.Calendar.Holidays = []string{"2026-10-01", "2026-10-02"}
	cfg.Calendar.Workdays = []string{"2026-10-10"}
	cfg.Zones = []ZoneTeam{
		{Zone: "north", Team: "north-team", Butler: "butler-wang", Supervisor: "sup-li"},
		{Zone: "south", Team: "south-team", Butler: "butler-zhao"},
	}
	cfg.Plans = []Plan{}
	cfg.Drills = Drills{Count: -1} // no rescue drills unless a test asks for them
	cfg.Technicians = []Technician{
		{ID: "tech-chen", Name: "Chen Wei", Team: "north-team", Handset: "h-chen"},
		{ID: "tech-wu", Name: "Wu Lei", Team: "north-team", Handset: "h-wu"},
		{ID: "tech-lin", Name: "Lin Tao", Team: "south-team", Handset: "h-lin"},
		{ID: "tech-zhou", Name: "Zhou Min", Team: "south-team"},
	}
	devs := []Device{
		{ID: "P-1", Kind: "pump", Zone: "north", Building: "B1", Site: "estate", Tags: map[string]string{"role": "supply"}},
		{ID: "P-2", Kind: "pump", Zone: "north", Building: "B1", Site: "estate", Tags: map[string]string{"role": "drainage"}},
		{ID: "E-1", Kind: "elevator", Zone: "south", Building: "B2", Site: "estate",
			Asset: &Asset{Make: "Otis", Model: "Gen2", Serial: "OT-1", Contractor: "Otis Service", ContractorPhone: "400-1", WarrantyEnd: "2026-04-15"}},
		{ID: "FP-1", Kind: "fire_panel", Zone: "north", Building: "B1", Site: "estate"},
		{ID: "L-1", Kind: "lighting", Zone: "south", Site: "estate"},
	}
	return cfg, devs
}

func newRig(t *testing.T, start time.Time, mod func(*Config)) *rig {
	t.Helper()
	cfg, devs := estate()
	if mod != nil {
		mod(&cfg)
	}
	return newRigWith(t, start, cfg, devs)
}

// newRigWith builds the rig over a configuration and ledger of the test's own.
func newRigWith(t *testing.T, start time.Time, cfg Config, devs []Device) *rig {
	t.Helper()
	st := mustOpen(t, "sqlite", filepath.Join(t.TempDir(), "wo.db"))
	r := &rig{clock: testutil.NewClock(start), oos: &fakeOOS{}, notes: &fakeNotifier{}, pub: &fakePublisher{}, events: make(chan Event, 100)}
	m, err := New(cfg, "estate", devs, st, Options{Clock: r.clock.Now, OOS: r.oos, Notifier: r.notes, Publisher: r.pub,
		Sinks: []Sink{SinkFunc(func(e Event) { r.events <- e })}})
	if err != nil {
		t.Fatal(err)
	}
	r.m = m
	flush := func() {
		if _, err := m.DeliverOutbox(context.Background()); err != nil {
			t.Errorf("deliver the outbox: %v", err)
		}
	}
	r.notes.flush, r.pub.flush = flush, flush
	return r
}

func raised(device, kind, zone, rule string, class alarms.Class, at time.Time) alarms.Event {
	return alarms.Event{Type: alarms.EventRaised, At: at, Notify: true, Alarm: alarms.Alarm{
		ID: device + "/" + rule, Site: "estate", Device: device, Kind: kind, Zone: zone, Rule: rule, Class: class,
		Priority: alarms.PriorityHigh, Message: device + ": " + rule, Active: true}}
}

func (r *rig) do(t *testing.T, id string, a Action, in Input) *Order {
	t.Helper()
	if in.By == "" {
		in.By = "tech-chen"
	}
	o, err := r.m.Transition(context.Background(), id, a, in)
	if err != nil {
		t.Fatalf("%s %s: %v", a, id, err)
	}
	return o
}

var yes, no = true, false

// TestAlarmToClosedOrder follows a pump trip from the alarm event to the closed order.
func TestAlarmToClosedOrder(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai) // a Tuesday
	r := newRig(t, start, nil)
	o, err := r.m.HandleAlarm(ctx, raised("P-1", "pump", "north", "pump_trip", alarms.ClassEquipment, start))
	if err != nil || o == nil {
		t.Fatalf("order from alarm: %v %v", o, err)
	}
	if o.Category != "pump_trip" || o.Team != "north-team" || o.Butler != "butler-wang" || o.State != StateNew ||
		!o.AcceptBy.Equal(start.Add(15*time.Minute)) {
		t.Fatalf("order: category %s team %s butler %s state %s accept by %v", o.Category, o.Team, o.Butler, o.State, o.AcceptBy)
	}
	again, _ := r.m.HandleAlarm(ctx, raised("P-1", "pump", "north", "pump_trip", alarms.ClassEquipment, start.Add(time.Minute)))
	if again.ID != o.ID || again.Occurrences != 2 {
		t.Fatalf("a second trip must attach: %s ×%d", again.ID, again.Occurrences)
	}
	if n := r.notes.ofType("assigned"); len(n) != 1 || n[0].To[0] != "north-team" {
		t.Fatalf("the zone team is told once: %+v", n)
	}
	r.clock.Step(5 * time.Minute)
	acc := r.do(t, o.ID, ActionAccept, Input{})
	if !acc.CompleteBy.Equal(start.Add(5*time.Minute + 4*time.Hour)) {
		t.Fatalf("complete by %v", acc.CompleteBy)
	}
	r.do(t, o.ID, ActionStart, Input{})
	r.clock.Step(time.Hour)
	res := r.do(t, o.ID, ActionResolve, Input{Note: "reset overload relay"})
	if res.State != StateResolved || !res.FollowUpDue.IsZero() {
		t.Fatalf("a pump trip has nobody to call back: state %s, follow-up due %v", res.State, res.FollowUpDue)
	}
	closed := r.do(t, o.ID, ActionVerify, Input{By: "sup-li", Note: "pressure steady since"})
	if closed.State != StateClosed || closed.AcceptBreached || closed.CompleteBreached {
		t.Fatalf("closed: %+v", closed)
	}
	got, _ := r.m.Get(ctx, o.ID)
	var actions []string
	for _, h := range got.History {
		actions = append(actions, h.Action+":"+h.By)
	}
	if want := "create:system accept:tech-chen start:tech-chen resolve:tech-chen verify:sup-li"; strings.Join(actions, " ") != want {
		t.Fatalf("history %q, want %q", strings.Join(actions, " "), want)
	}
	// The pump's equipment alarms were out of service exactly while the work was in progress.
	if len(r.oos.calls) != 2 || r.oos.calls[0] != (oosCall{"P-1", true}) || r.oos.calls[1] != (oosCall{"P-1", false}) {
		t.Fatalf("out of service calls %v", r.oos.calls)
	}
	if _, err := r.m.Transition(ctx, o.ID, ActionAccept, Input{By: "x"}); err == nil ||
		err.Error() != "order "+o.ID+" is closed; accept needs new" {
		t.Fatalf("illegal transition: %v", err)
	}
}

func TestMapping(t *testing.T) {
	r := newRig(t, t0, nil)
	ctx := context.Background()
	tests := []struct {
		name           string
		ev             alarms.Event
		category, team string
	}{
		{"communication loss is engineering IT, never a repair", raised("P-1", "pump", "north", "comm_lost", alarms.ClassCommunication, t0), "engineering_it", "engineering-it"},
		{"elevator entrapment", raised("E-1", "elevator", "south", "entrapment", alarms.ClassLifeSafety, t0), "elevator_entrapment", "south-team"},
		{"a fire is the patrol's, not an order", raised("FP-1", "fire_panel", "north", "fire_zone_alarm", alarms.ClassLifeSafety, t0), "", ""},
		{"fire panel trouble", raised("FP-1", "fire_panel", "north", "panel_fault", alarms.ClassTrouble, t0), "fire_system", "north-team"},
		{"unknown zone goes to the default team", raised("L-1", "lighting", "west", "lamp_failed", alarms.ClassEquipment, t0), "lighting", "engineering"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := r.m.HandleAlarm(ctx, tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if tc.category == "" {
				if o != nil {
					t.Fatalf("want no order, got %s %s", o.ID, o.Category)
				}
				return
			}
			if o == nil || o.Category != tc.category || o.Team != tc.team {
				t.Fatalf("got %+v, want %s for %s", o, tc.category, tc.team)
			}
		})
	}
	t.Run("an elevator fault also goes to its contractor", func(t *testing.T) {
		o, _ := r.m.HandleAlarm(ctx, raised("E-1", "elevator", "south", "door_fault", alarms.ClassEquipment, t0))
		if o.Contractor != "Otis Service 400-1" {
			t.Fatalf("contractor %q", o.Contractor)
		}
		n := r.notes.ofType("assigned")
		last := n[len(n)-1]
		if strings.Join(last.To, ",") != "south-team,butler-zhao,Otis Service 400-1" {
			t.Fatalf("told %v", last.To)
		}
	})
}

// TestDeadlines steps the clock across a night, a weekend and a holiday.
func TestDeadlines(t *testing.T) {
	cal, err := NewCalendar(WorkCalendar{Timezone: "Asia/Shanghai", Days: []string{"mon", "tue", "wed", "thu", "fri"},
		Start: "09:00", End: "18:00", Holidays: []string{"2026-10-01", "2026-10-02", "2026-10-05"}, Workdays: []string{"2026-10-10"}})
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, from string
		d          time.Duration
		want       string
	}{
		{"within the day", "2026-03-03 10:00", 2 * time.Hour, "2026-03-03 12:00"},
		{"across the night", "2026-03-03 17:00", 2 * time.Hour, "2026-03-04 10:00"},
		{"raised at night counts from the morning", "2026-03-03 23:30", 4 * time.Hour, "2026-03-04 13:00"},
		{"across the weekend", "2026-03-06 16:00", 4 * time.Hour, "2026-03-09 11:00"},
		{"raised on Saturday", "2026-03-07 11:00", time.Hour, "2026-03-09 10:00"},
		{"two working days for a lamp", "2026-03-06 12:00", 18 * time.Hour, "2026-03-10 12:00"},
		{"across the National Day holiday", "2026-09-30 17:00", 2 * time.Hour, "2026-10-06 10:00"},
		{"a weekend day worked in exchange counts", "2026-10-09 17:00", 2 * time.Hour, "2026-10-10 10:00"},
		{"ends exactly at closing", "2026-03-03 16:00", 2 * time.Hour, "2026-03-03 18:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cal.Add(at(tc.from), tc.d); !got.Equal(at(tc.want)) {
				t.Fatalf("%s + %v = %s, want %s", tc.from, tc.d, got.In(shanghai).Format("2006-01-02 15:04 Mon"), tc.want)
			}
		})
	}

	t.Run("breaches escalate once, to the zone supervisor", func(t *testing.T) {
		ctx := context.Background()
		fri := time.Date(2026, 3, 6, 17, 0, 0, 0, shanghai)
		r := newRig(t, fri, nil)
		o, _ := r.m.HandleAlarm(ctx, raised("L-1", "lighting", "north", "lamp_failed", alarms.ClassEquipment, fri))
		// Lighting: accept within 4 working hours, so by Monday 12:00, not Friday 21:00.
		if want := time.Date(2026, 3, 9, 12, 0, 0, 0, shanghai); !o.AcceptBy.Equal(want) {
			t.Fatalf("accept by %v, want %v", o.AcceptBy, want)
		}
		r.clock.Set(time.Date(2026, 3, 8, 23, 0, 0, 0, shanghai)) // Sunday night: not late
		if err := r.m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if n := r.notes.ofType("breach"); len(n) != 0 {
			t.Fatalf("no breach over the weekend: %v", n)
		}
		r.clock.Set(time.Date(2026, 3, 9, 12, 1, 0, 0, shanghai))
		r.m.Tick(ctx)
		r.clock.Step(time.Hour)
		r.m.Tick(ctx)
		n := r.notes.ofType("breach")
		if len(n) != 1 || n[0].To[0] != "sup-li" || !strings.Contains(n[0].Message, "not accepted by 2026-03-09 12:00") {
			t.Fatalf("breach notifications %+v", n)
		}
		got, _ := r.m.Get(ctx, o.ID)
		if !got.AcceptBreached || got.History[len(got.History)-1].Action != "breach" {
			t.Fatalf("breach not recorded: %+v", got.History)
		}
		acc := r.do(t, o.ID, ActionAccept, Input{})
		if !acc.AcceptBreached {
			t.Fatal("accepting late keeps the breach")
		}
		r.do(t, o.ID, ActionArrive, Input{})
		// Completion: 18 working hours from Monday 13:01 is Wednesday 13:01.
		if want := time.Date(2026, 3, 11, 13, 1, 0, 0, shanghai); !acc.CompleteBy.Equal(want) {
			t.Fatalf("complete by %v, want %v", acc.CompleteBy, want)
		}
		r.clock.Set(time.Date(2026, 3, 11, 13, 2, 0, 0, shanghai))
		r.m.Tick(ctx)
		if n := r.notes.ofType("breach"); len(n) != 2 || !strings.Contains(n[1].Message, "not completed") {
			t.Fatalf("completion breach %+v", n)
		}
		over, _ := r.m.List(ctx, Filter{}, true)
		if len(over) != 1 || over[0].ID != o.ID {
			t.Fatalf("overdue list %v", over)
		}
	})

	t.Run("an entrapment: accepted within five minutes, attended within 30 minutes of the alarm, night or day", func(t *testing.T) {
		ctx := context.Background()
		night := time.Date(2026, 3, 7, 2, 0, 0, 0, shanghai) // Saturday, 2 a.m.
		r := newRig(t, night, nil)
		o, _ := r.m.HandleAlarm(ctx, raised("E-1", "elevator", "south", "entrapment", alarms.ClassLifeSafety, night))
		if !o.AcceptBy.Equal(night.Add(5*time.Minute)) || o.Priority != alarms.PriorityCritical ||
			!o.ArriveBy.Equal(night.Add(30*time.Minute)) || !o.CompleteBy.Equal(night.Add(time.Hour)) {
			t.Fatalf("accept by %v, arrive by %v, complete by %v, priority %s", o.AcceptBy, o.ArriveBy, o.CompleteBy, o.Priority)
		}
		r.clock.Step(4 * time.Minute)
		acc := r.do(t, o.ID, ActionAccept, Input{})
		if !acc.ArriveBy.Equal(night.Add(30*time.Minute)) || acc.AcceptBreached {
			t.Fatalf("acceptance moved the arrival to %v (breached %v); it counts from the alarm", acc.ArriveBy, acc.AcceptBreached)
		}
	})
}

// TestArrival: arrival on site is recorded once; late or missing, it is a breach that
// escalates; a repair's arrival deadline counts from acceptance; the report gives the share
// of arrivals on time.
func TestArrival(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 7, 2, 0, 0, 0, shanghai)
	r := newRig(t, start, nil)
	ent, _ := r.m.HandleAlarm(ctx, raised("E-1", "elevator", "south", "entrapment", alarms.ClassLifeSafety, start))
	if _, err := r.m.Transition(ctx, ent.ID, ActionArrive, Input{By: "tech-lin"}); err == nil || !strings.Contains(err.Error(), "arrive needs accepted or in_progress") {
		t.Fatalf("arrive before accepting: %v", err)
	}
	r.clock.Step(3 * time.Minute)
	r.do(t, ent.ID, ActionAccept, Input{By: "tech-lin"})
	r.clock.Step(28 * time.Minute) // 31 minutes after the alarm, nobody on site
	if err := r.m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	n := r.notes.ofType("breach")
	if len(n) != 1 || !strings.Contains(n[0].Message, "nobody on site by 2026-03-07 02:30") || !slices.Contains(n[0].To, "tech-lin") {
		t.Fatalf("arrival breach %+v", n)
	}
	arr := r.do(t, ent.ID, ActionArrive, Input{By: "tech-lin"})
	if !arr.ArrivedAt.Equal(r.clock.Now()) || !arr.ArriveBreached {
		t.Fatalf("arrived %v breached %v", arr.ArrivedAt, arr.ArriveBreached)
	}
	if _, err := r.m.Transition(ctx, ent.ID, ActionArrive, Input{By: "tech-lin"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("arriving twice: %v", err)
	}
	trip, _ := r.m.HandleAlarm(ctx, raised("P-1", "pump", "north", "pump_trip", alarms.ClassEquipment, r.clock.Now()))
	if !trip.ArriveBy.IsZero() {
		t.Fatalf("a pump trip's arrival counts from acceptance, not creation: %v", trip.ArriveBy)
	}
	r.clock.Step(10 * time.Minute)
	acc := r.do(t, trip.ID, ActionAccept, Input{})
	if !acc.ArriveBy.Equal(r.clock.Now().Add(time.Hour)) {
		t.Fatalf("pump trip arrive by %v, want an hour after acceptance", acc.ArriveBy)
	}
	r.clock.Step(20 * time.Minute)
	r.do(t, trip.ID, ActionArrive, Input{})
	rep, err := BuildReport(ctx, r.m.Store(), "estate", "2026-03", shanghai, r.clock.Now(), r.m.ReportOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Arrivals != 2 || rep.ArriveOnTime != 1 {
		t.Fatalf("arrival compliance %d/%d, want 1/2", rep.ArriveOnTime, rep.Arrivals)
	}
}

func TestReworkReopenFollowUp(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	r := newRig(t, start, nil)
	repair := func(fault string) *Order {
		o, err := r.m.HandleAlarm(ctx, raised("P-1", "pump", "north", fault, alarms.ClassEquipment, r.clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		r.do(t, o.ID, ActionAccept, Input{})
		r.do(t, o.ID, ActionStart, Input{})
		return r.do(t, o.ID, ActionResolve, Input{})
	}
	first := repair("pump_trip")
	r.do(t, first.ID, ActionVerify, Input{By: "sup-li"})
	// Follow-up calls are for orders a person reported.
	reported := func(title string) *Order {
		o, err := r.m.Raise(ctx, RaiseRequest{Device: "P-1", Zone: "north", Category: "pump_trip", Title: title, Reporter: "Mr Zhao 138", By: "cs-liu"})
		if err != nil {
			t.Fatal(err)
		}
		r.do(t, o.ID, ActionAccept, Input{})
		r.do(t, o.ID, ActionStart, Input{})
		return r.do(t, o.ID, ActionResolve, Input{})
	}

	t.Run("the same fault within 30 days is rework", func(t *testing.T) {
		r.clock.Step(20 * 24 * time.Hour)
		o, _ := r.m.HandleAlarm(ctx, raised("P-1", "pump", "north", "pump_trip", alarms.ClassEquipment, r.clock.Now()))
		if !o.Rework || o.ReworkOf != first.ID {
			t.Fatalf("rework %v of %q, want of %s", o.Rework, o.ReworkOf, first.ID)
		}
		r.do(t, o.ID, ActionCancel, Input{Note: "duplicate"})
	})
	t.Run("another fault is not rework", func(t *testing.T) {
		o, _ := r.m.HandleAlarm(ctx, raised("P-1", "pump", "north", "overcurrent", alarms.ClassEquipment, r.clock.Now()))
		if o.Rework {
			t.Fatal("a different fault marked as rework")
		}
		r.do(t, o.ID, ActionCancel, Input{})
	})
	t.Run("after 30 days it is not", func(t *testing.T) {
		r.clock.Step(11 * 24 * time.Hour)
		o, _ := r.m.HandleAlarm(ctx, raised("P-1", "pump", "north", "pump_trip", alarms.ClassEquipment, r.clock.Now()))
		if o.Rework {
			t.Fatalf("31 days after the repair: rework of %s", o.ReworkOf)
		}
		r.do(t, o.ID, ActionCancel, Input{})
	})
	t.Run("an unsatisfied follow-up reopens the order to accepted", func(t *testing.T) {
		o := reported("low pressure on 18F")
		re := r.do(t, o.ID, ActionFollowUp, Input{By: "cs-liu", Points: points(yes, yes, no), Note: "still no water on 18F"})
		if re.State != StateAccepted || re.Reopens != 1 || re.Satisfied == nil || *re.Satisfied {
			t.Fatalf("reopened: state %s reopens %d", re.State, re.Reopens)
		}
		if n := r.notes.ofType("reopened"); len(n) != 1 || !strings.Contains(n[0].Message, "18F") {
			t.Fatalf("reopen notice %+v", n)
		}
		r.do(t, o.ID, ActionStart, Input{})
		r.do(t, o.ID, ActionResolve, Input{})
		r.do(t, o.ID, ActionFollowUp, Input{By: "cs-liu", Points: points(yes, yes, yes)})
	})
	t.Run("overdue follow-ups are listed and escalated", func(t *testing.T) {
		o := reported("seal leaks at P-1")
		h, err := r.m.Raise(ctx, RaiseRequest{Zone: "south", Title: "Kitchen tap leaks, 3-1802", Reporter: "Ms Zhang 139", By: "cs-liu"})
		if err != nil || h.Category != CategoryHousehold || h.Team != "south-team" {
			t.Fatalf("household repair: %+v %v", h, err)
		}
		r.do(t, h.ID, ActionAccept, Input{})
		r.do(t, h.ID, ActionStart, Input{})
		hres := r.do(t, h.ID, ActionResolve, Input{})
		// A repair is called back the same day: overdue after the close of the working day.
		r.clock.Set(r.m.Policy().Calendar.CloseOfDay(r.clock.Now()).Add(time.Minute))
		due, overdue, err := r.m.FollowUps(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(overdue) != 1 || overdue[0].ID != o.ID {
			t.Fatalf("overdue %v", ids(overdue))
		}
		// A household repair's follow-up is due one working day later.
		if len(due) != 1 || due[0].ID != h.ID || !hres.FollowUpDue.Equal(r.m.Policy().Calendar.Add(hres.ResolvedAt, 9*time.Hour)) {
			t.Fatalf("due %v, household due %v", ids(due), hres.FollowUpDue)
		}
		r.m.Tick(ctx)
		n := r.notes.ofType("breach")
		if len(n) != 1 || !strings.Contains(n[0].Message, "follow-up") || n[0].To[1] != "butler-wang" {
			t.Fatalf("follow-up escalation %+v", n)
		}
	})
}

// TestHouseholdRework: a second household repair of the same category in the same home within
// the rework window is rework; another home, another category or a complaint is not; a
// reopened order counts as rework in the rate.
func TestHouseholdRework(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai), nil)
	raise := func(loc, category string) *Order {
		o, err := r.m.Raise(ctx, RaiseRequest{Zone: "north", Location: loc, Category: category, Title: "repair in " + loc, By: "cs-liu"})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	first := raise("3-1802", "")
	r.do(t, first.ID, ActionAccept, Input{})
	r.do(t, first.ID, ActionStart, Input{})
	r.do(t, first.ID, ActionResolve, Input{})
	r.clock.Step(10 * 24 * time.Hour)
	tests := []struct {
		name, loc, category string
		rework              bool
	}{
		{"the same home and category", "3-1802", "", true},
		{"another home", "3-1801", "", false},
		{"another category", "3-1802", "general", false},
		{"a complaint is never rework", "3-1802", CategoryComplaint, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := raise(tc.loc, tc.category)
			if o.Rework != tc.rework || (tc.rework && o.ReworkOf != first.ID) {
				t.Fatalf("rework %v of %q, want %v", o.Rework, o.ReworkOf, tc.rework)
			}
			if tc.rework && !strings.Contains(o.History[0].Note, first.ID) {
				t.Fatalf("history does not say rework of %s: %q", first.ID, o.History[0].Note)
			}
		})
	}
	t.Run("after the window it is not", func(t *testing.T) {
		r.clock.Step(21 * 24 * time.Hour)
		if o := raise("3-1802", ""); o.Rework {
			t.Fatalf("31 days on: rework of %s", o.ReworkOf)
		}
	})
	t.Run("a reopened order counts", func(t *testing.T) {
		o := raise("5-0101", "")
		r.do(t, o.ID, ActionAccept, Input{})
		r.do(t, o.ID, ActionStart, Input{})
		r.do(t, o.ID, ActionResolve, Input{})
		re := r.do(t, o.ID, ActionReopen, Input{By: "cs-liu", Note: "still dripping"})
		if !re.Reworked() || re.Rework {
			t.Fatalf("reopened: reworked %v, rework %v (a reopen is not rework of another order)", re.Reworked(), re.Rework)
		}
	})
}

// TestAssign: dispatch to a named technician of the order's team; across teams only the
// supervisor, with a reason; whoever accepts an unassigned order owns it; the assignee's
// handset hears of the order and of its breaches.
func TestAssign(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	r := newRig(t, start, nil)
	o, _ := r.m.HandleAlarm(ctx, raised("P-1", "pump", "north", "pump_trip", alarms.ClassEquipment, start))
	refusals := []struct {
		name string
		in   Input
		want string
	}{
		{"nobody named", Input{By: "sup-li"}, "say to whom"},
		{"an unknown technician", Input{By: "sup-li", To: "tech-x"}, `"tech-x" is not in workorders.technicians`},
		{"another team, not the supervisor", Input{By: "tech-chen", To: "tech-lin", Override: "busy"}, "only the supervisor (sup-li or engineering-supervisor) may assign across teams"},
		{"another team, no reason", Input{By: "sup-li", To: "tech-lin"}, "give the reason for the override"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.m.Transition(ctx, o.ID, ActionAssign, tc.in)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	a := r.do(t, o.ID, ActionAssign, Input{By: "sup-li", To: "tech-wu"})
	if a.Assignee != "tech-wu" || a.State != StateNew || !a.AssignedAt.Equal(start) {
		t.Fatalf("assigned: %s %s %v", a.Assignee, a.State, a.AssignedAt)
	}
	msgs := r.pub.on("facility/estate/handsets/h-wu")
	if len(msgs) != 1 || msgs[0].QoS != 1 || !strings.Contains(msgs[0].Payload, o.ID) {
		t.Fatalf("handset h-wu got %+v", msgs)
	}
	over := r.do(t, o.ID, ActionAssign, Input{By: "sup-li", To: "tech-lin", Override: "north team at the flood in B2"})
	if over.Assignee != "tech-lin" || !strings.Contains(over.History[len(over.History)-1].Note, "north team at the flood") {
		t.Fatalf("override: %s %q", over.Assignee, over.History[len(over.History)-1].Note)
	}
	// The assignee is told of a missed deadline on their handset.
	r.clock.Step(20 * time.Minute)
	r.m.Tick(ctx)
	if msgs := r.pub.on("facility/estate/handsets/h-lin"); len(msgs) != 2 || !strings.Contains(msgs[1].Payload, "breach") {
		t.Fatalf("handset h-lin got %+v", msgs)
	}
	t.Run("the first to accept owns an unassigned order", func(t *testing.T) {
		o, _ := r.m.HandleAlarm(ctx, raised("P-1", "pump", "north", "overcurrent", alarms.ClassEquipment, r.clock.Now()))
		acc := r.do(t, o.ID, ActionAccept, Input{By: "tech-chen"})
		if acc.Assignee != "tech-chen" {
			t.Fatalf("assignee %q", acc.Assignee)
		}
		list, err := r.m.List(ctx, Filter{Assignee: "tech-chen"}, false)
		if err != nil || len(list) != 1 || list[0].ID != o.ID {
			t.Fatalf("orders of tech-chen: %v %v", ids(list), err)
		}
	})
	if got := r.m.Technicians(); len(got) != 4 || got[0].ID != "tech-chen" || got[0].Team != "north-team" {
		t.Fatalf("technicians %+v", got)
	}
}

// TestComplaint: a complaint is due the same working day, from the call, reaches the
// department head (the supervisor), and its follow-up call is due the same day too.
func TestComplaint(t *testing.T) {
	ctx := context.Background()
	tue := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	r := newRig(t, tue, nil)
	c, err := r.m.Raise(ctx, RaiseRequest{Zone: "north", Location: "3-1802", Category: CategoryComplaint, Title: "Nobody came about the leak", By: "cs-liu"})
	if err != nil {
		t.Fatal(err)
	}
	closing := time.Date(2026, 3, 3, 18, 0, 0, 0, shanghai)
	if !c.AcceptBy.Equal(tue.Add(time.Hour)) || !c.ArriveBy.Equal(closing) || !c.CompleteBy.Equal(closing) {
		t.Fatalf("complaint: accept by %v, arrive by %v, complete by %v; want the visit by %v", c.AcceptBy, c.ArriveBy, c.CompleteBy, closing)
	}
	if n := r.notes.ofType("assigned"); len(n) != 1 || n[0].To[0] != "sup-li" {
		t.Fatalf("the department head is not told: %+v", n)
	}
	r.clock.Step(2 * time.Hour)
	r.do(t, c.ID, ActionAccept, Input{By: "sup-li"})
	if acc, _ := r.m.Get(ctx, c.ID); !acc.CompleteBy.Equal(closing) {
		t.Fatalf("acceptance moved the complaint's deadline to %v", acc.CompleteBy)
	}
	r.do(t, c.ID, ActionArrive, Input{By: "sup-li"})
	r.do(t, c.ID, ActionStart, Input{By: "sup-li"})
	res := r.do(t, c.ID, ActionResolve, Input{By: "sup-li"})
	if !res.FollowUpDue.Equal(closing) {
		t.Fatalf("complaint follow-up due %v, want %v", res.FollowUpDue, closing)
	}
	r.clock.Set(time.Date(2026, 3, 3, 19, 0, 0, 0, shanghai))
	late, _ := r.m.Raise(ctx, RaiseRequest{Zone: "north", Category: CategoryComplaint, Title: "Noise from the pump room", By: "cs-liu"})
	if want := time.Date(2026, 3, 4, 18, 0, 0, 0, shanghai); !late.CompleteBy.Equal(want) {
		t.Fatalf("a complaint after hours is due %v, want the next working day's close %v", late.CompleteBy, want)
	}
}

// TestSampledFollowUps: quality staff and management call back a fixed sample (the same on
// every call) of the repairs, never the complaints; their calls are recorded at their level,
// once each, a satisfied one without moving the order and an unsatisfied one reopening it; the
// report gives each level's satisfaction against the target.
func TestSampledFollowUps(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	r := newRig(t, start, nil)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // 200 order events: more than the rig's buffer holds
		for {
			select {
			case <-r.events:
			case <-stop:
				return
			}
		}
	}()
	var all []*Order
	for i := 0; i < 40; i++ {
		cat := ""
		if i%10 == 0 {
			cat = CategoryComplaint
		}
		o, err := r.m.Raise(ctx, RaiseRequest{Zone: "north", Category: cat, Title: fmt.Sprintf("report %d", i), By: "cs-liu"})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []Action{ActionAccept, ActionStart, ActionResolve} {
			r.do(t, o.ID, a, Input{})
		}
		in := Input{By: "cs-liu", Points: points(yes, yes, yes)}
		if cat == CategoryComplaint {
			in = Input{By: "sup-li", Satisfied: &yes}
		}
		all = append(all, r.do(t, o.ID, ActionFollowUp, in))
	}
	due, done, err := r.m.SampledFollowUps(ctx, "quality")
	if err != nil || len(done) != 0 {
		t.Fatalf("quality: %v, %d done", err, len(done))
	}
	again, _, _ := r.m.SampledFollowUps(ctx, "quality")
	if strings.Join(ids(due), ",") != strings.Join(ids(again), ",") {
		t.Fatalf("the sample changed between two calls:\n%v\n%v", ids(due), ids(again))
	}
	// Half of the 36 repairs, give or take what a hash draws, and none of the 4 complaints.
	if len(due) < 10 || len(due) > 26 {
		t.Fatalf("quality sample of %d orders out of 40", len(due))
	}
	inSample := map[string]bool{}
	for _, o := range due {
		inSample[o.ID] = true
	}
	var outside *Order
	for _, o := range all {
		if o.Category == CategoryComplaint && inSample[o.ID] {
			t.Fatalf("complaint %s in the quality sample", o.ID)
		}
		if !inSample[o.ID] && outside == nil {
			outside = o
		}
	}
	if _, err := r.m.Transition(ctx, outside.ID, ActionFollowUp, Input{By: "qa-sun", Level: "quality", Points: points(yes, yes, yes)}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not in the quality sample") {
		t.Fatalf("a call outside the sample: %v", err)
	}
	if _, err := r.m.Transition(ctx, due[0].ID, ActionFollowUp, Input{By: "qa-sun", Level: "auditors", Satisfied: &yes}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "[team quality management]") {
		t.Fatalf("an unknown level: %v", err)
	}
	if _, _, err := r.m.SampledFollowUps(ctx, "auditors"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("listing an unknown level: %v", err)
	}
	q := r.do(t, due[0].ID, ActionFollowUp, Input{By: "qa-sun", Level: "quality", Points: points(yes, no, yes), Note: "the tap drips again"})
	if q.State != StateAccepted || q.Reopens != 1 || q.History[len(q.History)-1].Level != "quality" {
		t.Fatalf("an unsatisfied sampled call left the order %s (reopens %d) or lost its level", q.State, q.Reopens)
	}
	if n := r.notes.ofType("sampled_unsatisfied"); len(n) != 1 || !strings.Contains(n[0].Message, "drips") {
		t.Fatalf("an unsatisfied sampled call is not escalated: %+v", n)
	}
	if n := r.notes.ofType("reopened"); len(n) != 1 || n[0].Order != q.ID || !slices.Contains(n[0].To, "north-team") {
		t.Fatalf("an unsatisfied sampled call does not go back to engineering: %+v", n)
	}
	s := r.do(t, due[1].ID, ActionFollowUp, Input{By: "qa-sun", Level: "quality", Points: points(yes, yes, yes)})
	if s.State != StateFollowedUp {
		t.Fatalf("a satisfied sampled call moved the order to %s", s.State)
	}
	if _, err := r.m.Transition(ctx, due[1].ID, ActionFollowUp, Input{By: "qa-sun", Level: "quality", Points: points(yes, yes, yes)}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a second quality call: %v", err)
	}
	// The reopened order is back with engineering, out of the quality list until it is
	// followed up again.
	rest, done, _ := r.m.SampledFollowUps(ctx, "quality")
	if len(done) != 1 || len(rest) != len(due)-2 {
		t.Fatalf("after two calls: %d done, %d to call", len(done), len(rest))
	}
	rep, err := BuildReport(ctx, r.m.Store(), "estate", "2026-03", shanghai, r.clock.Now(), r.m.ReportOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := []LevelCalls{{"team", 40, 40}, {"quality", 2, 1}, {"management", 0, 0}}
	if fmt.Sprint(rep.Levels) != fmt.Sprint(want) || rep.FollowUps != 40 || rep.Target != 0.8 {
		t.Fatalf("levels %v, want %v; first-level calls %d, target %v", rep.Levels, want, rep.FollowUps, rep.Target)
	}
}

func ids(list []*Order) []string {
	var out []string
	for _, o := range list {
		out = append(out, o.ID)
	}
	return out
}

// TestOutOfService: the fire panel's order never asks the engine to put it out of service
// (the engine would refuse for its life-safety alarms in any case).
func TestOutOfService(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, t0, nil)
	fp, _ := r.m.HandleAlarm(ctx, raised("FP-1", "fire_panel", "north", "panel_fault", alarms.ClassTrouble, t0))
	ele, _ := r.m.HandleAlarm(ctx, raised("E-1", "elevator", "south", "entrapment", alarms.ClassLifeSafety, t0))
	pump, _ := r.m.HandleAlarm(ctx, raised("P-1", "pump", "north", "pump_trip", alarms.ClassEquipment, t0))
	for _, o := range []*Order{fp, ele, pump} {
		r.do(t, o.ID, ActionAccept, Input{})
		r.do(t, o.ID, ActionStart, Input{})
	}
	r.do(t, pump.ID, ActionCancel, Input{Note: "false trip"})
	for _, c := range r.oos.calls {
		if c.Device == "FP-1" || c.Device == "E-1" {
			t.Fatalf("asked to put %s out of service: %v", c.Device, r.oos.calls)
		}
	}
	if want := []oosCall{{"P-1", true}, {"P-1", false}}; len(r.oos.calls) != 2 || r.oos.calls[0] != want[0] || r.oos.calls[1] != want[1] {
		t.Fatalf("calls %v, want %v", r.oos.calls, want)
	}
}

func pumpSnapshot(t *testing.T, hours float64, at time.Time) *devices.Snapshot {
	t.Helper()
	p, ok := devices.Builtin("pump")
	if !ok {
		t.Fatal("no built-in pump profile")
	}
	vals := make([]devices.Value, len(p.Points))
	for i, pt := range p.Points {
		if pt.Name == "running_hours" {
			vals[i] = devices.Value{Number: hours}
		}
	}
	return &devices.Snapshot{Device: &devices.Device{ID: "P-1", Kind: devices.KindPump, Profile: p}, Time: at, Values: vals, Comm: devices.CommOnline}
}

func TestMeterPlan(t *testing.T) {
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	r := newRig(t, start, func(c *Config) {
		c.Plans = []Plan{{ID: "pump-service", Title: "Pump service", Kind: "pump", Meter: "running_hours", MeterEvery: 500}}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	created := func() *Order {
		t.Helper()
		for {
			select {
			case e := <-r.events:
				if e.Type == EventCreated {
					return e.Order
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no order from the meter plan")
			}
		}
	}
	// The pump runs: hours rise by 100 a step from 1200.
	for h := 1200.0; h <= 1700; h += 100 {
		r.m.Observe(pumpSnapshot(t, h, start))
	}
	o := created()
	if o.Plan != "pump-service" || o.Device != "P-1" || o.MeterValue != 1700 || o.Source != SourcePreventive || o.Team != "north-team" {
		t.Fatalf("meter order %+v", o)
	}
	r.m.Observe(pumpSnapshot(t, 1800, start))
	r.do(t, o.ID, ActionAccept, Input{})
	r.do(t, o.ID, ActionStart, Input{})
	if done := r.do(t, o.ID, ActionResolve, Input{Note: "bearings greased, seal checked"}); done.State != StateClosed || !done.FollowUpDue.IsZero() {
		t.Fatalf("a preventive job closes on its record: state %s, follow-up due %v", done.State, done.FollowUpDue)
	}
	r.m.Observe(pumpSnapshot(t, 2200, start))
	if second := created(); second.MeterValue != 2200 || second.ID == o.ID {
		t.Fatalf("second meter order %+v", second)
	}
}

// TestInterruptionNotice: a plan that cuts residents' water, or power, tells them a day ahead.
func TestInterruptionNotice(t *testing.T) {
	for _, cut := range []string{"water", "power"} {
		t.Run(cut, func(t *testing.T) { testInterruptionNotice(t, cut) })
	}
}

func testInterruptionNotice(t *testing.T, cut string) {
	ctx := context.Background()
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	r := newRig(t, start, func(c *Config) {
		c.Plans = []Plan{{ID: "water-tank", Title: "Secondary water tank cleaning", Devices: []string{"P-1"}, Every: "quarterly", Month: 1, Day: 10, At: "09:00", Interrupts: cut, Duration: 4 * time.Hour}}
	})
	t.Run("a job sooner than a day is refused without an override", func(t *testing.T) {
		_, err := r.m.Schedule(ctx, ScheduleRequest{Plan: "water-tank", Device: "P-1", At: start.Add(5 * time.Hour), By: "eng-he"})
		if !errors.Is(err, ErrNoticeTooLate) || !strings.Contains(err.Error(), "residents must be told 24h0m0s ahead; schedule it at 2026-03-04 10:00 or later") {
			t.Fatalf("err %v", err)
		}
		if len(r.pub.msgs) != 0 {
			t.Fatal("a refused job published a notice")
		}
	})
	t.Run("with an override it goes ahead and says why", func(t *testing.T) {
		o, err := r.m.Schedule(ctx, ScheduleRequest{Plan: "water-tank", Device: "P-1", At: start.Add(5 * time.Hour), By: "eng-he", Override: "tank contaminated"})
		if err != nil {
			t.Fatal(err)
		}
		r.do(t, o.ID, ActionCancel, Input{})
	})
	t.Run("the calendar plan publishes its notice at least a day ahead", func(t *testing.T) {
		r.pub.msgs = nil
		r.clock.Set(time.Date(2026, 4, 5, 9, 0, 0, 0, shanghai))
		if err := r.m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if len(r.pub.msgs) != 0 {
			t.Fatalf("published too early: %v", r.pub.msgs)
		}
		r.clock.Set(time.Date(2026, 4, 8, 10, 0, 0, 0, shanghai)) // 47 h before 10 April 09:00
		if err := r.m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if len(r.pub.msgs) != 1 || r.pub.msgs[0].Topic != "facility/estate/notices" || !strings.Contains(r.pub.msgs[0].Payload, `"interrupts":"`+cut+`"`) {
			t.Fatalf("published %v", r.pub.msgs)
		}
		notices, _ := r.m.Notices(ctx)
		last := notices[len(notices)-1]
		if lead := last.Start.Sub(last.PublishedAt); lead < 24*time.Hour || !last.Start.Equal(time.Date(2026, 4, 10, 9, 0, 0, 0, shanghai)) {
			t.Fatalf("notice %+v, lead %v", last, lead)
		}
		r.m.Tick(ctx)
		if len(r.pub.msgs) != 1 {
			t.Fatal("the job was scheduled twice")
		}
	})
}

// TestEmergencyNotice: an unplanned cut is announced at once, marked emergency, with its
// reason; without a reason it is refused.
func TestEmergencyNotice(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	r := newRig(t, start, nil)
	for _, bad := range []struct {
		req  NoticeRequest
		want string
	}{
		{NoticeRequest{Interrupts: "water", By: "eng-he"}, "reason: say why"},
		{NoticeRequest{Interrupts: "gas", Reason: "leak", By: "eng-he"}, `"gas" is not water or power`},
		{NoticeRequest{Interrupts: "power", Reason: "cable cut", By: "eng-he", Devices: []string{"X-9"}}, `device "X-9"`},
		{NoticeRequest{Interrupts: "power", Reason: "cable cut", By: "eng-he", End: start.Add(-time.Hour)}, "is not after start"},
	} {
		if _, err := r.m.Announce(ctx, bad.req); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want %q", bad.req, err, bad.want)
		}
	}
	n, err := r.m.Announce(ctx, NoticeRequest{Interrupts: "water", Reason: "burst main in B1", By: "eng-he", Zone: "north", Devices: []string{"P-1"}, End: start.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !n.Emergency || !n.Start.Equal(start) || !n.PublishedAt.Equal(start) || !strings.Contains(n.Title, "burst main in B1") {
		t.Fatalf("notice %+v", n)
	}
	if msgs := r.pub.on("facility/estate/notices"); len(msgs) != 1 || msgs[0].QoS != 1 || !strings.Contains(msgs[0].Payload, `"emergency":true`) {
		t.Fatalf("published %+v", msgs)
	}
	if list, _ := r.m.Notices(ctx); len(list) != 1 || list[0].Reason != "burst main in B1" {
		t.Fatalf("stored %+v", list)
	}
}

// TestPlanTargets: plans take devices by kind, profile and tag, and the ledger's equipment
// that is not polled; they run weekly or every N days, and their jobs keep to the working
// calendar.
func TestPlanTargets(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, shanghai) // a Monday
	c, devs := estate()
	// A ledger asset that is not polled: a water tank.
	devs = append(devs, Device{ID: "TANK-1", Kind: "water_tank", Zone: "north", Tags: map[string]string{"role": "supply"}})
	c.Plans = append(DefaultPlans(),
		Plan{ID: "tank-check", Title: "Tank inspection", Kind: "water_tank", Every: "weekly", Weekday: "wed", At: "09:00"},
		Plan{ID: "supply-round", Title: "Supply round", Tags: map[string]string{"role": "supply"}, Every: "weekly", Weekday: "sun", At: "09:00"},
		Plan{ID: "drill-moved", Title: "Drill", Kind: "elevator", Every: "semiannual", Month: 3, Day: 15, At: "10:00"},
		Plan{ID: "drill-kept", Title: "Drill", Kind: "elevator", Every: "semiannual", Month: 3, Day: 15, At: "10:00", OnHoliday: "keep"})
	r := newRigWith(t, start, c, devs)
	plan := func(id string) Plan {
		p, _ := r.m.plan(id)
		return p
	}
	targets := []struct{ plan, want string }{
		{"secondary-water-check", "P-1"}, // the booster pump, not the drainage pump
		{"drainage-pump-test", "P-2"},
		{"tank-check", "TANK-1"},
		{"supply-round", "P-1,TANK-1"},
		{"elevator-maintenance", "E-1"},
	}
	for _, tc := range targets {
		if got := strings.Join(r.m.planDevices(plan(tc.plan)), ","); got != tc.want {
			t.Errorf("plan %s covers %q, want %q", tc.plan, got, tc.want)
		}
	}
	next := func(id string, after time.Time) time.Time {
		j, ok := NextOccurrence(plan(id), after, shanghai)
		if !ok {
			t.Fatalf("plan %s has no next job", id)
		}
		return r.m.onCalendar(plan(id), j)
	}
	jobs := []struct {
		name        string
		plan        string
		after, want time.Time
	}{
		{"weekly on Wednesday", "tank-check", start, time.Date(2026, 3, 4, 9, 0, 0, 0, shanghai)},
		{"every 15 days from 1 January", "elevator-maintenance", start, time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai)},
		{"and 15 days later", "elevator-maintenance", time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai), time.Date(2026, 3, 17, 10, 0, 0, 0, shanghai)},
		{"a job due on Sunday 15 March moves to Monday", "drill-moved", start, time.Date(2026, 3, 16, 10, 0, 0, 0, shanghai)},
		{"unless the plan keeps it", "drill-kept", start, time.Date(2026, 3, 15, 10, 0, 0, 0, shanghai)},
		{"a Sunday round moves to Monday", "supply-round", start, time.Date(2026, 3, 9, 9, 0, 0, 0, shanghai)},
	}
	for _, tc := range jobs {
		if got := next(tc.plan, tc.after); !got.Equal(tc.want) {
			t.Errorf("%s: %s, want %s", tc.name, got.In(shanghai).Format("Mon 2006-01-02 15:04"), tc.want.Format("Mon 2006-01-02 15:04"))
		}
	}
	// The ledger's tank gets its order through the plans' tick.
	r.clock.Set(time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai))
	if err := r.m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	list, _ := r.m.List(ctx, Filter{Plan: "tank-check"}, false)
	if len(list) != 1 || list[0].Device != "TANK-1" || list[0].Team != "north-team" || !list[0].ScheduledAt.Equal(time.Date(2026, 3, 4, 9, 0, 0, 0, shanghai)) {
		t.Fatalf("tank orders %+v", list)
	}
}

func TestWarrantyReminder(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, time.Date(2026, 3, 10, 9, 0, 0, 0, shanghai), nil)
	r.m.Tick(ctx)
	if n := r.notes.ofType("warranty"); len(n) != 0 {
		t.Fatalf("too early: %v", n)
	}
	r.clock.Set(time.Date(2026, 3, 20, 9, 0, 0, 0, shanghai))
	r.m.Tick(ctx)
	r.m.Tick(ctx)
	if n := r.notes.ofType("warranty"); len(n) != 1 || n[0].Device != "E-1" || !strings.Contains(n[0].Message, "2026-04-15") {
		t.Fatalf("warranty reminders %v", n)
	}
}

func TestNightCheckCircuit(t *testing.T) {
	r := newRig(t, t0, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var reporter CircuitReporter = r.m
	reporter.CircuitFailed("L-1", "circuit_03", t0)
	reporter.CircuitFailed("L-1", "circuit_03", t0.Add(24*time.Hour))
	var got []Event
	for len(got) < 2 {
		select {
		case e := <-r.events:
			got = append(got, e)
		case <-time.After(10 * time.Second):
			t.Fatal("no order from the failed circuit")
		}
	}
	if got[0].Type != EventCreated || got[1].Type != EventAttached || got[0].Order.Category != "lighting" ||
		got[0].Order.Team != "south-team" || got[0].Order.Source != SourcePatrol {
		t.Fatalf("events %s %s, order %+v", got[0].Type, got[1].Type, got[0].Order)
	}
}

// lampAlarm is the lamp_failure alarm of one circuit of L-1.
func lampAlarm(circuit string, at time.Time) alarms.Event {
	e := raised("L-1", "lighting", "south", "lamp_failure", alarms.ClassEquipment, at)
	e.Alarm.ID += "/" + circuit
	return e
}

// TestFaultInstances: each dark circuit of a panel is an order of its own, whichever of the
// alarm and the night check finds it first, and a repair of one circuit makes no other
// circuit's failure rework.
func TestFaultInstances(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, t0, nil)
	c5, err := r.m.HandleAlarm(ctx, lampAlarm("05", t0))
	if err != nil {
		t.Fatal(err)
	}
	c11, _ := r.m.HandleAlarm(ctx, lampAlarm("11", t0))
	if c5.ID == c11.ID || c5.Instance != "05" || c11.Instance != "11" {
		t.Fatalf("circuits 05 and 11 share an order: %s (%s) %s (%s)", c5.ID, c5.Instance, c11.ID, c11.Instance)
	}
	night, _ := r.m.FailedCircuit(ctx, "L-1", "circuit_05", t0.Add(time.Hour))
	if night.ID != c5.ID || night.Occurrences != 2 {
		t.Fatalf("the night check's circuit 05 made %s ×%d, want %s", night.ID, night.Occurrences, c5.ID)
	}
	// The night check first, then the alarm: still one order.
	c7, _ := r.m.FailedCircuit(ctx, "L-1", "circuit_07", t0)
	if a, _ := r.m.HandleAlarm(ctx, lampAlarm("07", t0.Add(time.Minute))); a.ID != c7.ID {
		t.Fatalf("the alarm for circuit 07 made %s beside the night check's %s", a.ID, c7.ID)
	}
	r.do(t, c5.ID, ActionAccept, Input{})
	r.do(t, c5.ID, ActionStart, Input{})
	r.do(t, c5.ID, ActionResolve, Input{})
	r.clock.Step(48 * time.Hour)
	c17, _ := r.m.HandleAlarm(ctx, lampAlarm("17", r.clock.Now()))
	if c17.Rework {
		t.Fatalf("circuit 17 marked as rework of %s (circuit 05)", c17.ReworkOf)
	}
	c5again, _ := r.m.HandleAlarm(ctx, lampAlarm("05", r.clock.Now()))
	if !c5again.Rework || c5again.ReworkOf != c5.ID {
		t.Fatalf("circuit 05 failing again: rework %v of %q, want of %s", c5again.Rework, c5again.ReworkOf, c5.ID)
	}
	// Fire zones likewise.
	z3, _ := r.m.HandleAlarm(ctx, func() alarms.Event {
		e := raised("FP-1", "fire_panel", "north", "fire_zone_fault", alarms.ClassTrouble, t0)
		e.Alarm.ID += "/03"
		return e
	}())
	z4, _ := r.m.HandleAlarm(ctx, func() alarms.Event {
		e := raised("FP-1", "fire_panel", "north", "fire_zone_fault", alarms.ClassTrouble, t0)
		e.Alarm.ID += "/04"
		return e
	}())
	if z3.ID == z4.ID {
		t.Fatalf("fire zones 03 and 04 share order %s", z3.ID)
	}
}

func TestMeterPlanSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wo.db")
	cfg, devs := estate()
	cfg.Plans = []Plan{{ID: "pump-service", Kind: "pump", Meter: "running_hours", MeterEvery: 500}}
	st := mustOpen(t, "sqlite", path)
	m, _ := New(cfg, "estate", devs, st, Options{Clock: func() time.Time { return t0 }})
	if _, err := m.Schedule(ctx, ScheduleRequest{Plan: "pump-service", Device: "P-1", At: t0, By: "system", Meter: 1000}); err != nil {
		t.Fatal(err)
	}
	// A restart: a new manager over the same book counts from 1000, not from its first reading.
	m2, err := New(cfg, "estate", devs, st, Options{Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	m2.Observe(pumpSnapshot(t, 1400, t0))
	if len(m2.jobs) != 0 {
		t.Fatal("400 h after the last service is not yet due")
	}
	m2.Observe(pumpSnapshot(t, 1500, t0))
	if len(m2.jobs) != 1 {
		t.Fatal("500 h after the last service (before the restart) is due")
	}
}

// TestPlanTooCloseIsSkipped: a gateway started an hour before a water job does not cut the
// supply unannounced, and does not retry every tick.
func TestPlanTooCloseIsSkipped(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 4, 10, 8, 0, 0, 0, shanghai)
	r := newRig(t, start.Add(-30*24*time.Hour), func(c *Config) {
		c.Plans = []Plan{{ID: "water-tank", Devices: []string{"P-1"}, Every: "quarterly", Month: 1, Day: 10, At: "09:00", Interrupts: "water"}}
	})
	r.m.Tick(ctx) // knows the plan from a month before
	r.clock.Set(start)
	if err := r.m.Tick(ctx); err != nil {
		t.Fatalf("a skipped job is not an error: %v", err)
	}
	r.m.Tick(ctx)
	if n := r.notes.ofType("pm_skipped"); len(n) != 1 || !strings.Contains(n[0].Message, "residents must be told") {
		t.Fatalf("skipped notices %+v", n)
	}
	if len(r.pub.msgs) != 0 {
		t.Fatalf("published %v", r.pub.msgs)
	}
}
