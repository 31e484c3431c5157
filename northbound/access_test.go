package northbound

import (
	"crypto/sha256"
	"testing"

	mochi "github.com/mochi-mqtt/server/v2"
)

func testAccess() Access {
	return Access{
		Site: "s", Gateway: Credentials{Username: GatewayUsername, Password: "gw"},
		Handsets: []Account{{Username: "g-a", SHA256: sha256.Sum256([]byte("pa"))}},
		Devices: []DeviceAccount{
			{Account: Account{Username: "dev", SHA256: sha256.Sum256([]byte("pd"))},
				Topics: []string{"t/lighting/+/state", "t/meters/#"}, StatusTopics: []string{"t/lighting/LC-1/status"},
				CommandTopics: []string{"t/lighting/LC-1/set"}},
			{Account: Account{Username: "dev2", SHA256: sha256.Sum256([]byte("pd2"))},
				Topics: []string{"t/lighting/LC-2/state"}, StatusTopics: []string{"t/lighting/LC-2/status"},
				CommandTopics: []string{"t/lighting/LC-2/set"}},
		},
		Integrators:        []Account{{Username: "bms", SHA256: sha256.Sum256([]byte("pi"))}},
		AnonymousTelemetry: true,
	}
}

func TestAccessRules(t *testing.T) {
	t.Parallel()
	h := newAccessHook(testAccess())
	client := func(user string) *mochi.Client {
		cl := &mochi.Client{}
		cl.Properties.Username = []byte(user)
		return cl
	}
	tests := []struct {
		name, user, topic string
		write, want       bool
	}{
		{"gateway writes anything", GatewayUsername, "facility/s/patrol/north", true, true},
		{"anonymous reads telemetry", "", "facility/s/telemetry/P-1", false, true},
		{"anonymous subscribes broadly, gets telemetry on delivery", "", "facility/#", false, true},
		{"anonymous reads no patrol alert", "", "facility/s/patrol/north", false, false},
		{"anonymous reads no alarm", "", "facility/s/alarms/P-1", false, false},
		{"anonymous reads no device data", "", "t/lighting/LC-1/state", false, false},
		{"anonymous publishes nothing", "", "facility/s/telemetry/P-1", true, false},
		{"anonymous cannot claim", "", "facility/s/patrol/north/claims", true, false},
		{"handset hears its patrol", "g-a", "facility/s/patrol/north", false, true},
		{"handset claims on a zone's claims topic", "g-a", "facility/s/patrol/north/claims", true, true},
		{"handset publishes no alert", "g-a", "facility/s/patrol/north", true, false},
		{"handset claims on no wildcard", "g-a", "facility/s/patrol/+/claims", true, false},
		{"handset of another site", "g-a", "facility/other/patrol/north/claims", true, false},
		{"device publishes its topic", "dev", "t/lighting/LC-1/state", true, true},
		{"device publishes its status", "dev", "t/lighting/LC-1/status", true, true},
		{"device publishes below a # topic", "dev", "t/meters/a/b", true, true},
		{"device publishes no claim", "dev", "facility/s/patrol/north/claims", true, false},
		{"device forges no telemetry", "dev", "facility/s/telemetry/P-1", true, false},
		{"device reads its command topic", "dev", "t/lighting/LC-1/set", false, true},
		{"device reads no command topic by wildcard", "dev", "t/lighting/+/set", false, false},
		{"device writes no command", "dev", "t/lighting/LC-1/set", true, false},
		{"device account publishes only its own devices", "dev2", "t/lighting/LC-1/state", true, false},
		{"device account forges no other device's status", "dev2", "t/lighting/LC-1/status", true, false},
		{"device account reads no other device's commands", "dev2", "t/lighting/LC-1/set", false, false},
		{"device account reads its own commands", "dev2", "t/lighting/LC-2/set", false, true},
		{"anonymous reads no command", "", "t/lighting/LC-1/set", false, false},
		{"integrator reads alarms", "bms", "facility/s/alarms/#", false, true},
		{"integrator reads notices", "bms", "facility/s/notices", false, true},
		{"integrator reads work-order notifications", "bms", "facility/s/workorders/notifications", false, true},
		{"integrator reads telemetry", "bms", "facility/s/telemetry/P-1", false, true},
		{"integrator hears no patrol", "bms", "facility/s/patrol/north", false, false},
		{"integrator reads no handset's orders", "bms", "facility/s/handsets/H-01", false, false},
		{"integrator publishes nothing", "bms", "facility/s/alarms/P-1", true, false},
		{"unknown user reads nothing", "ghost", "facility/s/telemetry/P-1", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.OnACLCheck(client(tt.user), tt.topic, tt.write); got != tt.want {
				t.Errorf("%q %s %s: %v, want %v", tt.user, map[bool]string{true: "write", false: "read"}[tt.write], tt.topic, got, tt.want)
			}
		})
	}
}

// TestPublishRefusal is the rule every publish and every will is held to: topic, retain flag,
// and a handset's own name in its claims.
func TestPublishRefusal(t *testing.T) {
	t.Parallel()
	h := newAccessHook(testAccess())
	claims := "facility/s/patrol/north/claims"
	tests := []struct {
		name, user, topic, payload string
		retain, allowed            bool
	}{
		{"handset claims as itself", "g-a", claims, `{"alert":"A1","guard":"g-a","action":"claim"}`, false, true},
		{"handset claims as another", "g-a", claims, `{"alert":"A1","guard":"g-li","action":"claim"}`, false, false},
		{"handset claim retained", "g-a", claims, `{"alert":"A1","guard":"g-a","action":"claim"}`, true, false},
		{"handset claim not JSON", "g-a", claims, `claim`, false, false},
		{"anonymous claims", "", claims, `{"alert":"A1","guard":"g-li","action":"claim"}`, false, false},
		{"anonymous switches a circuit", "", "t/lighting/LC-1/set", `{"point":"circuit_01_cmd","value":true}`, false, false},
		{"anonymous fakes a device offline", "", "t/lighting/LC-2/status", "offline", true, false},
		{"device retains its own status", "dev2", "t/lighting/LC-2/status", "offline", true, true},
		{"device retains no state", "dev2", "t/lighting/LC-2/state", "{}", true, false},
		{"device fakes another device offline", "dev2", "t/lighting/LC-1/status", "offline", false, false},
		{"integrator publishes nothing", "bms", "facility/s/alarms/P-1", "{}", false, false},
		{"gateway retains its status", GatewayUsername, "facility/s/gateway/status", "offline", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := h.users[tt.user]
			if tt.user == "" {
				u = user{kind: kindAnonymous}
			}
			why := h.publishRefusal(u, tt.user, tt.topic, tt.retain, []byte(tt.payload))
			if (why == "") != tt.allowed {
				t.Errorf("%q on %s (retain %v): refusal %q, want allowed=%v", tt.user, tt.topic, tt.retain, why, tt.allowed)
			}
		})
	}
}
