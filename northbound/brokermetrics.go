package northbound

import "github.com/prometheus/client_golang/prometheus"

// BrokerMetrics are the embedded broker's Prometheus figures: what it refused, and whether it
// accepts connections, so that an attack or an exhausted process shows on a dashboard.
type BrokerMetrics struct {
	connectsRefused  *prometheus.CounterVec
	publishesRefused prometheus.Counter
	dropped          *prometheus.CounterVec
	acceptErrors     prometheus.Counter
	accepting        prometheus.Gauge
}

// NewBrokerMetrics creates the metrics and registers them with reg (nil: not registered).
func NewBrokerMetrics(reg prometheus.Registerer) *BrokerMetrics {
	m := &BrokerMetrics{
		connectsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_broker_connects_refused_total", Help: "CONNECTs the embedded broker refused, by reason: credentials, will (a last will the account may not publish), client_id (another account's session).",
		}, []string{"reason"}),
		publishesRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_broker_publishes_refused_total", Help: "PUBLISHes the embedded broker refused (the connection was closed).",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_broker_connections_dropped_total", Help: "Connections the embedded broker closed before a CONNECT, by reason: limit (mqtt.embedded.max_clients or too many awaiting CONNECT), connect_timeout, malformed, too_large.",
		}, []string{"reason"}),
		acceptErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_broker_accept_errors_total", Help: "Errors accepting a connection (e.g. out of file descriptors); the broker backs off and goes on.",
		}),
		accepting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "facilityd_broker_accepting", Help: "1 while the embedded broker accepts connections.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.connectsRefused, m.publishesRefused, m.dropped, m.acceptErrors, m.accepting)
	}
	return m
}
