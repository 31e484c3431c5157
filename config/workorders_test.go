package config

import (
	"strings"
	"testing"
	"time"
)

const woBase = `
devices:
  - id: E-1
    profile: elevator
    zone: north
    modbus: {address: "127.0.0.1:15020", unit: 1}
    asset: {make: Otis, model: Gen2, serial: OT-1, installed: 2020-05-01, contractor: Otis Service, contractor_phone: "400-1", warranty_end: 2027-06-30}
`

func TestWorkOrdersConfig(t *testing.T) {
	t.Run("defaults of the section, lists as written", func(t *testing.T) {
		cfg, err := Parse("t.yaml", []byte(woBase))
		if err != nil {
			t.Fatal(err)
		}
		w := cfg.WorkOrders
		if w.Store.Driver != "sqlite" || w.ReworkWindow != 30*24*time.Hour || w.FollowUp.Repair != time.Hour {
			t.Fatalf("defaults: %+v", w)
		}
		// Validate changes nothing: the lists left out take their defaults in workorders.Config.
		if w.Limits != nil || w.Plans != nil || w.Mappings != nil || w.Calendar.Days != nil {
			t.Fatalf("validation filled lists in: %+v", w)
		}
		if a := cfg.Devices[0].Asset; a == nil || a.Contractor != "Otis Service" || a.WarrantyEnd != "2027-06-30" {
			t.Fatalf("asset %+v", a)
		}
	})
	t.Run("a section of its own", func(t *testing.T) {
		cfg, err := Parse("t.yaml", []byte(woBase+`
workorders:
  store: {driver: postgres, dsn: "postgres://wo@db/wo"}
  zones: [{zone: north, team: north-team, butler: wang}]
  limits: [{category: lighting, accept: 2h, complete: 18h, working_hours: true}]
  calendar: {holidays: [2026-10-01]}
  plans: []
`))
		if err != nil {
			t.Fatal(err)
		}
		w := cfg.WorkOrders
		if w.Store.DSN.Reveal() != "postgres://wo@db/wo" || len(w.Limits) != 1 || !w.Limits[0].WorkingHours || w.Zones[0].Butler != "wang" || len(w.Plans) != 0 {
			t.Fatalf("section %+v", w)
		}
	})
	bad := []struct {
		name, yaml, want string
	}{
		{"unknown driver", "workorders: {store: {driver: mysql}}", `workorders.store.driver: "mysql" is not sqlite or postgres`},
		{"postgres without dsn", "workorders: {store: {driver: postgres}}", "workorders.store.dsn: missing"},
		{"short notice", "workorders: {notice_lead: 12h}", "less than the day's notice"},
		{"retention under a day", "workorders: {retention: 2h}", "workorders.retention: 2h0m0s is less than a day; duty records are kept a year (8760h)"},
		{"bad plan", "workorders: {plans: [{id: x, kind: pump, every: fortnightly, day: 3}]}", `plans[0] (x).every: "fortnightly" is not weekly, monthly, quarterly, semiannual, yearly or a number of days`},
		{"plan every 0 days", "workorders: {plans: [{id: x, kind: pump, every: 0d}]}", `plans[0] (x).every: "0d"`},
		{"weekday of a monthly plan", "workorders: {plans: [{id: x, kind: pump, every: monthly, day: 3, weekday: mon}]}", `plans[0] (x).weekday: "mon" is a weekday (mon..sun) of a weekly plan only`},
		{"bad on_holiday", "workorders: {plans: [{id: x, kind: pump, every: weekly, on_holiday: skip}]}", `plans[0] (x).on_holiday: "skip" is not keep, next_workday or previous_workday`},
		{"ledger asset without kind", "workorders: {ledger: [{id: T-1}]}", "workorders.ledger[0] (T-1).kind: missing"},
		{"bad holiday", "workorders: {calendar: {holidays: [1 Oct]}}", `"1 Oct" is not a date`},
		{"bad mapping priority", "workorders: {mappings: [{kind: pump, category: pump_trip, priority: urgent}]}", "mappings[0].priority"},
		{"bad warranty date", strings.Replace(woBase, "2027-06-30", "soon", 1), `devices[0] (E-1).asset.warranty_end: "soon"`},
		{"unknown key", "workorders: {zones: [{zone: a, team: b, buttler: c}]}", "did you mean"},
		{"arrival after completion", "workorders: {limits: [{category: x, accept: 1m, arrive: 2h, complete: 1h}]}", "workorders.limits[0] (x).arrive: 2h0m0s must be between 0"},
		{"sampled share above one", "workorders: {follow_up: {sampling: [{level: team, share: 1}, {level: quality, share: 50}]}}", "sampling[1] (quality).share: 50 must be more than 0 and at most 1"},
		{"first level samples", "workorders: {follow_up: {sampling: [{level: team, share: 0.5}]}}", "the first level calls every resident back"},
		{"target in percent", "workorders: {follow_up: {target: 80}}", "workorders.follow_up.target: 80 must be more than 0 and at most 1"},
		{"technician without a team", "workorders: {technicians: [{id: t1, handset: h1}]}", "workorders.technicians[0] (t1).team: missing"},
		{"technician twice", "workorders: {technicians: [{id: t1, team: a}, {id: t1, team: a}]}", `workorders.technicians[1].id: missing or repeated ("t1")`},
		{"handset is one topic level", "workorders: {technicians: [{id: t1, team: a, handset: a/b}]}", `handset: "a/b" must be one MQTT topic level`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			y := tc.yaml
			if !strings.Contains(y, "devices:") {
				y = woBase + y
			}
			_, err := Parse("t.yaml", []byte(y))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
