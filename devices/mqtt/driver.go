// Package mqtt listens to devices that publish their readings over MQTT instead of answering
// polls: lighting controllers, fire-panel bridges, smart plugs, Zigbee bridges. Each device's
// profile locates its points by JSON path in the payload on the device's topic, or on a topic
// of their own with a plain value. The driver hands devices.Snapshots to a devices.Handler
// exactly as devices/modbus does, so the rest of facilityd cannot tell the two apart: every
// message gives a snapshot with the latest value of every point; a device none of whose topics
// talks for its stale time, or whose status topic (often its last will) says offline, is
// CommOffline with every point QualityCommFail.
//
// The driver does not own the MQTT session: it subscribes through a Subscriber (the gateway's
// session in package northbound, or a fake in tests), which must restore subscriptions after a
// reconnect.
package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// Subscriber is the MQTT session the driver listens through. handle is called for every
// message on a topic matching topic and must not block; the subscription must survive
// reconnects.
type Subscriber interface {
	Subscribe(topic string, qos byte, handle func(topic string, payload []byte)) error
}

// Defaults of Options.
const (
	DefaultMaxPayload = 256 << 10
	DefaultQueueSize  = 1024
	// DefaultStaleFactor times a device's interval is how long it may stay silent.
	DefaultStaleFactor = 3
	// DefaultMaxClockSkew is how far ahead of the gateway's clock a payload's time may be.
	DefaultMaxClockSkew = 5 * time.Minute
	// logEvery is how often a device's bad payloads are logged; the rest are only counted.
	logEvery = time.Minute
)

// ErrMalformed is wrapped by the error of a snapshot whose payload could not be read at all
// (not JSON, not an object, or over the size limit).
var ErrMalformed = errors.New("malformed payload")

// ErrStale is the error of an offline snapshot of a device that stopped publishing.
var ErrStale = errors.New("no message within the stale time")

// ErrStatusOffline is the error of an offline snapshot of a device whose status topic said so.
var ErrStatusOffline = errors.New("status topic says offline")

// Options tune the driver. Zero values take the defaults.
type Options struct {
	// MaxPayload is the largest payload read, in bytes (default 256 KiB); larger ones are
	// counted as malformed and their reading is bad. mosquitto's own limit is message_size_limit.
	MaxPayload int
	// QueueSize bounds the messages waiting to be decoded; when it is full, messages are
	// dropped and counted rather than stalling the MQTT session.
	QueueSize int
	// QoS of the device subscriptions (default 1).
	QoS *byte
	// MaxClockSkew is how far a payload's time may be ahead of the time it was received
	// (default 5 minutes); a later one is refused and counted, and the reading keeps the time
	// received.
	MaxClockSkew time.Duration
	// Location is the site's zone: payload times without an offset are read in it when the
	// profile names no time_zone (default the machine's zone).
	Location *time.Location
	Logger   *slog.Logger
	Metrics  *Metrics
}

// Listener turns the messages of MQTT devices into snapshots until its context ends.
type Listener struct {
	devs   []*listened
	sub    Subscriber
	handle devices.Handler
	opts   Options
	qos    byte
	in     chan message
	log    *slog.Logger
}

type message struct {
	dev    *listened
	status bool
	// point is the index of the point whose own topic carried the message, or -1 for the
	// device's topic.
	point int
	at    time.Time
	// size is set instead of payload for a payload over the limit, so that it is not queued.
	size    int
	payload []byte
}

// listened is one device's state, owned by Run's goroutine.
type listened struct {
	dev   *devices.Device
	stale time.Duration
	// state is the latest value of every point and heard when its topic last carried it: a
	// message on one topic changes only its own points.
	state    []devices.Value
	heard    []time.Time
	rules    TimeRules
	json     bool // some point is read from the payload on the device's topic
	lastSeen time.Time
	offline  bool
	nextEmit time.Time // while offline: when to repeat the offline snapshot
	lastLog  time.Time
	unlogged int
	metrics  deviceMetrics
}

// New prepares a listener for devs, each of which must have an MQTT transport and a profile
// whose points all have a JSON path or a topic.
func New(devs []*devices.Device, sub Subscriber, handle devices.Handler, opts Options) (*Listener, error) {
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = DefaultMaxPayload
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.MaxClockSkew <= 0 {
		opts.MaxClockSkew = DefaultMaxClockSkew
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	qos := byte(1)
	if opts.QoS != nil {
		qos = *opts.QoS
	}
	l := &Listener{sub: sub, handle: handle, opts: opts, qos: qos, in: make(chan message, opts.QueueSize), log: opts.Logger}
	for _, d := range devs {
		switch {
		case d.MQTT == nil || d.MQTT.Topic == "":
			return nil, fmt.Errorf("device %s: no MQTT topic", d.ID)
		case d.Profile == nil || d.Profile.Transport() != "mqtt":
			return nil, fmt.Errorf("device %s: profile must locate every point by JSON path or topic", d.ID)
		case d.Interval <= 0:
			return nil, fmt.Errorf("device %s: interval must be set", d.ID)
		}
		if msg := pointTopicsProblem(d.MQTT.Topic, d.Profile); msg != "" {
			return nil, fmt.Errorf("device %s: %s", d.ID, msg)
		}
		stale := d.MQTT.StaleAfter
		if stale <= 0 {
			stale = DefaultStaleFactor * d.Interval
		}
		ld := &listened{dev: d, stale: stale, metrics: opts.Metrics.device(d),
			state: make([]devices.Value, len(d.Profile.Points)), heard: make([]time.Time, len(d.Profile.Points)),
			rules: TimeRules{Unit: d.Profile.TimeUnit, Location: opts.Location}}
		if loc := d.Profile.Location(); loc != nil {
			ld.rules.Location = loc
		}
		for i := range d.Profile.Points {
			ld.state[i] = devices.Value{Quality: devices.QualityBad}
			ld.json = ld.json || d.Profile.Points[i].IsJSON()
		}
		l.devs = append(l.devs, ld)
	}
	return l, nil
}

// pointTopicsProblem says why the points of prof with topics of their own cannot be heard
// under deviceTopic, or "".
func pointTopicsProblem(deviceTopic string, prof *devices.Profile) string {
	for i := range prof.Points {
		if prof.Points[i].Topic != "" && strings.HasSuffix(deviceTopic, "#") {
			return fmt.Sprintf("topic %q ends in '#', but profile %s gives point %q a topic of its own under it: use '+' for one level",
				deviceTopic, prof.Name, prof.Points[i].Name)
		}
	}
	return ""
}

// Run subscribes every device's topics and turns messages into snapshots until ctx ends.
// A device heard from nothing within its stale time of the start is offline.
func (l *Listener) Run(ctx context.Context) error {
	start := time.Now()
	for _, d := range l.devs {
		d.lastSeen = start
		if d.json {
			if err := l.sub.Subscribe(d.dev.MQTT.Topic, l.qos, l.receiver(d, false, -1)); err != nil {
				return fmt.Errorf("device %s: subscribe %s: %w", d.dev.ID, d.dev.MQTT.Topic, err)
			}
		}
		for i := range d.dev.Profile.Points {
			p := &d.dev.Profile.Points[i]
			if p.Topic == "" {
				continue
			}
			topic := p.TopicUnder(d.dev.MQTT.Topic)
			if err := l.sub.Subscribe(topic, l.qos, l.receiver(d, false, i)); err != nil {
				return fmt.Errorf("device %s point %s: subscribe %s: %w", d.dev.ID, p.Name, topic, err)
			}
		}
		if st := d.dev.MQTT.StatusTopic; st != "" {
			if err := l.sub.Subscribe(st, l.qos, l.receiver(d, true, -1)); err != nil {
				return fmt.Errorf("device %s: subscribe %s: %w", d.dev.ID, st, err)
			}
		}
	}
	if len(l.devs) == 0 {
		<-ctx.Done()
		return nil
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Reset(time.Until(l.nextDeadline()))
		select {
		case <-ctx.Done():
			return nil
		case m := <-l.in:
			l.process(m)
		case <-timer.C:
			l.checkStale(time.Now())
		}
	}
}

// receiver is the callback of one subscription. It runs on the MQTT session's goroutine, so it
// only queues: a full queue drops the message and counts it.
func (l *Listener) receiver(d *listened, status bool, point int) func(string, []byte) {
	return func(_ string, payload []byte) {
		m := message{dev: d, status: status, point: point, at: time.Now(), payload: payload}
		if !status && len(payload) > l.opts.MaxPayload {
			m.payload, m.size = nil, len(payload)
		}
		select {
		case l.in <- m:
		default:
			d.metrics.dropped.Inc()
		}
	}
}

func (l *Listener) nextDeadline() time.Time {
	var next time.Time
	for _, d := range l.devs {
		t := d.lastSeen.Add(d.stale)
		if d.offline {
			t = d.nextEmit
		}
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next
}

// checkStale takes offline every device silent for its stale time, and repeats the offline
// snapshot of those already offline once an interval, as a poller of a dead device would.
func (l *Listener) checkStale(now time.Time) {
	for _, d := range l.devs {
		switch {
		case d.offline && !now.Before(d.nextEmit):
			l.emitOffline(d, now, ErrStale)
		case !d.offline && now.Sub(d.lastSeen) >= d.stale:
			l.log.Warn("device offline", "device", d.dev.ID, "silent_for", now.Sub(d.lastSeen).Round(time.Millisecond), "topic", d.dev.MQTT.Topic)
			l.emitOffline(d, now, ErrStale)
		}
	}
}

func (l *Listener) emitOffline(d *listened, now time.Time, why error) {
	d.offline = true
	d.nextEmit = now.Add(d.dev.Interval)
	d.metrics.offline.Set(1)
	// What the device said before it went away is not carried into its next reading.
	for i := range d.state {
		d.state[i], d.heard[i] = devices.Value{Quality: devices.QualityBad}, time.Time{}
	}
	values := make([]devices.Value, len(d.dev.Profile.Points))
	for i := range values {
		values[i] = devices.Value{Quality: devices.QualityCommFail}
	}
	l.handle(&devices.Snapshot{
		Device: d.dev, Time: now, Values: values, Comm: devices.CommOffline,
		Err: fmt.Errorf("device %s (mqtt %s): %w", d.dev.ID, d.dev.MQTT.Topic, why),
	})
}

func (l *Listener) process(m message) {
	d := m.dev
	if m.status {
		switch statusWord(m.payload) {
		case "offline":
			if !d.offline {
				l.log.Warn("device offline", "device", d.dev.ID, "status_topic", d.dev.MQTT.StatusTopic)
			}
			l.emitOffline(d, m.at, ErrStatusOffline)
		case "online":
		default:
			l.log.Debug("status message not understood", "device", d.dev.ID, "payload", truncate(m.payload))
		}
		return
	}
	d.metrics.messages.Inc()
	if d.offline {
		l.log.Info("device back online", "device", d.dev.ID)
	}
	d.lastSeen, d.offline = m.at, false
	d.metrics.offline.Set(0)
	snap := &devices.Snapshot{Device: d.dev, Time: m.at, Comm: devices.CommOnline}
	prof := d.dev.Profile
	topic := d.dev.MQTT.Topic
	if m.point >= 0 {
		topic = prof.Points[m.point].TopicUnder(topic)
	}
	// Every point this topic carries is heard now, good or bad.
	for i := range prof.Points {
		if i == m.point || (m.point < 0 && prof.Points[i].IsJSON()) {
			d.heard[i] = m.at
		}
	}
	var bad error
	switch {
	case m.size > 0:
		bad = fmt.Errorf("device %s (mqtt %s): %w: %d bytes is over the limit of %d bytes (mqtt.max_payload)",
			d.dev.ID, topic, ErrMalformed, m.size, l.opts.MaxPayload)
		d.metrics.oversize.Inc()
	case m.point >= 0:
		v, err := Decode(&prof.Points[m.point], plainValue(m.payload))
		if err != nil {
			v = devices.Value{Quality: devices.QualityBad}
			d.metrics.wrongType.Inc()
			l.logBad(d, m.at, fmt.Errorf("device %s (mqtt %s): %w", d.dev.ID, topic, err))
		}
		d.state[m.point] = v
	default:
		ts, pointErr, err := decodePayload(prof, m.payload, d.state, d.rules)
		switch {
		case err != nil:
			bad = fmt.Errorf("device %s (mqtt %s): %w: %v", d.dev.ID, topic, ErrMalformed, err)
			d.metrics.malformed.Inc()
		case pointErr != nil:
			// Only those points are bad (QualityBad, not written); the others are good
			// readings, so the snapshot carries no error that would void them.
			d.metrics.wrongType.Inc()
			l.logBad(d, m.at, fmt.Errorf("device %s (mqtt %s): %w", d.dev.ID, topic, pointErr))
		}
		switch {
		case ts.IsZero():
		case ts.Sub(m.at) > l.opts.MaxClockSkew:
			// A clock running ahead would put readings in the future, where they hide the real
			// latest value: keep the values at the time received, and say so.
			d.metrics.futureTime.Inc()
			l.logBad(d, m.at, fmt.Errorf("device %s (mqtt %s): time_path %s: %s is %v ahead of the time received, more than mqtt.max_clock_skew %v: the reading keeps the time received",
				d.dev.ID, topic, prof.TimePath, ts.Format(time.RFC3339Nano), ts.Sub(m.at).Round(time.Second), l.opts.MaxClockSkew))
		default:
			snap.Time = ts
		}
	}
	if bad != nil {
		for i := range prof.Points {
			if i == m.point || (m.point < 0 && prof.Points[i].IsJSON()) {
				d.state[i] = devices.Value{Quality: devices.QualityBad}
			}
		}
		snap.Err = bad
		l.logBad(d, m.at, bad)
	}
	snap.Values = d.values(m.at)
	l.handle(snap)
}

// values is the device's reading at now: the latest value of every point, bad for a point
// whose topic has not carried it within the stale time (or ever).
func (d *listened) values(now time.Time) []devices.Value {
	out := make([]devices.Value, len(d.state))
	for i, v := range d.state {
		if d.heard[i].IsZero() || now.Sub(d.heard[i]) >= d.stale {
			v = devices.Value{Quality: devices.QualityBad}
		}
		out[i] = v
	}
	return out
}

// logBad logs a device's bad payload at most once a minute, saying how many went unlogged.
func (l *Listener) logBad(d *listened, now time.Time, err error) {
	if !d.lastLog.IsZero() && now.Sub(d.lastLog) < logEvery {
		d.unlogged++
		return
	}
	l.log.Warn("bad payload", "device", d.dev.ID, "err", err, "not_logged_since_last", d.unlogged)
	d.lastLog, d.unlogged = now, 0
}

// statusWord reads "online"/"offline" from a status payload: plain text, a JSON string, or
// a JSON object with a "status" or "state" member.
func statusWord(payload []byte) string {
	s := strings.ToLower(strings.TrimSpace(string(payload)))
	if doc, err := parse(payload); err == nil {
		switch v := doc.(type) {
		case string:
			s = strings.ToLower(v)
		case map[string]any:
			for _, k := range []string{"status", "state"} {
				if t, ok := v[k].(string); ok {
					s = strings.ToLower(t)
				}
			}
		}
	}
	switch s {
	case "offline", "disconnected", "lost", "0", "false":
		return "offline"
	case "online", "connected", "1", "true":
		return "online"
	}
	return ""
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
