package api

import (
	"math"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/workorders"
)

// RepairReadings is where GET of an alarm-raised repair awaiting the supervisor's verification
// finds the device's readings since the repair: the live rings the console charts (the last
// hour, without InfluxDB). Nil fields show none.
type RepairReadings struct {
	Latest *devices.Latest
	Rings  *devices.History
}

// RepairSamples is the most samples shown per point beside a verification: the newest value
// and the shape since the repair, small enough for a phone (thinned evenly when the ring holds
// more).
const RepairSamples = 60

// OrderView is GET /api/v1/workorders/{id}: the order, and for an equipment repair awaiting
// the supervisor's verification that it does (so the console offers verify, not a follow-up
// call) and the device's readings since it was resolved.
type OrderView struct {
	*workorders.Order
	AwaitsVerification bool         `json:"awaits_verification,omitempty"`
	SinceRepair        *SinceRepair `json:"readings_since_repair,omitempty"`
}

// SinceRepair is a device's readings since a repair, point by point. From is the oldest sample
// shown: later than the resolution when the rings no longer reach back to it (Note says so).
type SinceRepair struct {
	Device string         `json:"device"`
	Since  time.Time      `json:"since"`
	From   time.Time      `json:"from,omitzero"`
	Source string         `json:"source"`
	Note   string         `json:"note,omitempty"`
	Points []RepairSeries `json:"points"`
}

// RepairSeries is one point's samples, [unix ms, value] with null for a gap, oldest first.
type RepairSeries struct {
	Point  string   `json:"point"`
	Unit   string   `json:"unit,omitempty"`
	Values [][2]any `json:"values"`
}

// view wraps o with its readings since the repair when it awaits verification.
func (rr *RepairReadings) view(o *workorders.Order) OrderView {
	v := OrderView{Order: o, AwaitsVerification: o.AwaitsVerification()}
	if rr == nil || rr.Latest == nil || rr.Rings == nil || !o.AwaitsVerification() || o.Device == "" {
		return v
	}
	st, ok := rr.Latest.Get(o.Device)
	if !ok || st.Device.Profile == nil {
		return v
	}
	out := &SinceRepair{Device: o.Device, Since: o.ResolvedAt, Source: "live", Points: []RepairSeries{}}
	var oldest int64
	for _, p := range st.Device.Profile.Points {
		if p.Type == devices.TypeString {
			continue
		}
		samples, _ := rr.Rings.Since(o.Device, p.Name, o.ResolvedAt)
		if len(samples) == 0 {
			continue
		}
		if oldest == 0 || samples[0].Time < oldest {
			oldest = samples[0].Time
		}
		s := RepairSeries{Point: p.Name, Unit: p.Unit, Values: make([][2]any, 0, min(len(samples), RepairSamples))}
		for _, x := range thin(samples, RepairSamples) {
			var val any = x.Value
			if math.IsNaN(x.Value) {
				val = nil
			}
			s.Values = append(s.Values, [2]any{x.Time, val})
		}
		out.Points = append(out.Points, s)
	}
	switch {
	case len(out.Points) == 0:
		out.Note = "no readings in the live cache since the repair (it keeps the last hour)"
	case time.UnixMilli(oldest).Sub(o.ResolvedAt) > time.Minute:
		out.From = time.UnixMilli(oldest)
		out.Note = "the live cache keeps the last hour: readings from " + out.From.Format(time.RFC3339) + "; GET /api/v1/devices/" + o.Device + "/history reads InfluxDB"
	default:
		out.From = time.UnixMilli(oldest)
	}
	v.SinceRepair = out
	return v
}

// thin keeps at most n samples spread evenly, the newest always among them.
func thin(s []devices.Sample, n int) []devices.Sample {
	if len(s) <= n {
		return s
	}
	out := make([]devices.Sample, 0, n)
	for i := range n {
		out = append(out, s[(len(s)-1)-(n-1-i)*(len(s)-1)/(n-1)])
	}
	return out
}
