package daemon_test

import (
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/internal/testenv"
)

// TestEmbeddedBrokerAccess: on the broker facilityd embeds, a handset claims only in its own
// guard's name and a client without an account reads telemetry only. mosquitto_pub claims an
// alert as guard g-a four ways that must all fail (anonymous, with g-b's account, with a
// wrong password, on a topic that is not a claims topic); then g-b claims it as g-b, and owns
// it: had any of the others got through, g-a would, the first claim winning.
func TestEmbeddedBrokerAccess(t *testing.T) {
	pub := testenv.MosquittoTool(t, "mosquitto_pub")
	sub := testenv.MosquittoTool(t, "mosquitto_sub")
	cfg, estate := demoEstate(t, nil)
	withPatrol(t, cfg)
	cfg.Patrol.Guards = []config.PatrolGuard{{ID: "g-a", Handset: "H1"}, {ID: "g-b", Handset: "H2"}, {ID: "sup", Handset: "H9"}}
	cfg.Patrol.Groups = []config.PatrolGroup{
		{Name: "n", Shift: "night", Zones: []string{"*"}, Guards: []string{"g-a", "g-b"}},
		{Name: "d", Shift: "day", Zones: []string{"*"}, Guards: []string{"g-a", "g-b"}},
	}
	cfg.MQTT.Embedded.Handsets = []config.BrokerAccount{
		{Username: "g-a", SHA256: api.HashToken("handset-a-password")},
		{Username: "g-b", SHA256: api.HashToken("handset-b-password")},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	host, port, _ := net.SplitHostPort(cfg.MQTT.Embedded.Addr)
	anonymous := watch(t, sub, "-h", host, "-p", port, "-t", "facility/#", "-v")
	handsetB := watch(t, sub, "-h", host, "-p", port, "-u", "g-b", "-P", "handset-b-password", "-t", "facility/demo-estate/patrol/#", "-t", "facility/demo-estate/gateway/status", "-v")
	// The retained gateway status comes first: both are subscribed.
	waitFor(t, "both subscribers connected", 10*time.Second, func() bool {
		return strings.Contains(anonymous(), "gateway/status online") && strings.Contains(handsetB(), "gateway/status online")
	})

	if err := estate.Inject("L1-1", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	var alerts struct{ Alerts []patrol.Alert }
	waitFor(t, "a patrol alert for the entrapment", 15*time.Second, func() bool {
		get(t, d.API+"/api/v1/patrol/alerts", &alerts)
		return len(alerts.Alerts) > 0
	})
	a := alerts.Alerts[0]
	topic := "facility/demo-estate/patrol/" + a.Zone
	waitFor(t, "g-b's handset hears the alert", 10*time.Second, func() bool { return strings.Contains(handsetB(), topic+" ") })

	claimAs := func(guard string) string {
		return `{"alert": "` + a.ID + `", "guard": "` + guard + `", "action": "claim"}`
	}
	for _, try := range []struct {
		name string
		args []string
	}{
		{"anonymous", []string{"-t", topic + "/claims", "-m", claimAs("g-a")}},
		{"g-b naming g-a", []string{"-u", "g-b", "-P", "handset-b-password", "-t", topic + "/claims", "-m", claimAs("g-a")}},
		{"g-a with a wrong password", []string{"-u", "g-a", "-P", "guessed", "-t", topic + "/claims", "-m", claimAs("g-a")}},
		{"a device account", []string{"-u", daemon.DemoDevicesUser, "-P", daemon.DemoDevicesPassword, "-t", topic + "/claims", "-m", claimAs("g-a")}},
	} {
		out, err := exec.Command(pub, append([]string{"-h", host, "-p", port, "-q", "1"}, try.args...)...).CombinedOutput()
		if err == nil {
			t.Errorf("%s: mosquitto_pub succeeded (%s); the handset must see the claim refused", try.name, out)
		}
		t.Logf("%s: mosquitto_pub: %v %s", try.name, err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command(pub, "-h", host, "-p", port, "-q", "1", "-u", "g-b", "-P", "handset-b-password", "-t", topic+"/claims", "-m", claimAs("g-b")).CombinedOutput(); err != nil {
		t.Fatalf("g-b's own claim: %v: %s", err, out)
	}
	var got patrol.Alert
	waitFor(t, "the alert claimed", 10*time.Second, func() bool {
		get(t, d.API+"/api/v1/patrol/alerts/"+a.ID, &got)
		return got.Owner != ""
	})
	if got.Owner != "g-b" {
		t.Fatalf("alert owned by %q, want g-b: a claim in g-a's name got through the broker", got.Owner)
	}
	waitFor(t, "g-b's handset hears the claim announced", 10*time.Second, func() bool {
		return strings.Contains(handsetB(), `"owner":"g-b"`)
	})
	seen := anonymous()
	if !strings.Contains(seen, "facility/demo-estate/telemetry/") {
		t.Errorf("an anonymous client reads no telemetry:\n%.2000s", seen)
	}
	if strings.Contains(seen, "/patrol/") {
		t.Errorf("an anonymous client heard the patrol:\n%.2000s", seen)
	}
}
