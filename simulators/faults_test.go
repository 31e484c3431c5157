package simulators

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testutil"
)

// TestDeviceFaults injects each device fault of each kind, steps the clock, checks the points
// an operator would look at, then clears it and checks the device is back to normal.
func TestDeviceFaults(t *testing.T) {
	t.Parallel()
	supply := DeviceSpec{ID: "booster", Kind: devices.KindPump}
	drain := DeviceSpec{ID: "sump", Kind: devices.KindPump, Role: RoleDrainage}
	lift := DeviceSpec{ID: "lift", Kind: devices.KindElevator}
	panel := DeviceSpec{ID: "fp", Kind: devices.KindFirePanel}
	lights := DeviceSpec{ID: "lp", Kind: devices.KindLighting}

	pumpNormal := map[string]check{
		"running": isTrue(), "fault": isFalse(), "overload": isFalse(), "dry_run": isFalse(),
		"vfd_fault_code": is(0), "pressure": near(supplySetpoint, 0.15), "motor_current": above(5),
	}
	liftNormal := map[string]check{"fault_code": is(0), "alarm_button": isFalse(), "in_service": isTrue()}
	panelNormal := map[string]check{
		"general_alarm": isFalse(), "general_supervisory": isFalse(), "general_trouble": isFalse(),
		"zones_in_alarm": is(0), "ac_loss": isFalse(), "battery_fault": isFalse(), "earth_fault": isFalse(),
		"battery_voltage": near(batteryFloat, 0.1), "zone_03": is(zoneNormal), "zone_05": is(zoneNormal), "zone_07": is(zoneNormal),
	}
	lightsNormal := map[string]check{"power": near(24*circuitKW, 0.1), "circuit_05_lamp_fail": isFalse(), "circuit_02_on": isTrue()}

	tests := []struct {
		name   string
		spec   DeviceSpec
		fault  string
		params map[string]string
		// during is checked shortly after injection (after 2 s), before protection acts.
		during   map[string]check
		settle   time.Duration // then the clock runs this long
		injected map[string]check
		recover  time.Duration // after clearing, the clock runs this long
		cleared  map[string]check
	}{
		{
			name: "pump overload: current climbs, then the relay trips", spec: supply, fault: "overload",
			during: map[string]check{"running": isTrue(), "motor_current": above(ratedCurrent * 1.3), "overload": isFalse()},
			settle: 30 * time.Second,
			injected: map[string]check{
				"overload": isTrue(), "fault": isTrue(), "running": isFalse(), "motor_current": below(0.5), "frequency": below(1), "flow": below(0.5),
			},
			recover: 30 * time.Second, cleared: pumpNormal,
		},
		{
			name: "pump dry run: pressure and flow fall, protection stops the pump", spec: supply, fault: "dry_run",
			settle: 30 * time.Second,
			injected: map[string]check{
				"dry_run": isTrue(), "fault": isTrue(), "running": isFalse(), "pressure": below(0.2), "flow": below(0.2), "overload": isFalse(),
			},
			recover: 30 * time.Second, cleared: pumpNormal,
		},
		{
			name: "pump VFD fault with the default code", spec: supply, fault: "vfd_fault",
			settle:   30 * time.Second,
			injected: map[string]check{"vfd_fault_code": is(1), "fault": isTrue(), "running": isFalse(), "frequency": below(1), "pressure": near(supplyInlet, 0.1)},
			recover:  30 * time.Second, cleared: pumpNormal,
		},
		{
			name: "pump VFD fault with a code", spec: supply, fault: "vfd_fault", params: map[string]string{"code": "4"},
			settle:   30 * time.Second,
			injected: map[string]check{"vfd_fault_code": is(4), "fault": isTrue(), "running": isFalse()},
			recover:  30 * time.Second, cleared: pumpNormal,
		},
		{
			name: "drainage pit high: inflow beats the pump, the pit rises past high-high", spec: drain, fault: "pit_high",
			settle:   10 * time.Minute,
			injected: map[string]check{"pit_high": isTrue(), "pit_level": above(pitHighHigh), "running": isTrue(), "fault": isFalse()},
			recover:  10 * time.Minute,
			cleared:  map[string]check{"pit_high": isFalse(), "pit_level": below(pitStart + 0.01), "fault": isFalse()},
		},
		{
			name: "drainage pump overload trips it", spec: drain, fault: "overload",
			settle:   15 * time.Minute, // it trips at its next start
			injected: map[string]check{"overload": isTrue(), "fault": isTrue(), "running": isFalse()},
			recover:  15 * time.Minute,
			cleared:  map[string]check{"overload": isFalse(), "fault": isFalse(), "pit_high": isFalse(), "pit_level": below(pitStart + 0.01)},
		},
		{
			name: "elevator entrapment: stopped between floors, alarm pressed", spec: lift, fault: "entrapment",
			settle: 10 * time.Minute,
			injected: map[string]check{
				"running": isFalse(), "in_door_zone": isFalse(), "door_state": is(doorClosed), "alarm_button": isTrue(),
				"fault_code": is(codeEntrapment), "in_service": isFalse(), "direction": is(0),
			},
			recover: time.Minute, cleared: liftNormal,
		},
		{
			name: "elevator door fault: out of service at a landing, doors reopening", spec: lift, fault: "door_fault",
			settle: time.Minute,
			injected: map[string]check{
				"fault_code": is(codeDoorFault), "in_service": isFalse(), "running": isFalse(), "in_door_zone": isTrue(),
				"door_state": oneOf(doorOpen, doorClosing), "alarm_button": isFalse(),
			},
			recover: time.Minute, cleared: liftNormal,
		},
		{
			name: "fire zone alarm", spec: panel, fault: "zone_alarm", params: map[string]string{"zone": "3"},
			settle: time.Second,
			injected: map[string]check{
				"zone_03": is(zoneAlarm), "zone_04": is(zoneNormal), "general_alarm": isTrue(), "zones_in_alarm": is(1), "general_trouble": isFalse(),
			},
			recover: time.Second, cleared: panelNormal,
		},
		{
			name: "fire zone fault", spec: panel, fault: "zone_fault", params: map[string]string{"zone": "05"},
			settle:   time.Second,
			injected: map[string]check{"zone_05": is(zoneFault), "general_trouble": isTrue(), "general_alarm": isFalse(), "zones_in_alarm": is(0)},
			recover:  time.Second, cleared: panelNormal,
		},
		{
			name: "fire zone supervisory", spec: panel, fault: "supervisory", params: map[string]string{"zone": "7"},
			settle:   time.Second,
			injected: map[string]check{"zone_07": is(zoneSupervisory), "general_supervisory": isTrue(), "general_alarm": isFalse()},
			recover:  time.Second, cleared: panelNormal,
		},
		{
			name: "fire panel mains lost: battery sags slowly", spec: panel, fault: "ac_loss",
			during:   map[string]check{"ac_loss": isTrue(), "general_trouble": isTrue(), "battery_voltage": above(batteryOnMains)},
			settle:   4 * time.Hour,
			injected: map[string]check{"ac_loss": isTrue(), "general_trouble": isTrue(), "battery_voltage": near(batteryOnMains-4*batterySagPerH, 0.1)},
			recover:  30 * time.Minute, cleared: panelNormal,
		},
		{
			name: "fire panel battery fault", spec: panel, fault: "battery_fault",
			settle:   time.Second,
			injected: map[string]check{"battery_fault": isTrue(), "general_trouble": isTrue(), "ac_loss": isFalse()},
			recover:  time.Second, cleared: panelNormal,
		},
		{
			name: "fire panel earth fault", spec: panel, fault: "earth_fault",
			settle:   time.Second,
			injected: map[string]check{"earth_fault": isTrue(), "general_trouble": isTrue()},
			recover:  time.Second, cleared: panelNormal,
		},
		{
			name: "lighting lamp failure: circuit on, no power drawn", spec: lights, fault: "lamp_failure", params: map[string]string{"circuit": "5"},
			settle:   time.Minute,
			injected: map[string]check{"circuit_05_lamp_fail": isTrue(), "circuit_05_on": isTrue(), "circuit_04_lamp_fail": isFalse(), "power": near(23*circuitKW, 0.1)},
			recover:  time.Minute, cleared: lightsNormal,
		},
		{
			name: "lighting circuit trip: commanded on, stays off", spec: lights, fault: "circuit_trip", params: map[string]string{"circuit": "2"},
			settle:   time.Minute,
			injected: map[string]check{"circuit_02_command": isTrue(), "circuit_02_on": isFalse(), "circuit_03_on": isTrue(), "power": near(23*circuitKW, 0.1)},
			recover:  time.Minute, cleared: lightsNormal,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := testutil.NewClock(evening)
			e := newTestEstate(t, clock, tt.spec)
			id := tt.spec.ID
			clock.Step(time.Minute)
			if err := e.Inject(id, tt.fault, tt.params); err != nil {
				t.Fatalf("Inject(%s): %v", tt.fault, err)
			}
			if tt.during != nil {
				clock.Step(2 * time.Second)
				expect(t, e, id, "just after inject", tt.during)
			}
			clock.Step(tt.settle)
			expect(t, e, id, "injected", tt.injected)
			st, _ := e.Device(id)
			if len(st.Faults) != 1 || st.Faults[0].Fault != tt.fault {
				t.Errorf("active faults %+v, want only %s", st.Faults, tt.fault)
			}
			if err := e.Clear(id, tt.fault, tt.params); err != nil {
				t.Fatalf("Clear(%s): %v", tt.fault, err)
			}
			clock.Step(tt.recover)
			expect(t, e, id, "cleared", tt.cleared)
			if st, _ := e.Device(id); len(st.Faults) != 0 {
				t.Errorf("active faults after clear: %+v", st.Faults)
			}
		})
	}
}

func TestFireZonesPrecedenceAndSeparateClearing(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(evening)
	e := newTestEstate(t, clock, DeviceSpec{ID: "fp", Kind: devices.KindFirePanel})
	steps := []struct {
		name   string
		do     func() error
		expect map[string]check
	}{
		{"trouble on zone 3", func() error { return e.Inject("fp", "zone_fault", map[string]string{"zone": "3"}) },
			map[string]check{"zone_03": is(zoneFault), "general_trouble": isTrue()}},
		{"supervisory outranks trouble", func() error { return e.Inject("fp", "supervisory", map[string]string{"zone": "3"}) },
			map[string]check{"zone_03": is(zoneSupervisory), "general_supervisory": isTrue(), "general_trouble": isTrue()}},
		{"alarm outranks both", func() error { return e.Inject("fp", "zone_alarm", map[string]string{"zone": "3"}) },
			map[string]check{"zone_03": is(zoneAlarm), "general_alarm": isTrue(), "zones_in_alarm": is(1)}},
		{"a second zone in alarm", func() error { return e.Inject("fp", "zone_alarm", map[string]string{"zone": "12"}) },
			map[string]check{"zone_12": is(zoneAlarm), "zones_in_alarm": is(2)}},
		{"injecting the same zone again changes nothing", func() error { return e.Inject("fp", "zone_alarm", map[string]string{"zone": "12"}) },
			map[string]check{"zones_in_alarm": is(2)}},
		{"clearing zone 3's alarm leaves zone 12 and zone 3's supervisory", func() error { return e.Clear("fp", "zone_alarm", map[string]string{"zone": "3"}) },
			map[string]check{"zone_03": is(zoneSupervisory), "zone_12": is(zoneAlarm), "zones_in_alarm": is(1), "general_alarm": isTrue()}},
		{"clearing supervisory shows the trouble underneath", func() error { return e.Clear("fp", "supervisory", map[string]string{"zone": "3"}) },
			map[string]check{"zone_03": is(zoneFault), "general_supervisory": isFalse()}},
		{"clearing zone_alarm without a zone clears every zone", func() error { return e.Clear("fp", "zone_alarm", nil) },
			map[string]check{"zone_12": is(zoneNormal), "zones_in_alarm": is(0), "general_alarm": isFalse(), "zone_03": is(zoneFault)}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		clock.Step(time.Second)
		expect(t, e, "fp", s.name, s.expect)
	}
	st, _ := e.Device("fp")
	if len(st.Faults) != 1 || st.Faults[0].Fault != "zone_fault" || st.Faults[0].Params["zone"] != "3" {
		t.Fatalf("active faults %+v, want zone_fault on zone 3 only", st.Faults)
	}
}

func TestReinjectUpdatesParams(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(evening)
	e := newTestEstate(t, clock, DeviceSpec{ID: "p", Kind: devices.KindPump})
	for _, code := range []string{"2", "6"} {
		if err := e.Inject("p", "vfd_fault", map[string]string{"code": code}); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, e, "p", "re-injected", map[string]check{"vfd_fault_code": is(6)})
	st, _ := e.Device("p")
	if len(st.Faults) != 1 || st.Faults[0].Params["code"] != "6" {
		t.Fatalf("faults %+v, want one vfd_fault with code 6", st.Faults)
	}
}

func TestFaultErrors(t *testing.T) {
	t.Parallel()
	e := newTestEstate(t, testutil.NewClock(evening),
		DeviceSpec{ID: "booster", Kind: devices.KindPump},
		DeviceSpec{ID: "fp", Kind: devices.KindFirePanel},
		DeviceSpec{ID: "lp", Kind: devices.KindLighting},
	)
	tests := []struct {
		name   string
		clear  bool
		id     string
		fault  string
		params map[string]string
		is     error
		want   []string
	}{
		{"unknown device", false, "nope", "slow", nil, ErrUnknownDevice, []string{`"nope"`, "booster, fp, lp"}},
		{"unknown fault lists the valid ones", false, "booster", "flood", nil, ErrUnknownFault,
			[]string{`"flood"`, "overload, dry_run, vfd_fault, slow, drop, exception, silent"}},
		{"pit_high on a supply pump", false, "booster", "pit_high", nil, ErrUnknownFault, []string{"drainage pumps", "supply pump"}},
		{"fault of another kind", false, "lp", "zone_alarm", nil, ErrUnknownFault, []string{"lamp_failure, circuit_trip"}},
		{"zone missing", false, "fp", "zone_alarm", nil, ErrBadParam, []string{"parameter zone", "missing", "?zone="}},
		{"zone out of range", false, "fp", "zone_fault", map[string]string{"zone": "17"}, ErrBadParam, []string{"parameter zone", `"17"`, "1-16"}},
		{"zone not a number", false, "fp", "supervisory", map[string]string{"zone": "east"}, ErrBadParam, []string{"parameter zone", `"east"`}},
		{"clearing zone out of range", true, "fp", "zone_alarm", map[string]string{"zone": "0"}, ErrBadParam, []string{"parameter zone"}},
		{"circuit missing", false, "lp", "lamp_failure", nil, ErrBadParam, []string{"parameter circuit", "1-24"}},
		{"circuit out of range", false, "lp", "circuit_trip", map[string]string{"circuit": "25"}, ErrBadParam, []string{"parameter circuit", "1-24"}},
		{"unknown parameter", false, "booster", "overload", map[string]string{"zone": "3"}, ErrBadParam, []string{"parameter zone", "takes latch"}},
		{"bad delay", false, "booster", "slow", map[string]string{"delay": "soon"}, ErrBadParam, []string{"parameter delay", `"soon"`, "3s"}},
		{"negative delay", false, "booster", "slow", map[string]string{"delay": "-1s"}, ErrBadParam, []string{"parameter delay"}},
		{"exception code out of range", false, "booster", "exception", map[string]string{"code": "300"}, ErrBadParam, []string{"parameter code", "1-255"}},
		{"vfd code not a number", false, "booster", "vfd_fault", map[string]string{"code": "x"}, ErrBadParam, []string{"parameter code"}},
		{"clear of an unknown fault", true, "fp", "flood", nil, ErrUnknownFault, []string{"zone_alarm, zone_fault, supervisory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			do := e.Inject
			if tt.clear {
				do = e.Clear
			}
			err := do(tt.id, tt.fault, tt.params)
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if st, _ := e.Device("fp"); len(st.Faults) != 0 {
		t.Errorf("failed injections left faults: %+v", st.Faults)
	}
}

func TestClearOfInactiveFaultIsFine(t *testing.T) {
	t.Parallel()
	e := newTestEstate(t, testutil.NewClock(evening), DeviceSpec{ID: "lift", Kind: devices.KindElevator})
	for _, f := range []string{"entrapment", "door_fault", "slow", "drop", "exception", "silent"} {
		if err := e.Clear("lift", f, nil); err != nil {
			t.Errorf("Clear(%s) with nothing in force: %v", f, err)
		}
	}
}

// TestArmedFault: an overload injected into a stopped drainage pump cannot show yet; the
// control API says it is armed and what it waits for, and it trips once the level controller
// starts the pump.
func TestArmedFault(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock(evening)
	e := newTestEstate(t, clock, DeviceSpec{ID: "sump", Kind: devices.KindPump, Role: RoleDrainage})
	if v, _ := e.Value("sump", "running"); v.Number != 0 {
		t.Fatal("the sump pump should start stopped, its pit below the start level")
	}
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/sim/v1/devices/sump/faults/overload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var st DeviceStatus
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || len(st.Faults) != 1 || !st.Faults[0].Armed || !strings.Contains(st.Faults[0].Waiting, "trips 5s after its next start") {
		t.Fatalf("inject answer %+v %v, want the overload armed", st.Faults, err)
	}
	expect(t, e, "sump", "armed", map[string]check{"overload": isFalse(), "fault": isFalse(), "running": isFalse()})
	before, _ := e.Value("sump", "starts")
	// The pit fills to the start level within minutes; the pump starts and trips.
	for i := 0; i < 20*60; i++ {
		clock.Step(time.Second)
		if v, _ := e.Value("sump", "overload"); v.Number != 0 {
			break
		}
	}
	expect(t, e, "sump", "tripped at the start", map[string]check{"overload": isTrue(), "fault": isTrue(), "running": isFalse()})
	if v, _ := e.Value("sump", "starts"); v.Number != before.Number+1 {
		t.Fatalf("starts %v → %v, want one start", before.Number, v.Number)
	}
	if st, _ := e.Device("sump"); len(st.Faults) != 1 || st.Faults[0].Armed || st.Faults[0].Waiting != "" {
		t.Fatalf("after the trip: %+v, want the fault shown, no longer armed", st.Faults)
	}
}
