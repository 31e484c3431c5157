package northbound

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/internal/testutil"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

func dialTest(t *testing.T, url, id string) *Client {
	t.Helper()
	c, err := Dial(ClientOptions{URL: url, ClientID: id, StoreDir: t.TempDir(), MaxReconnectInterval: 500 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func waitConnected(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestBrokerRestart restarts mosquitto under a subscriber and a publisher: the subscription
// comes back by itself, and every QoS 1 message published after the broker returns arrives.
func TestBrokerRestart(t *testing.T) {
	broker := testenv.NewMosquitto(t)
	sub := dialTest(t, broker.URL, "test-sub")
	pub := dialTest(t, broker.URL, "test-pub")

	var mu sync.Mutex
	got := map[string]bool{}
	if err := sub.Subscribe("facility/t/patrol/+", 1, func(topic string, payload []byte) {
		mu.Lock()
		got[string(payload)] = true
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, sub)
	waitConnected(t, pub)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	ctx := context.Background()
	if err := pub.Publish(ctx, PatrolTopic("t", "north"), 1, false, []byte("before")); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the message before the restart", 20*time.Second, func() bool { return count() == 1 })

	broker.Stop()
	testutil.WaitFor(t, "the clients to see the broker gone", 20*time.Second, func() bool { return !sub.Connected() && !pub.Connected() })
	// QoS 1 messages published while the broker is away are kept and sent on reconnection.
	const during = 10
	errc := make(chan error, during)
	for i := range during {
		go func() {
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			errc <- pub.Publish(pctx, PatrolTopic("t", "north"), 1, false, []byte(fmt.Sprintf("during-%d", i)))
		}()
	}
	time.Sleep(200 * time.Millisecond) // let the publishes reach paho's store
	broker.Start()
	waitConnected(t, pub)
	waitConnected(t, sub)
	for range during {
		if err := <-errc; err != nil {
			t.Errorf("publish while the broker was away: %v", err)
		}
	}

	const n = 200
	for i := range n {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := pub.Publish(pctx, PatrolTopic("t", "north"), 1, false, []byte(fmt.Sprintf("after-%d", i))); err != nil {
			t.Fatalf("publish %d after the restart: %v", i, err)
		}
		cancel()
	}
	testutil.WaitFor(t, "every message during and after the restart", 20*time.Second, func() bool { return count() == n+during+1 })
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		if !got[fmt.Sprintf("after-%d", i)] {
			t.Errorf("message after-%d lost", i)
		}
	}
	for i := range during {
		if !got[fmt.Sprintf("during-%d", i)] {
			t.Errorf("message during-%d, published while the broker was away, lost", i)
		}
	}
}

// TestEmbeddedBroker runs the same publish and subscribe over the broker facilityd embeds.
func TestEmbeddedBroker(t *testing.T) {
	b, err := StartBroker("127.0.0.1:0", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub := dialTest(t, b.URL(), "test-sub")
	pub := dialTest(t, b.URL(), "test-pub")
	got := make(chan string, 10)
	if err := sub.Subscribe(NoticesTopic("t"), 1, func(_ string, p []byte) { got <- string(p) }); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, sub)
	if err := pub.Publish(context.Background(), NoticesTopic("t"), 1, false, []byte("water off tomorrow 9-12")); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "water off tomorrow 9-12" {
			t.Errorf("got %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("notice not received over the embedded broker")
	}
}

func TestTopics(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, got, want string }{
		{"telemetry", TelemetryTopic("demo-estate", "P-1"), "facility/demo-estate/telemetry/P-1"},
		{"status", GatewayStatusTopic("s"), "facility/s/gateway/status"},
		{"alarm", AlarmTopic("s", "FP-1"), "facility/s/alarms/FP-1"},
		{"patrol zone with wildcards", PatrolTopic("s", "north/#+"), "facility/s/patrol/north___"},
		{"notices", NoticesTopic("s"), "facility/s/notices"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

// TestSubscriptionsWithoutBrokerState: a broker that comes back with no memory of the session
// (the embedded one keeps none) still delivers, because the client subscribes again on
// connect.
func TestSubscriptionsWithoutBrokerState(t *testing.T) {
	b, err := StartBroker("127.0.0.1:0", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr().String()
	sub := dialTest(t, b.URL(), "test-sub")
	got := make(chan string, 10)
	if err := sub.Subscribe("facility/t/patrol/#", 1, func(_ string, p []byte) { got <- string(p) }); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, sub)
	b.Close()
	testutil.WaitFor(t, "the subscriber to see the broker gone", 20*time.Second, func() bool { return !sub.Connected() })
	b2, err := StartBroker(addr, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	pub := dialTest(t, b2.URL(), "test-pub")
	waitConnected(t, sub)
	waitConnected(t, pub)
	// Connected comes with the CONNACK, a moment before the subscription made again on connect
	// is in place; a message published in that moment has no subscriber yet. So publish until
	// one arrives: what must hold is that delivery resumes without a new Subscribe call.
	deadline := time.After(20 * time.Second)
	for {
		if err := pub.Publish(context.Background(), PatrolTopic("t", "south"), 1, false, []byte("claim FA-7")); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-got:
			if p != "claim FA-7" {
				t.Errorf("got %q", p)
			}
			return
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("no message after the broker came back empty: the subscription was not made again")
		}
	}
}

// refuseFirstSubscribe spoils the first SUBSCRIBE to one filter, so that the broker answers it
// with 0x80, as mochi does to a SUBSCRIBE whose packet id is one of its own deliveries in
// flight to that client.
type refuseFirstSubscribe struct {
	mochi.HookBase
	filter  string
	mu      sync.Mutex
	refused int
}

func (h *refuseFirstSubscribe) ID() string { return "refuse-first-subscribe" }

func (h *refuseFirstSubscribe) Provides(b byte) bool { return b == mochi.OnSubscribe }

func (h *refuseFirstSubscribe) OnSubscribe(_ *mochi.Client, pk packets.Packet) packets.Packet {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range pk.Filters {
		if pk.Filters[i].Filter == h.filter && h.refused == 0 {
			h.refused++
			pk.Filters[i].Filter = "refused/#/here" // not a valid filter: SUBACK 0x80
		}
	}
	return pk
}

// TestSubscribeRefusedOnce: a subscription the broker refuses once is asked for again, and its
// messages arrive; the refusal is not taken for a grant.
func TestSubscribeRefusedOnce(t *testing.T) {
	for _, when := range []string{"while connected", "on connect"} {
		t.Run(when, func(t *testing.T) {
			b, err := StartBroker("127.0.0.1:0", nil, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			hook := &refuseFirstSubscribe{filter: "facility/t/patrol/north"}
			if err := b.srv.AddHook(hook, nil); err != nil {
				t.Fatal(err)
			}
			pub := dialTest(t, b.URL(), "pub")
			sub, err := Dial(ClientOptions{URL: b.URL(), ClientID: "sub", StoreDir: t.TempDir(),
				MaxReconnectInterval: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(sub.Close)
			if when == "while connected" {
				waitConnected(t, sub)
			}
			got := make(chan string, 100)
			if err := sub.Subscribe(hook.filter, 1, func(_ string, p []byte) { got <- string(p) }); err != nil {
				t.Fatal(err)
			}
			waitConnected(t, sub)
			waitConnected(t, pub)
			deadline := time.After(15 * time.Second)
			for {
				if err := pub.Publish(context.Background(), hook.filter, 1, false, []byte("alert")); err != nil {
					t.Fatal(err)
				}
				select {
				case <-got:
					hook.mu.Lock()
					defer hook.mu.Unlock()
					if hook.refused != 1 {
						t.Fatalf("the broker refused %d subscriptions, want the one", hook.refused)
					}
					return
				case <-time.After(200 * time.Millisecond):
				case <-deadline:
					t.Fatal("no message on a subscription the broker refused once: it was never asked for again")
				}
			}
		})
	}
}
