package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// MQTT is the gateway's MQTT session: where MQTT devices are heard and telemetry, alarms and
// patrol alerts are published. With no URL facilityd embeds a broker on Embedded.Addr.
type MQTT struct {
	// URL of an external broker as paho takes it: tcp://host:1883, ssl://host:8883,
	// ws://host:80/mqtt, wss://... Empty: facilityd runs its own broker (embedded).
	URL string `mapstructure:"url" yaml:"url"`
	// ClientID must be stable and unique per gateway: the broker keeps the persistent session
	// under it. Empty: facilityd-{site}-{hostname}.
	ClientID string `mapstructure:"client_id" yaml:"client_id"`
	Username string `mapstructure:"username" yaml:"username"`
	// Password is best given as FACILITYD_MQTT_PASSWORD.
	Password Secret       `mapstructure:"password" yaml:"password"`
	TLS      MQTTTLS      `mapstructure:"tls" yaml:"tls"`
	Embedded MQTTEmbedded `mapstructure:"embedded" yaml:"embedded"`
	// StoreDir keeps QoS 1 messages in flight on disk across broker and facilityd restarts;
	// default state_dir/mqtt.
	StoreDir string `mapstructure:"store_dir" yaml:"store_dir"`
	// MaxReconnectInterval bounds the wait between reconnection attempts.
	MaxReconnectInterval time.Duration `mapstructure:"max_reconnect_interval" yaml:"max_reconnect_interval"`
	KeepAlive            time.Duration `mapstructure:"keep_alive" yaml:"keep_alive"`
	// MaxPayload is the largest device payload read, in bytes; larger ones count as malformed.
	MaxPayload int `mapstructure:"max_payload" yaml:"max_payload"`
	// MaxClockSkew is how far ahead of the gateway's clock a device's payload time may be: a
	// later one is refused and counted, and the reading keeps the time received, so that a
	// device clock running ahead never writes readings into the future.
	MaxClockSkew time.Duration `mapstructure:"max_clock_skew" yaml:"max_clock_skew"`
	Telemetry    MQTTTelemetry `mapstructure:"telemetry" yaml:"telemetry"`
}

// MQTTTLS holds the files of a TLS connection to the broker (ssl:// or wss://).
type MQTTTLS struct {
	// CAFile verifies the broker; empty uses the system's roots.
	CAFile string `mapstructure:"ca_file" yaml:"ca_file"`
	// CertFile and KeyFile authenticate the gateway with a client certificate.
	CertFile string `mapstructure:"cert_file" yaml:"cert_file"`
	KeyFile  string `mapstructure:"key_file" yaml:"key_file"`
}

// MQTTEmbedded is the broker facilityd runs when mqtt.url is empty. The gateway signs in to it
// with a password drawn at each start; everyone else needs an account here.
type MQTTEmbedded struct {
	// Addr is where the embedded broker listens: a loopback address.
	Addr string `mapstructure:"addr" yaml:"addr"`
	// Handsets sign in as their guard (a patrol.guards id) and may publish only claims in that
	// guard's name, on facility/{site}/patrol/{zone}/claims.
	Handsets []BrokerAccount `mapstructure:"handsets" yaml:"handsets,omitempty"`
	// Devices are the accounts of devices that publish: each on its devices' topics only.
	Devices []BrokerDeviceAccount `mapstructure:"devices" yaml:"devices,omitempty"`
	// Integrators read alarms, notices, work-order notifications and telemetry, and publish
	// nothing (a BMS, a control room's dashboard).
	Integrators []BrokerAccount `mapstructure:"integrators" yaml:"integrators,omitempty"`
	// Anonymous is what a client without credentials may do: "telemetry" (read
	// facility/{site}/telemetry/#, the default) or "none".
	Anonymous string `mapstructure:"anonymous" yaml:"anonymous"`
	// MaxClients bounds the connections open at once, signed in or not (default 500).
	MaxClients int `mapstructure:"max_clients" yaml:"max_clients"`
	// MaxPacketSize is the largest packet a signed-in client may send, in bytes (default
	// 270336: mqtt.max_payload's default with room for topic and header).
	MaxPacketSize int `mapstructure:"max_packet_size" yaml:"max_packet_size"`
	// ConnectTimeout is how long a new connection has to send its CONNECT (default 10s).
	ConnectTimeout time.Duration `mapstructure:"connect_timeout" yaml:"connect_timeout"`
}

// BrokerDeviceAccount is the account of one or more devices that publish.
type BrokerDeviceAccount struct {
	Username string `mapstructure:"username" yaml:"username"`
	SHA256   string `mapstructure:"sha256" yaml:"sha256"`
	// Devices are the ids of the configuration's MQTT devices the account publishes for;
	// empty: every MQTT device.
	Devices []string `mapstructure:"devices" yaml:"devices,omitempty,flow"`
}

// BrokerAccount is one user of the embedded broker, known by the SHA-256 of its password
// (facilityd hash-token prints it), like the API's tokens.
type BrokerAccount struct {
	// Username: a handset's is its guard's id.
	Username string `mapstructure:"username" yaml:"username"`
	// SHA256 is the hex SHA-256 of the password.
	SHA256 string `mapstructure:"sha256" yaml:"sha256"`
}

// MQTTTelemetry tunes the readings published to facility/{site}/telemetry/{device}.
type MQTTTelemetry struct {
	Enabled bool `mapstructure:"enabled" yaml:"enabled"`
	// QoS of telemetry messages: 0 (default; the next poll supersedes a lost one) or 1.
	QoS int `mapstructure:"qos" yaml:"qos"`
	// QueueSize bounds the snapshots waiting to be published; a full queue drops and counts.
	QueueSize int `mapstructure:"queue_size" yaml:"queue_size"`
	// MaxInterval is the longest a device goes unpublished while nothing changes (the
	// heartbeat of report by exception).
	MaxInterval time.Duration `mapstructure:"max_interval" yaml:"max_interval"`
	// Deadband is the relative band within which a number's change is not published, for the
	// profiles and points that give none (0.005: half a percent; 0 publishes every change).
	Deadband float64 `mapstructure:"deadband" yaml:"deadband"`
}

// DeviceMQTT is an MQTT device's transport.
type DeviceMQTT struct {
	// Topic carries the device's JSON payloads (MQTT wildcards allowed).
	Topic string `mapstructure:"topic" yaml:"topic"`
	// StatusTopic, if set, carries "online"/"offline", often the device's last will.
	StatusTopic string `mapstructure:"status_topic" yaml:"status_topic,omitempty"`
	// StaleAfter is how long the device may be silent before it is offline (default 3 × its
	// interval).
	StaleAfter time.Duration `mapstructure:"stale_after" yaml:"stale_after,omitempty"`
}

// defaultMQTT is the mqtt section of Default.
func defaultMQTT() MQTT {
	return MQTT{
		Embedded:             MQTTEmbedded{Addr: "127.0.0.1:1883", Anonymous: "telemetry", MaxClients: 500, MaxPacketSize: 264 << 10, ConnectTimeout: 10 * time.Second},
		MaxReconnectInterval: 10 * time.Second,
		KeepAlive:            30 * time.Second,
		MaxPayload:           256 << 10,
		MaxClockSkew:         5 * time.Minute,
		Telemetry:            MQTTTelemetry{Enabled: true, QueueSize: 1000, MaxInterval: time.Minute, Deadband: 0.005},
	}
}

// DeviceLocation is the zone MQTT devices' payload times without an offset are read in when
// their profile names no time_zone: the site's clock, alarms.timezone (firmware that sends
// local time sends the site's).
func (c *Config) DeviceLocation() *time.Location {
	loc, err := time.LoadLocation(c.Alarms.Timezone)
	if err != nil {
		return time.Local // Validate reports it
	}
	return loc
}

// BrokerURL is the broker the gateway connects to: mqtt.url, or the embedded broker's.
func (m *MQTT) BrokerURL() string {
	if m.URL != "" {
		return m.URL
	}
	return "tcp://" + m.Embedded.Addr
}

// ClientIDFor is mqtt.client_id, or facilityd-{site}-{hostname}: stable across restarts.
func (m *MQTT) ClientIDFor(site string) string {
	if m.ClientID != "" {
		return m.ClientID
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "gateway"
	}
	return "facilityd-" + site + "-" + host
}

// mqttSchemes are the URL schemes paho dials.
var mqttSchemes = map[string]bool{"tcp": true, "mqtt": true, "ssl": true, "tls": true, "mqtts": true, "ws": true, "wss": true}

func (c *Config) validateMQTT() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	m := &c.MQTT
	if m.URL != "" {
		u, err := url.Parse(m.URL)
		if err != nil || !mqttSchemes[u.Scheme] || u.Host == "" {
			add("mqtt.url: %q is not a broker URL (tcp://host:1883, ssl://host:8883, ws://host/mqtt; set %s)", m.URL, EnvName("mqtt.url"))
		}
	} else if host, port, err := net.SplitHostPort(m.Embedded.Addr); err != nil || port == "" {
		add("mqtt.embedded.addr: %q is not host:port (the embedded broker's listener, used when mqtt.url is empty)", m.Embedded.Addr)
	} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		add("mqtt.embedded.addr: %q: the embedded broker listens on loopback only; set mqtt.url to a broker of your own", m.Embedded.Addr)
	}
	errs = append(errs, c.validateBrokerAccounts()...)
	if (m.TLS.CertFile == "") != (m.TLS.KeyFile == "") {
		add("mqtt.tls.cert_file, mqtt.tls.key_file: give both or neither")
	}
	for _, f := range []struct{ key, path string }{{"mqtt.tls.ca_file", m.TLS.CAFile}, {"mqtt.tls.cert_file", m.TLS.CertFile}, {"mqtt.tls.key_file", m.TLS.KeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			add("%s: %v", f.key, err)
		}
	}
	if m.Password != "" && m.Username == "" {
		add("mqtt.password: given without mqtt.username")
	}
	if m.MaxReconnectInterval <= 0 {
		add("mqtt.max_reconnect_interval: %v must be positive", m.MaxReconnectInterval)
	}
	if m.KeepAlive < time.Second {
		add("mqtt.keep_alive: %v must be at least 1s", m.KeepAlive)
	}
	if m.MaxPayload < 1 || m.MaxPayload > 268435455 {
		add("mqtt.max_payload: %d must be 1 to 268435455 bytes (the MQTT maximum)", m.MaxPayload)
	}
	if m.MaxClockSkew <= 0 {
		add("mqtt.max_clock_skew: %v must be positive (how far ahead of the gateway's clock a device's time may be)", m.MaxClockSkew)
	}
	if m.Telemetry.QoS < 0 || m.Telemetry.QoS > 1 {
		add("mqtt.telemetry.qos: %d must be 0 or 1", m.Telemetry.QoS)
	}
	if m.Telemetry.QueueSize < 1 {
		add("mqtt.telemetry.queue_size: %d must be at least 1", m.Telemetry.QueueSize)
	}
	if m.Telemetry.MaxInterval < time.Second {
		add("mqtt.telemetry.max_interval: %v must be at least 1s (the heartbeat while nothing changes)", m.Telemetry.MaxInterval)
	}
	if m.Telemetry.Deadband < 0 || m.Telemetry.Deadband >= 1 {
		add("mqtt.telemetry.deadband: %v must be a fraction from 0 to below 1 (0.005 is half a percent)", m.Telemetry.Deadband)
	}
	return errs
}

// validTopic says why an MQTT topic filter is unusable (MQTT 3.1.1, 4.7: '+' and '#' stand
// for whole levels, '#' only last), or "".
func validTopic(t string) string {
	if t == "" {
		return "missing"
	}
	levels := strings.Split(t, "/")
	for i, l := range levels {
		switch {
		case strings.Contains(l, "#") && (l != "#" || i != len(levels)-1):
			return fmt.Sprintf("%q: '#' must be a whole level and the last one", t)
		case strings.Contains(l, "+") && l != "+":
			return fmt.Sprintf("%q: '+' must be a whole level", t)
		}
	}
	return ""
}

// validateDeviceMQTT checks an MQTT device's transport and that its profile locates points by
// JSON path.
func validateDeviceMQTT(d *Device, profile *devices.Profile, add func(key, format string, args ...any)) {
	m := d.MQTT
	if msg := validTopic(m.Topic); msg != "" {
		add("mqtt.topic", "%s", msg)
	}
	if m.StatusTopic != "" {
		if msg := validTopic(m.StatusTopic); msg != "" {
			add("mqtt.status_topic", "%s", msg)
		} else if m.StatusTopic == m.Topic {
			add("mqtt.status_topic", "%q is also the data topic; give the status its own topic", m.StatusTopic)
		}
	}
	switch {
	case m.StaleAfter < 0:
		add("mqtt.stale_after", "%v must be positive", m.StaleAfter)
	case m.StaleAfter > 0 && m.StaleAfter < d.Interval:
		add("mqtt.stale_after", "%v is shorter than the device's interval %v: it would go offline between messages", m.StaleAfter, d.Interval)
	}
	if profile != nil && profile.Transport() != "mqtt" {
		add("profile", "%q locates its points by Modbus table and address; an MQTT device needs a profile with a JSON path or a topic per point (e.g. lighting_mqtt)", profile.Name)
		return
	}
	if profile == nil || validTopic(m.Topic) != "" {
		return
	}
	for i := range profile.Points {
		p := &profile.Points[i]
		if p.Topic == "" {
			continue
		}
		switch full := p.TopicUnder(m.Topic); {
		case strings.HasSuffix(m.Topic, "#"):
			add("mqtt.topic", "%q ends in '#', but profile %q hears point %s on a topic of its own under it: use '+' for one level", m.Topic, profile.Name, p.Name)
			return
		case full == m.StatusTopic:
			add("mqtt.status_topic", "%q is also point %s's topic in profile %q; give the status its own topic", m.StatusTopic, p.Name, profile.Name)
		}
	}
}

// validateBrokerLimits checks the embedded broker's limits.
func (c *Config) validateBrokerLimits() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	e := &c.MQTT.Embedded
	if e.MaxClients < 1 {
		add("mqtt.embedded.max_clients: %d must be at least 1 (connections open at once, the gateway's own included)", e.MaxClients)
	}
	// MQTT 3.1.1 §2.2.3: a remaining length is at most 268435455 bytes.
	if e.MaxPacketSize < c.MQTT.MaxPayload || e.MaxPacketSize > 268435455 {
		add("mqtt.embedded.max_packet_size: %d must be from mqtt.max_payload (%d) to 268435455 bytes, so that a device's largest payload fits", e.MaxPacketSize, c.MQTT.MaxPayload)
	}
	if e.ConnectTimeout < time.Second {
		add("mqtt.embedded.connect_timeout: %v must be at least 1s (the time a new connection has to send its CONNECT)", e.ConnectTimeout)
	}
	return errs
}

func (c *Config) validateBrokerAccounts() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	e := &c.MQTT.Embedded
	if c.MQTT.URL != "" {
		return nil // the accounts are the embedded broker's; a broker of the site's own has its own
	}
	switch e.Anonymous {
	case "telemetry", "none":
	default:
		add("mqtt.embedded.anonymous: %q is not telemetry or none", e.Anonymous)
	}
	errs = append(errs, c.validateBrokerLimits()...)
	guards := map[string]bool{}
	for _, g := range c.Patrol.Guards {
		guards[g.ID] = true
	}
	mqttDevices := map[string]bool{}
	for i := range c.Devices {
		if c.Devices[i].MQTT != nil {
			mqttDevices[c.Devices[i].ID] = true
		}
	}
	devAccounts := make([]BrokerAccount, len(e.Devices))
	for i, d := range e.Devices {
		devAccounts[i] = BrokerAccount{Username: d.Username, SHA256: d.SHA256}
		for j, id := range d.Devices {
			if !mqttDevices[id] {
				add("mqtt.embedded.devices[%d].devices[%d]: %q is not the id of an MQTT device of this configuration", i, j, id)
			}
		}
	}
	seen := map[string]string{}
	for _, list := range []struct {
		key      string
		accounts []BrokerAccount
	}{{"mqtt.embedded.handsets", e.Handsets}, {"mqtt.embedded.devices", devAccounts}, {"mqtt.embedded.integrators", e.Integrators}} {
		for i, a := range list.accounts {
			key := fmt.Sprintf("%s[%d]", list.key, i)
			switch {
			case a.Username == "":
				add("%s.username: missing", key)
			case strings.HasPrefix(a.Username, "facilityd"):
				add("%s.username: %q: names starting with facilityd are the gateway's own", key, a.Username)
			case seen[a.Username] != "":
				add("%s.username: %q is already %s", key, a.Username, seen[a.Username])
			default:
				seen[a.Username] = key
			}
			if b, err := hex.DecodeString(strings.ToLower(a.SHA256)); err != nil || len(b) != 32 {
				add("%s (%s).sha256: must be 64 hex digits, the SHA-256 of the password (facilityd hash-token prints it)", key, a.Username)
			}
			if list.key == "mqtt.embedded.handsets" && a.Username != "" && !guards[a.Username] {
				add("%s.username: %q is not a patrol.guards id: a handset signs in as its guard", key, a.Username)
			}
		}
	}
	return errs
}
