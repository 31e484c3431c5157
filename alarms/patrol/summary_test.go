package patrol

import (
	"fmt"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// TestSummarize: a month of patrol records becomes the report's patrol section: alerts by
// priority, claim times at the median and 90th percentile, escalations, lighting checks.
func TestSummarize(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai)
	to := from.AddDate(0, 1, 0)
	var alerts []Alert
	// Ten high alerts claimed after 1..10 minutes; one critical escalated and never claimed;
	// one alert of October, outside the month.
	for i := 1; i <= 10; i++ {
		at := from.Add(time.Duration(i) * time.Hour)
		alerts = append(alerts, Alert{ID: fmt.Sprint("A", i), Priority: alarms.PriorityHigh, CreatedAt: at, SentAt: at, ClaimedAt: at.Add(time.Duration(i) * time.Minute)})
	}
	esc := from.Add(48 * time.Hour)
	alerts = append(alerts,
		Alert{ID: "A11", Priority: alarms.PriorityCritical, CreatedAt: esc, SentAt: esc, EscalatedAt: esc.Add(time.Minute)},
		Alert{ID: "A0", Priority: alarms.PriorityHigh, CreatedAt: from.Add(-time.Hour), SentAt: from.Add(-time.Hour), EscalatedAt: from})
	lists := []Checklist{
		{ID: "lighting/estate/2026-11-02", CreatedAt: from.Add(42 * time.Hour), Items: []ChecklistItem{{ID: "LP-1:05", Done: true}, {ID: "LP-1:11"}}},
		{ID: "lighting/estate/2026-11-03", CreatedAt: from.Add(66 * time.Hour)},
		{ID: "lighting/estate/2026-10-31", CreatedAt: from.Add(-6 * time.Hour), Items: []ChecklistItem{{ID: "LP-1:05"}}},
	}
	s := Summarize(alerts, lists, from, to)
	if s.Alerts != 11 || s.Escalated != 1 || s.Claimed != 10 {
		t.Fatalf("alerts %d escalated %d claimed %d, want 11, 1, 10", s.Alerts, s.Escalated, s.Claimed)
	}
	if s.ClaimP50 != 5*time.Minute || s.ClaimP90 != 9*time.Minute {
		t.Fatalf("time to claim p50 %v p90 %v, want 5m and 9m", s.ClaimP50, s.ClaimP90)
	}
	if len(s.ByPriority) != 2 || s.ByPriority[0] != (PriorityCount{alarms.PriorityCritical, 1, 0, 1}) || s.ByPriority[1] != (PriorityCount{alarms.PriorityHigh, 10, 10, 0}) {
		t.Fatalf("by priority %+v", s.ByPriority)
	}
	if s.LightingChecks != 2 || s.CircuitsFound != 2 || s.CircuitsTicked != 1 {
		t.Fatalf("lighting: %d checks, %d found, %d ticked; want 2, 2, 1", s.LightingChecks, s.CircuitsFound, s.CircuitsTicked)
	}
	if empty := Summarize(nil, nil, from, to); empty.ClaimP50 != 0 || empty.Alerts != 0 {
		t.Fatalf("an empty month: %+v", empty)
	}
}
