package workorders

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func gas(o2, lel, h2s, co float64) GasReadings {
	return GasReadings{O2: &o2, LEL: &lel, H2S: &h2s, CO: &co}
}

// TestGasLimits: each reading against its limit, at and either side of it; the refusal names
// the gas, the reading and the limit.
func TestGasLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		g    GasReadings
		want string // "" allows entry
	}{
		{"fresh air", gas(20.9, 0, 0, 0), ""},
		{"oxygen at the floor", gas(19.5, 0, 0, 0), ""},
		{"oxygen-deficient", gas(19.4, 0, 0, 0), "O2 19.4 % is under 19.5 % (GB 8958-2006"},
		{"oxygen at the ceiling", gas(23.5, 0, 0, 0), ""},
		{"oxygen-enriched", gas(23.6, 0, 0, 0), "O2 23.6 % is over 23.5 %"},
		{"flammable under 10 % LEL", gas(20.9, 9.9, 0, 0), ""},
		{"flammable at 10 % LEL", gas(20.9, 10, 0, 0), "LEL 10 % LEL is not under 10 % LEL"},
		{"H2S at the MAC", gas(20.9, 0, 10, 0), ""},
		{"H2S over the MAC", gas(20.9, 0, 10.5, 0), "H2S 10.5 mg/m³ is over 10 mg/m³ (GBZ 2.1-2019: MAC 10 mg/m³)"},
		{"CO at the PC-TWA", gas(20.9, 0, 0, 20), ""},
		{"CO over the PC-TWA", gas(20.9, 0, 0, 25), "CO 25 mg/m³ is over 20 mg/m³ (GBZ 2.1-2019: PC-TWA 20 mg/m³)"},
		{"a reading missing", GasReadings{}, "no O2 reading"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := strings.Join(tc.g.Check(), "; ")
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("check: %q, want %q", got, tc.want)
			}
		})
	}
}

// TestConfinedSpaceStart: a tank-cleaning job starts only under a permit whose gas test is
// within limits and under 30 minutes old; the permit's issuer is who recorded it.
func TestConfinedSpaceStart(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, shanghai)
	r := newRig(t, start, func(c *Config) {
		c.Plans = []Plan{{ID: "tank-cleaning", Title: "Tank cleaning", Devices: []string{"P-1"}, Every: "quarterly", Month: 1, Day: 10, At: "09:00", ConfinedSpace: true},
			{ID: "pump-check", Title: "Pump check", Devices: []string{"P-2"}, Every: "monthly", Day: 10, At: "09:00"}}
	})
	job, err := r.m.Schedule(ctx, ScheduleRequest{Plan: "tank-cleaning", Device: "P-1", At: start.Add(2 * time.Hour), By: "eng-he"})
	if err != nil || !job.ConfinedSpace {
		t.Fatalf("tank-cleaning job %+v %v: confined-space work", job, err)
	}
	plain, err := r.m.Schedule(ctx, ScheduleRequest{Plan: "pump-check", Device: "P-2", At: start.Add(2 * time.Hour), By: "eng-he"})
	if err != nil || plain.ConfinedSpace {
		t.Fatalf("pump check %+v %v: no permit needed", plain, err)
	}
	r.do(t, job.ID, ActionAccept, Input{})
	permitWith := func(by string, g GasReadings, attendant string) error {
		_, err := r.m.Transition(ctx, job.ID, ActionPermit, Input{By: by, Permit: &PermitInput{Attendant: attendant, Readings: g}})
		return err
	}
	startErr := func() error {
		_, err := r.m.Transition(ctx, job.ID, ActionStart, Input{By: "tech-chen"})
		return err
	}
	steps := []struct {
		name string
		do   func() error
		want string // part of the error; "" succeeds
	}{
		{"start without a permit", startErr, "needs a permit first"},
		{"a permit without an attendant", func() error { return permitWith("sup-li", gas(20.9, 0, 0, 0), "") }, "name the attendant"},
		{"the issuer as attendant", func() error { return permitWith("sup-li", gas(20.9, 0, 0, 0), "sup-li") }, "another person"},
		{"a permit with H2S over the MAC", func() error { return permitWith("sup-li", gas(20.9, 2, 14, 5), "tech-wu") }, ""},
		{"start refused on the reading", startErr, "H2S 14 mg/m³ is over 10 mg/m³"},
		{"ventilated and tested again", func() error {
			r.clock.Step(20 * time.Minute)
			return permitWith("sup-li", gas(20.8, 1, 2, 5), "tech-wu")
		}, ""},
		{"the test gone stale", func() error { r.clock.Step(31 * time.Minute); return startErr() }, "31m0s old"},
		{"tested once more", func() error { return permitWith("sup-li", gas(20.8, 1, 2, 5), "tech-wu") }, ""},
		{"start allowed", func() error { r.clock.Step(5 * time.Minute); return startErr() }, ""},
	}
	for _, s := range steps {
		err := s.do()
		switch {
		case s.want == "" && err != nil:
			t.Fatalf("%s: %v", s.name, err)
		case s.want != "" && (err == nil || !strings.Contains(err.Error(), s.want)):
			t.Fatalf("%s: %v, want %q", s.name, err, s.want)
		case s.name == "start refused on the reading" && !errors.Is(err, ErrPermit):
			t.Fatalf("%s: %v is not ErrPermit", s.name, err)
		}
	}
	got, _ := r.m.Get(ctx, job.ID)
	if got.State != StateInProgress || got.Permit.IssuedBy != "sup-li" || got.Permit.Attendant != "tech-wu" || *got.Permit.Readings.H2S != 2 {
		t.Fatalf("order %s, permit %+v", got.State, got.Permit)
	}
	// The register keeps every permit, the failed test too.
	reg, err := r.m.Store().(*SQLStore).Permits(ctx, job.ID)
	if err != nil || len(reg) != 3 || *reg[0].Readings.H2S != 14 {
		t.Fatalf("permit register %+v %v: three permits, the first with H2S 14", reg, err)
	}
	// Each permit says whether its test allowed entry, and why not: what the order card shows.
	if len(reg[0].Refused) != 1 || !strings.Contains(reg[0].Refused[0], "H2S 14 mg/m³ is over 10 mg/m³") || len(reg[2].Refused) != 0 || len(got.Permit.Refused) != 0 {
		t.Fatalf("refusals: first %q, last %q, order's %q", reg[0].Refused, reg[2].Refused, got.Permit.Refused)
	}
	if _, err := r.m.Transition(ctx, plain.ID, ActionPermit, Input{By: "sup-li", Permit: &PermitInput{Attendant: "tech-wu", Readings: gas(20.9, 0, 0, 0)}}); err == nil || !strings.Contains(err.Error(), "not confined-space work") {
		t.Fatalf("permit of a plain job: %v", err)
	}
}

// TestDefaultPlansConfinedSpace: the default tank-cleaning and sump-pit jobs need a permit.
func TestDefaultPlansConfinedSpace(t *testing.T) {
	want := map[string]bool{"secondary-water-check": true, "drainage-pump-test": true}
	for _, p := range DefaultPlans() {
		if p.ConfinedSpace != want[p.ID] {
			t.Errorf("default plan %s: confined_space %v, want %v", p.ID, p.ConfinedSpace, want[p.ID])
		}
	}
}

// FuzzPermit: whatever body a permit request carries, recording it and then starting never
// panics, a recorded permit has every reading, and start goes ahead only when Check passes.
func FuzzPermit(f *testing.F) {
	f.Add(`{"by":"sup-li","permit":{"attendant":"tech-wu","readings":{"o2_pct":20.9,"lel_pct":0,"h2s_mg_m3":0.5,"co_mg_m3":3}}}`)
	f.Add(`{"by":"sup-li","permit":{"attendant":"tech-wu","readings":{"o2_pct":-1e308,"lel_pct":1e308}}}`)
	f.Add(`{"by":"x","permit":{"attendant":"x","readings":{}}}`)
	f.Add(`{"permit":null}`)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	p := &Policy{Limits: NewLimits(DefaultTimeLimits())}
	f.Fuzz(func(t *testing.T, body string) {
		var in Input
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		o := Order{ID: "WO-1", State: StateAccepted, Source: SourcePreventive, Category: "preventive", ConfinedSpace: true}
		got, err := Apply(o, ActionPermit, in, now, p)
		if err != nil {
			return
		}
		g := got.Permit.Readings
		if g.O2 == nil || g.LEL == nil || g.H2S == nil || g.CO == nil || got.Permit.IssuedBy == "" || got.Permit.Attendant == "" {
			t.Fatalf("permit recorded incomplete: %+v", got.Permit)
		}
		_, err = Apply(got, ActionStart, Input{By: "tech"}, now.Add(time.Minute), p)
		if (err == nil) != (len(g.Check()) == 0) {
			t.Fatalf("start %v with check %v", err, g.Check())
		}
	})
}
