package daemon_test

import (
	"slices"
	"testing"
	"time"

	mb "github.com/goburrow/modbus"

	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/devices/commands"
)

// TestNightLightingSwitchOnEndToEnd: with patrol.lighting.switch_on, the night check switches
// LP-1's circuits 3 and 4, left off by hand, back on through the command path (journalled by
// system, read back from the panel); circuit 3 lights, circuit 4's tripped breaker keeps it
// dark, so only circuit 4 is on the patrol's checklist.
func TestNightLightingSwitchOnEndToEnd(t *testing.T) {
	cfg, estate := modbusEstate(t, nil)
	withPatrol(t, cfg)
	cfg.Patrol.Timezone = "Local" // the simulators' schedules run in local time
	cfg.Patrol.Lighting.SwitchOn = true
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	// The panel as the night round finds it: its schedule lights it now, circuits 3 and 4
	// switched off by hand, circuit 4's breaker tripped.
	h := mb.NewTCPClientHandler(estate.Addr("LP-1"))
	h.SlaveId, h.Timeout = 1, 2*time.Second
	if err := h.Connect(); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	c := mb.NewClient(h)
	now := time.Now()
	minute := now.Hour()*60 + now.Minute()
	on, off := (minute+24*60-60)%(24*60), (minute+60)%(24*60)
	if _, err := c.WriteMultipleRegisters(0, 2, []byte{byte(on >> 8), byte(on), byte(off >> 8), byte(off)}); err != nil {
		t.Fatalf("schedule LP-1 %d-%d: %v", on, off, err)
	}
	for _, coil := range []uint16{2, 3} {
		if _, err := c.WriteSingleCoil(coil, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := estate.Inject("LP-1", "circuit_trip", map[string]string{"circuit": "4"}); err != nil {
		t.Fatal(err)
	}

	d := startDaemon(t, cfg)
	var cl struct{ Checklists []patrol.Checklist }
	waitFor(t, "tonight's checklist", 20*time.Second, func() bool {
		get(t, d.API+"/api/v1/patrol/checklist", &cl)
		return len(cl.Checklists) > 0
	})
	var journal struct{ Commands []commands.Record }
	get(t, d.API+"/api/v1/commands?device=LP-1", &journal)
	results := map[string]commands.Result{}
	for _, r := range journal.Commands {
		if r.By != patrol.SwitchBy || r.New != true || r.Reason == "" {
			t.Errorf("journalled %+v, want a switch-on by %s with its reason", r, patrol.SwitchBy)
		}
		results[r.Point] = r.Result
	}
	want := map[string]commands.Result{"circuit_03_command": commands.ResultConfirmed, "circuit_04_command": commands.ResultConfirmed}
	if len(results) != len(want) || results["circuit_03_command"] != want["circuit_03_command"] || results["circuit_04_command"] != want["circuit_04_command"] {
		t.Errorf("LP-1's journal: %v, want circuits 3 and 4 switched on, confirmed", results)
	}
	if v := pointValue(t, d.API, "LP-1", "circuit_03_on"); v != true {
		t.Errorf("circuit 3 after the switch-on: on = %v, want lit", v)
	}
	var items []string
	for _, c := range cl.Checklists {
		for _, it := range c.Items {
			if it.Device == "LP-1" {
				items = append(items, it.ID+" "+it.Fault)
			}
		}
	}
	if !slices.Equal(items, []string{"LP-1:04 off"}) {
		t.Errorf("LP-1 on the checklist: %v, want only circuit 4 (tripped), off", items)
	}

}
