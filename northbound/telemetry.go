package northbound

import (
	"context"
	"log/slog"
	"math"
	"sync"
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
	// MaxInterval is the longest a device goes unpublished while nothing changes: the
	// heartbeat that tells a subscriber the values still hold (default 60s).
	MaxInterval time.Duration
	// Deadband is the relative band within which a number's change is not published, for
	// profiles and points that give none (default 0.005, half a percent; 0 publishes every
	// change).
	Deadband *float64
	Logger   *slog.Logger
	Metrics  *Metrics
}

// DefaultDeadband is the relative band of TelemetryOptions.Deadband when none is given.
const DefaultDeadband = 0.005

// Telemetry publishes a device's snapshot to its telemetry topic by exception, as Sparkplug B
// does (birth, data by exception, death), in JSON on facilityd's topics: the first snapshot of
// a device (its birth), then only when a point changes beyond its deadband, a quality or the
// device's comm changes (its death is comm "offline"), or MaxInterval has passed (the
// heartbeat). Republish sends every device's latest snapshot at once, on (re)connection and on
// request. A poll that changed nothing costs a comparison and no message.
type Telemetry struct {
	pub   Publisher
	opts  TelemetryOptions
	queue chan *devices.Snapshot
	log   *slog.Logger
	m     *Metrics

	mu     sync.RWMutex
	state  map[string]*published // by device id
	closed bool                  // the queue is closed
}

// published is what was last published of one device, and its latest snapshot. Lock order:
// published.mu before Telemetry.mu.
type published struct {
	mu     sync.Mutex
	last   *devices.Snapshot // last published
	at     time.Time         // when, by the snapshot's time
	latest *devices.Snapshot
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
	if opts.MaxInterval <= 0 {
		opts.MaxInterval = time.Minute
	}
	if opts.Deadband == nil {
		d := DefaultDeadband
		opts.Deadband = &d
	}
	return &Telemetry{pub: pub, opts: opts, queue: make(chan *devices.Snapshot, opts.QueueSize), log: opts.Logger, m: opts.Metrics,
		state: map[string]*published{}}
}

// Enqueue hands a snapshot over without blocking when it is to be published (see Telemetry);
// a full queue drops it and counts the drop, and the next snapshot of the device is then
// published whatever it holds. It must not be called after Close.
func (t *Telemetry) Enqueue(s *devices.Snapshot) {
	if s == nil || s.Device == nil || s.Device.Profile == nil {
		return
	}
	st := t.stateOf(s.Device.ID)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.latest = s
	if st.last != nil && s.Time.Sub(st.at) < t.opts.MaxInterval && !t.changed(st.last, s) {
		t.m.unchanged.Inc()
		return
	}
	if t.put(s) {
		st.last, st.at = s, s.Time
	} else {
		st.last = nil
	}
}

// Republish publishes the latest snapshot of the device id, or of every device when id is
// empty, whatever changed: a subscriber that just connected, or asked, gets the whole picture.
func (t *Telemetry) Republish(id string) {
	t.mu.RLock()
	var states []*published
	for dev, st := range t.state {
		if id == "" || dev == id {
			states = append(states, st)
		}
	}
	t.mu.RUnlock()
	for _, st := range states {
		st.mu.Lock()
		if s := st.latest; s != nil {
			if t.put(s) {
				st.last, st.at = s, s.Time
			}
		}
		st.mu.Unlock()
	}
}

func (t *Telemetry) put(s *devices.Snapshot) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return false // a reconnection or a request during the stop
	}
	select {
	case t.queue <- s:
		return true
	default:
		t.m.dropped.Inc()
		return false
	}
}

func (t *Telemetry) stateOf(id string) *published {
	t.mu.RLock()
	st := t.state[id]
	t.mu.RUnlock()
	if st != nil {
		return st
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if st = t.state[id]; st == nil {
		st = &published{}
		t.state[id] = st
	}
	return st
}

// changed reports whether s differs from the last published snapshot beyond the deadbands.
func (t *Telemetry) changed(last, s *devices.Snapshot) bool {
	if last.Device.Profile != s.Device.Profile || len(last.Values) != len(s.Values) || last.Comm != s.Comm {
		return true
	}
	prof := s.Device.Profile
	rel := *t.opts.Deadband
	if prof.Deadband != nil {
		rel = *prof.Deadband
	}
	for i, v := range s.Values {
		was := last.Values[i]
		if v.Quality != was.Quality || v.Text != was.Text {
			return true
		}
		if v.Number == was.Number || v.Quality != devices.QualityGood {
			continue
		}
		pt := &prof.Points[i]
		if pt.IsBool() || pt.Type == devices.TypeEnum || pt.Type == devices.TypeString {
			return true
		}
		band := rel * math.Abs(was.Number)
		if pt.Deadband != nil {
			band = *pt.Deadband
		}
		// NaN never equals itself: a NaN on either side is a change.
		if !(math.Abs(v.Number-was.Number) <= band) {
			return true
		}
	}
	return false
}

// Close ends the input: Run publishes what is queued and returns. Enqueue and Republish after
// it publish nothing.
func (t *Telemetry) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		t.closed = true
		close(t.queue)
	}
}

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
			var err error
			if _, local := t.pub.(*Broker); local {
				// The embedded broker publishes in the call and never waits on the network.
				err = t.pub.Publish(ctx, TelemetryTopic(s.Device.Site, s.Device.ID), t.opts.QoS, false, body)
			} else {
				pctx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
				err = t.pub.Publish(pctx, TelemetryTopic(s.Device.Site, s.Device.ID), t.opts.QoS, false, body)
				cancel()
			}
			if err != nil && time.Since(lastErr) > time.Minute {
				t.log.Warn("telemetry not published (logged once a minute)", "device", s.Device.ID, "err", err)
				lastErr = time.Now()
			}
		}
	}
}
