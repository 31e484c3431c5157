package daemon_test

import (
	"encoding/binary"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/internal/daemon/daemontest"
	"github.com/facilityd/facilityd/northbound"
)

// TestBrokerAttacks runs the demo's defaults and its embedded broker against a local process
// with no account (and with accounts beyond their rights): every forbidden last will is
// refused at CONNECT with return code 5 and changes nothing (alert owner, circuit state, a
// device's comm status); silent sockets cannot lock handsets out for longer than the CONNECT
// deadline; and the legitimate paths still work: a handset's own claim, the devices' own
// publishes, an integrator reading alarms.
func TestBrokerAttacks(t *testing.T) {
	cfg, estate := demoEstate(t, nil)
	withPatrol(t, cfg)
	cfg.Patrol.Guards = []config.PatrolGuard{{ID: "g-a", Handset: "H1"}, {ID: "g-li", Handset: "H2"}, {ID: "sup", Handset: "H9"}}
	cfg.Patrol.Groups = []config.PatrolGroup{
		{Name: "n", Shift: "night", Zones: []string{"*"}, Guards: []string{"g-a", "g-li"}},
		{Name: "d", Shift: "day", Zones: []string{"*"}, Guards: []string{"g-a", "g-li"}},
	}
	cfg.MQTT.Embedded.Handsets = []config.BrokerAccount{{Username: "g-a", SHA256: api.HashToken("handset-a")}}
	cfg.MQTT.Embedded.Integrators = []config.BrokerAccount{{Username: "bms", SHA256: api.HashToken("bms-password")}}
	cfg.MQTT.Embedded.MaxClients = 20
	cfg.MQTT.Embedded.ConnectTimeout = time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	addr := cfg.MQTT.Embedded.Addr
	waitFor(t, "LC-1 and LC-2 online, published by the demo's device account", 15*time.Second, func() bool {
		var a, b api.DeviceDetail
		get(t, d.API+"/api/v1/devices/LC-1", &a)
		get(t, d.API+"/api/v1/devices/LC-2", &b)
		return a.Comm == devices.CommOnline && b.Comm == devices.CommOnline
	})

	bms := integrator(t, addr, "facility/"+cfg.Site+"/alarms/#")
	if err := estate.Inject("L1-1", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	var alerts struct{ Alerts []patrol.Alert }
	waitFor(t, "a patrol alert for the entrapment", 15*time.Second, func() bool {
		get(t, d.API+"/api/v1/patrol/alerts", &alerts)
		return len(alerts.Alerts) > 0
	})
	a := alerts.Alerts[0]
	claims := "facility/" + cfg.Site + "/patrol/" + a.Zone + "/claims"
	claim := func(guard string) string { return `{"alert":"` + a.ID + `","guard":"` + guard + `","action":"claim"}` }
	circuitBefore := pointValue(t, d.API, "LC-1", "circuit_01_on")

	for _, tt := range []struct {
		name, user, pass, topic, msg string
		retain                       bool
	}{
		{"anonymous will claims the alert for g-li", "", "", claims, claim("g-li"), false},
		{"anonymous will switches a circuit", "", "", "demo-estate/lighting/LC-1/state/set", `{"point":"circuit_01_cmd","value":` + notJSON(circuitBefore) + `}`, false},
		{"anonymous retained will fakes LC-2 offline", "", "", "demo-estate/lighting/LC-2/status", "offline", true},
		{"handset will claims in another guard's name", "g-a", "handset-a", claims, claim("g-li"), false},
		{"device account will switches a circuit", daemon.DemoDevicesUser, daemon.DemoDevicesPassword, "demo-estate/lighting/LC-1/state/set", `{"point":"circuit_01_cmd","value":false}`, false},
		{"integrator will", "bms", "bms-password", claims, claim("g-li"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, rc := daemontest.MQTTConnect(t, addr, tt.user, tt.pass, tt.topic, tt.msg, tt.retain)
			if rc != 5 {
				t.Errorf("CONNACK %d, want 5 (not authorized)", rc)
			}
			conn.Close() // as kill -9 would
		})
	}
	time.Sleep(1500 * time.Millisecond) // long enough for a will to be applied and LC-2's stale_after not
	var got patrol.Alert
	get(t, d.API+"/api/v1/patrol/alerts/"+a.ID, &got)
	if got.Owner != "" {
		t.Errorf("alert claimed by %q through a refused will", got.Owner)
	}
	if v := pointValue(t, d.API, "LC-1", "circuit_01_on"); v != circuitBefore {
		t.Errorf("LC-1 circuit 1 went from %v to %v through a refused will", circuitBefore, v)
	}
	var lc2 api.DeviceDetail
	if get(t, d.API+"/api/v1/devices/LC-2", &lc2); lc2.Comm != devices.CommOnline {
		t.Errorf("LC-2 is %v after a refused retained will", lc2.Comm)
	}

	// Silent sockets up to the client limit: a handset is turned away while they last, and
	// signs in once the CONNECT deadline has closed them.
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	if _, rc := daemontest.MQTTConnect(t, addr, "g-a", "handset-a", "", "", false); rc != -1 {
		t.Logf("a handset signed in under pressure (CONNACK %d): the limit left room", rc)
	}
	waitFor(t, "a handset signs in after the CONNECT deadline", 5*time.Second, func() bool {
		_, rc := daemontest.MQTTConnect(t, addr, "g-a", "handset-a", "", "", false)
		return rc == 0
	})
	resp, err := http.Get(d.API + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz %s while the broker accepts", resp.Status)
	}

	// The handset's own claim, as itself, is the one that takes the alert.
	conn, rc := daemontest.MQTTConnect(t, addr, "g-a", "handset-a", "", "", false)
	if rc != 0 {
		t.Fatalf("handset CONNACK %d", rc)
	}
	body := append(binary.BigEndian.AppendUint16(nil, uint16(len(claims))), claims...)
	body = append(body, claim("g-a")...)
	conn.Write(append(daemontest.MQTTHeader(0x30, len(body)), body...))
	waitFor(t, "the handset's own claim", 10*time.Second, func() bool {
		get(t, d.API+"/api/v1/patrol/alerts/"+a.ID, &got)
		return got.Owner != ""
	})
	if got.Owner != "g-a" {
		t.Errorf("alert owned by %q, want g-a", got.Owner)
	}
	waitFor(t, "the integrator reads the entrapment alarm", 10*time.Second, func() bool {
		return strings.Contains(bms(), "L1-1")
	})
}

// notJSON gives the opposite of a circuit's boolean state as JSON, so a will that got through
// would change it.
func notJSON(v any) string {
	if b, _ := v.(bool); b {
		return "false"
	}
	return "true"
}

// integrator subscribes to filter as the bms integrator and returns what it heard.
func integrator(t *testing.T, addr, filter string) func() string {
	t.Helper()
	c, err := northbound.Dial(northbound.ClientOptions{URL: "tcp://" + addr, ClientID: "bms-test", Username: "bms", Password: "bms-password",
		StoreDir: t.TempDir(), MaxReconnectInterval: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var mu sync.Mutex
	var b strings.Builder
	if err := c.Subscribe(filter, 1, func(topic string, p []byte) {
		mu.Lock()
		b.WriteString(topic + " " + string(p) + "\n")
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	return func() string { mu.Lock(); defer mu.Unlock(); return b.String() }
}
