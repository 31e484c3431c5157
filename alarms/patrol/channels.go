package patrol

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/internal/backoff"
	"github.com/facilityd/facilityd/internal/webhook"
)

// Publisher is what the patrol needs of the northbound MQTT client.
type Publisher interface {
	Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error
}

// EventPublisher is the API's server-sent-events hub: the console's channel.
type EventPublisher interface {
	Publish(eventType string, v any)
}

// Channel carries messages to people. Send may block and fail; the dispatcher gives every
// channel its own queue and goroutine so a slow one never delays the others.
type Channel interface {
	Name() string
	Send(ctx context.Context, m Message) error
}

// Message is the payload every channel sends: JSON on MQTT, the webhook and the console.
type Message struct {
	Type    Action   `json:"type"`
	Alert   string   `json:"alert"`
	Kind    string   `json:"kind"`
	Alarm   string   `json:"alarm"`
	Alarms  []string `json:"alarms,omitempty"`
	Message string   `json:"message"`
	// Text is what the handset shows and reads out, in the site's language: one sentence
	// saying what this notice is (a reminder, an escalation, the all-clear) and the message.
	Text     string     `json:"text"`
	Priority string     `json:"priority"`
	Class    string     `json:"class"`
	Site     string     `json:"site"`
	Zone     string     `json:"zone,omitempty"`
	Zones    []string   `json:"zones,omitempty"`
	Owner    string     `json:"owner,omitempty"`
	Claimed  *time.Time `json:"claimed_at,omitempty"`
	State    State      `json:"state"`
	To       []Guard    `json:"to"`
	Sends    int        `json:"sends"`
	At       time.Time  `json:"at"`
	// Checklist is set on the night lighting check's message.
	Checklist *Checklist `json:"checklist,omitempty"`
	// Reach are the people an escalation calls on (the rung's), when they are fewer than To.
	Reach []Guard `json:"reach,omitempty"`
	// Summary lists the messages a summary stands for (type "summary").
	Summary []string `json:"summary,omitempty"`
	// channels are the channels that carry this message.
	channels []string
}

// MQTTChannel publishes to facility/{site}/patrol/{zone} at QoS 1, once per zone the message
// concerns. Not retained unless configured: the API holds the list of alerts.
type MQTTChannel struct {
	Pub      Publisher
	Retained bool
	Timeout  time.Duration
}

// Name is "mqtt".
func (c *MQTTChannel) Name() string { return "mqtt" }

// Topic is where the patrol of a zone listens; alerts of no zone go to "site".
func Topic(site, zone string) string {
	if zone == "" {
		zone = "site"
	}
	return "facility/" + site + "/patrol/" + zone
}

// Send publishes m on every zone's topic.
func (c *MQTTChannel) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	zones := m.Zones
	if len(zones) == 0 {
		zones = []string{m.Zone}
	}
	for _, z := range zones {
		pctx, cancel := context.WithTimeout(ctx, c.timeout())
		err := c.Pub.Publish(pctx, Topic(m.Site, z), 1, c.Retained, body)
		cancel()
		if err != nil {
			return fmt.Errorf("mqtt publish %s: %w", Topic(m.Site, z), err)
		}
	}
	return nil
}

func (c *MQTTChannel) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 10 * time.Second
}

// ConsoleChannel hands messages to the API's event stream as "patrol.<type>" events.
type ConsoleChannel struct{ Events EventPublisher }

// Name is "console".
func (c *ConsoleChannel) Name() string { return "console" }

// Send publishes m on the event stream; it does not fail.
func (c *ConsoleChannel) Send(_ context.Context, m Message) error {
	c.Events.Publish("patrol."+string(m.Type), m)
	return nil
}

// Webhook carries patrol messages, as JSON, to the one webhook sender (internal/webhook):
// signed over timestamp and body, retried with backoff.
type Webhook struct {
	Sender *webhook.Sender
}

// Name is "webhook".
func (w *Webhook) Name() string { return "webhook" }

// Send posts m.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return w.Sender.Send(ctx, body)
}

// PerGuard is a channel that reaches one person at a time (SMS, a call): the outbox keeps
// one message a guard, so a failure for one number is retried for that number alone and
// nobody gets the same message twice.
type PerGuard interface{ PerGuard() bool }

// Limited is a channel with a rate limit (the robots): a message a minute at most, and a
// summary instead of a burst.
type Limited interface{ Limit() (perMinute, burst int) }

// Retryable tells the dispatcher whether a failed send is worth another try; errors of
// channels that do not say are retried.
type Retryable interface {
	Retry(err error) (retry bool, wait time.Duration)
}

// Dispatcher delivers messages from the store's outbox, one goroutine a channel so that a
// slow or failing channel never delays the others. A message enters the outbox in the same
// transaction as the alert change that sends it (Service), and leaves it once sent, given up
// after its retries, merged into a summary, or found needless (a call for an alert someone
// has claimed since): so each message is sent at least once, and a restart sends again only
// what was being sent at the moment of the crash.
type Dispatcher struct {
	store   *Store
	chans   []Channel
	byName  map[string]Channel
	wake    map[string]chan struct{}
	metrics *Metrics
	log     *slog.Logger
	opts    DispatchOptions
	running atomic.Bool
}

// DispatchOptions are the dispatcher's clock and policies.
type DispatchOptions struct {
	Now func() time.Time
	// Retries is how often a failed message is tried again before it is given up.
	Retries int
	// Needed reports whether a personal message (alert, resend, escalation on SMS or a call)
	// is still worth sending: false once the alert is claimed, acknowledged or cleared.
	Needed func(m Message) bool
	// Summary merges messages that a robot's rate limit (or a burst) would otherwise hold.
	Summary func(list []Message) Message
	// Poll is how often each channel looks for messages due to retry (1 s by default).
	Poll time.Duration
	// Health hears of a channel that gave a message up (err) and of its next success (nil).
	Health func(channel string, err error)
}

// NewDispatcher delivers for chans from store's outbox.
func NewDispatcher(store *Store, chans []Channel, m *Metrics, log *slog.Logger, o DispatchOptions) *Dispatcher {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	d := &Dispatcher{store: store, chans: chans, byName: map[string]Channel{}, wake: map[string]chan struct{}{}, metrics: m, log: log, opts: o}
	for _, c := range chans {
		d.byName[c.Name()] = c
		d.wake[c.Name()] = make(chan struct{}, 1)
	}
	return d
}

// Outgoing expands messages into the outbox rows of the channels configured: one a message,
// or one a guard on a PerGuard channel (reaching, for an escalation, only the rung's people).
func (d *Dispatcher) Outgoing(msgs []Message) []Outgoing {
	var out []Outgoing
	for _, m := range msgs {
		for _, name := range m.channels {
			c, ok := d.byName[name]
			if !ok {
				continue
			}
			if p, ok := c.(PerGuard); !ok || !p.PerGuard() {
				out = append(out, Outgoing{Channel: name, Message: m})
				continue
			}
			to := m.To
			if len(m.Reach) > 0 {
				to = m.Reach
			}
			for _, g := range to {
				one := m
				one.To = []Guard{g}
				out = append(out, Outgoing{Channel: name, Guard: g.ID, Message: one})
			}
		}
	}
	return out
}

// Wake tells the channels of out that they have messages.
func (d *Dispatcher) Wake(out []Outgoing) {
	for _, o := range out {
		select {
		case d.wake[o.Channel] <- struct{}{}:
		default:
		}
	}
}

// Enqueue puts m into the outbox on its own (for messages no alert change carries, such as
// the answer to a refused claim) and wakes its channels.
func (d *Dispatcher) Enqueue(m Message) {
	out := d.Outgoing([]Message{m})
	if len(out) == 0 {
		return
	}
	if err := d.store.CommitWith(0, nil, out); err != nil {
		d.log.Error("patrol outbox: message not stored", "alert", m.Alert, "type", m.Type, "err", err)
		return
	}
	d.Wake(out)
}

// Run delivers every channel's messages until ctx ends. Only the first Run delivers; another
// waits for its ctx, so no message is sent twice by two workers.
func (d *Dispatcher) Run(ctx context.Context) error {
	if d.running.Swap(true) {
		<-ctx.Done()
		return nil
	}
	defer d.running.Store(false)
	var wg sync.WaitGroup
	for _, c := range d.chans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.deliver(ctx, c)
		}()
	}
	wg.Wait()
	return nil
}

// deliver sends c's due messages whenever woken, and every Poll for retries.
func (d *Dispatcher) deliver(ctx context.Context, c Channel) {
	tick := time.NewTicker(d.opts.Poll)
	defer tick.Stop()
	var lim *limiter
	if l, ok := c.(Limited); ok {
		per, burst := l.Limit()
		lim = &limiter{perMinute: per, burst: burst}
	}
	for {
		for d.round(ctx, c, lim) && ctx.Err() == nil {
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake[c.Name()]:
		case <-tick.C:
		}
	}
}

// round sends what is due on c now; it reports whether it sent something (so more may be due).
func (d *Dispatcher) round(ctx context.Context, c Channel, lim *limiter) bool {
	now := d.opts.Now()
	due, err := d.store.Pending(c.Name(), now, 100)
	if err != nil {
		d.log.Error("patrol outbox: not read", "channel", c.Name(), "err", err)
		return false
	}
	due = d.skipNeedless(c, due, now)
	if len(due) == 0 {
		return false
	}
	if lim != nil {
		budget := lim.budget(now)
		if budget == 0 {
			return false
		}
		if len(due) > 1 && (len(due) >= lim.burst || len(due) > budget) {
			return d.sendSummary(ctx, c, lim, due, now)
		}
	}
	for _, o := range due {
		if ctx.Err() != nil {
			return false
		}
		if !d.send(ctx, c, lim, o, now) {
			return false
		}
	}
	return true
}

// skipNeedless marks personal messages for alerts nobody needs any more as skipped, and
// returns the rest.
func (d *Dispatcher) skipNeedless(c Channel, due []Outgoing, now time.Time) []Outgoing {
	if d.opts.Needed == nil || !personal[c.Name()] {
		return due
	}
	keep := due[:0]
	for _, o := range due {
		if d.opts.Needed(o.Message) {
			keep = append(keep, o)
			continue
		}
		if err := d.store.Done(OutboxSkipped, "alert "+string(o.Message.State)+" since", now, o.ID); err != nil {
			d.log.Error("patrol outbox: not updated", "channel", c.Name(), "err", err)
		}
		d.metrics.sent.WithLabelValues(c.Name(), "skipped").Inc()
	}
	return keep
}

// send sends one message and records the outcome; false means stop this round (the channel
// is failing or rate-limited).
func (d *Dispatcher) send(ctx context.Context, c Channel, lim *limiter, o Outgoing, now time.Time) bool {
	err := c.Send(ctx, o.Message)
	if err == nil {
		lim.take(now)
		d.healthy(c.Name(), nil)
		d.metrics.sent.WithLabelValues(c.Name(), "ok").Inc()
		if err := d.store.Done(OutboxSent, "", d.opts.Now(), o.ID); err != nil {
			d.log.Error("patrol outbox: sent message not recorded (it may be sent again)", "channel", c.Name(), "err", err)
		}
		return true
	}
	if ctx.Err() != nil {
		return false // stopping: the message stays pending for the next start
	}
	d.failed(c, lim, []Outgoing{o}, err, now)
	return false
}

// sendSummary sends one summary for due and marks them merged.
func (d *Dispatcher) sendSummary(ctx context.Context, c Channel, lim *limiter, due []Outgoing, now time.Time) bool {
	list := make([]Message, len(due))
	ids := make([]int64, len(due))
	for i, o := range due {
		list[i], ids[i] = o.Message, o.ID
	}
	sum := d.opts.Summary(list)
	if err := c.Send(ctx, sum); err != nil {
		if ctx.Err() == nil {
			d.failed(c, lim, due, err, now)
		}
		return false
	}
	lim.take(now)
	d.metrics.sent.WithLabelValues(c.Name(), "ok").Inc()
	d.metrics.sent.WithLabelValues(c.Name(), "merged").Add(float64(len(due)))
	d.log.Info("patrol messages merged into one summary", "channel", c.Name(), "messages", len(due))
	if err := d.store.Done(OutboxMerged, "summary", d.opts.Now(), ids...); err != nil {
		d.log.Error("patrol outbox: summary not recorded (it may be sent again)", "channel", c.Name(), "err", err)
	}
	return true
}

// failed counts a failure and schedules the retries, or gives the messages up after the
// last: the ladder goes on without them.
func (d *Dispatcher) failed(c Channel, lim *limiter, list []Outgoing, err error, now time.Time) {
	retry, wait := true, time.Duration(0)
	if r, ok := c.(Retryable); ok {
		retry, wait = r.Retry(err)
	}
	if wait > 0 && lim != nil {
		lim.block(now.Add(wait)) // rate-limited: nothing on this channel until then
	}
	for _, o := range list {
		o.Attempts++
		if !retry || o.Attempts > d.opts.Retries {
			d.metrics.sent.WithLabelValues(c.Name(), "failed").Inc()
			d.log.Error("patrol message given up", "channel", c.Name(), "alert", o.Message.Alert, "type", o.Message.Type, "to", o.Guard, "attempts", o.Attempts, "err", err)
			if err := d.store.Done(OutboxFailed, err.Error(), now, o.ID); err != nil {
				d.log.Error("patrol outbox: not updated", "channel", c.Name(), "err", err)
			}
			d.healthy(c.Name(), err)
			continue
		}
		d.metrics.sent.WithLabelValues(c.Name(), "error").Inc()
		d.log.Warn("patrol message not delivered: will retry", "channel", c.Name(), "alert", o.Message.Alert, "type", o.Message.Type, "to", o.Guard, "attempt", o.Attempts, "err", err)
		if err := d.store.Retry(o.ID, o.Attempts, now.Add(max(wait, backoff.Delay(o.Attempts, retryMin, retryMax))), err.Error()); err != nil {
			d.log.Error("patrol outbox: not updated", "channel", c.Name(), "err", err)
		}
	}
}

func (d *Dispatcher) healthy(channel string, err error) {
	if d.opts.Health != nil {
		d.opts.Health(channel, err)
	}
}

// The outbox's wait before try n+1 is retryMin doubling to retryMax, without jitter (ours: a
// guard's alert is worth trying often, a robot that is down for minutes is not worth
// hammering). The try count lives in the outbox row, so the pure backoff.Delay serves.
const (
	retryMin = 2 * time.Second
	retryMax = time.Minute
)

// limiter keeps a robot within its messages a minute: a sliding window of the sends.
type limiter struct {
	perMinute, burst int
	sent             []time.Time
	until            time.Time
}

// budget is how many messages may go now.
func (l *limiter) budget(now time.Time) int {
	if now.Before(l.until) {
		return 0
	}
	keep := l.sent[:0]
	for _, t := range l.sent {
		if now.Sub(t) < time.Minute {
			keep = append(keep, t)
		}
	}
	l.sent = keep
	return max(l.perMinute-len(l.sent), 0)
}

func (l *limiter) take(now time.Time) {
	if l != nil {
		l.sent = append(l.sent, now)
	}
}

func (l *limiter) block(until time.Time) { l.until = until }
