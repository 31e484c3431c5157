package workorders

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSurveySample: the seeded draw is the same on every call, takes the number asked, and
// draws other homes for another survey.
func TestSurveySample(t *testing.T) {
	var homes []string
	for i := 1; i <= 400; i++ {
		homes = append(homes, fmt.Sprintf("%d-1-%02d01", i/20+1, i%20+1))
	}
	a := SurveySample("estate", "2026-H1-opinion", homes, 100)
	again := SurveySample("estate", "2026-H1-opinion", homes, 100)
	b := SurveySample("estate", "2026-H2-opinion", homes, 100)
	if len(a) != 100 || strings.Join(a, ",") != strings.Join(again, ",") {
		t.Fatalf("sample of %d, or not the same twice", len(a))
	}
	if strings.Join(a, ",") == strings.Join(b, ",") {
		t.Fatal("the second half-year asks the same homes")
	}
	if small := SurveySample("estate", "2026-satisfaction", homes[:30], 100); len(small) != 30 {
		t.Fatalf("a small estate: %d of 30 homes asked, want all", len(small))
	}
}

// TestSurveys: the half-yearly opinion survey and the year-end satisfaction survey over a
// sample of homes; answers recorded once per home of the sample; the year's summary gives the
// owners' overall satisfaction against the plans' 80% beside the per-call satisfaction.
func TestSurveys(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, time.Date(2026, 6, 15, 10, 0, 0, 0, shanghai), func(c *Config) {
		for i := 1; i <= 12; i++ {
			c.Homes = append(c.Homes, Home{Home: fmt.Sprintf("3-1-%02d02", i), Zone: "north"})
		}
		c.SurveySample = 10
	})
	if _, err := r.m.StartSurvey(ctx, SurveyRequest{Kind: SurveyOpinion, Year: 2026, By: "cs-liu"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "half 1 or 2") {
		t.Fatalf("an opinion survey without its half: %v", err)
	}
	op, err := r.m.StartSurvey(ctx, SurveyRequest{Kind: SurveyOpinion, Year: 2026, Half: 1, By: "cs-liu"})
	if err != nil || op.ID != "2026-H1-opinion" || len(op.Sample) != 10 {
		t.Fatalf("opinion survey: %+v %v", op, err)
	}
	if _, err := r.m.StartSurvey(ctx, SurveyRequest{Kind: SurveyOpinion, Year: 2026, Half: 1, By: "cs-liu"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "started already") {
		t.Fatalf("the same survey twice: %v", err)
	}
	if _, err := r.m.AnswerSurvey(ctx, op.ID, SurveyAnswer{Home: op.Sample[0], Opinion: "more lights in the car park", By: "cs-liu"}); err != nil {
		t.Fatal(err)
	}
	r.clock.Set(time.Date(2026, 12, 20, 10, 0, 0, 0, shanghai))
	sat, err := r.m.StartSurvey(ctx, SurveyRequest{Kind: SurveySatisfaction, Year: 2026, By: "cs-liu"})
	if err != nil {
		t.Fatal(err)
	}
	var outside string
	for _, h := range []string{"3-1-0102", "3-1-0202", "3-1-0302", "3-1-0402", "3-1-0502", "3-1-0602", "3-1-0702", "3-1-0802", "3-1-0902", "3-1-1002", "3-1-1102", "3-1-1202"} {
		found := false
		for _, s := range sat.Sample {
			found = found || s == h
		}
		if !found {
			outside = h
		}
	}
	tests := []struct {
		name    string
		a       SurveyAnswer
		wantErr string
	}{
		{"a home outside the sample", SurveyAnswer{Home: outside, Satisfied: &yes, By: "cs-liu"}, "not in its sample"},
		{"no answer to the question", SurveyAnswer{Home: sat.Sample[0], Opinion: "fine", By: "cs-liu"}, "satisfied: true or false"},
	}
	for _, tc := range tests {
		if _, err := r.m.AnswerSurvey(ctx, sat.ID, tc.a); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Fatalf("%s: %v, want %q", tc.name, err, tc.wantErr)
		}
	}
	// 7 of the 9 who answer are satisfied: 77.8%, short of the plans' 80%.
	for i, h := range sat.Sample[:9] {
		ok := i < 7
		if _, err := r.m.AnswerSurvey(ctx, sat.ID, SurveyAnswer{Home: h, Satisfied: &ok, By: "cs-liu"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.m.AnswerSurvey(ctx, sat.ID, SurveyAnswer{Home: sat.Sample[0], Satisfied: &yes, By: "cs-liu"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "answered already") {
		t.Fatalf("a second answer from one home: %v", err)
	}
	// The year's per-call satisfaction is another figure: one call, satisfied.
	o, _ := r.m.Raise(ctx, RaiseRequest{Zone: "north", Location: "3-1-0102", Title: "tap leaks", By: "cs-liu"})
	for _, a := range []Action{ActionAccept, ActionStart, ActionResolve} {
		r.do(t, o.ID, a, Input{})
	}
	r.do(t, o.ID, ActionFollowUp, Input{By: "cs-liu", Points: points(yes, yes, yes)})
	sum, err := r.m.YearSummary(ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Opinion) != 1 || sum.Opinion[0].Answered != 1 || len(sum.Opinion[0].Opinions) != 1 ||
		sum.Satisfaction == nil || sum.Satisfaction.Sampled != 10 || sum.Satisfaction.Rated != 9 || sum.Satisfaction.Satisfied != 7 {
		t.Fatalf("summary %+v", sum)
	}
	if sum.Qualifies || sum.OwnersTarget != 0.8 || fmt.Sprintf("%.3f", sum.OwnersSatisfaction) != "0.778" || sum.Calls != 1 || sum.CallsSatisfied != 1 {
		t.Fatalf("owners' satisfaction %.3f (qualifies %v) beside calls %d/%d", sum.OwnersSatisfaction, sum.Qualifies, sum.CallsSatisfied, sum.Calls)
	}
	if next, _ := r.m.YearSummary(ctx, 2027); next.Satisfaction != nil || len(next.Opinion) != 0 || next.Calls != 0 {
		t.Fatalf("2027 shows 2026's surveys: %+v", next)
	}
}

// TestStoreSurveys: a survey on SQLite and PostgreSQL keeps its answers, refuses a stale
// update and a second start.
func TestStoreSurveys(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s1, s2 := b.open(t)
			sv := &Survey{ID: "2026-satisfaction", Kind: SurveySatisfaction, Year: 2026, Sample: []string{"3-1-1802"}, Answers: []SurveyAnswer{}}
			if err := s1.AddSurvey(ctx, sv); err != nil {
				t.Fatal(err)
			}
			if err := s2.AddSurvey(ctx, &Survey{ID: "2026-satisfaction"}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("a second start: %v", err)
			}
			got, err := s2.GetSurvey(ctx, sv.ID)
			if err != nil {
				t.Fatal(err)
			}
			stale := *got
			got.Answers = append(got.Answers, SurveyAnswer{Home: "3-1-1802", Satisfied: &yes, By: "cs-liu"})
			if err := s2.UpdateSurvey(ctx, got); err != nil {
				t.Fatal(err)
			}
			if err := s1.UpdateSurvey(ctx, &stale); !errors.Is(err, ErrConflict) {
				t.Fatalf("a stale update: %v", err)
			}
			if back, _ := s1.GetSurvey(ctx, sv.ID); len(back.Answers) != 1 || back.Version != 2 {
				t.Fatalf("stored %+v", back)
			}
			if _, err := s1.GetSurvey(ctx, "2026-H3-opinion"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("an unknown survey: %v", err)
			}
		})
	}
}
