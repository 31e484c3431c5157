package northbound

import (
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func startTestBroker(t *testing.T, lim BrokerLimits) *Broker {
	t.Helper()
	a := testAccess()
	b, err := ServeBroker(BrokerOptions{Addr: "127.0.0.1:0", Access: &a, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// recorder is the gateway's session on a test broker, keeping every message it hears.
type recorder struct {
	mu  sync.Mutex
	got []string // "topic payload"
}

func (r *recorder) add(topic string, p []byte) {
	r.mu.Lock()
	r.got = append(r.got, topic+" "+string(p))
	r.mu.Unlock()
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func listen(t *testing.T, b *Broker, id, user, pass, filter string) *recorder {
	t.Helper()
	c, err := Dial(ClientOptions{URL: b.URL(), ClientID: id, Username: user, Password: pass, StoreDir: t.TempDir(),
		MaxReconnectInterval: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	r := &recorder{}
	if err := c.Subscribe(filter, 1, r.add); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, c)
	return r
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBrokerRefusesForbiddenWills: a CONNECT whose last will its account could not publish is
// refused Not authorized (3.1.1 return code 5, MQTT 5 reason 0x87), so the will is never
// armed: killing the client publishes nothing and retains nothing. Wills the account may
// publish still work.
func TestBrokerRefusesForbiddenWills(t *testing.T) {
	b := startTestBroker(t, BrokerLimits{})
	gw := listen(t, b, "gw", GatewayUsername, "gw", "#")
	claim := func(guard string) string { return `{"alert":"A1","guard":"` + guard + `","action":"claim"}` }
	claims := "facility/s/patrol/north/claims"
	tests := []struct {
		name string
		c    rawConnect
		want int
	}{
		{"anonymous will claims an alert", rawConnect{version: 4, id: "x1", willTopic: claims, willMsg: claim("g-li")}, 5},
		{"anonymous will switches a circuit", rawConnect{version: 4, id: "x2", willTopic: "t/lighting/LC-1/set", willMsg: `{"point":"circuit_01_cmd","value":true}`}, 5},
		{"anonymous retained will fakes comm loss", rawConnect{version: 4, id: "x3", willTopic: "t/lighting/LC-2/status", willMsg: "offline", willRetain: true}, 5},
		{"handset will claims in another's name", rawConnect{version: 4, id: "x4", user: "g-a", pass: "pa", willTopic: claims, willMsg: claim("g-li")}, 5},
		{"handset will retained", rawConnect{version: 4, id: "x5", user: "g-a", pass: "pa", willTopic: claims, willMsg: claim("g-a"), willRetain: true}, 5},
		{"MQTT 5 handset will, QoS 2, retained, delayed", rawConnect{version: 5, id: "x6", user: "g-a", pass: "pa", willTopic: claims, willMsg: claim("g-li"), willQoS: 2, willRetain: true, willDelay: 1}, 0x87},
		{"MQTT 5 anonymous will", rawConnect{version: 5, id: "x7", willTopic: "t/lighting/LC-1/set", willMsg: "on"}, 0x87},
		{"device will on another device's status", rawConnect{version: 4, id: "x8", user: "dev2", pass: "pd2", willTopic: "t/lighting/LC-1/status", willMsg: "offline"}, 5},
		{"device will on a command topic", rawConnect{version: 4, id: "x9", user: "dev", pass: "pd", willTopic: "t/lighting/LC-1/set", willMsg: "on"}, 5},
		{"integrator will", rawConnect{version: 4, id: "x10", user: "bms", pass: "pi", willTopic: "facility/s/alarms/P-1", willMsg: "{}"}, 5},
		// mochi answers a 3.1.1 client's bad password with 5 as well (its V5CodesToV3).
		{"wrong password refused", rawConnect{version: 4, id: "x11", user: "g-a", pass: "guess", willTopic: claims, willMsg: claim("g-a")}, 5},
		{"MQTT 5 wrong password is bad credentials", rawConnect{version: 5, id: "x12", user: "g-a", pass: "guess"}, 0x86},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, rc := tt.c.dial(t, b.Addr().String())
			if rc != tt.want {
				t.Fatalf("CONNACK code %#x, want %#x", rc, tt.want)
			}
			if !closedWithin(conn, 5*time.Second) {
				t.Error("refused connection left open")
			}
		})
	}
	// Allowed wills: a handset's own claim, a device's retained status; both sockets dropped
	// without a DISCONNECT.
	for _, c := range []rawConnect{
		{version: 4, id: "ok1", user: "g-a", pass: "pa", willTopic: claims, willMsg: claim("g-a")},
		{version: 5, id: "ok2", user: "dev2", pass: "pd2", willTopic: "t/lighting/LC-2/status", willMsg: "offline", willRetain: true, willQoS: 1},
	} {
		conn, rc := c.dial(t, b.Addr().String())
		if rc != 0 {
			t.Fatalf("%s: CONNACK %#x, want 0", c.id, rc)
		}
		conn.Close()
	}
	eventually(t, "the two allowed wills published", func() bool { return len(gw.all()) >= 2 })
	time.Sleep(200 * time.Millisecond) // a stray will published later would show now
	for _, m := range gw.all() {
		if m != claims+" "+claim("g-a") && m != "t/lighting/LC-2/status offline" {
			t.Errorf("a refused client's will was published: %s", m)
		}
	}
	late := listen(t, b, "late", GatewayUsername, "gw", "#")
	eventually(t, "the device's retained status", func() bool { return len(late.all()) >= 1 })
	if got := late.all(); len(got) != 1 || got[0] != "t/lighting/LC-2/status offline" {
		t.Errorf("retained messages %q, want the device's own status only", got)
	}
}

// TestBrokerRefusesPublishes: a refused publish closes the connection and reaches nobody.
func TestBrokerRefusesPublishes(t *testing.T) {
	b := startTestBroker(t, BrokerLimits{})
	gw := listen(t, b, "gw", GatewayUsername, "gw", "#")
	publish := func(topic, payload string, retain bool) []byte {
		body := append(mqttString(topic), payload...)
		h := byte(0x30)
		if retain {
			h |= 1
		}
		return append(encodeFixedHeader(h, len(body)), body...)
	}
	tests := []struct {
		name    string
		c       rawConnect
		topic   string
		payload string
		retain  bool
		allowed bool
	}{
		{"anonymous switches a circuit", rawConnect{version: 4, id: "p1"}, "t/lighting/LC-1/set", "on", false, false},
		{"handset claims as another guard", rawConnect{version: 4, id: "p2", user: "g-a", pass: "pa"}, "facility/s/patrol/north/claims", `{"guard":"g-li"}`, false, false},
		{"device retains its state", rawConnect{version: 4, id: "p3", user: "dev2", pass: "pd2"}, "t/lighting/LC-2/state", "{}", true, false},
		{"device publishes for another device", rawConnect{version: 4, id: "p4", user: "dev2", pass: "pd2"}, "t/lighting/LC-1/state", "{}", false, false},
		{"device publishes its own state", rawConnect{version: 4, id: "p5", user: "dev2", pass: "pd2"}, "t/lighting/LC-2/state", `{"own":1}`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, rc := tt.c.dial(t, b.Addr().String())
			if rc != 0 {
				t.Fatalf("CONNACK %#x", rc)
			}
			conn.Write(publish(tt.topic, tt.payload, tt.retain))
			if closed := closedWithin(conn, time.Second); closed == tt.allowed {
				t.Errorf("connection closed %v, want %v", closed, !tt.allowed)
			}
		})
	}
	eventually(t, "the device's own publish", func() bool { return len(gw.all()) >= 1 })
	if got := gw.all(); len(got) != 1 || got[0] != `t/lighting/LC-2/state {"own":1}` {
		t.Errorf("subscriber got %q, want the allowed publish only", got)
	}
}

// TestBrokerKeepsSessionsToTheirAccount: a client cannot take over another account's session
// by its client id (and so inherit its subscriptions, or cut the gateway off).
func TestBrokerKeepsSessionsToTheirAccount(t *testing.T) {
	b := startTestBroker(t, BrokerLimits{})
	gw := listen(t, b, "facilityd-s-host", GatewayUsername, "gw", "#")
	if _, rc := (rawConnect{version: 4, id: "facilityd-s-host"}).dial(t, b.Addr().String()); rc != 5 {
		t.Fatalf("anonymous client with the gateway's client id: CONNACK %#x, want 5", rc)
	}
	conn, rc := (rawConnect{version: 4, id: "d", user: "dev2", pass: "pd2"}).dial(t, b.Addr().String())
	if rc != 0 {
		t.Fatal(rc)
	}
	body := append(mqttString("t/lighting/LC-2/state"), "still here"...)
	conn.Write(append(encodeFixedHeader(0x30, len(body)), body...))
	eventually(t, "the gateway still subscribed", func() bool { return len(gw.all()) == 1 })
}

// TestBrokerLimitsConnections: with a limit of 20 and a 1 s CONNECT deadline, silent sockets
// hold the broker for a second at most, sockets beyond the limit are closed at once, and a
// handset signs in once the pressure ends.
func TestBrokerLimitsConnections(t *testing.T) {
	b := startTestBroker(t, BrokerLimits{MaxClients: 20, ConnectTimeout: time.Second})
	var idle []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", b.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	eventually(t, "20 connections counted", func() bool { return b.ln.open.Load() == 20 })
	extra, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if !closedWithin(extra, 500*time.Millisecond) {
		t.Error("a connection beyond max_clients was kept open")
	}
	start := time.Now()
	for i, c := range idle {
		if !closedWithin(c, 3*time.Second) {
			t.Fatalf("silent connection %d still open after the CONNECT deadline", i)
		}
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("silent connections closed after %v, want about the 1s deadline", d)
	}
	if _, rc := (rawConnect{version: 4, id: "h", user: "g-a", pass: "pa", keepalive: 30}).dial(t, b.Addr().String()); rc != 0 {
		t.Fatalf("handset after the pressure: CONNACK %d", rc)
	}
	if !b.Accepting() {
		t.Error("broker reports not accepting")
	}
}

// TestBrokerBoundsMemoryBeforeLogin: 8 sockets × 3 rounds of fixed headers declaring 256 MiB,
// before and after CONNECT, are closed without the broker reserving what they declare.
func TestBrokerBoundsMemoryBeforeLogin(t *testing.T) {
	b := startTestBroker(t, BrokerLimits{})
	huge := encodeFixedHeader(0x10, 256<<20-1) // the largest length MQTT encodes
	hugePublish := encodeFixedHeader(0x30, 256<<20-1)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for round := range 3 {
		for i := range 8 {
			var conn net.Conn
			if i%2 == 0 {
				c, err := net.Dial("tcp", b.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.Write(huge)
				conn = c
			} else {
				c, rc := (rawConnect{version: 4, id: "m"}).dial(t, b.Addr().String())
				if rc != 0 {
					t.Fatalf("CONNACK %d", rc)
				}
				c.Write(hugePublish)
				conn = c
			}
			if !closedWithin(conn, 2*time.Second) {
				t.Fatalf("round %d socket %d: a 256 MiB header left the connection open", round, i)
			}
		}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.TotalAlloc - before.TotalAlloc); grew > 64<<20 {
		t.Errorf("the broker allocated %d MiB for headers it refused", grew>>20)
	}
}

// TestBrokerLogsRefusalsWithoutPayloads: a client retrying a refused publish is logged once,
// by topic and size, never with its payload.
func TestBrokerLogsRefusalsWithoutPayloads(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	a := testAccess()
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	b, err := ServeBroker(BrokerOptions{Addr: "127.0.0.1:0", Access: &a, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	body := append(mqttString("t/lighting/LC-1/set"), "SECRET-PAYLOAD"...)
	for range 5 {
		conn, _ := (rawConnect{version: 4, id: "loop"}).dial(t, b.Addr().String())
		conn.Write(append(encodeFixedHeader(0x30, len(body)), body...))
		closedWithin(conn, time.Second)
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if n := strings.Count(out, "MQTT publish refused"); n != 1 {
		t.Errorf("%d refusal lines for 5 tries in a minute, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "topic=t/lighting/LC-1/set") || !strings.Contains(out, "bytes=14") {
		t.Errorf("refusal line names no topic or size:\n%s", out)
	}
	if strings.Contains(out, "SECRET") || strings.Contains(out, "83 69 67") {
		t.Errorf("payload logged:\n%s", out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
