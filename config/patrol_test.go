package config

import (
	"testing"
	"time"
)

func TestPatrolConfigLoads(t *testing.T) {
	cfg, err := Parse("patrol", []byte(patrolOK))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Patrol
	if !p.Enabled() || len(p.Shifts) != 2 || p.Escalation.LifeSafety.Escalate != 60*time.Second || p.Escalation.Critical.Resend != 30*time.Second {
		t.Errorf("patrol = %+v: want two shifts and the default timings (life safety escalates at 60 s, critical re-sent every 30 s)", p)
	}
	if p.Webhook.Secret.String() != "<hidden>" {
		t.Errorf("webhook secret printed as %q", p.Webhook.Secret.String())
	}
}

func TestShiftCoverage(t *testing.T) {
	tests := []struct {
		name   string
		shifts []PatrolShift
		want   []string
	}{
		{"night and day", []PatrolShift{{Name: "n", Start: "18:00", End: "08:00"}, {Name: "d", Start: "08:00", End: "18:00"}}, nil},
		{"gap in the morning", []PatrolShift{{Name: "n", Start: "18:00", End: "07:00"}, {Name: "d", Start: "08:00", End: "18:00"}},
			[]string{"patrol.shifts: no shift covers 07:00–08:00"}},
		{"overlap across midnight", []PatrolShift{{Name: "n", Start: "18:00", End: "08:00"}, {Name: "late", Start: "23:00", End: "01:00"}, {Name: "d", Start: "08:00", End: "18:00"}},
			[]string{"patrol.shifts: shifts n, late overlap 23:00–01:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cover [24 * 60][]string
			for _, s := range tt.shifts {
				start, _ := ParseClock(s.Start)
				end, _ := ParseClock(s.End)
				for m := start; m != end; m = (m + 1) % (24 * 60) {
					cover[m] = append(cover[m], s.Name)
				}
			}
			var got []string
			for _, e := range shiftCoverage(&cover) {
				got = append(got, e.Error())
			}
			if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

var patrolOK = `site: estate
devices:
  - {id: P-1, profile: pump, zone: north, modbus: {address: "127.0.0.1:502", unit: 1}}
patrol:
  timezone: Asia/Shanghai
  shifts:
    - {name: night, start: "18:00", end: "08:00", supervisor: sup}
    - {name: day, start: "08:00", end: "18:00", supervisor: sup}
  guards:
    - {id: g1, handset: H-01}
    - {id: sup, handset: H-10}
  groups:
    - {name: all, shift: night, zones: ["*"], guards: [g1]}
    - {name: all-day, shift: day, zones: [north], guards: [g1]}
  webhook:
    url: https://hooks.example.com/patrol
    secret: s3cret
`
