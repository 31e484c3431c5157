package alarms

import (
	"errors"
	"testing"
	"time"
)

// testRules are small rules over the pump profile, one per lifecycle feature.
const testRules = `
rules:
  - {name: trip, kind: digital, points: [fault], priority: high, class: equipment, message: tripped}
  - {name: delayed, kind: digital, points: [overload], on_delay: 10s, off_delay: 5s, priority: high, class: equipment, message: overload}
  - {name: level, kind: analog, point: pit_level, above: 1.0, deadband: 0.2, priority: medium, class: equipment, message: "level {value}"}
  - {name: life, kind: digital, points: [dry_run], priority: critical, class: life_safety, message: life}
  - {name: gated, kind: analog, point: pressure, below: 2, condition: running, priority: medium, class: equipment, message: low}
  - {name: night, kind: digital, points: [pit_high], suppress: [{from: "06:00", to: "18:00"}], priority: low, class: equipment, message: night}
`

func testConfig(t testing.TB) Config {
	rs, err := ParseRules("test", []byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Location = time.UTC
	cfg.Realarm = 0
	cfg.Rules = map[string]*RuleSet{"pump": rs}
	return cfg
}

// op is one step of a lifecycle script: at a clock offset, change points or act, then expect
// the events emitted and the alarm's state.
type op struct {
	at    time.Duration
	set   []any  // point, value pairs for P-1
	do    string // ack, shelve, oneshot, unshelve, oos, ios, tick
	d     time.Duration
	want  []string
	state State
	err   error
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	const id = "P-1/trip"
	cases := []struct {
		name    string
		alarm   string
		realarm time.Duration
		ops     []op
	}{
		{name: "NORM to UNACK to ACKED to NORM", alarm: id, ops: []op{
			{set: []any{"fault", 1}, want: []string{"raised P-1/trip !"}, state: StateUnacknowledged},
			{at: time.Second, do: "ack", want: []string{"acked P-1/trip"}, state: StateAcknowledged},
			{at: 2 * time.Second, set: []any{"fault", 0}, want: []string{"cleared P-1/trip !"}, state: StateNormal},
			{at: 3 * time.Second, do: "ack", err: ErrNotAllowed, state: StateNormal},
		}},
		{name: "UNACK to RTNUN to NORM by ack", alarm: id, ops: []op{
			{set: []any{"fault", 1}, want: []string{"raised P-1/trip !"}, state: StateUnacknowledged},
			{at: time.Second, set: []any{"fault", 0}, want: []string{"cleared P-1/trip !"}, state: StateReturnedUnack},
			{at: 2 * time.Second, do: "ack", want: []string{"acked P-1/trip"}, state: StateNormal},
		}},
		{name: "re-raise from RTNUN", alarm: id, ops: []op{
			{set: []any{"fault", 1}, want: []string{"raised P-1/trip !"}, state: StateUnacknowledged},
			{at: time.Minute, set: []any{"fault", 0}, want: []string{"cleared P-1/trip !"}, state: StateReturnedUnack},
			{at: 2 * time.Minute, set: []any{"fault", 1}, want: []string{"raised P-1/trip !"}, state: StateUnacknowledged},
		}},
		{name: "on-delay and off-delay", alarm: "P-1/delayed", ops: []op{
			{set: []any{"overload", 1}, state: StateNormal},
			{at: 9 * time.Second, do: "tick", state: StateNormal},
			{at: 10 * time.Second, do: "tick", want: []string{"raised P-1/delayed !"}, state: StateUnacknowledged},
			{at: 11 * time.Second, set: []any{"overload", 0}, state: StateUnacknowledged},
			{at: 15 * time.Second, do: "tick", state: StateUnacknowledged},
			{at: 16 * time.Second, do: "tick", want: []string{"cleared P-1/delayed !"}, state: StateReturnedUnack},
		}},
		{name: "on-delay restarts when the condition drops", alarm: "P-1/delayed", ops: []op{
			{set: []any{"overload", 1}, state: StateNormal},
			{at: 5 * time.Second, set: []any{"overload", 0}, state: StateNormal},
			{at: 6 * time.Second, set: []any{"overload", 1}, state: StateNormal},
			{at: 15 * time.Second, do: "tick", state: StateNormal},
			{at: 16 * time.Second, do: "tick", want: []string{"raised P-1/delayed !"}, state: StateUnacknowledged},
		}},
		{name: "deadband", alarm: "P-1/level", ops: []op{
			{set: []any{"pit_level", 1.0}, state: StateNormal},
			{at: time.Second, set: []any{"pit_level", 1.05}, want: []string{"raised P-1/level !"}, state: StateUnacknowledged},
			{at: 2 * time.Second, set: []any{"pit_level", 0.9}, state: StateUnacknowledged},
			{at: 3 * time.Second, set: []any{"pit_level", 0.8}, want: []string{"cleared P-1/level !"}, state: StateReturnedUnack},
		}},
		{name: "gating condition", alarm: "P-1/gated", ops: []op{
			{set: []any{"pressure", 0.5, "running", 0}, state: StateNormal},
			{at: time.Second, set: []any{"running", 1}, want: []string{"raised P-1/gated !"}, state: StateUnacknowledged},
			{at: 2 * time.Second, set: []any{"running", 0}, want: []string{"cleared P-1/gated !"}, state: StateReturnedUnack},
		}},
		{name: "timed shelf expires and announces the still-active alarm", alarm: id, ops: []op{
			{set: []any{"fault", 1}, want: []string{"raised P-1/trip !"}, state: StateUnacknowledged},
			{at: time.Second, do: "shelve", d: time.Hour, want: []string{"shelved P-1/trip"}, state: StateUnacknowledged},
			{at: 2 * time.Second, set: []any{"fault", 0}, want: []string{"cleared P-1/trip"}, state: StateReturnedUnack},
			{at: 3 * time.Second, set: []any{"fault", 1}, want: []string{"raised P-1/trip"}, state: StateUnacknowledged},
			{at: time.Hour + time.Second, do: "tick", want: []string{"unshelved P-1/trip !"}, state: StateUnacknowledged},
		}},
		{name: "one-shot shelf ends when the alarm clears", alarm: id, ops: []op{
			{set: []any{"fault", 1}, want: []string{"raised P-1/trip !"}, state: StateUnacknowledged},
			{at: time.Second, do: "oneshot", want: []string{"shelved P-1/trip"}, state: StateUnacknowledged},
			{at: 2 * time.Second, set: []any{"fault", 0}, want: []string{"cleared P-1/trip", "unshelved P-1/trip"}, state: StateReturnedUnack},
			{at: 3 * time.Second, set: []any{"fault", 1}, want: []string{"raised P-1/trip !"}, state: StateUnacknowledged},
		}},
		{name: "one-shot shelf still has the maximum", alarm: id, ops: []op{
			{set: []any{"fault", 1}, want: []string{"raised P-1/trip !"}, state: StateUnacknowledged},
			{do: "oneshot", want: []string{"shelved P-1/trip"}, state: StateUnacknowledged},
			{at: 8 * time.Hour, do: "tick", want: []string{"unshelved P-1/trip !"}, state: StateUnacknowledged},
		}},
		{name: "shelf longer than the maximum is refused", alarm: id, ops: []op{
			{set: []any{"fault", 1}, want: []string{"raised P-1/trip !"}, state: StateUnacknowledged},
			{do: "shelve", d: 9 * time.Hour, err: ErrInvalid, state: StateUnacknowledged},
		}},
		{name: "life safety cannot be shelved", alarm: "P-1/life", ops: []op{
			{set: []any{"dry_run", 1}, want: []string{"raised P-1/life !"}, state: StateUnacknowledged},
			{do: "shelve", d: time.Hour, err: ErrNotAllowed, state: StateUnacknowledged},
		}},
		{name: "unshelve by hand", alarm: id, ops: []op{
			{do: "unshelve", err: ErrNotAllowed, state: StateNormal},
			{set: []any{"fault", 1}, do: "shelve", d: time.Hour, want: []string{"raised P-1/trip !", "shelved P-1/trip"}, state: StateUnacknowledged},
			{at: time.Minute, do: "unshelve", want: []string{"unshelved P-1/trip !"}, state: StateUnacknowledged},
		}},
		{name: "out of service silences equipment but not life safety", alarm: "P-1/life", ops: []op{
			{do: "oos", want: []string{"out_of_service P-1/comm_loss", "out_of_service P-1/trip", "out_of_service P-1/delayed", "out_of_service P-1/level", "out_of_service P-1/gated", "out_of_service P-1/night"}, state: StateNormal},
			{at: time.Second, set: []any{"fault", 1, "dry_run", 1}, want: []string{"raised P-1/trip", "raised P-1/life !"}, state: StateUnacknowledged},
			{at: 2 * time.Second, do: "ios", want: []string{"in_service P-1/comm_loss", "in_service P-1/trip !", "in_service P-1/delayed", "in_service P-1/level", "in_service P-1/gated", "in_service P-1/night"}, state: StateUnacknowledged},
		}},
		{name: "suppressed by design by day, announced at dusk", alarm: "P-1/night", ops: []op{
			{at: 12 * time.Hour, set: []any{"pit_high", 1}, want: []string{"raised P-1/night"}, state: StateUnacknowledged},
			{at: 18 * time.Hour, do: "tick", want: []string{"unsuppressed P-1/night !"}, state: StateUnacknowledged},
			{at: 19 * time.Hour, set: []any{"pit_high", 0}, want: []string{"cleared P-1/night !"}, state: StateReturnedUnack},
			{at: 20 * time.Hour, set: []any{"pit_high", 1}, want: []string{"raised P-1/night !"}, state: StateUnacknowledged},
		}},
		{name: "re-alarm while active and unacknowledged", alarm: id, realarm: 30 * time.Minute, ops: []op{
			{set: []any{"fault", 1}, want: []string{"raised P-1/trip !"}, state: StateUnacknowledged},
			{at: 29 * time.Minute, do: "tick", state: StateUnacknowledged},
			{at: 30 * time.Minute, do: "tick", want: []string{"realarm P-1/trip !"}, state: StateUnacknowledged},
			{at: 31 * time.Minute, do: "ack", want: []string{"acked P-1/trip"}, state: StateAcknowledged},
			{at: 2 * time.Hour, do: "tick", state: StateAcknowledged},
		}},
		{name: "chattering", alarm: id, ops: []op{
			{set: []any{"fault", 1}, want: []string{"raised P-1/trip !"}},
			{at: 10 * time.Second, set: []any{"fault", 0}, want: []string{"cleared P-1/trip !"}},
			{at: 20 * time.Second, set: []any{"fault", 1}, want: []string{"raised P-1/trip !"}},
			{at: 30 * time.Second, set: []any{"fault", 0}, want: []string{"cleared P-1/trip !"}},
			{at: 40 * time.Second, set: []any{"fault", 1}, want: []string{"raised P-1/trip", "chattering P-1/trip"}, state: StateUnacknowledged},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.Realarm = tc.realarm
			h := newHarness(t, cfg, device(t, "P-1", "pump", "B1", nil))
			for i, o := range tc.ops {
				h.clk.set(o.at)
				if o.set != nil {
					h.set("P-1", o.set...)
				}
				var err error
				switch o.do {
				case "ack":
					err = h.eng.Ack(tc.alarm, "wang", "seen")
				case "shelve":
					err = h.eng.Shelve(tc.alarm, "wang", "maintenance", o.d, false)
				case "oneshot":
					err = h.eng.Shelve(tc.alarm, "wang", "nuisance", 0, true)
				case "unshelve":
					err = h.eng.Unshelve(tc.alarm, "wang", "done")
				case "oos":
					err = h.eng.SetOutOfService("P-1", true, "wo-7", "work order in progress")
				case "ios":
					err = h.eng.SetOutOfService("P-1", false, "wo-7", "work order resolved")
				case "tick":
					h.eng.Tick()
				}
				if !errors.Is(err, o.err) {
					t.Fatalf("op %d (%s): error %v, want %v", i, o.do, err, o.err)
				}
				if got := h.rec.take(); join(got) != join(o.want) {
					t.Errorf("op %d: events\n got  %s\n want %s", i, join(got), join(o.want))
				}
				if o.state != "" {
					if got := h.alarm(tc.alarm).State; got != o.state {
						t.Errorf("op %d: state %s, want %s", i, got, o.state)
					}
				}
			}
		})
	}
}

func TestChatteringFlag(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig(t), device(t, "P-1", "pump", "B1", nil))
	for i := 0; i < 3; i++ {
		h.clk.set(time.Duration(i) * 20 * time.Second)
		h.set("P-1", "fault", 1)
		h.clk.advance(time.Second)
		h.set("P-1", "fault", 0)
	}
	if !h.alarm("P-1/trip").Chattering {
		t.Fatal("3 activations within a minute: not flagged chattering")
	}
	h.clk.advance(2 * time.Minute)
	h.eng.Tick()
	if h.alarm("P-1/trip").Chattering {
		t.Fatal("still chattering after a quiet window")
	}
}
