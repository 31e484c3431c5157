package northbound

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the MQTT session's and the telemetry publisher's Prometheus figures.
type Metrics struct {
	in, out        prometheus.Counter
	publishErrors  prometheus.Counter
	dropped        prometheus.Counter
	unchanged      prometheus.Counter
	connected      prometheus.Gauge
	connects, lost prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		in: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_mqtt_messages_in_total", Help: "Messages received on the gateway's MQTT session.",
		}),
		out: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_mqtt_messages_out_total", Help: "Messages the gateway published (handed to the session; QoS 1 ones are acknowledged).",
		}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_mqtt_publish_errors_total", Help: "Publishes that failed or timed out.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_mqtt_telemetry_dropped_total", Help: "Snapshots not published northbound because the queue was full (polling is never held up).",
		}),
		unchanged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_mqtt_telemetry_unchanged_total", Help: "Snapshots not published northbound because nothing changed beyond the deadbands since the last one (report by exception).",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "facilityd_mqtt_connected", Help: "1 while the gateway's MQTT session is connected.",
		}),
		connects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_mqtt_connects_total", Help: "Connections (first and reconnections) of the gateway's MQTT session.",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "facilityd_mqtt_connections_lost_total", Help: "Times the gateway's MQTT session lost its connection.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.in, m.out, m.publishErrors, m.dropped, m.unchanged, m.connected, m.connects, m.lost)
	}
	return m
}
