package patrol

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the patrol's Prometheus figures: what reached people, what did not, and how
// often the supervisor had to be called.
type Metrics struct {
	sent        *prometheus.CounterVec
	escalations prometheus.Counter
	claims      *prometheus.CounterVec
	selfTests   *prometheus.CounterVec
}

// NewMetrics registers the patrol's metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_patrol_messages_total",
			Help: "Patrol messages by channel and result (ok; error: will retry; failed: given up; merged into a summary; skipped: the alert was claimed before it went).",
		}, []string{"channel", "result"}),
		escalations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_patrol_escalations_total",
			Help: "Unclaimed alerts escalated to a supervisor or fallback.",
		}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_patrol_claims_total",
			Help: "Claims by result (ok, refused, invalid).",
		}, []string{"result"}),
		selfTests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_patrol_self_tests_total",
			Help: "Daily self-tests of the phone channels by channel and result (ok, failed).",
		}, []string{"channel", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.escalations, m.claims, m.selfTests)
	}
	return m
}
