package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	mqttdev "github.com/facilityd/facilityd/devices/mqtt"
	"github.com/facilityd/facilityd/northbound"
)

// buildMQTT starts the embedded broker (or connects to mqtt.url), the northbound telemetry
// and the MQTT device listener.
func (d *Daemon) buildMQTT(context.Context) error {
	mq, err := startMQTT(d.cfg, d.devs, d.handle, d.reg, d.log)
	if err != nil {
		return err
	}
	d.mq = mq
	d.closers = append(d.closers, mq.close)
	if mq.broker != nil {
		d.health.WatchBroker(mq.broker.Accepting)
	}
	return nil
}

// mqttSide is the daemon's MQTT side: the embedded broker (when mqtt.url is empty), the
// gateway's session, the MQTT device listener and the northbound telemetry publisher.
type mqttSide struct {
	broker   *northbound.Broker
	client   *northbound.Client
	listener *mqttdev.Listener
	// topics and listenerOpts build the listener again for a reloaded device set (reload.go).
	topics       *deviceTopics
	listenerOpts mqttdev.Options
	telemetry    *northbound.Telemetry
}

// startMQTT starts the broker (if embedded) and the session; the listener (a source) and the
// telemetry publisher (a reading consumer) run under Run.
func startMQTT(cfg *config.Config, devs []*devices.Device, handle devices.Handler, reg prometheus.Registerer, log *slog.Logger) (*mqttSide, error) {
	m := &mqttSide{}
	url := cfg.MQTT.URL
	username, password := cfg.MQTT.Username, cfg.MQTT.Password.Reveal()
	if url == "" {
		access, err := brokerAccess(cfg, devs)
		if err != nil {
			return nil, err
		}
		e := cfg.MQTT.Embedded
		b, err := northbound.ServeBroker(northbound.BrokerOptions{
			Addr: e.Addr, Access: access, Logger: log.With("component", "broker"), Registerer: reg,
			Limits: northbound.BrokerLimits{MaxClients: e.MaxClients, MaxPacketSize: e.MaxPacketSize, ConnectTimeout: e.ConnectTimeout},
		})
		if err != nil {
			return nil, err
		}
		username, password = access.Gateway.Username, access.Gateway.Password
		m.broker = b
		url = b.URL()
		log.Info("embedded MQTT broker listening", "url", url)
	}
	tlsCfg, err := mqttTLS(cfg.MQTT.TLS)
	if err != nil {
		m.close()
		return nil, err
	}
	metrics := northbound.NewMetrics(reg)
	m.client, err = northbound.Dial(northbound.ClientOptions{
		URL: url, ClientID: cfg.MQTT.ClientIDFor(cfg.Site),
		Username: username, Password: password, TLS: tlsCfg,
		StoreDir: cfg.MQTT.StoreDir, MaxReconnectInterval: cfg.MQTT.MaxReconnectInterval,
		KeepAlive: cfg.MQTT.KeepAlive, StatusTopic: northbound.GatewayStatusTopic(cfg.Site),
		Logger: log.With("component", "mqtt"), Metrics: metrics,
	})
	if err != nil {
		m.close()
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	m.topics = &deviceTopics{sub: m.client, routes: map[string]func(string, []byte){}}
	m.listenerOpts = mqttdev.Options{
		MaxPayload: cfg.MQTT.MaxPayload, Logger: log.With("component", "mqtt-devices"), Metrics: mqttdev.NewMetrics(reg),
		MaxClockSkew: cfg.MQTT.MaxClockSkew, Location: cfg.DeviceLocation(),
	}
	if m.listener, err = m.newListener(devs, handle); err != nil {
		m.close()
		return nil, err
	}
	if cfg.MQTT.Telemetry.Enabled {
		// With the broker embedded, telemetry goes into it directly, not through a socket.
		var pub northbound.Publisher = m.client
		if m.broker != nil {
			pub = m.broker
		}
		deadband := cfg.MQTT.Telemetry.Deadband
		m.telemetry = northbound.NewTelemetry(pub, northbound.TelemetryOptions{
			QueueSize: cfg.MQTT.Telemetry.QueueSize, QoS: byte(cfg.MQTT.Telemetry.QoS),
			MaxInterval: cfg.MQTT.Telemetry.MaxInterval, Deadband: &deadband,
			Logger: log.With("component", "northbound"), Metrics: metrics,
		})
		// Every device's latest snapshot on each (re)connection, and whenever a subscriber
		// asks on facility/{site}/gateway/telemetry/request.
		m.client.OnConnect(func() { m.telemetry.Republish("") })
		if err := m.client.Subscribe(northbound.TelemetryRequestTopic(cfg.Site), 1, func(_ string, payload []byte) {
			m.telemetry.Republish(string(payload))
		}); err != nil {
			m.close()
			return nil, err
		}
	}
	return m, nil
}

// newListener builds the MQTT device listener of devs' MQTT devices, subscribing through
// m.topics when it runs: at the start, and after each reload (reload.go).
func (m *mqttSide) newListener(devs []*devices.Device, handle devices.Handler) (*mqttdev.Listener, error) {
	var mqttDevs []*devices.Device
	for _, d := range devs {
		if d.MQTT != nil {
			mqttDevs = append(mqttDevs, d)
		}
	}
	return mqttdev.New(mqttDevs, m.topics, handle, m.listenerOpts)
}

// deviceTopics is the MQTT device listener's subscriber. The session keeps every subscription
// for good (and makes it again at each reconnection) and has no unsubscribe; deviceTopics
// subscribes each topic once and routes its messages to the handler of the listener running
// now, so that a reloaded listener takes over the topics that remain and the topics of devices
// taken away go nowhere.
type deviceTopics struct {
	sub    mqttdev.Subscriber
	mu     sync.Mutex
	routes map[string]func(topic string, payload []byte)
}

// Subscribe routes topic to handle, subscribing the session to it the first time.
func (t *deviceTopics) Subscribe(topic string, qos byte, handle func(topic string, payload []byte)) error {
	t.mu.Lock()
	_, had := t.routes[topic]
	t.routes[topic] = handle
	t.mu.Unlock()
	if had {
		return nil
	}
	return t.sub.Subscribe(topic, qos, func(got string, payload []byte) {
		t.mu.Lock()
		h := t.routes[topic]
		t.mu.Unlock()
		if h != nil {
			h(got, payload)
		}
	})
}

// reset routes every topic nowhere until a new listener subscribes it again.
func (t *deviceTopics) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.routes {
		t.routes[k] = nil
	}
}

// close says offline, disconnects and stops the embedded broker.
func (m *mqttSide) close() {
	if m.client != nil {
		m.client.Close()
	}
	if m.broker != nil {
		// The offline status is acknowledged by the broker before it reaches the subscribers;
		// give it a moment to get there before the embedded broker closes their connections.
		time.Sleep(300 * time.Millisecond)
		m.broker.Close()
	}
}

func mqttTLS(t config.MQTTTLS) (*tls.Config, error) {
	if t.CAFile == "" && t.CertFile == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pool, err := CAPool(t.CAFile, "mqtt.tls.ca_file")
		if err != nil {
			return nil, err
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.cert_file, mqtt.tls.key_file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
