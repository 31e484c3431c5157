package northbound

import (
	"context"
	"log/slog"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// Publisher is what the telemetry publisher needs of an MQTT session; *Client is one.
type Publisher interface {
	Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error
}

// Payload is the JSON published on facility/{site}/telemetry/{device} for every snapshot:
//
//	{"device":"P-1","kind":"pump","building":"B1","zone":"north",
//	 "time":"2026-11-26T21:00:00.123Z","comm":"online",
//	 "values":{"pressure":3.21,"running":true,"state":2},
//	 "labels":{"state":"running"},
//	 "bad":{"flow":"bad"},"error":"..."}
//
// values holds every point of good quality by name (bool, number, integer enum code or
// string); labels the enum labels; bad the points whose quality is bad or comm_fail; error
// the snapshot's error, if any. An offline device has comm "offline" and every point in bad.
type Payload struct {
	Device   string                     `json:"device"`
	Kind     devices.Kind               `json:"kind"`
	Building string                     `json:"building,omitempty"`
	Zone     string                     `json:"zone,omitempty"`
	Time     time.Time                  `json:"time"`
	Comm     devices.Comm               `json:"comm"`
	Values   map[string]any             `json:"values"`
	Labels   map[string]string          `json:"labels,omitempty"`
	Bad      map[string]devices.Quality `json:"bad,omitempty"`
	Error    string                     `json:"error,omitempty"`
}

// NewPayload is the northbound form of a snapshot.
func NewPayload(s *devices.Snapshot) Payload {
	d := s.Device
	p := Payload{Device: d.ID, Kind: d.Kind, Building: d.Building, Zone: d.Zone, Time: s.Time.UTC(), Comm: s.Comm, Values: map[string]any{}}
	if s.Err != nil {
		p.Error = s.Err.Error()
	}
	for i, v := range s.Values {
		if i >= len(d.Profile.Points) {
			break
		}
		pt := &d.Profile.Points[i]
		if v.Quality != devices.QualityGood {
			if p.Bad == nil {
				p.Bad = map[string]devices.Quality{}
			}
			p.Bad[pt.Name] = v.Quality
			continue
		}
		p.Values[pt.Name] = pt.Typed(v)
		if l := pt.Label(v); l != "" {
			if p.Labels == nil {
				p.Labels = map[string]string{}
			}
			p.Labels[pt.Name] = l
		}
	}
	return p
}

// TelemetryOptions tune the telemetry publisher.
type TelemetryOptions struct {
	// QueueSize bounds the snapshots waiting to be published (default 1000); when it is full
	// snapshots are dropped and counted, so a slow broker never holds up polling.
	QueueSize int
	// QoS of telemetry messages (default 0: the next poll supersedes a lost one).
	QoS byte
	// Timeout bounds one publish (default 5s).
	Timeout time.Duration
	Logger  *slog.Logger
	Metrics *Metrics
}

// Telemetry publishes every snapshot it is given to the device's telemetry topic.
type Telemetry struct {
	pub   Publisher
	opts  TelemetryOptions
	queue chan *devices.Snapshot
	log   *slog.Logger
	m     *Metrics
}

// NewTelemetry prepares a publisher; Run publishes.
func NewTelemetry(pub Publisher, opts TelemetryOptions) *Telemetry {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	return &Telemetry{pub: pub, opts: opts, queue: make(chan *devices.Snapshot, opts.QueueSize), log: opts.Logger, m: opts.Metrics}
}

// Enqueue hands a snapshot over without blocking; a full queue drops it and counts the drop.
// It must not be called after Close.
func (t *Telemetry) Enqueue(s *devices.Snapshot) {
	select {
	case t.queue <- s:
	default:
		t.m.dropped.Inc()
	}
}

// Close ends the input: Run publishes what is queued and returns.
func (t *Telemetry) Close() { close(t.queue) }

// Run publishes queued snapshots until Close has been called and the queue is drained, or ctx
// ends.
func (t *Telemetry) Run(ctx context.Context) error {
	var lastErr time.Time
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return nil
		case s, ok := <-t.queue:
			if !ok {
				return nil
			}
			if s.Device == nil || s.Device.Profile == nil {
				continue
			}
			// paho keeps the payload until the message is sent: a fresh slice each time, sized
			// from the last one.
			buf = AppendPayload(make([]byte, 0, cap(buf)), s)
			body := buf
			pctx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
			err := t.pub.Publish(pctx, TelemetryTopic(s.Device.Site, s.Device.ID), t.opts.QoS, false, body)
			cancel()
			if err != nil && time.Since(lastErr) > time.Minute {
				t.log.Warn("telemetry not published (logged once a minute)", "device", s.Device.ID, "err", err)
				lastErr = time.Now()
			}
		}
	}
}
