package northbound

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Access is who may do what on the embedded broker. Every client but the gateway itself
// is limited to what its part needs: a handset hears the patrol and claims in its own guard's
// name only; a device publishes its own topics only; a client without credentials, if allowed
// at all, reads telemetry only.
type Access struct {
	// Site is the {site} of facility/{site}/... topics.
	Site string
	// Gateway is the gateway's own client: it may do everything. NewAccess draws its password.
	Gateway Credentials
	// Handsets sign in as their guard's id with a password known by its SHA-256.
	Handsets []Account
	// Devices publish device data: each account may publish only on DeviceTopics.
	Devices []Account
	// DeviceTopics are the topic filters of the configured MQTT devices (and their status
	// topics).
	DeviceTopics []string
	// CommandTopics are where facilityd writes to MQTT devices: device accounts may read them.
	CommandTopics []string
	// AnonymousTelemetry lets a client without credentials read facility/{site}/telemetry/#
	// and the gateway's status.
	AnonymousTelemetry bool
}

// Credentials are a username and a password in clear, for the gateway's own connection.
type Credentials struct {
	Username string
	Password string
}

// Account is a broker user known by the SHA-256 of its password, so the configuration never
// holds one.
type Account struct {
	Username string
	SHA256   [sha256.Size]byte
}

// ParseAccount builds an Account from a configured username and hex SHA-256.
func ParseAccount(username, hexSHA256 string) (Account, error) {
	b, err := hex.DecodeString(strings.ToLower(hexSHA256))
	if err != nil || len(b) != sha256.Size {
		return Account{}, fmt.Errorf("%q: sha256 must be 64 hex digits (facilityd hash-token prints it)", username)
	}
	a := Account{Username: username}
	copy(a.SHA256[:], b)
	return a, nil
}

// GatewayUsername is the user the gateway's own client signs in as on the embedded broker.
const GatewayUsername = "facilityd-gateway"

// NewGatewayCredentials draws a password for the gateway's own client: it lives as long as
// the process, and nobody else ever needs it.
func NewGatewayCredentials() Credentials {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return Credentials{Username: GatewayUsername, Password: hex.EncodeToString(b)}
}

// client kinds, kept in the broker client's properties once authenticated.
type clientKind int

const (
	kindAnonymous clientKind = iota
	kindGateway
	kindHandset
	kindDevice
)

// accessHook enforces Access on the mochi broker.
type accessHook struct {
	mochi.HookBase
	a       Access
	gateway [sha256.Size]byte
}

func newAccessHook(a Access) *accessHook {
	return &accessHook{a: a, gateway: sha256.Sum256([]byte(a.Gateway.Password))}
}

// ID names the hook.
func (h *accessHook) ID() string { return "facilityd-access" }

// Provides says which events the hook decides.
func (h *accessHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mochi.OnConnectAuthenticate, mochi.OnACLCheck, mochi.OnPublish}, []byte{b})
}

// kind is what the client authenticated as; mochi keeps the username it connected with.
func (h *accessHook) kind(cl *mochi.Client) clientKind {
	user := string(cl.Properties.Username)
	switch {
	case user == "":
		return kindAnonymous
	case user == h.a.Gateway.Username:
		return kindGateway
	}
	for _, a := range h.a.Handsets {
		if a.Username == user {
			return kindHandset
		}
	}
	return kindDevice
}

// OnConnectAuthenticate admits the gateway, handsets and devices by password (compared by
// SHA-256 in constant time), and clients without credentials only if anonymous telemetry is
// on. A username with a wrong password is refused, never demoted to anonymous.
func (h *accessHook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	if user == "" {
		return h.a.AnonymousTelemetry && len(pk.Connect.Password) == 0
	}
	sum := sha256.Sum256(pk.Connect.Password)
	if h.a.Gateway.Username != "" && user == h.a.Gateway.Username {
		return subtle.ConstantTimeCompare(sum[:], h.gateway[:]) == 1
	}
	for _, list := range [][]Account{h.a.Handsets, h.a.Devices} {
		for _, a := range list {
			if a.Username == user {
				return subtle.ConstantTimeCompare(sum[:], a.SHA256[:]) == 1
			}
		}
	}
	return false
}

// OnACLCheck allows reads and writes by kind (filter is a topic, or a subscription filter).
func (h *accessHook) OnACLCheck(cl *mochi.Client, filter string, write bool) bool {
	root := Root + "/" + level(h.a.Site) + "/"
	telemetry := reaches(filter, root+"telemetry") || reaches(filter, root+"gateway")
	switch h.kind(cl) {
	case kindGateway:
		return true
	case kindHandset:
		if write {
			return claimsTopic(filter, root)
		}
		return reaches(filter, root+"patrol") || telemetry
	case kindDevice:
		if !write {
			for _, t := range h.a.CommandTopics {
				if topicMatches(t, filter) {
					return true
				}
			}
			return telemetry
		}
		for _, t := range h.a.DeviceTopics {
			if topicMatches(t, filter) {
				return true
			}
		}
		return false
	}
	return !write && telemetry
}

// OnPublish holds a handset to its own name: a claim or acknowledgement whose "guard" is not
// the guard signed in is dropped, so nobody claims in another's name.
func (h *accessHook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline || h.kind(cl) != kindHandset {
		return pk, nil
	}
	var req struct {
		Guard string `json:"guard"`
	}
	if json.Unmarshal(pk.Payload, &req) != nil || req.Guard != string(cl.Properties.Username) {
		// Dropped, and the connection closed as for any publish it may not make (MQTT 3.1.1
		// has no negative acknowledgement): the handset sees it failed.
		cl.Stop(packets.ErrNotAuthorized)
		return pk, packets.ErrRejectPacket
	}
	return pk, nil
}

// claimsTopic reports whether topic is facility/{site}/patrol/{zone}/claims.
func claimsTopic(topic, root string) bool {
	rest, ok := strings.CutPrefix(topic, root+"patrol/")
	if !ok {
		return false
	}
	zone, tail, ok := strings.Cut(rest, "/")
	return ok && tail == "claims" && zone != "" && !strings.ContainsAny(zone, "+#")
}

// reaches reports whether a topic, or a subscription filter, can match a topic below prefix
// (levels, no trailing '/'): "facility/#" reaches "facility/s/telemetry", "facility/s/alarms/+"
// does not. A broad subscription is admitted; the broker checks each message's topic again
// on delivery, so only what is below prefix arrives.
func reaches(filter, prefix string) bool {
	f, p := strings.Split(filter, "/"), strings.Split(prefix, "/")
	for i, part := range f {
		switch {
		case part == "#":
			return true
		case i >= len(p):
			return true
		case part != "+" && part != p[i]:
			return false
		}
	}
	return len(f) > len(p)
}

// topicMatches reports whether topic matches the MQTT filter (MQTT 3.1.1, 4.7: '+' one
// level, '#' the rest).
func topicMatches(filter, topic string) bool {
	if strings.ContainsAny(topic, "+#") {
		return false // a device publishes to topics, never subscribes through this rule
	}
	f, t := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, part := range f {
		if part == "#" {
			return true
		}
		if i >= len(t) || (part != "+" && part != t[i]) {
			return false
		}
	}
	return len(f) == len(t)
}
