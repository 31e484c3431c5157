package patrol

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

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

// Dispatcher fans messages out to channels, each behind a bounded queue drained by its own
// goroutine: a full queue drops the message and counts it, so neither a slow channel nor the
// alarm engine ever waits.
type Dispatcher struct {
	queues  map[string]chan Message
	chans   []Channel
	metrics *Metrics
	log     *slog.Logger
	once    sync.Once
}

// NewDispatcher gives each channel a queue of size messages.
func NewDispatcher(chans []Channel, size int, m *Metrics, log *slog.Logger) *Dispatcher {
	d := &Dispatcher{queues: map[string]chan Message{}, chans: chans, metrics: m, log: log}
	for _, c := range chans {
		d.queues[c.Name()] = make(chan Message, size)
	}
	return d
}

// Enqueue offers m to each of its channels that is configured; it never blocks.
func (d *Dispatcher) Enqueue(m Message) {
	for _, name := range m.channels {
		q, ok := d.queues[name]
		if !ok {
			continue
		}
		select {
		case q <- m:
		default:
			d.metrics.sent.WithLabelValues(name, "dropped").Inc()
			d.log.Warn("patrol channel queue full: message dropped", "channel", name, "alert", m.Alert, "type", m.Type)
		}
	}
}

// Run drains every channel's queue until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, c := range d.chans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := d.queues[c.Name()]
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-q:
					if err := c.Send(ctx, m); err != nil {
						d.metrics.sent.WithLabelValues(c.Name(), "error").Inc()
						d.log.Warn("patrol alert not delivered", "channel", c.Name(), "alert", m.Alert, "type", m.Type, "err", err)
						continue
					}
					d.metrics.sent.WithLabelValues(c.Name(), "ok").Inc()
				}
			}
		}()
	}
	wg.Wait()
	return nil
}
