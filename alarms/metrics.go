package alarms

import "github.com/prometheus/client_golang/prometheus"

var (
	activeDesc = prometheus.NewDesc("facilityd_alarms_active", "Alarms whose condition is present, by priority and state.",
		[]string{"priority", "state"}, nil)
	unackedDesc = prometheus.NewDesc("facilityd_alarms_unacknowledged", "Alarms waiting for an acknowledgement (UNACK or RTNUN), by priority.",
		[]string{"priority"}, nil)
	shelvedDesc = prometheus.NewDesc("facilityd_alarms_shelved", "Alarms shelved by an operator.", nil, nil)
	droppedDesc = prometheus.NewDesc("facilityd_alarm_snapshots_dropped_total", "Snapshots the alarm engine dropped because its queue was full.", nil, nil)
)

// Collector exposes the engine's alarms to Prometheus, so that a dashboard shows standing
// alarms and an overloaded engine without reading the journal.
func (e *Engine) Collector() prometheus.Collector { return engineCollector{e} }

type engineCollector struct{ e *Engine }

func (c engineCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- activeDesc
	ch <- unackedDesc
	ch <- shelvedDesc
	ch <- droppedDesc
}

func (c engineCollector) Collect(ch chan<- prometheus.Metric) {
	type key struct {
		p Priority
		s State
	}
	active := map[key]int{}
	unacked := map[Priority]int{}
	shelved := 0
	c.e.mu.Lock()
	for _, st := range c.e.state {
		if st.Active {
			active[key{st.Priority, st.State}]++
		}
		if st.State == StateUnacknowledged || st.State == StateReturnedUnack {
			unacked[st.Priority]++
		}
		if st.Shelved {
			shelved++
		}
	}
	c.e.mu.Unlock()
	for _, p := range []Priority{PriorityCritical, PriorityHigh, PriorityMedium, PriorityLow} {
		for _, s := range []State{StateUnacknowledged, StateAcknowledged} {
			ch <- prometheus.MustNewConstMetric(activeDesc, prometheus.GaugeValue, float64(active[key{p, s}]), string(p), string(s))
		}
		ch <- prometheus.MustNewConstMetric(unackedDesc, prometheus.GaugeValue, float64(unacked[p]), string(p))
	}
	ch <- prometheus.MustNewConstMetric(shelvedDesc, prometheus.GaugeValue, float64(shelved))
	ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(c.e.Dropped()))
}
