package mqtt

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/devices"
)

// Metrics are the driver's Prometheus figures. One set serves every Listener of a process.
type Metrics struct {
	messages *prometheus.CounterVec
	bad      *prometheus.CounterVec
	dropped  *prometheus.CounterVec
	future   *prometheus.CounterVec
	offline  *prometheus.GaugeVec
}

// NewMetrics creates the driver's metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_mqtt_device_messages_total", Help: "Payloads received from MQTT devices, good or bad.",
		}, []string{"device"}),
		bad: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_mqtt_device_malformed_total",
			Help: "Payloads of MQTT devices that could not be read: reason json (not a JSON object), oversize (over mqtt.max_payload), wrong_type (a point of the wrong JSON type or missing).",
		}, []string{"device", "reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_mqtt_device_dropped_total", Help: "Payloads of MQTT devices dropped because the decoding queue was full.",
		}, []string{"device"}),
		future: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_mqtt_device_future_time_total",
			Help: "Payload times of MQTT devices more than mqtt.max_clock_skew ahead of the time received: refused, the reading keeps the time received.",
		}, []string{"device"}),
		offline: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "facilityd_mqtt_device_offline", Help: "1 while an MQTT device is silent past its stale time or its status topic says offline.",
		}, []string{"device"}),
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.bad, m.dropped, m.future, m.offline)
	}
	return m
}

type deviceMetrics struct {
	messages, malformed, oversize, wrongType, dropped, futureTime prometheus.Counter
	offline                                                       prometheus.Gauge
}

func (m *Metrics) device(d *devices.Device) deviceMetrics {
	return deviceMetrics{
		messages:   m.messages.WithLabelValues(d.ID),
		malformed:  m.bad.WithLabelValues(d.ID, "json"),
		oversize:   m.bad.WithLabelValues(d.ID, "oversize"),
		wrongType:  m.bad.WithLabelValues(d.ID, "wrong_type"),
		dropped:    m.dropped.WithLabelValues(d.ID),
		futureTime: m.future.WithLabelValues(d.ID),
		offline:    m.offline.WithLabelValues(d.ID),
	}
}
