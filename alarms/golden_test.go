package alarms

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestScriptedNight plays a night at the demo estate (times are UTC, the site's zone) and
// compares the journal with testdata/night.golden: every transition, who, why and whether
// people were told.
func TestScriptedNight(t *testing.T) {
	t.Parallel()
	cfg := builtinConfig()
	cfg.Realarm = 20 * time.Minute
	devs := estate(t)
	devs = append(devs, device(t, "L1-2", "elevator", "B1", map[string]string{"location": "B1 lobby, car 2"}))
	h := newHarness(t, cfg, devs...)
	at := func(hhmm string) {
		d, err := time.Parse("15:04:05", hhmm)
		if err != nil {
			t.Fatal(err)
		}
		h.clk.set(time.Duration(d.Hour())*time.Hour + time.Duration(d.Minute())*time.Minute + time.Duration(d.Second())*time.Second)
		h.eng.Tick()
	}
	must := h.must
	at("16:00:00")
	h.set("P-2", "role", 1, "running", 0, "pit_level", 0.4)
	h.set("P-1", "role", 0, "running", 1, "pressure", 4.0)
	h.set("LP-1", "circuit_04_lamp_fail", 1) // by day: suppressed by design
	at("17:30:00")                           // dusk: the failed lamp is announced
	at("17:35:00")
	must(h.eng.Ack("LP-1/lamp_failure/04", "Zhao Lei", "on tonight's lighting round"))
	at("18:10:00")
	h.set("LP-1", "circuit_11_lamp_fail", 1)
	at("19:00:00")
	must(h.eng.Ack("LP-1/lamp_failure/11", "Zhao Lei", "circuit 11 added to the list"))
	at("19:02:00")
	h.set("P-1", "pressure", 2.1)
	at("19:02:10")
	h.set("P-1", "pressure", 2.0) // on-delay of 10 s passed
	at("19:04:00")
	h.set("P-1", "pressure", 2.6) // inside the deadband: still low
	at("19:05:00")
	h.set("P-1", "pressure", 3.9)
	at("19:05:05")
	h.set("P-1", "pressure", 4.0) // off-delay of 5 s passed
	at("19:10:00")
	must(h.eng.Ack("P-1/supply_pressure_low", "Li Wei", "town main dip, recovered"))
	at("21:15:00")
	h.set("L1-1", "fault_code", 21, "alarm_button", 1)
	at("21:16:00")
	must(h.eng.Ack("L1-1/entrapment", "Chen Hao", "on my way, intercom answered"))
	if err := h.eng.Shelve("L1-1/entrapment", "Chen Hao", "noisy", time.Hour, false); err == nil {
		t.Fatal("entrapment shelved")
	}
	at("21:31:00")
	h.set("L1-1", "fault_code", 0, "alarm_button", 0, "in_door_zone", 1)
	at("22:00:00")
	h.set("FP-1", "zone_06", 2)
	at("22:01:00")
	must(h.eng.Shelve("FP-1/fire_zone_fault/06", "Zhang Min", "detector head removed for cleaning", time.Hour, false))
	at("22:20:00")
	h.set("P-2", "pit_high", 1, "fault", 1, "dry_run", 1)
	at("22:40:00") // re-alarm: still unacknowledged
	at("22:45:00")
	must(h.eng.Ack("P-2/pit_high_high", "Li Wei", "portable pump on the way"))
	must(h.eng.SetOutOfService("P-2", true, "WO-2026-0117", "repair in progress"))
	at("23:01:00") // the shelf expires; the zone is still in fault
	at("23:05:00")
	must(h.eng.Ack("FP-1/fire_zone_fault/06", "Zhang Min", "cleaning takes longer"))
	must(h.eng.Shelve("FP-1/fire_zone_fault/06", "Zhang Min", "until the head is back", 0, true))
	at("23:30:00")
	h.set("FP-1", "zone_06", 0) // one-shot shelf ends
	at("23:40:00")
	h.eng.Observe(silent(h.dev("L1-2"), h.clk.now()))
	at("23:50:00")
	h.set("L1-2", "in_door_zone", 1)
	at("00:00:00")
	h.clk.advance(24 * time.Hour)
	h.set("FP-1", "zone_09", 1)
	h.clk.advance(10 * time.Second)
	h.set("FP-1", "zone_09", 0)
	h.clk.advance(10 * time.Second)
	h.set("FP-1", "zone_09", 1)
	h.clk.advance(10 * time.Second)
	h.set("FP-1", "zone_09", 0)
	h.clk.advance(10 * time.Second)
	h.set("FP-1", "zone_09", 1) // chattering
	h.clk.advance(time.Minute)
	must(h.eng.Ack("FP-1/fire_zone_alarm/09", "Zhang Min", "detector 9-4 faulty, fire watch posted"))
	h.clk.advance(time.Hour)
	h.set("P-2", "pit_high", 0, "fault", 0, "dry_run", 0, "running", 1)
	must(h.eng.SetOutOfService("P-2", false, "WO-2026-0117", "repair resolved"))
	h.clk.advance(time.Minute)
	must(h.eng.Ack("P-2/pump_trip", "Li Wei", "reset after repair"))

	evs, err := h.j.Since(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range evs {
		n := " "
		if e.Notify {
			n = "!"
		}
		fmt.Fprintf(&b, "%3d %s %s %-15s %-32s %-5s by %-13q %s", e.Seq, e.At.UTC().Format("15:04:05"), n, e.Type, e.Alarm.ID, e.Alarm.State, e.By, e.Reason)
		if e.Type == EventRaised || e.Type == EventFlood {
			fmt.Fprintf(&b, " | %s", e.Alarm.Message)
		}
		b.WriteString("\n")
	}
	golden := filepath.Join("testdata", "night.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./alarms -run TestScriptedNight -update)", err)
	}
	if b.String() != string(want) {
		t.Errorf("journal differs from %s (go test ./alarms -run TestScriptedNight -update to accept):\n%s", golden, b.String())
	}
	if len(evs) < 36 {
		t.Errorf("only %d events: the night is too quiet to test much", len(evs))
	}
}
