package northbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// ErrClosed is returned by Publish and Subscribe after Close.
var ErrClosed = errors.New("mqtt session closed")

// ErrNotConnected is returned by a QoS 0 Publish while the session is down (QoS 1 messages
// are kept and sent on reconnection instead).
var ErrNotConnected = errors.New("not connected")

// ClientOptions configure the gateway's MQTT session.
type ClientOptions struct {
	// URL of the broker as paho takes it: tcp://host:1883, ssl://host:8883, ws://host/mqtt.
	URL string
	// ClientID must be stable across restarts: the broker keeps the persistent session
	// (subscriptions and QoS 1 messages queued while facilityd was away) under it.
	ClientID           string
	Username, Password string
	TLS                *tls.Config
	// StoreDir keeps QoS 1 messages in flight on disk (paho's file store, one folder per
	// client id), so that neither a broker restart nor a facilityd restart loses them.
	// Empty keeps them in memory.
	StoreDir string
	// MaxReconnectInterval bounds the wait between reconnection attempts (default 10s).
	MaxReconnectInterval time.Duration
	// ConnectTimeout bounds one connection attempt (default 10s); KeepAlive is the MQTT
	// keep-alive (default 30s); PublishTimeout bounds Publish when its context has no deadline
	// (default 10s).
	ConnectTimeout, KeepAlive, PublishTimeout time.Duration
	// StatusTopic, if set, gets a retained "online" on every connection, "offline" on Close,
	// and "offline" as the last will when the gateway dies without closing.
	StatusTopic string
	Logger      *slog.Logger
	Metrics     *Metrics
}

// Client is the gateway's MQTT session: one persistent session (clean session off, stable
// client id, QoS 1 messages in flight kept in a file store) that reconnects by itself, with
// every subscription made again in the on-connect handler, since a broker that lost the
// session (a restart without persistence, or a clean session) forgets them
// (eclipse/paho.mqtt.golang#22, #238).
//
// Handlers given to Subscribe run on paho's goroutine in arrival order and must not block or
// wait on a publish (paho#427, #474: a blocked handler stalls the session until the broker
// drops it). Client satisfies the one-method publisher interfaces of later stages.
type Client struct {
	opts ClientOptions
	c    paho.Client
	log  *slog.Logger
	m    *Metrics

	mu   sync.Mutex
	subs []subscription
	// onConnectFns run (each on a goroutine of its own) after every connection, once the
	// subscriptions are in place.
	onConnectFns []func()
	closed       bool
	up           chan struct{} // closed while connected; replaced on connection loss
}

type subscription struct {
	topic  string
	qos    byte
	handle func(topic string, payload []byte)
}

// Dial starts the session and returns at once; it connects, and reconnects, in the
// background. WaitConnected waits for the first connection.
func Dial(opts ClientOptions) (*Client, error) {
	if opts.URL == "" {
		return nil, errors.New("mqtt: no broker URL")
	}
	if opts.ClientID == "" {
		return nil, errors.New("mqtt: no client id")
	}
	if opts.MaxReconnectInterval <= 0 {
		opts.MaxReconnectInterval = 10 * time.Second
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = 30 * time.Second
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	cl := &Client{opts: opts, log: opts.Logger, m: opts.Metrics, up: make(chan struct{})}

	po := paho.NewClientOptions().
		AddBroker(opts.URL).
		SetClientID(opts.ClientID).
		SetCleanSession(false).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(opts.MaxReconnectInterval).
		SetConnectTimeout(opts.ConnectTimeout).
		SetKeepAlive(opts.KeepAlive).
		SetPingTimeout(min(10*time.Second, opts.KeepAlive)).
		SetWriteTimeout(opts.PublishTimeout).
		SetOnConnectHandler(cl.onConnect).
		SetConnectionLostHandler(cl.onLost).
		SetReconnectingHandler(func(paho.Client, *paho.ClientOptions) {
			cl.log.Debug("mqtt reconnecting", "broker", opts.URL)
		})
	if opts.Username != "" {
		po.SetUsername(opts.Username)
		po.SetPassword(opts.Password)
	}
	if opts.TLS != nil {
		po.SetTLSConfig(opts.TLS)
	}
	if opts.StatusTopic != "" {
		po.SetBinaryWill(opts.StatusTopic, []byte(StatusOffline), 1, true)
	}
	if opts.StoreDir != "" {
		dir := filepath.Join(opts.StoreDir, sanitizeDir(opts.ClientID))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("mqtt.store_dir: %w", err)
		}
		po.SetStore(newSafeStore(paho.NewFileStore(dir), cl.log, func() int64 { return time.Now().Unix() }))
	}
	cl.c = paho.NewClient(po)
	// With ConnectRetry the token completes only once connected; nobody waits on it here.
	cl.c.Connect()
	return cl, nil
}

func sanitizeDir(id string) string {
	out := []rune(id)
	for i, r := range out {
		if r == '/' || r == '\\' || r == ':' || r == 0 || r == '.' && i == 0 {
			out[i] = '_'
		}
	}
	return string(out)
}

// onConnect runs (on a goroutine of its own) after every connection: it announces the gateway
// and restores every subscription.
func (cl *Client) onConnect(c paho.Client) {
	cl.m.connects.Inc()
	cl.m.connected.Set(1)
	cl.log.Info("mqtt connected", "broker", cl.opts.URL, "client_id", cl.opts.ClientID)
	cl.mu.Lock()
	subs := append([]subscription(nil), cl.subs...)
	cl.mu.Unlock()
	for _, s := range subs {
		// A subscription that failed would stay missing until the next reconnect: retry it
		// while this connection lasts.
		for attempt := 0; ; attempt++ {
			err := cl.subscribeOnce(c, s)
			if err == nil {
				break
			}
			cl.log.Warn("mqtt subscribe failed; retrying", "topic", s.topic, "err", err, "attempt", attempt+1)
			if !c.IsConnectionOpen() || cl.isClosed() {
				return
			}
			time.Sleep(time.Second)
		}
	}
	if cl.opts.StatusTopic != "" {
		c.Publish(cl.opts.StatusTopic, 1, true, []byte(StatusOnline))
	}
	cl.mu.Lock()
	for _, f := range cl.onConnectFns {
		go f()
	}
	select {
	case <-cl.up:
	default:
		close(cl.up)
	}
	cl.mu.Unlock()
}

func (cl *Client) isClosed() bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.closed
}

func (cl *Client) onLost(_ paho.Client, err error) {
	cl.m.lost.Inc()
	cl.m.connected.Set(0)
	cl.log.Warn("mqtt connection lost; reconnecting", "broker", cl.opts.URL, "err", err)
	cl.mu.Lock()
	select {
	case <-cl.up:
		cl.up = make(chan struct{})
	default:
	}
	cl.mu.Unlock()
}

func (cl *Client) wrap(handle func(string, []byte)) paho.MessageHandler {
	return func(_ paho.Client, msg paho.Message) {
		cl.m.in.Inc()
		handle(msg.Topic(), msg.Payload())
	}
}

// OnConnect runs f after every connection of the session (the first and each reconnection),
// once its subscriptions are in place; f runs on a goroutine of its own.
func (cl *Client) OnConnect(f func()) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.onConnectFns = append(cl.onConnectFns, f)
}

// WaitConnected waits until the session is connected with every subscription in place.
func (cl *Client) WaitConnected(ctx context.Context) error {
	cl.mu.Lock()
	up := cl.up
	cl.mu.Unlock()
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mqtt %s: not connected: %w", cl.opts.URL, ctx.Err())
	}
}

// Connected reports whether the session is connected now.
func (cl *Client) Connected() bool { return cl.c.IsConnectionOpen() }

// Publish sends payload to topic and, for QoS 1 and 2, waits for the broker's acknowledgement
// until ctx ends (or PublishTimeout, if ctx has no deadline). While the session is
// reconnecting a QoS 1 message is kept in the store and sent on reconnection; a QoS 0 message
// is dropped at once with ErrNotConnected.
func (cl *Client) Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error {
	cl.mu.Lock()
	closed := cl.closed
	cl.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if qos == 0 && !cl.c.IsConnectionOpen() {
		// paho would keep a QoS 0 message waiting for a connection that may be long in
		// coming; the next reading supersedes it.
		cl.m.publishErrors.Inc()
		return fmt.Errorf("mqtt publish %s: %w", topic, ErrNotConnected)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cl.opts.PublishTimeout)
		defer cancel()
	}
	t := cl.c.Publish(topic, qos, retained, payload)
	select {
	case <-t.Done():
		if err := t.Error(); err != nil {
			cl.m.publishErrors.Inc()
			return fmt.Errorf("mqtt publish %s: %w", topic, err)
		}
		cl.m.out.Inc()
		return nil
	case <-ctx.Done():
		cl.m.publishErrors.Inc()
		return fmt.Errorf("mqtt publish %s: no acknowledgement: %w", topic, ctx.Err())
	}
}

// Subscribe calls handle for every message on topic (wildcards allowed), from now on and after
// every reconnection. handle runs on the session's goroutine and must return quickly: hand the
// message to a channel, and never publish-and-wait from it. If the session is down the
// subscription is made when it comes up.
func (cl *Client) Subscribe(topic string, qos byte, handle func(topic string, payload []byte)) error {
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return ErrClosed
	}
	cl.subs = append(cl.subs, subscription{topic, qos, handle})
	cl.mu.Unlock()
	if !cl.c.IsConnectionOpen() {
		return nil
	}
	// A refusal is tried again for as long as a connection may take: a broker may refuse a
	// subscription for a moment (see subscribeOnce).
	deadline := time.Now().Add(cl.opts.ConnectTimeout)
	for {
		err := cl.subscribeOnce(cl.c, subscription{topic, qos, handle})
		if err == nil || !errors.Is(err, errSubscribeRefused) || time.Now().After(deadline) || !cl.c.IsConnectionOpen() {
			return err
		}
		cl.log.Debug("mqtt subscribe refused; retrying", "topic", topic)
		time.Sleep(subscribeRetryPause)
	}
}

// errSubscribeRefused is a SUBACK whose return code is 0x80 (MQTT 3.1.1 §3.9.3).
var errSubscribeRefused = errors.New("refused by the broker (SUBACK 0x80)")

// subscribeRetryPause is how long Subscribe waits before it asks again after a refusal: ours,
// a few round trips on a LAN.
const subscribeRetryPause = 100 * time.Millisecond

// subscribeOnce makes one subscription on c and says whether the broker granted it. A SUBACK
// carrying 0x80 is an answer, not an error, to paho, yet the subscription does not exist:
// the embedded broker (mochi) gives it when the SUBSCRIBE's packet id is one of its own
// unacknowledged deliveries to this client, which happens whenever a client subscribes
// while QoS 1 messages flow to it.
func (cl *Client) subscribeOnce(c paho.Client, s subscription) error {
	t := c.Subscribe(s.topic, s.qos, cl.wrap(s.handle))
	if !t.WaitTimeout(cl.opts.ConnectTimeout) {
		return fmt.Errorf("mqtt subscribe %s: no answer within %v", s.topic, cl.opts.ConnectTimeout)
	}
	if err := t.Error(); err != nil {
		return fmt.Errorf("mqtt subscribe %s: %w", s.topic, err)
	}
	if st, ok := t.(*paho.SubscribeToken); ok {
		if code, ok := st.Result()[s.topic]; ok && code > 2 {
			return fmt.Errorf("mqtt subscribe %s: %w", s.topic, errSubscribeRefused)
		}
	}
	return nil
}

// Close says "offline" on the status topic (if connected), lets messages in flight go for up
// to a second, and disconnects. The persistent session stays on the broker.
func (cl *Client) Close() {
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return
	}
	cl.closed = true
	cl.mu.Unlock()
	if cl.opts.StatusTopic != "" && cl.c.IsConnectionOpen() {
		cl.c.Publish(cl.opts.StatusTopic, 1, true, []byte(StatusOffline)).WaitTimeout(2 * time.Second)
	}
	cl.c.Disconnect(1000)
	cl.m.connected.Set(0)
}
