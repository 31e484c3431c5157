package simulators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/facilityd/facilityd/devices"
	mqttdev "github.com/facilityd/facilityd/devices/mqtt"
)

// MQTTSpec makes a simulated device publish its points as JSON over MQTT, in the shape its
// profile's JSON paths describe, as lighting controllers and fire-panel bridges do.
type MQTTSpec struct {
	// Broker is the broker's URL (tcp://host:port); empty takes Options.MQTTBroker.
	Broker string
	// Topic receives a payload every Interval.
	Topic string
	// StatusTopic, if set, gets a retained "online" on connection and "offline" as the
	// device's last will, which the broker publishes when the connection breaks.
	StatusTopic string
	// Interval between payloads; 0 means 1s.
	Interval time.Duration
	// CommandTopic takes writes, {"point": NAME, "value": VALUE}, as facilityd publishes them;
	// empty means the profile's command_topic under Topic (none without one).
	CommandTopic string
}

// publisher is one device's MQTT client. Faults act on it as on a Modbus conversation:
// silent stops publishing, drop breaks the connection (the broker then publishes the last
// will) and refuses to reconnect while in force, slow publishes late, malformed publishes
// broken JSON.
type publisher struct {
	d      *device
	spec   MQTTSpec
	log    *slog.Logger
	client paho.Client

	mu   sync.Mutex
	conn net.Conn

	stop chan struct{}
	done chan struct{}
}

func newPublisher(d *device, spec MQTTSpec, log *slog.Logger) *publisher {
	if spec.Interval <= 0 {
		spec.Interval = time.Second
	}
	p := &publisher{d: d, spec: spec, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	p.client = p.newClient()
	return p
}

func (p *publisher) newClient() paho.Client {
	spec, id := p.spec, p.d.spec.ID
	opts := paho.NewClientOptions().
		AddBroker(spec.Broker).
		SetClientID("facsim-" + id).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(200 * time.Millisecond).
		SetMaxReconnectInterval(time.Second).
		SetKeepAlive(10 * time.Second).
		SetCustomOpenConnectionFn(p.dial).
		SetOnConnectHandler(func(c paho.Client) {
			p.log.Debug("mqtt connected", "device", id, "broker", spec.Broker)
			if spec.StatusTopic != "" {
				// QoS 0: it is published again on every connection anyway, and a QoS 1
				// message in paho's memory store when the connection drops is resent by the
				// reconnect while the old connection may still be writing it
				// (eclipse/paho.mqtt.golang#703, a data race).
				c.Publish(spec.StatusTopic, 0, true, []byte("online"))
			}
			// Subscribed on every connection: a clean session forgets subscriptions.
			if topic := p.commandTopic(); topic != "" {
				c.Subscribe(topic, 1, p.onCommand)
			}
		})
	if spec.StatusTopic != "" {
		opts.SetBinaryWill(spec.StatusTopic, []byte("offline"), 1, true)
	}
	return paho.NewClient(opts)
}

// dial opens the TCP connection itself, so that the drop fault can break it without a
// DISCONNECT (the broker then publishes the last will), and refuse new ones while in force.
func (p *publisher) dial(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
	if p.d.protocolFaults().drop {
		return nil, errors.New("drop fault in force")
	}
	if u.Scheme != "tcp" && u.Scheme != "mqtt" {
		return nil, fmt.Errorf("simulated devices publish over tcp:// only, not %s", u.Scheme)
	}
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.conn = c
	p.mu.Unlock()
	return c, nil
}

// kick breaks the connection (drop fault). paho does not always notice a connection closed
// under it, so the client is thrown away too; run makes a new one once the fault is cleared.
func (p *publisher) kick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
	if p.client != nil {
		go p.client.Disconnect(0)
		p.client = nil
	}
}

func (p *publisher) current() paho.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.client
}

func (p *publisher) start() {
	p.client.Connect()
	go p.run()
}

func (p *publisher) close() {
	close(p.stop)
	<-p.done
	if c := p.current(); c != nil {
		c.Disconnect(100)
	}
}

func (p *publisher) run() {
	defer close(p.done)
	ticker := time.NewTicker(p.spec.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-ticker.C:
		}
		pf := p.d.protocolFaults()
		if pf.drop {
			p.kick()
			continue
		}
		client := p.current()
		if client == nil {
			client = p.newClient()
			p.mu.Lock()
			p.client = client
			p.mu.Unlock()
			client.Connect()
		}
		if pf.silent {
			continue
		}
		if pf.delay > 0 {
			select {
			case <-p.stop:
				return
			case <-time.After(pf.delay):
			}
		}
		payload := p.d.jsonPayload()
		if pf.malformed {
			payload = append([]byte(`{"broken": `), payload[:len(payload)/2]...)
		}
		if !client.IsConnectionOpen() {
			continue
		}
		if p.d.hasJSONPoints() {
			client.Publish(p.spec.Topic, 0, false, payload)
		}
		for _, pt := range p.d.topicValues(p.spec.Topic) {
			client.Publish(pt.topic, 0, false, pt.payload)
		}
	}
}

func (d *device) hasJSONPoints() bool {
	for i := range d.spec.Profile.Points {
		if d.spec.Profile.Points[i].IsJSON() {
			return true
		}
	}
	return false
}

// topicValue is one point's plain value on a topic of its own.
type topicValue struct {
	topic   string
	payload []byte
}

// topicValues are the plain values of the points that have a topic of their own, as such a
// device publishes them: 23.5, true, "text".
func (d *device) topicValues(deviceTopic string) []topicValue {
	var out []topicValue
	d.mu.Lock()
	defer d.mu.Unlock()
	pts := d.spec.Profile.Points
	for i := range pts {
		if pts[i].Topic == "" {
			continue
		}
		b, _ := json.Marshal(mqttdev.Encode(&pts[i], d.banks.load(&pts[i])))
		out = append(out, topicValue{pts[i].TopicUnder(deviceTopic), b})
	}
	return out
}

// jsonPayload is the device's payload now: every point at its JSON path, and the time at the
// profile's time path in epoch milliseconds.
func (d *device) jsonPayload() []byte {
	d.mu.Lock()
	now := d.refresh()
	doc := map[string]any{}
	pts := d.spec.Profile.Points
	for i := range pts {
		if pts[i].IsJSON() {
			v := d.banks.load(&pts[i])
			_ = devices.SetPath(doc, pts[i].Path, mqttdev.Encode(&pts[i], v))
		}
	}
	d.mu.Unlock()
	if tp := d.spec.Profile.TimePath; tp != "" {
		_ = devices.SetPath(doc, tp, now.UnixMilli())
	}
	b, _ := json.Marshal(doc)
	return b
}

// Publish sends one payload of the device now, whatever its interval (tests use it to count).
func (e *Estate) Publish(ctx context.Context, id string) error {
	d := e.byID[id]
	if d == nil {
		return e.unknown(id)
	}
	if d.pub == nil {
		return fmt.Errorf("device %q does not publish over MQTT", id)
	}
	c := d.pub.current()
	if c == nil {
		return fmt.Errorf("device %q: disconnected (drop fault)", id)
	}
	t := c.Publish(d.pub.spec.Topic, 1, false, d.jsonPayload())
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
