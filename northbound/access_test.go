package northbound

import (
	"crypto/sha256"
	"testing"

	mochi "github.com/mochi-mqtt/server/v2"
)

func TestAccessRules(t *testing.T) {
	t.Parallel()
	h := newAccessHook(Access{
		Site: "s", Gateway: Credentials{Username: GatewayUsername, Password: "gw"},
		Handsets:           []Account{{Username: "g-a", SHA256: sha256.Sum256([]byte("pa"))}},
		Devices:            []Account{{Username: "dev", SHA256: sha256.Sum256([]byte("pd"))}},
		DeviceTopics:       []string{"t/lighting/+/state", "t/meters/#"},
		CommandTopics:      []string{"t/lighting/LC-1/set"},
		AnonymousTelemetry: true,
	})
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
		{"device publishes below a # topic", "dev", "t/meters/a/b", true, true},
		{"device publishes no claim", "dev", "facility/s/patrol/north/claims", true, false},
		{"device forges no telemetry", "dev", "facility/s/telemetry/P-1", true, false},
		{"device reads its command topic", "dev", "t/lighting/LC-1/set", false, true},
		{"device reads no command topic by wildcard", "dev", "t/lighting/+/set", false, false},
		{"device writes no command", "dev", "t/lighting/LC-1/set", true, false},
		{"anonymous reads no command", "", "t/lighting/LC-1/set", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.OnACLCheck(client(tt.user), tt.topic, tt.write); got != tt.want {
				t.Errorf("%q %s %s: %v, want %v", tt.user, map[bool]string{true: "write", false: "read"}[tt.write], tt.topic, got, tt.want)
			}
		})
	}
}
