package northbound

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/prometheus/client_golang/prometheus"
)

// Broker is the MQTT broker facilityd embeds when no mqtt.url is configured, so that the demo
// and a small site need nothing else. It admits clients as its Access says: the gateway, the
// guards' handsets, the devices that publish, integrators that read, and (if allowed)
// anonymous readers of telemetry; and it bounds what a client may cost before and after it
// signs in (BrokerLimits).
type Broker struct {
	srv  *mochi.Server
	ln   *guardedListener
	addr net.Addr
}

// BrokerLimits bound what clients may cost the broker. The defaults are ours (see
// DefaultBrokerLimits); a zero field takes its default.
type BrokerLimits struct {
	// MaxClients is the most connections open at once, signed in or not.
	MaxClients int
	// ConnectTimeout is how long a connection has from accept to a complete CONNECT.
	ConnectTimeout time.Duration
	// MaxPacketSize is the largest packet read from a signed-in client (MQTT 5 §3.1.2.11.4,
	// §3.2.2.3.6 Maximum Packet Size); a larger fixed header closes the connection before
	// anything is reserved for it.
	MaxPacketSize int
	// MaxConnectSize is the largest CONNECT read from a client not yet signed in.
	MaxConnectSize int
}

// DefaultBrokerLimits are our defaults, for a gateway of a few hundred devices (DESIGN
// "Scale") with its handsets: 500 connections is room for each device and handset with
// headroom, and stays under the 1024 descriptors a Linux soft limit often allows even where
// it cannot be raised; 10 s for a CONNECT is ample over a LAN or a slow 4G handset link;
// 264 KiB is mqtt.max_payload's 256 KiB default with room for the topic and header; 64 KiB
// holds any CONNECT we admit (credentials and a will of a claim or a status word).
var DefaultBrokerLimits = BrokerLimits{MaxClients: 500, ConnectTimeout: 10 * time.Second, MaxPacketSize: 264 << 10, MaxConnectSize: 64 << 10}

// maxPendingConnects is how many connections may be awaiting their CONNECT at once: with
// MaxConnectSize each, at most 4 MiB before anyone signs in. Ours.
const maxPendingConnects = 64

// Per-client queues: mochi's defaults (8192 pending writes, 1024 QoS messages in flight per
// client) let one slow subscriber hold tens of megabytes. Ours: a handset or device is sent
// little, and a slow one loses its connection rather than the gateway its memory.
const (
	maxClientWritesPending = 1024
	receiveMaximum         = 64
	maxInflight            = 1024
	// sessionExpiry bounds how long a disconnected persistent session is kept (mochi's
	// default is for ever): a day covers a handset out of coverage for a shift.
	sessionExpiry = 24 * 60 * 60
)

func (l BrokerLimits) withDefaults() BrokerLimits {
	d := DefaultBrokerLimits
	if l.MaxClients <= 0 {
		l.MaxClients = d.MaxClients
	}
	if l.ConnectTimeout <= 0 {
		l.ConnectTimeout = d.ConnectTimeout
	}
	if l.MaxPacketSize <= 0 {
		l.MaxPacketSize = d.MaxPacketSize
	}
	if l.MaxConnectSize <= 0 {
		l.MaxConnectSize = d.MaxConnectSize
	}
	return l
}

// BrokerOptions configure ServeBroker.
type BrokerOptions struct {
	// Addr is host:port; port 0 picks one.
	Addr string
	// Access says who may do what; nil admits every client to everything, for tests of the
	// MQTT path alone (facilityd always passes one).
	Access *Access
	Limits BrokerLimits
	Logger *slog.Logger
	// Registerer takes the broker's metrics (nil: not registered).
	Registerer prometheus.Registerer
}

// StartBroker listens on addr (host:port; port 0 picks one) with the default limits and
// serves until Close. access says who may do what; nil admits every client to everything.
func StartBroker(addr string, access *Access, log *slog.Logger) (*Broker, error) {
	return ServeBroker(BrokerOptions{Addr: addr, Access: access, Logger: log})
}

// ServeBroker listens on o.Addr and serves until Close.
func ServeBroker(o BrokerOptions) (*Broker, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lim := o.Limits.withDefaults()
	// Bind first, so that a busy port is an error here and the bound address is known.
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("mqtt.embedded.addr %s: %w (another broker there? set mqtt.url to use it, or move mqtt.embedded.addr)", o.Addr, err)
	}
	metrics := NewBrokerMetrics(o.Registerer)
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumClients = int64(lim.MaxClients)
	caps.MaximumPacketSize = uint32(lim.MaxPacketSize)
	caps.MaximumClientWritesPending = maxClientWritesPending
	caps.ReceiveMaximum = receiveMaximum
	caps.MaximumInflight = maxInflight
	caps.MaximumSessionExpiryInterval = sessionExpiry
	caps.TopicAliasMaximum = 0 // every PUBLISH names its topic, so the access rules read it
	srv := mochi.New(&mochi.Options{Logger: slog.New(newBrokerLogHandler(log.Handler(), nil)), InlineClient: true, Capabilities: caps})
	var hook mochi.Hook = new(auth.AllowHook)
	if o.Access != nil {
		h := newAccessHook(*o.Access)
		h.clients, h.metrics, h.log = srv.Clients, metrics, newLimitedLog(log, nil)
		hook = h
	}
	if err := srv.AddHook(hook, nil); err != nil {
		ln.Close()
		return nil, err
	}
	gl := &guardedListener{
		id: "tcp", ln: ln, maxClients: int64(lim.MaxClients), maxPending: min(maxPendingConnects, int64(lim.MaxClients)),
		maxConnect: lim.MaxConnectSize, connectTimeout: lim.ConnectTimeout,
		log: newLimitedLog(log, nil), metrics: metrics, wait: time.After,
		waiting: map[net.Conn]struct{}{}, done: make(chan struct{}),
	}
	gl.accepting.Store(true)
	if err := srv.AddListener(gl); err != nil {
		ln.Close()
		return nil, fmt.Errorf("mqtt.embedded.addr %s: %w", ln.Addr(), err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return &Broker{srv: srv, ln: gl, addr: ln.Addr()}, nil
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() net.Addr { return b.addr }

// URL is the broker's address as paho takes it.
func (b *Broker) URL() string { return "tcp://" + b.addr.String() }

// Accepting reports whether the broker accepts connections now: false while accepting fails
// (out of file descriptors) and after Close. /healthz and the gateway device report it.
func (b *Broker) Accepting() bool { return b.ln.accepting.Load() }

// Publish hands a message straight to the broker's subscribers, without a client connection:
// facilityd's own telemetry, when the broker is its own, costs no socket, no encoding to the
// wire and back, and no session. It satisfies Publisher.
func (b *Broker) Publish(_ context.Context, topic string, qos byte, retained bool, payload []byte) error {
	return b.srv.Publish(topic, payload, retained, qos)
}

// Close disconnects every client and stops listening.
func (b *Broker) Close() error { return b.srv.Close() }
