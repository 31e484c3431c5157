package alarms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Shanghai on any machine

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/facilityd/facilityd/devices"
)

func builtinConfig() Config {
	cfg := DefaultConfig()
	cfg.Location = time.UTC
	cfg.Realarm = 0
	return cfg
}

func estate(t testing.TB) []*devices.Device {
	return []*devices.Device{
		device(t, "P-1", "pump", "B1", map[string]string{"name": "Supply booster pump P-1", "location": "B1 basement pump room"}),
		device(t, "P-2", "pump", "B1", map[string]string{"name": "Drainage pump P-2", "location": "B1 B2 sump pit"}),
		device(t, "L1-1", "elevator", "B1", map[string]string{"location": "B1 lobby, car 1"}),
		device(t, "FP-1", "fire_panel", "B1", map[string]string{"location": "B1 fire control room"}),
		device(t, "LP-1", "lighting", "B1", map[string]string{"location": "North gardens and paths"}),
	}
}

func TestDefaultRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		device  string
		set     []any
		want    []string
		message string // of the first event's alarm
		prio    Priority
		class   Class
	}{
		{name: "drainage pit high-high", device: "P-2", set: []any{"role", 1, "pit_high", 1},
			want: []string{"raised P-2/pit_high_high !"}, message: "Drainage pump P-2, B1 B2 sump pit, building B1: pit level high-high", prio: PriorityHigh, class: ClassEquipment},
		{name: "pit switch on a supply pump is ignored", device: "P-1", set: []any{"role", 0, "pit_high", 1}},
		{name: "pump trip names the cause", device: "P-1", set: []any{"overload", 1, "fault", 1},
			want: []string{"raised P-1/pump_trip !"}, message: "Supply booster pump P-1, B1 basement pump room, building B1: pump tripped (overload)", prio: PriorityHigh, class: ClassEquipment},
		{name: "VFD fault uses the label", device: "P-1", set: []any{"vfd_fault_code", 4},
			want: []string{"raised P-1/vfd_fault !"}, message: "Supply booster pump P-1, B1 basement pump room, building B1: VFD fault 4 (drive overheat)", prio: PriorityHigh},
		{name: "entrapment by fault 21", device: "L1-1", set: []any{"fault_code", 21},
			want: []string{"raised L1-1/entrapment !"}, message: "Elevator L1-1, B1 lobby, car 1, building B1: passengers trapped", prio: PriorityCritical, class: ClassLifeSafety},
		{name: "entrapment by alarm button between floors", device: "L1-1", set: []any{"alarm_button", 1, "in_door_zone", 0, "running", 0},
			want: []string{"raised L1-1/entrapment !"}, prio: PriorityCritical, class: ClassLifeSafety},
		{name: "alarm button at a landing is no entrapment", device: "L1-1", set: []any{"alarm_button", 1, "in_door_zone", 1}},
		{name: "elevator fault code", device: "L1-1", set: []any{"fault_code", 12, "in_door_zone", 1},
			want: []string{"raised L1-1/fault_code !"}, message: "Elevator L1-1, B1 lobby, car 1, building B1: fault 12 (door lock circuit fault)", prio: PriorityHigh, class: ClassEquipment},
		{name: "fire zone alarm, one alarm per zone", device: "FP-1", set: []any{"zone_03", 1, "zone_11", 1},
			want: []string{"raised FP-1/fire_zone_alarm/03 !", "raised FP-1/fire_zone_alarm/11 !"}, message: "Fire panel FP-1, B1 fire control room, building B1: FIRE ALARM zone 03", prio: PriorityCritical, class: ClassLifeSafety},
		{name: "fire supervisory", device: "FP-1", set: []any{"zone_05", 3},
			want: []string{"raised FP-1/fire_zone_supervisory/05 !"}, prio: PriorityHigh, class: ClassSupervisory},
		{name: "fire zone fault and battery", device: "FP-1", set: []any{"zone_07", 2, "battery_fault", 1},
			want: []string{"raised FP-1/fire_zone_fault/07 !", "raised FP-1/battery_fault !"}, prio: PriorityMedium, class: ClassTrouble},
		{name: "lamp failure at night", device: "LP-1", set: []any{"circuit_07_lamp_fail", 1},
			want: []string{"raised LP-1/lamp_failure/07 !"}, message: "Lighting panel LP-1, North gardens and paths, building B1: circuit 07 lamp failed", prio: PriorityLow, class: ClassEquipment},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, builtinConfig(), estate(t)...)
			h.clk.set(22 * time.Hour)
			h.set(tc.device, tc.set...)
			evs := h.rec.events
			if got := h.rec.take(); join(got) != join(tc.want) {
				t.Fatalf("events\n got  %s\n want %s", join(got), join(tc.want))
			}
			if len(evs) == 0 {
				return
			}
			a := evs[0].Alarm
			if tc.message != "" && a.Message != tc.message {
				t.Errorf("message %q, want %q", a.Message, tc.message)
			}
			if a.Priority != tc.prio || tc.class != "" && a.Class != tc.class {
				t.Errorf("priority %s class %s, want %s %s", a.Priority, a.Class, tc.prio, tc.class)
			}
		})
	}
}

func TestSilentDeviceRaisesCommunicationLossOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t, builtinConfig(), estate(t)...)
	h.set("P-1", "fault", 1, "overload", 1)
	h.rec.take()
	for _, id := range []string{"P-1", "L1-1", "FP-1"} {
		h.clk.advance(time.Second)
		h.eng.Observe(silent(h.dev(id), h.clk.now()))
	}
	want := "raised P-1/comm_loss !; raised L1-1/comm_loss !; raised FP-1/comm_loss !"
	if got := join(h.rec.take()); got != want {
		t.Fatalf("offline devices: events %s, want %s", got, want)
	}
	if a := h.alarm("P-1/pump_trip"); !a.Active {
		t.Error("the trip raised before the device went silent was cleared by comm_fail values")
	}
	if a := h.alarm("P-1/comm_loss"); a.Class != ClassCommunication || a.Priority != PriorityMedium {
		t.Errorf("comm loss is %s %s, want medium communication", a.Priority, a.Class)
	}
	// A fire panel's silence hides fires: its profile makes it high.
	if a := h.alarm("FP-1/comm_loss"); a.Class != ClassCommunication || a.Priority != PriorityHigh || !strings.Contains(a.Message, "fire panel not answering") {
		t.Errorf("fire panel comm loss is %s %s %q, want high communication", a.Priority, a.Class, a.Message)
	}
	h.clk.advance(time.Second)
	h.set("P-1", "fault", 0, "overload", 0)
	if got := join(h.rec.take()); got != "cleared P-1/comm_loss !; cleared P-1/pump_trip !" {
		t.Fatalf("back online: %s", got)
	}
}

func TestLampFailureSuppressedByDay(t *testing.T) {
	t.Parallel()
	cfg := builtinConfig()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err) // the time zone database is embedded in the test binary (time/tzdata)
	}
	cfg.Location = loc
	h := newHarness(t, cfg, estate(t)...)
	// 04:00 UTC is noon in Shanghai.
	h.clk.set(4 * time.Hour)
	h.set("LP-1", "circuit_02_lamp_fail", 1)
	for _, e := range h.rec.events {
		if e.Notify {
			t.Fatalf("lamp failure at noon notified: %s", short(e))
		}
	}
	if got := join(h.rec.take()); got != "raised LP-1/lamp_failure/02" {
		t.Fatalf("by day: %s", got)
	}
	if a := h.alarm("LP-1/lamp_failure/02"); !a.Suppressed {
		t.Error("not marked suppressed by design")
	}
	// 09:30 UTC is 17:30 in Shanghai: dusk, the window ends.
	h.clk.set(9*time.Hour + 30*time.Minute)
	h.eng.Tick()
	if got := join(h.rec.take()); got != "unsuppressed LP-1/lamp_failure/02 !" {
		t.Fatalf("at dusk, the failed lamp: %s", got)
	}
	h.clk.advance(time.Minute)
	h.set("LP-1", "circuit_09_lamp_fail", 1)
	if got := join(h.rec.take()); got != "raised LP-1/lamp_failure/09 !" {
		t.Fatalf("after dusk: %s", got)
	}
}

func TestFloodOfThirtyFireZones(t *testing.T) {
	t.Parallel()
	fp1 := device(t, "FP-1", "fire_panel", "B1", nil)
	fp2 := device(t, "FP-2", "fire_panel", "B2", nil)
	h := newHarness(t, builtinConfig(), fp1, fp2)
	var a, b []any
	for z := 1; z <= 16; z++ {
		a = append(a, zone(z), 1)
	}
	for z := 1; z <= 14; z++ {
		b = append(b, zone(z), 1)
	}
	h.set("FP-1", a...)
	h.set("FP-2", b...)
	raised, notified := 0, 0
	var summary *Event
	for i, e := range h.rec.events {
		if e.Type == EventRaised {
			raised++
			if e.Notify {
				t.Errorf("raised %s notifies during a flood", e.Alarm.ID)
			}
		}
		if e.Notify {
			notified++
			if e.Type == EventFlood {
				summary = &h.rec.events[i]
			}
		}
	}
	if raised != 30 || notified != 1 || summary == nil {
		t.Fatalf("%d raised, %d notifications (flood summary %v), want 30 raised and one flood summary", raised, notified, summary != nil)
	}
	if len(summary.Flood) != 16 || summary.Alarm.Priority != PriorityCritical || !strings.Contains(summary.Reason, "16 new alarms within 10m0s at site estate") {
		t.Errorf("summary lists %d alarms, priority %s, reason %q", len(summary.Flood), summary.Alarm.Priority, summary.Reason)
	}
	// Within the flood, one more zone is folded in silently: the patrol already has a fire.
	h.rec.take()
	h.clk.advance(time.Minute)
	h.set("FP-2", "zone_15", 1)
	for _, e := range h.rec.events {
		if e.Notify {
			t.Errorf("a further fire zone within the flood notified: %s", short(e))
		}
	}
	// A restart does not end the flood: raises stay folded in (a life-safety one is told once
	// more, the memory of having told it being gone).
	h.rec.take()
	h.restart()
	h.clk.advance(time.Minute)
	h.set("FP-2", "zone_16", 1)
	for _, e := range h.rec.events {
		if e.Type == EventRaised && e.Notify {
			t.Errorf("after a restart within the flood, %s notified on its own", short(e))
		}
	}
	h.set("FP-2", "zone_16", 0)
	h.set("FP-2", "zone_15", 0)
	// Ten minutes on, the flood is over: a new alarm notifies again.
	h.rec.take()
	h.clk.advance(11 * time.Minute)
	h.eng.Tick()
	h.set("FP-2", "zone_15", 1)
	if got := join(h.rec.take()); got != "raised FP-2/fire_zone_alarm/15 !" {
		t.Fatalf("after the flood: %s", got)
	}
}

// A fire alarm raised during a flood of lamp failures is told at once, in a summary of its
// own; the lamps were folded into the flood's first summary.
func TestLifeSafetyThroughAFlood(t *testing.T) {
	t.Parallel()
	lp := device(t, "LP-1", "lighting", "B1", nil)
	fp := device(t, "FP-1", "fire_panel", "B1", nil)
	h := newHarness(t, builtinConfig(), lp, fp)
	h.clk.set(20 * time.Hour) // after dusk in Shanghai: lamp failures are not suppressed
	var lamps []any
	for c := 1; c <= 12; c++ {
		lamps = append(lamps, fmt.Sprintf("circuit_%02d_lamp_fail", c), 1)
	}
	h.set("LP-1", lamps...)
	h.rec.take()
	h.clk.advance(time.Minute)
	h.set("FP-1", "zone_03", 1)
	var told []string
	for _, e := range h.rec.events {
		if e.Notify {
			told = append(told, short(e))
		}
	}
	if len(told) != 1 || !strings.Contains(told[0], "flood") {
		t.Fatalf("during a lamp flood a fire alarm told %v, want one flood summary", told)
	}
	ev := h.rec.events[len(h.rec.events)-1]
	if ev.Type != EventFlood || len(ev.Flood) != 1 || ev.Flood[0].ID != "FP-1/fire_zone_alarm/03" || ev.Alarm.Priority != PriorityCritical {
		t.Errorf("summary %+v, want the fire zone alone, critical", ev)
	}
}

func zone(z int) string {
	return "zone_" + string(rune('0'+z/10)) + string(rune('0'+z%10))
}

func TestNFPAPrecedence(t *testing.T) {
	t.Parallel()
	cfg := builtinConfig()
	off := 30 * time.Second
	// The panel holds the zone's alarm for 30 s after it leaves the alarm state.
	cfg.Overrides = map[string][]Override{"FP-1": {{Rule: "fire_zone_alarm", OffDelay: &off}}}
	h := newHarness(t, cfg, estate(t)...)
	h.set("FP-1", "zone_03", 1, "zone_04", 2)
	h.clk.advance(time.Second)
	h.set("FP-1", "zone_03", 2)
	if got := join(h.rec.take()); got != "raised FP-1/fire_zone_alarm/03 !; raised FP-1/fire_zone_fault/04 !; raised FP-1/fire_zone_fault/03" {
		t.Fatalf("zone 3 fault while in alarm notified, or zone 4 did not: %s", got)
	}
	h.set("FP-1", "zone_05", 3, "battery_fault", 1)
	var order []string
	for _, a := range h.eng.List(Filter{Device: "FP-1"}) {
		order = append(order, a.Rule+"/"+a.ID[strings.LastIndex(a.ID, "/")+1:])
	}
	// Within a priority, newest first.
	want := "fire_zone_alarm/03; fire_zone_supervisory/05; battery_fault/battery_fault; fire_zone_fault/03; fire_zone_fault/04"
	if join(order) != want {
		t.Errorf("listing order\n got  %s\n want %s", join(order), want)
	}
}

func TestRestartKeepsStateAndSendsNothingTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, builtinConfig(), estate(t)...)
	h.set("P-2", "role", 1, "pit_high", 1)
	h.set("P-1", "fault", 1)
	h.set("L1-1", "fault_code", 21)
	h.set("FP-1", "zone_02", 2)
	h.clk.advance(time.Minute)
	h.must(h.eng.Ack("P-2/pit_high_high", "Li Wei", "pump crew called"))
	h.must(h.eng.Shelve("FP-1/fire_zone_fault/02", "Zhang Min", "detector being replaced", 2*time.Hour, false))
	h.must(h.eng.SetOutOfService("P-1", true, "WO-12", "work order in progress"))
	before := h.eng.List(Filter{All: true})
	h.rec.take()

	h.restart()
	h.clk.advance(time.Minute)
	for _, id := range []string{"P-1", "P-2", "L1-1", "FP-1", "LP-1"} {
		h.set(id)
	}
	for _, e := range h.rec.events {
		if e.Notify || e.Type == EventRaised {
			t.Errorf("after restart: %s re-emitted", short(e))
		}
	}
	after := h.eng.List(Filter{All: true})
	if len(after) != len(before) {
		t.Fatalf("%d alarms after restart, %d before", len(after), len(before))
	}
	for _, id := range []string{"P-2/pit_high_high", "P-1/pump_trip", "L1-1/entrapment", "FP-1/fire_zone_fault/02"} {
		a := h.alarm(id)
		if !a.Active {
			t.Errorf("%s not active after restart", id)
		}
	}
	if a := h.alarm("P-2/pit_high_high"); a.State != StateAcknowledged || a.AckedBy != "Li Wei" {
		t.Errorf("ack lost: %s by %q", a.State, a.AckedBy)
	}
	if a := h.alarm("FP-1/fire_zone_fault/02"); !a.Shelved || a.ShelvedBy != "Zhang Min" || !a.ShelvedUntil.Equal(time.Unix(0, 0).Add(time.Minute+2*time.Hour)) {
		t.Errorf("shelf lost: %+v", a)
	}
	if a := h.alarm("P-1/pump_trip"); !a.OutOfService {
		t.Error("out of service lost")
	}
	if a := h.alarm("L1-1/entrapment"); a.State != StateUnacknowledged {
		t.Errorf("entrapment %s, want UNACK", a.State)
	}
	// The journal goes on from where it was.
	evs, err := h.j.Since(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if e.Seq != uint64(i+1) {
			t.Fatalf("journal seq %d at %d", e.Seq, i)
		}
	}
	// Clearing after the restart is journalled once.
	h.set("L1-1", "fault_code", 0)
	if got := join(h.rec.take()); got != "cleared L1-1/entrapment !" {
		t.Errorf("clear after restart: %s", got)
	}
}

func TestRuleErrorsNameDeviceRuleAndPoint(t *testing.T) {
	t.Parallel()
	j, err := OpenJournal(t.TempDir() + "/j.db")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	p1 := device(t, "P-1", "pump", "B1", nil)
	cases := []struct {
		name  string
		rules string
		over  []Override
		want  string
	}{
		{name: "unknown point in a condition", rules: `rules: [{name: gated, kind: analog, point: pressure, below: 2, condition: "runing && role == 0", priority: medium, class: equipment}]`,
			want: `device P-1: alarm rule gated: condition: "runing && role == 0": unknown point "runing"`},
		{name: "unknown point", rules: `rules: [{name: trip, kind: digital, points: [faults], priority: high, class: equipment}]`,
			want: `device P-1: alarm rule trip: unknown point "faults" (profile "pump")`},
		{name: "unknown rule in an override", rules: `rules: [{name: trip, kind: digital, points: [fault], priority: high, class: equipment}]`,
			over: []Override{{Rule: "tripp", Disabled: true}},
			want: `device P-1: alarms: no rule "tripp"; its rules are comm_loss, trip`},
		{name: "bad priority", rules: `rules: [{name: trip, kind: digital, points: [fault], priority: urgent, class: equipment}]`,
			want: `device P-1: alarm rule trip: priority "urgent" is not one of critical, high, medium, low`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := ParseRules("t", []byte(tc.rules))
			if err != nil {
				t.Fatal(err)
			}
			cfg := builtinConfig()
			cfg.Rules = map[string]*RuleSet{"pump": rs}
			cfg.Overrides = map[string][]Override{"P-1": tc.over}
			_, err = New(cfg, []*devices.Device{p1}, j, newClock().now)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v\n want %s", err, tc.want)
			}
		})
	}
}

func TestOverrideDisablesAndChangesRules(t *testing.T) {
	t.Parallel()
	cfg := builtinConfig()
	lim := 3.5
	cfg.Overrides = map[string][]Override{
		"P-1": {{Rule: "pump_trip", Disabled: true}, {Rule: "supply_pressure_low", Limit: &lim, Priority: PriorityHigh, OnDelay: new(time.Duration)}},
	}
	h := newHarness(t, cfg, estate(t)...)
	h.set("P-1", "fault", 1, "running", 1, "pressure", 3.0)
	if got := join(h.rec.take()); got != "raised P-1/supply_pressure_low !" {
		t.Fatalf("events %s", got)
	}
	if _, err := h.eng.Get("P-1/pump_trip"); !errors.Is(err, ErrUnknownAlarm) {
		t.Errorf("disabled rule still has an alarm: %v", err)
	}
	if a := h.alarm("P-1/supply_pressure_low"); a.Priority != PriorityHigh {
		t.Errorf("priority %s, want the override's high", a.Priority)
	}
}

func TestEnqueueFeedsRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, builtinConfig(), estate(t)...)
	h.eng.Enqueue(snapshot(h.dev("L1-1"), h.clk.now(), map[string]float64{"fault_code": 21}))
	h.eng.CloseInput()
	// Run drains its input once it is closed, so the entrapment is not lost.
	if err := h.eng.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := join(h.rec.take()); got != "raised L1-1/entrapment !" {
		t.Fatalf("events %s", got)
	}
	h.eng.Enqueue(snapshot(h.dev("L1-1"), h.clk.now(), nil))
	if h.eng.Dropped() != 1 {
		t.Fatalf("dropped %d snapshots after the input closed, want 1", h.eng.Dropped())
	}

	full := newHarness(t, builtinConfig(), estate(t)...)
	for i := 0; i < queueSize+5; i++ {
		full.eng.Enqueue(snapshot(full.dev("L1-1"), full.clk.now(), map[string]float64{"fault_code": float64(100 + i)}))
	}
	if full.eng.Dropped() != 5 {
		t.Fatalf("dropped %d snapshots, want 5 past a full queue", full.eng.Dropped())
	}
}

// TestEnqueuePassesOverUnchangedPolls: a poll whose points that rules read are as in the last
// one handed over is not queued (the timers run from Tick), whatever else changed; a change to
// one of them is, and so is the device going silent.
func TestEnqueuePassesOverUnchangedPolls(t *testing.T) {
	t.Parallel()
	h := newHarness(t, builtinConfig(), estate(t)...)
	lift := h.dev("L1-1")
	h.eng.Enqueue(snapshot(lift, h.clk.now(), map[string]float64{"floor": 3}))
	h.eng.Enqueue(snapshot(lift, h.clk.now(), map[string]float64{"floor": 3}))
	if n := len(h.eng.queue); n != 1 {
		t.Fatalf("%d snapshots queued, want 1: the second read the same", n)
	}
	h.eng.Enqueue(snapshot(lift, h.clk.now(), map[string]float64{"floor": 4}))
	if n := len(h.eng.queue); n != 1 {
		t.Fatalf("%d snapshots queued, want 1: no rule of a lift reads its floor", n)
	}
	h.eng.Enqueue(snapshot(lift, h.clk.now(), map[string]float64{"floor": 4, "fault_code": 7}))
	// The same values with an exception on some request: the rules see an invalid poll.
	exc := snapshot(lift, h.clk.now(), map[string]float64{"floor": 4, "fault_code": 7})
	exc.Err = errors.New("illegal data address")
	h.eng.Enqueue(exc)
	off := silent(lift, h.clk.now())
	h.eng.Enqueue(off)
	if n := len(h.eng.queue); n != 4 {
		t.Fatalf("%d snapshots queued, want 4: a new fault code, a poll with an exception and the device going silent are changes", n)
	}
	// An entrapment after an unchanged poll is evaluated at once.
	h.eng.Enqueue(snapshot(lift, h.clk.now(), map[string]float64{"floor": 4, "fault_code": 21}))
	h.eng.CloseInput()
	if err := h.eng.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := join(h.rec.take()); !strings.Contains(got, "raised L1-1/entrapment") {
		t.Fatalf("events %s, want the entrapment raised", got)
	}
}

func TestCollector(t *testing.T) {
	t.Parallel()
	h := newHarness(t, builtinConfig(), estate(t)...)
	h.set("L1-1", "fault_code", 21)
	h.set("P-1", "fault", 1)
	h.must(h.eng.Ack("P-1/pump_trip", "wang", ""))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(h.eng.Collector())
	want := `
# HELP facilityd_alarms_unacknowledged Alarms waiting for an acknowledgement (UNACK or RTNUN), by priority.
# TYPE facilityd_alarms_unacknowledged gauge
facilityd_alarms_unacknowledged{priority="critical"} 1
facilityd_alarms_unacknowledged{priority="high"} 0
facilityd_alarms_unacknowledged{priority="low"} 0
facilityd_alarms_unacknowledged{priority="medium"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "facilityd_alarms_unacknowledged"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(gaugeOf(t, reg, "facilityd_alarms_active", `priority="high"`, `state="ACKED"`)); n != 1 {
		t.Errorf("active high ACKED %v", n)
	}
}

// gaugeOf finds one sample of a gathered metric by label fragments.
func gaugeOf(t *testing.T, reg *prometheus.Registry, name string, labels ...string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			var got []string
			for _, lp := range m.GetLabel() {
				got = append(got, lp.GetName()+`="`+lp.GetValue()+`"`)
			}
			for _, l := range labels {
				if !strings.Contains(strings.Join(got, ","), l) {
					continue next
				}
			}
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
			g.Set(m.GetGauge().GetValue())
			return g
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return nil
}

// An alarm that has never been active says what it watches without an empty value: "pit level
// high", not "pit level high ( m)".
func TestMessageWithoutValue(t *testing.T) {
	t.Parallel()
	p := device(t, "P-2", "pump", "B1", nil)
	h := newHarness(t, builtinConfig(), p)
	for _, a := range h.eng.List(Filter{All: true}) {
		if strings.Contains(a.Message, "()") || strings.Contains(a.Message, "( ") || strings.Contains(a.Message, "{") {
			t.Errorf("%s: message %q shows an empty value", a.ID, a.Message)
		}
		if a.Rule == "pit_level_high" && !strings.HasSuffix(a.Message, ": pit level high") {
			t.Errorf("pit_level_high message %q", a.Message)
		}
	}
}
