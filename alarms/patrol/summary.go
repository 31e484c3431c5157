package patrol

import (
	"slices"
	"sort"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// Summary is what the patrol did over a period, for the monthly report to management (夜间巡查
// information): alerts by priority, how fast guards claimed them, how many escalated, and the
// night lighting checks with the dark circuits they found and ticked off.
type Summary struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Alerts counts the alerts raised in the period, ByPriority by priority (most urgent
	// first), Escalated those that went to the supervisor unclaimed.
	Alerts     int             `json:"alerts"`
	ByPriority []PriorityCount `json:"by_priority"`
	Escalated  int             `json:"escalated"`
	// Claimed counts the alerts a guard claimed; ClaimP50 and ClaimP90 are the median and
	// 90th percentile (nearest rank) of the time from the first send to the claim.
	Claimed  int           `json:"claimed"`
	ClaimP50 time.Duration `json:"claim_p50"`
	ClaimP90 time.Duration `json:"claim_p90"`
	// LightingChecks counts the nightly checks run; CircuitsFound the dark or failed circuits
	// they listed, CircuitsTicked those the patrol ticked off.
	LightingChecks int `json:"lighting_checks"`
	CircuitsFound  int `json:"circuits_found"`
	CircuitsTicked int `json:"circuits_ticked"`
}

// PriorityCount is one priority's alerts.
type PriorityCount struct {
	Priority  alarms.Priority `json:"priority"`
	Alerts    int             `json:"alerts"`
	Claimed   int             `json:"claimed"`
	Escalated int             `json:"escalated"`
}

// Summarize sums up the alerts created and the checklists made in [from, to).
func Summarize(alerts []Alert, checklists []Checklist, from, to time.Time) Summary {
	s := Summary{From: from, To: to}
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	byPrio := map[alarms.Priority]*PriorityCount{}
	var claims []time.Duration
	for _, a := range alerts {
		if !in(a.CreatedAt) {
			continue
		}
		s.Alerts++
		pc := byPrio[a.Priority]
		if pc == nil {
			pc = &PriorityCount{Priority: a.Priority}
			byPrio[a.Priority] = pc
		}
		pc.Alerts++
		if !a.EscalatedAt.IsZero() {
			s.Escalated++
			pc.Escalated++
		}
		if !a.ClaimedAt.IsZero() {
			s.Claimed++
			pc.Claimed++
			sent := a.SentAt
			if sent.IsZero() || sent.After(a.ClaimedAt) {
				sent = a.CreatedAt
			}
			claims = append(claims, a.ClaimedAt.Sub(sent))
		}
	}
	for _, pc := range byPrio {
		s.ByPriority = append(s.ByPriority, *pc)
	}
	sort.Slice(s.ByPriority, func(i, j int) bool { return s.ByPriority[i].Priority.Rank() < s.ByPriority[j].Priority.Rank() })
	slices.Sort(claims)
	s.ClaimP50, s.ClaimP90 = nearestRank(claims, 50), nearestRank(claims, 90)
	for _, c := range checklists {
		if !in(c.CreatedAt) {
			continue
		}
		s.LightingChecks++
		s.CircuitsFound += len(c.Items)
		for _, it := range c.Items {
			if it.Done {
				s.CircuitsTicked++
			}
		}
	}
	return s
}

// nearestRank is the p-th percentile of sorted values by the nearest-rank method, 0 for none.
func nearestRank(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n)
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// Summary reads the stored alerts and checklists and sums up [from, to).
func (s *Store) Summary(from, to time.Time) (Summary, error) {
	alerts, err := s.Alerts()
	if err != nil {
		return Summary{}, err
	}
	lists, err := s.Checklists()
	if err != nil {
		return Summary{}, err
	}
	return Summarize(alerts, lists, from, to), nil
}
