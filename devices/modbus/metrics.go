package modbus

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/devices"
)

// Metrics are the driver's Prometheus figures. One set serves every Poller of a process.
type Metrics struct {
	polls      *prometheus.CounterVec
	missed     *prometheus.CounterVec
	offline    *prometheus.GaugeVec
	duration   *prometheus.HistogramVec
	connects   *prometheus.CounterVec
	dialErrors *prometheus.CounterVec
	badReplies *prometheus.CounterVec
}

// NewMetrics creates the driver's metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_modbus_polls_total", Help: "Polls of Modbus devices, by device and result (ok or error).",
		}, []string{"device", "result"}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_modbus_missed_polls_total", Help: "Poll slots skipped because an earlier poll on the same endpoint ran late.",
		}, []string{"device"}),
		offline: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "facilityd_modbus_device_offline", Help: "1 while a device has failed offline_after polls in a row.",
		}, []string{"device"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "facilityd_modbus_poll_duration_seconds", Help: "Time to poll one device, every request included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"kind"}),
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_modbus_connects_total", Help: "TCP connections opened to Modbus endpoints.",
		}, []string{"endpoint"}),
		dialErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_modbus_dial_errors_total", Help: "Failed connection attempts to Modbus endpoints.",
		}, []string{"endpoint"}),
		badReplies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facilityd_modbus_bad_replies_total", Help: "Replies whose register or bit count does not match the request; each is a communication error and a redial.",
		}, []string{"device"}),
	}
	if reg != nil {
		reg.MustRegister(m.polls, m.missed, m.offline, m.duration, m.connects, m.dialErrors, m.badReplies)
	}
	return m
}

type deviceMetrics struct {
	ok, errors, missed prometheus.Counter
	badReplies         prometheus.Counter
	offline            prometheus.Gauge
	duration           prometheus.Observer
}

func (m *Metrics) device(d *devices.Device) deviceMetrics {
	return deviceMetrics{
		ok:         m.polls.WithLabelValues(d.ID, "ok"),
		errors:     m.polls.WithLabelValues(d.ID, "error"),
		missed:     m.missed.WithLabelValues(d.ID),
		badReplies: m.badReplies.WithLabelValues(d.ID),
		offline:    m.offline.WithLabelValues(d.ID),
		duration:   m.duration.WithLabelValues(string(d.Kind)),
	}
}

// Forget removes a device's series, for a device a configuration reload took away: its
// offline gauge must not read 1 for ever.
func (m *Metrics) Forget(id string) {
	m.polls.DeletePartialMatch(prometheus.Labels{"device": id})
	m.missed.DeleteLabelValues(id)
	m.badReplies.DeleteLabelValues(id)
	m.offline.DeleteLabelValues(id)
}
