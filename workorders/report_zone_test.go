package workorders

import (
	"context"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// TestReportCounts: the rework rate is over repairs only (complaints apart), follow-up calls
// count in the month they are made, and zones are compared on their public jobs and, apart,
// their household repairs.
func TestReportCounts(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, shanghai) // a Monday
	alarm := func(t *testing.T, r *rig, dev, kind, zone, rule string) *Order {
		t.Helper()
		o, err := r.m.HandleAlarm(ctx, raised(dev, kind, zone, rule, alarms.ClassEquipment, r.clock.Now()))
		if err != nil || o == nil {
			t.Fatalf("alarm %s %s: %v", dev, rule, err)
		}
		return o
	}
	raise := func(t *testing.T, r *rig, req RaiseRequest) *Order {
		t.Helper()
		req.By = "cs-liu"
		o, err := r.m.Raise(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	// repair takes an order from accepted to resolved at the clock's time.
	repair := func(t *testing.T, r *rig, id string) {
		for _, a := range []Action{ActionAccept, ActionArrive, ActionStart, ActionResolve} {
			r.do(t, id, a, Input{By: "sup-li"})
		}
	}
	report := func(t *testing.T, r *rig, period string) *Report {
		t.Helper()
		rep, err := BuildReport(ctx, r.m.Store(), "estate", period, shanghai, time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai), r.m.ReportOptions())
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	zoneOf := func(rows []ZoneRow, zone string) ZoneRow {
		for _, z := range rows {
			if z.Zone == zone {
				return z
			}
		}
		return ZoneRow{}
	}

	for _, tc := range []struct {
		name  string
		cfg   func(*Config)
		build func(t *testing.T, r *rig)
		check func(t *testing.T, r *rig)
	}{
		{
			name: "a complaint is not a repair: the rework rate is one in two, not one in three",
			build: func(t *testing.T, r *rig) {
				o := alarm(t, r, "P-1", "pump", "north", "pump_trip")
				repair(t, r, o.ID)
				r.do(t, o.ID, ActionVerify, Input{By: "sup-li"})
				r.clock.Step(24 * time.Hour)
				alarm(t, r, "P-1", "pump", "north", "pump_trip") // the same trip again: rework
				raise(t, r, RaiseRequest{Zone: "north", Location: "3-1802", Category: CategoryComplaint, Title: "Repairer was rude"})
			},
			check: func(t *testing.T, r *rig) {
				rep := report(t, r, "2026-03")
				if rep.Repairs != 2 || rep.Rework != 1 || rep.Complaints != 1 {
					t.Fatalf("repairs %d rework %d complaints %d, want 2, 1 and the complaint apart", rep.Repairs, rep.Rework, rep.Complaints)
				}
				if c := rep.ByZone[0]; c.Name != "north" || c.Repairs != 2 || c.Complaints != 1 {
					t.Fatalf("north row %+v: the complaint counts apart from the repairs", c)
				}
				if z := zoneOf(rep.HouseholdZones, "north"); z.Complaints != 1 || z.Orders != 0 {
					t.Fatalf("north's household row %+v: the complaint is counted apart and in no rate", z)
				}
			},
		},
		{
			name: "a call made on 1 April about a March repair counts in April",
			build: func(t *testing.T, r *rig) {
				r.clock.Set(time.Date(2026, 3, 31, 16, 0, 0, 0, shanghai))
				h := raise(t, r, RaiseRequest{Zone: "north", Location: "3-1802", Title: "Kitchen tap leaks"})
				repair(t, r, h.ID)
				r.clock.Set(time.Date(2026, 4, 1, 10, 0, 0, 0, shanghai))
				r.do(t, h.ID, ActionFollowUp, Input{By: "cs-liu", Points: points(true, true, true)})
			},
			check: func(t *testing.T, r *rig) {
				if m := report(t, r, "2026-03"); m.Orders != 1 || m.FollowUps != 0 {
					t.Fatalf("March: %d orders, %d calls; want the order and no call", m.Orders, m.FollowUps)
				}
				a := report(t, r, "2026-04")
				if a.Orders != 0 || a.FollowUps != 1 || a.Satisfied != 1 || a.Levels[0].Calls != 1 {
					t.Fatalf("April: %d orders, %d calls (%d satisfied); want no order and the call", a.Orders, a.FollowUps, a.Satisfied)
				}
				if z := zoneOf(a.HouseholdZones, "north"); z.FollowUps != 1 || z.Satisfied != 1 {
					t.Fatalf("April's north household row %+v: the call is the zone's", z)
				}
			},
		},
		{
			name: "north keeps its deadlines and ranks above south, which accepted late; homes apart",
			build: func(t *testing.T, r *rig) {
				n := alarm(t, r, "P-1", "pump", "north", "pump_trip")
				r.clock.Step(5 * time.Minute)
				repair(t, r, n.ID)
				s := alarm(t, r, "E-1", "elevator", "south", "door_fault")
				r.clock.Step(40 * time.Minute) // past the 15 minutes to accept
				r.m.Tick(ctx)
				repair(t, r, s.ID)
				h := raise(t, r, RaiseRequest{Zone: "north", Location: "3-1802", Title: "Kitchen tap leaks"})
				repair(t, r, h.ID)
			},
			check: func(t *testing.T, r *rig) {
				rep := report(t, r, "2026-03")
				if len(rep.Zones) != 2 || rep.Zones[0].Zone != "north" || rep.Zones[0].Rank != 1 || rep.Zones[1].Zone != "south" || rep.Zones[1].Rank != 2 {
					t.Fatalf("public zones %+v: north first, south second", rep.Zones)
				}
				north, south := rep.Zones[0], rep.Zones[1]
				if north.Orders != 1 || north.Score != 100 || south.AcceptOnTime != 0 || south.AcceptDue != 1 || south.Score >= north.Score {
					t.Fatalf("north %+v, south %+v", north, south)
				}
				// South: accepted late (0 of 1), on site and done on time, no rework, no PM
				// job or call: 0.55 of the 0.70 weighed.
				if south.Score != 78.6 {
					t.Fatalf("south's score %.1f, want 78.6 (acceptance 0 of 1 weighs 15 of 70)", south.Score)
				}
				if len(rep.HouseholdZones) != 1 || rep.HouseholdZones[0].Zone != "north" || rep.HouseholdZones[0].Orders != 1 || rep.HouseholdZones[0].Rank != 1 {
					t.Fatalf("household zones %+v: the tap in 3-1802 is north's, apart from its public jobs", rep.HouseholdZones)
				}
			},
		},
		{
			name: "equal scores share a rank; a zone with nothing to score has none",
			build: func(t *testing.T, r *rig) {
				for _, dev := range []struct{ id, kind, zone, rule string }{{"P-1", "pump", "north", "pump_trip"}, {"E-1", "elevator", "south", "door_fault"}} {
					o := alarm(t, r, dev.id, dev.kind, dev.zone, dev.rule)
					repair(t, r, o.ID)
				}
				raise(t, r, RaiseRequest{Zone: "east", Title: "Gate hinge loose", Category: "general"}) // not yet due
			},
			check: func(t *testing.T, r *rig) {
				rep := report(t, r, "2026-03")
				if len(rep.Zones) != 3 || rep.Zones[0].Rank != 1 || rep.Zones[1].Rank != 1 || rep.Zones[2].Zone != "east" || rep.Zones[2].Rank != 0 {
					t.Fatalf("zones %+v: north and south first together, east unranked", rep.Zones)
				}
			},
		},
		{
			name: "a rescue drill is the estate's: in its own section, in no zone row",
			cfg:  func(c *Config) { c.Drills = Drills{} }, // the plans' two a year; the first on Monday 16 March
			build: func(t *testing.T, r *rig) {
				o := alarm(t, r, "P-1", "pump", "north", "pump_trip")
				repair(t, r, o.ID)
				r.clock.Set(time.Date(2026, 3, 9, 12, 0, 0, 0, shanghai))
				if err := r.m.Tick(ctx); err != nil {
					t.Fatal(err)
				}
				drills, err := r.m.List(ctx, Filter{Plan: DrillPlan}, false)
				if err != nil || len(drills) != 1 {
					t.Fatalf("%d drill orders, %v", len(drills), err)
				}
				r.clock.Set(time.Date(2026, 3, 16, 10, 0, 0, 0, shanghai))
				r.do(t, drills[0].ID, ActionAccept, Input{By: "tech-lin"})
				r.do(t, drills[0].ID, ActionStart, Input{By: "tech-lin"})
				r.clock.Step(20 * time.Minute)
				r.do(t, drills[0].ID, ActionRelease, Input{By: "tech-lin", Scenario: "stopped between floors 5 and 6", Car: "E-1"})
			},
			check: func(t *testing.T, r *rig) {
				rep := report(t, r, "2026-03")
				if rep.Drills == nil || rep.Drills.Held != 1 || rep.Orders != 2 {
					t.Fatalf("drills %+v, orders %d: want the drill held among two orders", rep.Drills, rep.Orders)
				}
				for _, z := range append(append([]ZoneRow(nil), rep.Zones...), rep.HouseholdZones...) {
					if z.Zone != "north" {
						t.Errorf("zone comparison row %+v: the drill has no zone to rank", z)
					}
				}
				for _, c := range rep.ByZone {
					if c.Name != "north" || c.Orders != 1 {
						t.Errorf("orders by zone %+v: only the pump trip is a zone's", c)
					}
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, start, tc.cfg)
			tc.build(t, r)
			tc.check(t, r)
		})
	}
}

// TestZoneScore: the formula, share by share, and what is left out.
func TestZoneScore(t *testing.T) {
	for _, tc := range []struct {
		name string
		z    ZoneRow
		want float64
	}{
		{"nothing to count", ZoneRow{Orders: 1}, -1},
		{"an order left past its time to accept", ZoneRow{AcceptDue: 1}, 0},
		{"all on time", ZoneRow{AcceptDue: 2, AcceptOnTime: 2, Arrivals: 2, ArriveOnTime: 2, CompleteDue: 2, Resolved: 2, CompleteOnTime: 2, Repairs: 2, PMDue: 1, PMOnTime: 1, FollowUps: 1, Satisfied: 1}, 100},
		{"every share at half", ZoneRow{AcceptDue: 2, AcceptOnTime: 1, Arrivals: 2, ArriveOnTime: 1, CompleteDue: 2, Resolved: 2, CompleteOnTime: 1, Repairs: 2, Rework: 1, PMDue: 2, PMOnTime: 1, FollowUps: 2, Satisfied: 1}, 50},
		{"only the PM jobs, missed", ZoneRow{PMDue: 3}, 0},
		{"completion weighs 25 against acceptance's 15", ZoneRow{AcceptDue: 1, CompleteDue: 1, CompleteOnTime: 1}, 62.5},
		{"rework counts against", ZoneRow{Repairs: 4, Resolved: 4, Rework: 1}, 75},
		{"no rework share before a repair is resolved", ZoneRow{Repairs: 1}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.z.ZoneScore(); got != tc.want {
				t.Fatalf("score %v, want %v", got, tc.want)
			}
		})
	}
}
