package northbound

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is the MQTT broker facilityd embeds when no mqtt.url is configured, so that the demo
// and a small site need nothing else. It admits clients as its Access says: the gateway, the
// guards' handsets, the devices that publish, and (if allowed) anonymous readers of telemetry.
type Broker struct {
	srv  *mochi.Server
	addr net.Addr
}

// StartBroker listens on addr (host:port; port 0 picks one) and serves until Close. access
// says who may do what; nil admits every client to everything, for tests of the MQTT path
// alone (facilityd always passes one).
func StartBroker(addr string, access *Access, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Bind first, so that a busy port is an error here and the bound address is known.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mqtt.embedded.addr %s: %w (another broker there? set mqtt.url to use it, or move mqtt.embedded.addr)", addr, err)
	}
	bound := ln.Addr()
	ln.Close()
	srv := mochi.New(&mochi.Options{Logger: log, InlineClient: true})
	var hook mochi.Hook = new(auth.AllowHook)
	if access != nil {
		hook = newAccessHook(*access)
	}
	if err := srv.AddHook(hook, nil); err != nil {
		return nil, err
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: bound.String()})); err != nil {
		return nil, fmt.Errorf("mqtt.embedded.addr %s: %w", bound, err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return &Broker{srv: srv, addr: bound}, nil
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() net.Addr { return b.addr }

// URL is the broker's address as paho takes it.
func (b *Broker) URL() string { return "tcp://" + b.addr.String() }

// Publish hands a message straight to the broker's subscribers, without a client connection:
// facilityd's own telemetry, when the broker is its own, costs no socket, no encoding to the
// wire and back, and no session. It satisfies Publisher.
func (b *Broker) Publish(_ context.Context, topic string, qos byte, retained bool, payload []byte) error {
	return b.srv.Publish(topic, payload, retained, qos)
}

// Close disconnects every client and stops listening.
func (b *Broker) Close() error { return b.srv.Close() }
