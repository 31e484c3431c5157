package patrol

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

func TestClaimFirstGuardOwns(t *testing.T) {
	t.Parallel()
	r := newRig(t, testConfig(t), night, Deps{})
	e := raised("FP-1/fire_zone_alarm/03", "north", alarms.PriorityCritical, alarms.ClassLifeSafety)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	m := r.ch.next(t)
	if m.Type != ActionAlert || !slices.Equal(ids(m.To), []string{"g1", "g2", "sup-n"}) || m.Zone != "north" {
		t.Fatalf("first message = %s to %v in %q, want alert to g1 g2 sup-n in north", m.Type, ids(m.To), m.Zone)
	}
	id := m.Alert

	r.clock.Step(10 * time.Second)
	a, err := r.s.Claim(id, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Owner != "g1" || a.State != StateClaimed {
		t.Fatalf("after claim: owner %q state %s", a.Owner, a.State)
	}
	if m := r.ch.next(t); m.Type != ActionClaim || m.Owner != "g1" || !slices.Equal(ids(m.To), []string{"g1", "g2", "sup-n"}) {
		t.Fatalf("claim message = %s owner %q to %v: everyone told must see who owns it", m.Type, m.Owner, ids(m.To))
	}

	r.clock.Step(5 * time.Second)
	_, err = r.s.Claim(id, "g2")
	var ce *ClaimedError
	if !errors.As(err, &ce) || ce.Owner != "g1" || !ce.At.Equal(night.Add(10*time.Second)) {
		t.Fatalf("second claim: err = %v, want a ClaimedError naming g1 at 23:00:10", err)
	}
	if !strings.Contains(err.Error(), "g1") {
		t.Errorf("refusal %q does not name the owner", err)
	}
	if _, err := r.s.Claim(id, "intruder"); !errors.Is(err, ErrUnknownGuard) {
		t.Errorf("claim by an unknown guard: err = %v, want ErrUnknownGuard", err)
	}
	if _, err := r.s.Claim("A999999", "g2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("claim of no alert: err = %v, want ErrNotFound", err)
	}

	// Acknowledging through the patrol reaches the engine.
	if _, err := r.s.Ack(id, "g1", "on my way"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.acker.acks, []string{"FP-1/fire_zone_alarm/03 by g1"}) {
		t.Errorf("engine acks = %v", r.acker.acks)
	}
	if m := r.ch.next(t); m.Type != ActionAck {
		t.Errorf("after ack: %s message, want ack", m.Type)
	}
	r.ch.none(t, r.s)
}

func TestHandsetClaims(t *testing.T) {
	t.Parallel()
	r := newRig(t, testConfig(t), night, Deps{})
	e := raised("P-2/pit_high_high", "south", alarms.PriorityCritical, alarms.ClassEquipment)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	id := r.ch.next(t).Alert
	tests := []struct {
		name      string
		payload   string
		wantOwner string
	}{
		{"not JSON", `claim it`, ""},
		{"unknown field", `{"alert":"` + id + `","guard":"g3","action":"claim","x":1}`, ""},
		{"unknown guard refused", `{"alert":"` + id + `","guard":"nobody","action":"claim"}`, ""},
		{"bad action", `{"alert":"` + id + `","guard":"g3","action":"take"}`, ""},
		{"g3 claims", `{"alert":"` + id + `","guard":"g3","action":"claim"}`, "g3"},
		{"sup-n's later claim is refused", `{"alert":"` + id + `","guard":"sup-n","action":"claim"}`, "g3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.s.HandsetMessage("facility/estate/patrol/south/claims", []byte(tt.payload))
			a, _ := r.s.Alert(id)
			if a.Owner != tt.wantOwner {
				t.Errorf("owner = %q, want %q", a.Owner, tt.wantOwner)
			}
		})
	}
	// A handset of no known guard hears why.
	if m := r.ch.next(t); m.Type != ActionRefused || !slices.Equal(ids(m.To), []string{"nobody"}) || !strings.Contains(m.Message, "unknown guard") {
		t.Errorf("message = %s to %v: %q, want the refusal of the unknown guard", m.Type, ids(m.To), m.Message)
	}
	if m := r.ch.next(t); m.Type != ActionClaim || m.Owner != "g3" {
		t.Errorf("message = %s owner %q, want the claim by g3", m.Type, m.Owner)
	}
	// The guard whose claim lost is told who owns it, on the handset topic.
	m := r.ch.next(t)
	if m.Type != ActionRefused || !slices.Equal(ids(m.To), []string{"sup-n"}) || m.Owner != "g3" || !strings.Contains(m.Message, "claimed by g3") {
		t.Errorf("refusal = %s to %v owner %q: %q", m.Type, ids(m.To), m.Owner, m.Message)
	}
	r.ch.none(t, r.s)
}

// fakeSubscriber hands the patrol's handler to the test; done is closed once it has.
type fakeSubscriber struct {
	topic  string
	handle func(string, []byte)
	done   chan struct{}
}

func (f *fakeSubscriber) Subscribe(topic string, qos byte, handle func(string, []byte)) error {
	f.topic, f.handle = topic, handle
	close(f.done)
	return nil
}

func TestRunSubscribesToHandsets(t *testing.T) {
	t.Parallel()
	sub := &fakeSubscriber{done: make(chan struct{})}
	r := newRig(t, testConfig(t), night, Deps{Subscriber: sub})
	ctx, cancel := contextWithCancel()
	done := make(chan error)
	go func() { done <- r.s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-sub.done
	e := raised("EL-1/entrapment", "north", alarms.PriorityCritical, alarms.ClassLifeSafety)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	id := r.ch.next(t).Alert
	if sub.topic != "facility/estate/patrol/+/claims" {
		t.Fatalf("subscribed to %q", sub.topic)
	}
	sub.handle("facility/estate/patrol/north/claims", []byte(`{"alert":"`+id+`","guard":"g2","action":"claim"}`))
	if m := r.ch.next(t); m.Type != ActionClaim || m.Owner != "g2" {
		t.Errorf("message = %s owner %q, want claim by g2", m.Type, m.Owner)
	}
}

func TestUnclaimedCriticalResentThenEscalated(t *testing.T) {
	t.Parallel()
	r := newRig(t, testConfig(t), night, Deps{})
	e := raised("FP-1/fire_zone_alarm/01", "south", alarms.PriorityCritical, alarms.ClassLifeSafety)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	if m := r.ch.next(t); m.Type != ActionAlert {
		t.Fatalf("got %s", m.Type)
	}
	steps := []struct {
		name   string
		step   time.Duration
		want   Action // "" for nothing
		wantTo []string
		state  State
	}{
		{"29 s: nothing yet", 29 * time.Second, "", nil, StateOpen},
		{"30 s: re-sent", time.Second, ActionResend, []string{"g3", "sup-n"}, StateOpen},
		{"59 s: nothing", 29 * time.Second, "", nil, StateOpen},
		{"60 s: escalated to the supervisor", time.Second, ActionEscalate, []string{"g3", "sup-n"}, StateEscalated},
		{"90 s: re-sent to everyone told", 30 * time.Second, ActionResend, []string{"g3", "sup-n"}, StateEscalated},
		{"120 s: to the fallback", 30 * time.Second, ActionEscalate, []string{"g3", "sup-n", "chief"}, StateEscalated},
	}
	for _, st := range steps {
		r.clock.Step(st.step)
		r.s.Tick()
		if st.want == "" {
			r.ch.none(t, r.s)
		} else if m := r.ch.next(t); m.Type != st.want || !slices.Equal(ids(m.To), st.wantTo) {
			t.Fatalf("%s: got %s to %v, want %s to %v", st.name, m.Type, ids(m.To), st.want, st.wantTo)
		}
		if a, _ := r.s.Alert("A" + itoa(e.Seq)); a.State != st.state {
			t.Fatalf("%s: state %s, want %s", st.name, a.State, st.state)
		}
	}

	// The alarm clears: the all-clear goes to everyone told, as nobody owns it.
	if err := r.s.Handle(next(e, alarms.EventCleared)); err != nil {
		t.Fatal(err)
	}
	if m := r.ch.next(t); m.Type != ActionClear || !slices.Equal(ids(m.To), []string{"g3", "sup-n", "chief"}) {
		t.Fatalf("after clear: %s to %v", m.Type, ids(m.To))
	}
	r.clock.Step(time.Hour)
	r.s.Tick()
	r.ch.none(t, r.s)

	// Cleared alerts are duty records: a month later they are out of the list but still in
	// the store for the report...
	r.clock.Step(31 * 24 * time.Hour)
	r.s.Tick()
	if n := len(r.s.Alerts(Filter{})); n != 0 {
		t.Fatalf("%d alerts listed a month on, want none in view", n)
	}
	if list, _ := r.s.store.Alerts(); len(list) != 1 {
		t.Fatalf("%d alerts in the store a month on, want the one kept for the records", len(list))
	}
	sum, err := r.s.store.Summary(night.Add(-time.Hour), night.Add(24*time.Hour))
	if err != nil || sum.Alerts != 1 || sum.Escalated != 1 || sum.Claimed != 0 {
		t.Fatalf("patrol summary %+v %v", sum, err)
	}
	// ...and forgotten after the retention (a year by default), in the store too.
	r.clock.Step(335 * 24 * time.Hour)
	r.s.Tick()
	if n := len(r.s.Alerts(Filter{})); n != 0 {
		t.Fatalf("%d alerts kept past the retention", n)
	}
	if list, _ := r.s.store.Alerts(); len(list) != 0 {
		t.Fatalf("%d alerts left in the store", len(list))
	}
	// And a replay of the old event still sends nothing.
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	r.ch.none(t, r.s)
}

func TestClaimedAlertNotEscalated(t *testing.T) {
	t.Parallel()
	r := newRig(t, testConfig(t), night, Deps{})
	e := raised("EL-2/entrapment", "north", alarms.PriorityCritical, alarms.ClassLifeSafety)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	id := r.ch.next(t).Alert
	r.clock.Step(20 * time.Second)
	if _, err := r.s.Claim(id, "g2"); err != nil {
		t.Fatal(err)
	}
	r.ch.next(t) // the claim
	for range 10 {
		r.clock.Step(30 * time.Second)
		r.s.Tick()
	}
	r.ch.none(t, r.s)
	if a, _ := r.s.Alert(id); a.State != StateClaimed || !a.EscalatedAt.IsZero() {
		t.Fatalf("claimed alert: state %s escalated at %v", a.State, a.EscalatedAt)
	}
	// The all-clear goes to the owner only.
	if err := r.s.Handle(next(e, alarms.EventCleared)); err != nil {
		t.Fatal(err)
	}
	if m := r.ch.next(t); m.Type != ActionClear || !slices.Equal(ids(m.To), []string{"g2"}) || m.Owner != "g2" {
		t.Fatalf("all-clear: %s to %v owner %q, want clear to g2", m.Type, ids(m.To), m.Owner)
	}
}

func TestNotifyFalseAndRealarm(t *testing.T) {
	t.Parallel()
	r := newRig(t, testConfig(t), night, Deps{})
	shelved := raised("P-9/fault", "north", alarms.PriorityHigh, alarms.ClassEquipment)
	shelved.Notify = false
	if err := r.s.Handle(shelved); err != nil {
		t.Fatal(err)
	}
	r.ch.none(t, r.s)
	if n := len(r.s.Alerts(Filter{})); n != 0 {
		t.Fatalf("an event with Notify false made %d alerts", n)
	}
	e := raised("P-3/fault", "north", alarms.PriorityHigh, alarms.ClassEquipment)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	first := r.ch.next(t)
	if err := r.s.Handle(next(e, alarms.EventRealarm)); err != nil {
		t.Fatal(err)
	}
	if m := r.ch.next(t); m.Type != ActionResend || m.Alert != first.Alert || m.Sends != 2 {
		t.Fatalf("realarm: %s of %s (sends %d), want a re-send of %s", m.Type, m.Alert, m.Sends, first.Alert)
	}
	if n := len(r.s.Alerts(Filter{})); n != 1 {
		t.Errorf("realarm made a new alert: %d alerts", n)
	}
	// Claimed but still unacknowledged: the re-alarm reminds the owner only.
	if _, err := r.s.Claim(first.Alert, "g2"); err != nil {
		t.Fatal(err)
	}
	r.ch.next(t)
	if err := r.s.Handle(next(e, alarms.EventRealarm)); err != nil {
		t.Fatal(err)
	}
	if m := r.ch.next(t); m.Type != ActionResend || !slices.Equal(ids(m.To), []string{"g2"}) {
		t.Fatalf("realarm of a claimed alert: %s to %v, want a reminder to g2", m.Type, ids(m.To))
	}
}

func TestFloodIsOneAlert(t *testing.T) {
	t.Parallel()
	r := newRig(t, testConfig(t), night, Deps{})
	var flood []alarms.Alarm
	for i := range 30 {
		e := raised("LP-1/lamp_fail/"+itoa(uint64(i)), "north", alarms.PriorityLow, alarms.ClassEquipment)
		e.Notify = false // the flood summary stands for them
		if err := r.s.Handle(e); err != nil {
			t.Fatal(err)
		}
		flood = append(flood, e.Alarm)
	}
	flood[7].Priority = alarms.PriorityHigh
	fe := alarms.Event{Seq: nextSeq(), Type: alarms.EventFlood, Notify: true, Flood: flood,
		Alarm: alarms.Alarm{Site: "estate", Message: "Alarm flood at estate: 30 alarms in 10 minutes"}}
	if err := r.s.Handle(fe); err != nil {
		t.Fatal(err)
	}
	m := r.ch.next(t)
	if m.Type != ActionAlert || m.Kind != KindFlood || len(m.Alarms) != 30 || m.Priority != "high" {
		t.Fatalf("flood message: %s kind %s with %d alarms priority %s", m.Type, m.Kind, len(m.Alarms), m.Priority)
	}
	if !slices.Contains(ids(m.To), "sup-n") {
		t.Errorf("flood to %v: the supervisor must hear of a flood", ids(m.To))
	}
	r.ch.none(t, r.s)
	if n := len(r.s.Alerts(Filter{})); n != 1 {
		t.Fatalf("%d alerts, want 1 summary", n)
	}
	// It clears with the last of its alarms.
	for i, al := range flood {
		if err := r.s.Handle(next(alarms.Event{Alarm: al}, alarms.EventCleared)); err != nil {
			t.Fatal(err)
		}
		if i < len(flood)-1 {
			continue
		}
		if m := r.ch.next(t); m.Type != ActionClear {
			t.Fatalf("after the last alarm cleared: %s", m.Type)
		}
	}
	r.ch.none(t, r.s)
}

func TestRestartNoDuplicateClaimsKept(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	r := newRig(t, cfg, night, Deps{})
	e1 := raised("FP-1/fire_zone_alarm/05", "north", alarms.PriorityCritical, alarms.ClassLifeSafety)
	e2 := raised("P-2/pit_high_high", "south", alarms.PriorityCritical, alarms.ClassEquipment)
	for _, e := range []alarms.Event{e1, e2} {
		if err := r.s.Handle(e); err != nil {
			t.Fatal(err)
		}
		r.ch.next(t)
	}
	if _, err := r.s.Claim("A"+itoa(e1.Seq), "g1"); err != nil {
		t.Fatal(err)
	}
	r.ch.next(t)

	r = r.restart(t, cfg)
	// The engine replays its journal: the same events again.
	for _, e := range []alarms.Event{e1, e2} {
		if err := r.s.Handle(e); err != nil {
			t.Fatal(err)
		}
	}
	r.ch.none(t, r.s)
	if n := len(r.s.Alerts(Filter{})); n != 2 {
		t.Fatalf("%d alerts after replay, want 2", n)
	}
	if a, _ := r.s.Alert("A" + itoa(e1.Seq)); a.Owner != "g1" {
		t.Fatalf("claim lost across restart: owner %q", a.Owner)
	}
	if _, err := r.s.Claim("A"+itoa(e1.Seq), "g2"); err == nil || !strings.Contains(err.Error(), "g1") {
		t.Fatalf("claim after restart: err = %v, want refusal naming g1", err)
	}
	// The unclaimed one keeps its timers.
	r.clock.Step(60 * time.Second)
	r.s.Tick()
	if m := r.ch.next(t); m.Type != ActionEscalate || m.Alert != "A"+itoa(e2.Seq) {
		t.Fatalf("after restart: %s of %s, want escalation of the unclaimed alert", m.Type, m.Alert)
	}
}

func TestAlertsListOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t, testConfig(t), night, Deps{})
	low := raised("X/low", "north", alarms.PriorityHigh, alarms.ClassEquipment)
	crit := raised("X/crit", "south", alarms.PriorityCritical, alarms.ClassLifeSafety)
	high := raised("X/high", "north", alarms.PriorityHigh, alarms.ClassEquipment)
	for _, e := range []alarms.Event{low, crit, high} {
		r.clock.Step(time.Second)
		if err := r.s.Handle(e); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, a := range r.s.Alerts(Filter{}) {
		got = append(got, a.AlarmID)
	}
	if want := []string{"X/crit", "X/high", "X/low"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v (most urgent, then newest)", got, want)
	}
	if n := len(r.s.Alerts(Filter{Zone: "north"})); n != 2 {
		t.Errorf("zone north: %d alerts, want 2", n)
	}
}

func TestAckedAtTheConsoleStopsEscalation(t *testing.T) {
	t.Parallel()
	r := newRig(t, testConfig(t), night, Deps{})
	e := raised("FP-1/fire_zone_alarm/09", "north", alarms.PriorityCritical, alarms.ClassLifeSafety)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	id := r.ch.next(t).Alert
	r.clock.Step(10 * time.Second)
	ack := next(e, alarms.EventAcknowledged)
	ack.By = "operator"
	if err := r.s.Handle(ack); err != nil {
		t.Fatal(err)
	}
	if m := r.ch.next(t); m.Type != ActionAck || m.Owner != "operator" {
		t.Fatalf("after the console's ack: %s owner %q", m.Type, m.Owner)
	}
	r.clock.Step(5 * time.Minute)
	r.s.Tick()
	r.ch.none(t, r.s)
	if a, _ := r.s.Alert(id); a.State != StateAcked || len(r.acker.acks) != 0 {
		t.Fatalf("state %s, engine acks %v: an ack from the engine must not be sent back to it", a.State, r.acker.acks)
	}
}

func TestShelvedAlarmStopsTimers(t *testing.T) {
	t.Parallel()
	r := newRig(t, testConfig(t), night, Deps{})
	e := raised("P-7/overload", "north", alarms.PriorityHigh, alarms.ClassEquipment)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	id := r.ch.next(t).Alert
	shelve := next(e, alarms.EventShelved)
	shelve.By = "operator"
	if err := r.s.Handle(shelve); err != nil {
		t.Fatal(err)
	}
	r.clock.Step(time.Hour)
	r.s.Tick()
	r.ch.none(t, r.s)
	if a, _ := r.s.Alert(id); a.Held != "shelved by operator" {
		t.Fatalf("held = %q", a.Held)
	}
	if err := r.s.Handle(next(e, alarms.EventUnshelved)); err != nil {
		t.Fatal(err)
	}
	r.s.Tick()
	r.ch.none(t, r.s) // no burst of everything missed
	r.clock.Step(2 * time.Minute)
	r.s.Tick()
	if m := r.ch.next(t); m.Type != ActionResend {
		t.Fatalf("after unshelving and 2 min: %s, want the re-send", m.Type)
	}
}
