package workorders

import (
	"math"
	"sort"
	"time"
)

// ZoneRow is one zone's month in the zone comparison (对各片区公共设施维护状况进行评比): its
// orders, how many of them met each deadline, its rework, preventive-maintenance compliance
// and follow-up satisfaction, and its Score and Rank among the zones (ZoneScore). Public jobs
// and household repairs are compared in two tables: a zone's household repairs say how its
// team serves homes, its public jobs how it keeps the estate's plant. Complaints are counted
// apart (Complaints, in the household table) and enter no rate.
type ZoneRow struct {
	Zone   string `json:"zone"`
	Orders int    `json:"orders"`
	// AcceptDue counts the orders accepted or past their time to accept, AcceptOnTime those
	// accepted in time; Arrivals those with an arrival deadline reached or missed,
	// ArriveOnTime those on site in time; CompleteDue those resolved or past their time to
	// complete, CompleteOnTime those resolved in time. An order left untouched past its
	// deadline counts against the zone.
	AcceptDue      int `json:"accept_due"`
	AcceptOnTime   int `json:"accept_on_time"`
	Arrivals       int `json:"arrivals"`
	ArriveOnTime   int `json:"arrive_on_time"`
	CompleteDue    int `json:"complete_due"`
	CompleteOnTime int `json:"complete_on_time"`
	// Resolved counts the repairs resolved: the rework share counts once there is one.
	Resolved int `json:"resolved"`
	// Repairs and the rework among them.
	Repairs int `json:"repairs"`
	Rework  int `json:"rework"`
	// PMDue counts the preventive jobs whose time has come (done, or past their last
	// on-time day, or cancelled); PMOnTime those done on time.
	PMDue    int `json:"pm_due"`
	PMOnTime int `json:"pm_on_time"`
	// FollowUps and Satisfied are the first level's calls in the period about the zone's
	// orders.
	FollowUps  int `json:"follow_ups"`
	Satisfied  int `json:"satisfied"`
	Complaints int `json:"complaints"`
	// Score is ZoneScore, 0-100, or -1 when the zone has nothing yet to score; Rank is 1 for
	// the best, zones of equal score sharing a rank, 0 when unscored.
	Score float64 `json:"score"`
	Rank  int     `json:"rank"`
}

// Zone-rank weights, ours: the plans ask zones to be rated against each other but give no
// formula. Completion within the time-limit table weighs most because it is what the plans
// hold the responsible person to (责任人在接单后必须在规定的时限内完成); preventive compliance
// next, as the plans put maintenance before repair (以保养代修); acceptance and arrival are the
// response residents see; rework is the quality of the repair; satisfaction weighs least in
// this comparison because alarm-raised and planned jobs have no call, so a handful of calls
// would otherwise decide a zone's place.
const (
	weightAccept   = 0.15
	weightArrive   = 0.15
	weightComplete = 0.25
	weightRework   = 0.15
	weightPM       = 0.20
	weightSatisfy  = 0.10
)

// ZoneScore is the zone's score, 0-100: the weighted mean of its on-time acceptance, on-time
// arrival, on-time completion, repairs without rework (1 - rework rate, once a repair is
// resolved), preventive jobs done on time and satisfied calls, each a share 0-1. A share with
// nothing to count (no preventive job due, no call) is left out and the other weights scaled up, so a zone is
// neither helped nor hurt by what it had none of. -1: nothing at all to count.
func (z ZoneRow) ZoneScore() float64 {
	var sum, weights float64
	add := func(w float64, n, of int) {
		if of > 0 {
			sum += w * float64(n) / float64(of)
			weights += w
		}
	}
	add(weightAccept, z.AcceptOnTime, z.AcceptDue)
	add(weightArrive, z.ArriveOnTime, z.Arrivals)
	add(weightComplete, z.CompleteOnTime, z.CompleteDue)
	if z.Resolved > 0 {
		add(weightRework, z.Repairs-z.Rework, z.Repairs)
	}
	add(weightPM, z.PMOnTime, z.PMDue)
	add(weightSatisfy, z.Satisfied, z.FollowUps)
	if weights == 0 {
		return -1
	}
	return math.Round(1000*sum/weights) / 10
}

// zone is the row o counts in: its zone's household or public row.
func (t *tally) zone(o *Order) *ZoneRow {
	m := t.public
	if o.Category == CategoryHousehold || o.Category == CategoryComplaint {
		m = t.household
	}
	name := orNone(o.Zone)
	z := m[name]
	if z == nil {
		z = &ZoneRow{Zone: name}
		m[name] = z
	}
	return z
}

// add counts an order created in the period into the zone's row, as the report's headline
// counts it (tally.repair and tally.preventive).
func (z *ZoneRow) add(o *Order, now time.Time) {
	if o.Category == CategoryComplaint {
		z.Complaints++
		return
	}
	z.Orders++
	if o.Source == SourcePreventive {
		switch {
		case o.State.Done():
			z.PMDue++
			if !o.ResolvedAt.After(o.DueBy) {
				z.PMOnTime++
			}
		case o.State == StateCancelled || now.After(o.DueBy):
			z.PMDue++
		}
		return
	}
	z.Repairs++
	if o.Reworked() {
		z.Rework++
	}
	if !o.ArriveBy.IsZero() && (!o.ArrivedAt.IsZero() || o.ArriveBreached) {
		z.Arrivals++
		if !o.ArriveBreached {
			z.ArriveOnTime++
		}
	}
	if !o.AcceptedAt.IsZero() || o.AcceptBreached {
		z.AcceptDue++
		if !o.AcceptBreached {
			z.AcceptOnTime++
		}
	}
	if o.State.Done() || o.CompleteBreached {
		z.CompleteDue++
		if !o.CompleteBreached {
			z.CompleteOnTime++
		}
	}
	if o.State.Done() {
		z.Resolved++
	}
}

// ranked scores the rows and orders them best first; equal scores share a rank (1, 1, 3)
// and are listed by name; unscored rows come last, unranked.
func ranked(m map[string]*ZoneRow) []ZoneRow {
	out := make([]ZoneRow, 0, len(m))
	for _, z := range m {
		z.Score = z.ZoneScore()
		out = append(out, *z)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Zone < out[j].Zone
	})
	for i := range out {
		switch {
		case out[i].Score < 0:
			out[i].Rank = 0
		case i > 0 && out[i].Score == out[i-1].Score:
			out[i].Rank = out[i-1].Rank
		default:
			out[i].Rank = i + 1
		}
	}
	return out
}
