package bacnet

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the BACnet source's counters on /metrics: what it costs the network (reads and
// subscriptions sent) against what it learns (notifications), so that the price of polling
// and the saving of COV can be read off (make bench).
type Metrics struct {
	cycles        *prometheus.CounterVec
	reads         prometheus.Counter
	subscriptions prometheus.Counter
	notifications prometheus.Counter
}

// NewMetrics registers the source's counters with reg; nil reg keeps them unregistered.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		cycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_bacnet_cycles_total",
			Help: "Intervals of BACnet devices, by result: ok (read), error (no answer), idle (nothing to send: every point kept by COV).",
		}, []string{"result"}),
		reads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_bacnet_reads_total", Help: "Reads sent to BACnet devices (each one ReadPropertyMultiple or more when split).",
		}),
		subscriptions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_bacnet_subscriptions_total", Help: "SubscribeCOV requests sent: first subscriptions, renewals and re-subscriptions.",
		}),
		notifications: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_bacnet_notifications_total", Help: "COV notifications taken from BACnet devices.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.cycles, m.reads, m.subscriptions, m.notifications)
	}
	return m
}
