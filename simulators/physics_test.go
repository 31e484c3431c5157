package simulators

import (
	"math"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testutil"
)

func TestSupplyPumpHoldsPressureAllDay(t *testing.T) {
	t.Parallel()
	midnight := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	clock := testutil.NewClock(midnight)
	e := newTestEstate(t, clock, DeviceSpec{ID: "booster", Kind: devices.KindPump})
	flowAt := map[int]float64{}
	for m := 0; m < 24*60; m += 10 {
		clock.Step(10 * time.Minute)
		expect(t, e, "booster", clock.Now().Format("15:04"), map[string]check{
			"pressure":  near(supplySetpoint, 0.12),
			"running":   isTrue(),
			"frequency": check{"45-50.5 Hz", func(v devices.Value) bool { return v.Number >= 45 && v.Number <= 50.5 }},
			"fault":     isFalse(),
			"pit_level": is(0),
			"role":      is(0),
		})
		h := clock.Now().Hour()
		flowAt[h] = math.Max(flowAt[h], value(t, e, "booster", "flow").Number)
	}
	if flowAt[3] >= flowAt[19]/3 {
		t.Errorf("flow at 03:00 %.1f m³/h is not well below the evening peak %.1f m³/h", flowAt[3], flowAt[19])
	}
	// Motor current follows load.
	clock.Step(time.Duration(20-clock.Now().Hour()) * time.Hour) // to the evening peak
	peak := value(t, e, "booster", "motor_current").Number
	clock.Step(7 * time.Hour) // 03:00
	night := value(t, e, "booster", "motor_current").Number
	if night >= peak {
		t.Errorf("motor current at night %.1f A is not below the evening's %.1f A", night, peak)
	}
}

func TestRunningHoursCountRunningTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		scale   float64
		elapsed time.Duration
		want    float64 // hours added
	}{
		{"real time", 1, 3 * time.Hour, 3},
		{"sixty times faster", 60, time.Minute, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := testutil.NewClock(evening)
			e, err := New([]DeviceSpec{{ID: "p", Kind: devices.KindPump}}, Options{Now: clock.Now, TimeScale: tt.scale, Location: time.UTC})
			if err != nil {
				t.Fatal(err)
			}
			before := value(t, e, "p", "running_hours").Number
			starts := value(t, e, "p", "starts").Number
			clock.Step(tt.elapsed)
			got := value(t, e, "p", "running_hours").Number - before
			if math.Abs(got-tt.want) > 0.011 {
				t.Errorf("running_hours rose by %.2f h, want %.2f h", got, tt.want)
			}
			if s := value(t, e, "p", "starts").Number; s != starts {
				t.Errorf("starts went from %v to %v while the pump ran on", starts, s)
			}
		})
	}
}

func TestDrainagePumpCycles(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(evening)
	e := newTestEstate(t, clock, DeviceSpec{ID: "sump", Kind: devices.KindPump, Role: RoleDrainage})
	startsBefore := value(t, e, "sump", "starts").Number
	hoursBefore := value(t, e, "sump", "running_hours").Number
	lo, hi := math.Inf(1), math.Inf(-1)
	var runSeconds float64
	var history []bool
	for s := 0; s < 30*60; s += 5 {
		clock.Step(5 * time.Second)
		level := value(t, e, "sump", "pit_level").Number
		lo, hi = math.Min(lo, level), math.Max(hi, level)
		running := value(t, e, "sump", "running").Number == 1
		if running {
			runSeconds += 5
		}
		history = append(history, running)
		// The drive ramps: judge the analogue values once the state has held for 10 s.
		if n := len(history); n < 3 || history[n-3] != running || history[n-2] != running {
			continue
		}
		if running {
			expect(t, e, "sump", "running", map[string]check{"flow": above(30), "motor_current": above(10), "frequency": above(45), "pressure": above(1)})
		} else {
			expect(t, e, "sump", "stopped", map[string]check{"flow": below(0.5), "frequency": below(1), "pit_high": isFalse()})
		}
	}
	starts := value(t, e, "sump", "starts").Number - startsBefore
	if starts < 4 || starts > 8 {
		t.Errorf("%v starts in 30 minutes, want a cycle every few minutes (4-8)", starts)
	}
	if lo < pitStop-0.05 || hi > pitStart+0.05 || hi-lo < 0.6 {
		t.Errorf("pit level between %.2f and %.2f m, want it to swing between the switches at %.2f and %.2f m", lo, hi, pitStop, pitStart)
	}
	hours := value(t, e, "sump", "running_hours").Number - hoursBefore
	if math.Abs(hours*3600-runSeconds) > 60 {
		t.Errorf("running_hours rose by %.0f s while the pump was seen running %.0f s", hours*3600, runSeconds)
	}
}

func TestElevatorServesFloors(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(evening)
	e := newTestEstate(t, clock, DeviceSpec{ID: "lift", Kind: devices.KindElevator})
	tripsBefore := value(t, e, "lift", "trips").Number
	floors := map[float64]bool{}
	doors := map[float64]bool{}
	directions := map[float64]bool{}
	for s := 0; s < 20*60; s++ {
		clock.Step(time.Second)
		floor := value(t, e, "lift", "floor").Number
		door := value(t, e, "lift", "door_state").Number
		running := value(t, e, "lift", "running").Number == 1
		floors[floor], doors[door] = true, true
		directions[value(t, e, "lift", "direction").Number] = true
		if floor < DefaultLowestFloor || floor > DefaultHighestFloor {
			t.Fatalf("floor %v outside %d..%d", floor, DefaultLowestFloor, DefaultHighestFloor)
		}
		if running && door != doorClosed {
			t.Fatalf("at %s the car runs with door_state %v", clock.Now().Format(time.TimeOnly), door)
		}
		if door != doorClosed && value(t, e, "lift", "in_door_zone").Number != 1 {
			t.Fatalf("at %s door_state %v outside the door zone", clock.Now().Format(time.TimeOnly), door)
		}
		expect(t, e, "lift", "in service", map[string]check{"fault_code": is(0), "alarm_button": isFalse(), "in_service": isTrue()})
	}
	trips := value(t, e, "lift", "trips").Number - tripsBefore
	if trips < 10 {
		t.Errorf("%v trips in 20 minutes, want a busy lift", trips)
	}
	if len(floors) < 5 || len(doors) != 4 || len(directions) != 3 {
		t.Errorf("saw floors %v, door states %v, directions %v; want many floors, all four door states, all three directions", floors, doors, directions)
	}
}

func TestFirePanelAtRest(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(evening)
	e := newTestEstate(t, clock, DeviceSpec{ID: "fp", Kind: devices.KindFirePanel})
	clock.Step(time.Hour)
	want := map[string]check{
		"model": text("FP-16 SIM"), "battery_voltage": near(batteryFloat, 0.06),
		"general_alarm": isFalse(), "general_supervisory": isFalse(), "general_trouble": isFalse(),
		"zones_in_alarm": is(0), "ac_loss": isFalse(), "battery_fault": isFalse(), "earth_fault": isFalse(),
	}
	for _, z := range []string{"zone_01", "zone_08", "zone_16"} {
		want[z] = is(zoneNormal)
	}
	expect(t, e, "fp", "at rest", want)
}

func TestLightingFollowsSchedule(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(time.Date(2025, 3, 14, 17, 59, 0, 0, time.UTC))
	e := newTestEstate(t, clock, DeviceSpec{ID: "lp", Kind: devices.KindLighting})
	expect(t, e, "lp", "17:59", map[string]check{"dark": isFalse(), "circuit_01_command": isFalse(), "circuit_01_on": isFalse(), "power": is(0)})

	clock.Step(2 * time.Minute)
	expect(t, e, "lp", "18:01", map[string]check{
		"dark": isTrue(), "circuit_01_command": isTrue(), "circuit_24_on": isTrue(), "power": near(24*circuitKW, 0.1),
		"on_time": is(DefaultLightsOn), "off_time": is(DefaultLightsOff),
	})

	// A client switches one circuit off: the override holds until the next schedule edge.
	if err := writeCoil(e, "lp", "circuit_07_command", false); err != 0 {
		t.Fatalf("write circuit_07_command: exception %d", err)
	}
	clock.Step(time.Hour)
	expect(t, e, "lp", "19:01", map[string]check{"circuit_07_on": isFalse(), "circuit_08_on": isTrue()})

	energy := value(t, e, "lp", "energy").Number
	clock.Step(2 * time.Hour)
	if got, want := value(t, e, "lp", "energy").Number-energy, 2*23*circuitKW; math.Abs(got-want) > 0.15 {
		t.Errorf("energy rose by %.1f kWh in two hours, want about %.1f (23 circuits of %.2f kW)", got, want, circuitKW)
	}

	clock.Step(11 * time.Hour) // 08:01 next morning
	expect(t, e, "lp", "08:01", map[string]check{"dark": isFalse(), "circuit_01_on": isFalse(), "circuit_07_on": isFalse(), "power": is(0)})
	clock.Step(10 * time.Hour) // 18:01: the schedule switches every circuit on, the override included
	expect(t, e, "lp", "18:01 next day", map[string]check{"circuit_07_on": isTrue(), "dark": isTrue()})
}

// writeCoil writes one coil the way a client's write single coil does.
func writeCoil(e *Estate, id, point string, on bool) byte {
	d := e.byID[id]
	p, _, _ := d.spec.Profile.Point(point)
	b := byte(0)
	if on {
		b = 1
	}
	return d.writeCoils(p.Address, 1, []byte{b})
}

func TestNoiseIsReproducible(t *testing.T) {
	t.Parallel()
	run := func() []float64 {
		clock := testutil.NewClock(evening)
		e := newTestEstate(t, clock, DeviceSpec{ID: "p", Kind: devices.KindPump})
		var out []float64
		for i := 0; i < 5; i++ {
			clock.Step(time.Second)
			out = append(out, value(t, e, "p", "pressure").Number, value(t, e, "p", "pressure").Number)
		}
		return out
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("reading %d: %v then %v with the same seed", i, a[i], b[i])
		}
	}
	if a[0] != a[1] {
		t.Errorf("two reads at the same instant differ: %v, %v", a[0], a[1])
	}
	if a[0] == a[2] {
		t.Errorf("pressure %v did not move in a second; want noise", a[0])
	}
}

func TestGenericServesPredictableValues(t *testing.T) {
	t.Parallel()
	p, err := devices.ParseProfile("meter.yaml", []byte(`name: meter
points:
  - {name: a, table: input, address: 0, type: uint16}
  - {name: b, table: input, address: 1, type: float32}
  - {name: on, table: discrete, address: 0, type: bool}
`))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1_000_000_123, 0)
	e, err := New([]DeviceSpec{{ID: "M", Kind: devices.KindGeneric, Profile: p}}, Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"a", "b"} {
		v, _ := e.Value("M", name)
		if want := GenericValue(i, at); v.Number != want {
			t.Errorf("%s = %v, want %v", name, v.Number, want)
		}
	}
	// The bool is point 2: second 1_000_000_123 + 2 is odd, so it reads true.
	if v, _ := e.Value("M", "on"); v.Number != 1 {
		t.Errorf("bool at an odd second + index = %v, want true", v.Number)
	}

	// With the last two points steady, a moves and b and on hold their values at time zero.
	steady, err := New([]DeviceSpec{{ID: "S", Kind: devices.KindGeneric, Profile: p, Steady: 2}}, Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want float64
	}{{"a", GenericValue(0, at)}, {"b", GenericValue(1, time.Unix(0, 0))}, {"on", 0}} {
		if v, _ := steady.Value("S", tc.name); v.Number != tc.want {
			t.Errorf("with two steady points, %s = %v, want %v", tc.name, v.Number, tc.want)
		}
	}
	at = at.Add(time.Second)
	if v, _ := steady.Value("S", "b"); v.Number != GenericValue(1, time.Unix(0, 0)) {
		t.Errorf("a steady point moved to %v a second later", v.Number)
	}
}
