package patrol

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the patrol's Prometheus figures: what reached people, what did not, and how
// often the supervisor had to be called.
type Metrics struct {
	sent        *prometheus.CounterVec
	escalations prometheus.Counter
	claims      *prometheus.CounterVec
}

// NewMetrics registers the patrol's metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_patrol_messages_total",
			Help: "Patrol messages by channel and result (ok, error, dropped).",
		}, []string{"channel", "result"}),
		escalations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_patrol_escalations_total",
			Help: "Unclaimed alerts escalated to a supervisor or fallback.",
		}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_patrol_claims_total",
			Help: "Claims by result (ok, refused, invalid).",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.escalations, m.claims)
	}
	return m
}
