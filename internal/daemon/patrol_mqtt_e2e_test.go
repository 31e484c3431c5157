package daemon_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testenv"
)

// patrolMessage is what a handset receives on facility/{site}/patrol/{zone}.
type patrolMessage struct {
	Type     string `json:"type"`
	Alert    string `json:"alert"`
	Alarm    string `json:"alarm"`
	Priority string `json:"priority"`
	Class    string `json:"class"`
	Owner    string `json:"owner"`
	Message  string `json:"message"`
	To       []struct {
		ID string `json:"id"`
	} `json:"to"`
}

// messages parses mosquitto_sub -v output: one "topic payload" a line.
func messages(out, topic string) []patrolMessage {
	var list []patrolMessage
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, topic+" ")
		if !ok {
			continue
		}
		var m patrolMessage
		if json.Unmarshal([]byte(rest), &m) == nil {
			list = append(list, m)
		}
	}
	return list
}

// TestEntrapmentReachesThePatrolOverMQTT is the night patrol's chain end to end, against the
// simulators and a real mosquitto, heard by mosquitto_sub as a handset would: an entrapment
// becomes a critical alert on the zone's topic; nobody claims it, so it is escalated to the
// supervisor; guard A claims it from a handset, guard B's claim is refused and names A; when
// the fault clears, the all-clear goes out.
func TestEntrapmentReachesThePatrolOverMQTT(t *testing.T) {
	mosq := testenv.NewMosquitto(t)
	sub := testenv.MosquittoTool(t, "mosquitto_sub")
	pub := testenv.MosquittoTool(t, "mosquitto_pub")
	cfg, estate := demoEstateOn(t, nil, mosq.URL)
	withPatrol(t, cfg)
	cfg.Patrol.Guards = []config.PatrolGuard{{ID: "g-a", Handset: "H1"}, {ID: "g-b", Handset: "H2"}, {ID: "sup", Handset: "H9"}}
	cfg.Patrol.Groups = []config.PatrolGroup{
		{Name: "n", Shift: "night", Zones: []string{"*"}, Guards: []string{"g-a", "g-b"}},
		{Name: "d", Shift: "day", Zones: []string{"*"}, Guards: []string{"g-a", "g-b"}},
	}
	cfg.Patrol.Escalation.LifeSafety = config.PatrolTiming{Resend: time.Second, Escalate: 2 * time.Second}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	const topic = "facility/demo-estate/patrol/north"
	lines := watch(t, sub, "-h", "127.0.0.1", "-p", mosq.Port, "-q", "1", "-t", "facility/demo-estate/patrol/#", "-v")
	d := startDaemon(t, cfg)
	waitFor(t, "elevator L1-1 online", 15*time.Second, func() bool {
		var dd struct{ Comm devices.Comm }
		get(t, d.API+"/api/v1/devices/L1-1", &dd)
		return dd.Comm == devices.CommOnline
	})

	if err := estate.Inject("L1-1", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	var alert patrolMessage
	waitFor(t, "a critical alert for L1-1 on "+topic, 10*time.Second, func() bool {
		for _, m := range messages(lines(), topic) {
			if m.Type == "alert" && strings.HasPrefix(m.Alarm, "L1-1/") {
				alert = m
				return true
			}
		}
		return false
	})
	if alert.Priority != "critical" || alert.Class != "life_safety" || !strings.Contains(alert.Message, "L1-1") {
		t.Errorf("alert %+v, want critical life_safety naming L1-1", alert)
	}
	t.Logf("alert %s sent at %v", alert.Alert, time.Now().Format(time.StampMilli))
	waitFor(t, "the unclaimed alert escalated to the supervisor", 10*time.Second, func() bool {
		for _, m := range messages(lines(), topic) {
			if m.Type == "escalation" && m.Alert == alert.Alert {
				for _, to := range m.To {
					if to.ID == "sup" {
						return true
					}
				}
			}
		}
		return false
	})

	// Guard A claims from a handset; guard B, through the API, is told A has it.
	claim := `{"alert": "` + alert.Alert + `", "guard": "g-a", "action": "claim"}`
	if out, err := exec.Command(pub, "-h", "127.0.0.1", "-p", mosq.Port, "-q", "1", "-t", topic+"/claims", "-m", claim).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v: %s", err, out)
	}
	waitFor(t, "the claim by g-a announced on "+topic, 10*time.Second, func() bool {
		for _, m := range messages(lines(), topic) {
			if m.Type == "claim" && m.Alert == alert.Alert && m.Owner == "g-a" {
				return true
			}
		}
		return false
	})
	resp, err := http.Post(d.API+"/api/v1/patrol/alerts/"+alert.Alert+"/claim", "application/json", bytes.NewBufferString(`{"by": "g-b"}`))
	if err != nil {
		t.Fatal(err)
	}
	var refused struct{ Error, Owner string }
	json.NewDecoder(resp.Body).Decode(&refused)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || refused.Owner != "g-a" || !strings.Contains(refused.Error, "g-a") {
		t.Errorf("g-b's claim: %d %+v, want 409 naming g-a", resp.StatusCode, refused)
	}

	if err := estate.Clear("L1-1", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the all-clear for the alert", 10*time.Second, func() bool {
		for _, m := range messages(lines(), topic) {
			if m.Type == "clear" && m.Alert == alert.Alert {
				return true
			}
		}
		return false
	})
}
