package northbound

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Access is who may do what on the embedded broker. Every client but the gateway itself
// is limited to what its part needs: a handset hears the patrol and claims in its own guard's
// name only; a device publishes its own devices' topics only; an integrator reads alarms,
// notices, work-order notifications and telemetry; a client without credentials, if allowed
// at all, reads telemetry only. A last will is a publish like any other and is held to the
// same rules when the client connects.
type Access struct {
	// Site is the {site} of facility/{site}/... topics.
	Site string
	// Gateway is the gateway's own client: it may do everything. NewAccess draws its password.
	Gateway Credentials
	// Handsets sign in as their guard's id with a password known by its SHA-256.
	Handsets []Account
	// Devices publish device data, each account on its own devices' topics only.
	Devices []DeviceAccount
	// Integrators read alarms, notices, work-order notifications and telemetry, and publish
	// nothing.
	Integrators []Account
	// AnonymousTelemetry lets a client without credentials read facility/{site}/telemetry/#
	// and the gateway's status.
	AnonymousTelemetry bool
}

// DeviceAccount is the account of devices that publish: the topics they may publish on
// (payload and point topics), their status topics (where they may also retain, as a device's
// "offline" last will usually is) and the command topics facilityd writes to them on, which
// they alone may read.
type DeviceAccount struct {
	Account
	Topics, StatusTopics, CommandTopics []string
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

// client kinds, found by the username a client authenticated with.
type clientKind int

const (
	kindAnonymous clientKind = iota
	kindGateway
	kindHandset
	kindDevice
	kindIntegrator
)

// user is one account as the hook looks it up.
type user struct {
	kind clientKind
	sum  [sha256.Size]byte
	dev  *DeviceAccount // kindDevice only
}

// accessHook enforces Access on the mochi broker.
type accessHook struct {
	mochi.HookBase
	a       Access
	users   map[string]user
	root    string // facility/{site}/
	clients *mochi.Clients
	// commands are every device's command topics: only the gateway writes there.
	commands []string
	log      *limitedLog
	metrics  *BrokerMetrics
}

func newAccessHook(a Access) *accessHook {
	h := &accessHook{a: a, users: map[string]user{}, root: Root + "/" + level(a.Site) + "/", log: newLimitedLog(nil, nil), metrics: NewBrokerMetrics(nil)}
	if a.Gateway.Username != "" {
		h.users[a.Gateway.Username] = user{kind: kindGateway, sum: sha256.Sum256([]byte(a.Gateway.Password))}
	}
	for _, acc := range a.Handsets {
		h.users[acc.Username] = user{kind: kindHandset, sum: acc.SHA256}
	}
	for _, acc := range a.Integrators {
		h.users[acc.Username] = user{kind: kindIntegrator, sum: acc.SHA256}
	}
	for i := range a.Devices {
		d := &h.a.Devices[i]
		h.users[d.Username] = user{kind: kindDevice, sum: d.SHA256, dev: d}
		h.commands = append(h.commands, d.CommandTopics...)
	}
	return h
}

// ID names the hook.
func (h *accessHook) ID() string { return "facilityd-access" }

// Provides says which events the hook decides.
func (h *accessHook) Provides(b byte) bool {
	return slices.Contains([]byte{mochi.OnConnect, mochi.OnConnectAuthenticate, mochi.OnACLCheck, mochi.OnPacketRead}, b)
}

// lookup is the account a client authenticated as; mochi keeps the username it connected
// with, and only authenticated clients get past CONNECT.
func (h *accessHook) lookup(cl *mochi.Client) user {
	name := string(cl.Properties.Username)
	if name == "" {
		return user{kind: kindAnonymous}
	}
	u, ok := h.users[name]
	if !ok {
		return user{kind: -1} // never admitted; denies everything
	}
	return u
}

// authenticate says whether a CONNECT's credentials are an account's (compared by SHA-256
// in constant time), or none at all where anonymous telemetry is on. A username with a wrong
// password is refused, never demoted to anonymous.
func (h *accessHook) authenticate(username string, password []byte) bool {
	if username == "" {
		return h.a.AnonymousTelemetry && len(password) == 0
	}
	u, ok := h.users[username]
	if !ok {
		return false
	}
	sum := sha256.Sum256(password)
	return subtle.ConstantTimeCompare(sum[:], u.sum[:]) == 1
}

// OnConnectAuthenticate admits a client whose credentials are an account's.
func (h *accessHook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	if h.authenticate(string(pk.Connect.Username), pk.Connect.Password) {
		return true
	}
	h.refuseConnect(cl, "credentials", "username", string(pk.Connect.Username))
	return false
}

// OnConnect runs before OnConnectAuthenticate and before the will is armed (mochi
// attachClient: ParseConnect, validateConnect, OnConnect, OnConnectAuthenticate; the will is
// only sent once the session is established), so refusing here means no will of the client is
// ever published. A client with good credentials is refused Not authorized (MQTT 5
// §3.2.2.2 reason 0x87; MQTT 3.1.1 §3.2.2.3 return code 5) when its will (MQTT 3.1.1
// §3.1.2.5) is a publish its account may not make, or when its client id is another
// account's session, which it would otherwise take over with its subscriptions
// (MQTT 3.1.1 §3.1.4: the server disconnects the existing client). Bad credentials are left
// to OnConnectAuthenticate.
func (h *accessHook) OnConnect(cl *mochi.Client, pk packets.Packet) error {
	name := string(pk.Connect.Username)
	if !h.authenticate(name, pk.Connect.Password) {
		return nil
	}
	if pk.Connect.WillFlag {
		if why := h.publishRefusal(h.users[name], name, pk.Connect.WillTopic, pk.Connect.WillRetain, pk.Connect.WillPayload); why != "" {
			h.refuseConnect(cl, "will", "username", name, "will_topic", pk.Connect.WillTopic, "will_bytes", len(pk.Connect.WillPayload), "why", why)
			return h.notAuthorized(cl)
		}
	}
	if h.clients != nil {
		if old, ok := h.clients.Get(cl.ID); ok && !old.Net.Inline && string(old.Properties.Username) != name {
			h.refuseConnect(cl, "client_id", "username", name)
			return h.notAuthorized(cl)
		}
	}
	return nil
}

// notAuthorized sends the CONNACK that refuses the client, in its protocol's terms, and
// returns the error that ends the connection.
func (h *accessHook) notAuthorized(cl *mochi.Client) error {
	code := packets.ErrNotAuthorized.Code // MQTT 5 §3.2.2.2: 0x87 Not authorized
	if cl.Properties.ProtocolVersion < 5 {
		code = packets.Err3NotAuthorized.Code // MQTT 3.1.1 §3.2.2.3: 5 not authorized
	}
	_ = cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ReasonCode: code})
	return packets.ErrNotAuthorized
}

// refuseConnect counts a refused CONNECT and logs it, at most once a minute per reason and
// account.
func (h *accessHook) refuseConnect(cl *mochi.Client, reason string, args ...any) {
	h.metrics.connectsRefused.WithLabelValues(reason).Inc()
	key := "connect " + reason + " " + fmt.Sprint(args[:2]...)
	h.log.warn(key, "MQTT connection refused", append([]any{"reason", reason, "client", cl.ID, "remote", cl.Net.Remote}, args...)...)
}

// OnPacketRead decides every PUBLISH with its whole packet in hand (topic, retain flag,
// payload) before mochi processes it. A refused one closes the connection, which MQTT 3.1.1
// §3.3.5 allows for a publish the server does not authorize and which is the only refusal a
// 3.1.1 client notices; it is counted and logged by client, topic and size, never payload.
func (h *accessHook) OnPacketRead(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Type != packets.Publish || cl.Net.Inline {
		return pk, nil
	}
	name := string(cl.Properties.Username)
	why := h.publishRefusal(h.lookup(cl), name, pk.TopicName, pk.FixedHeader.Retain, pk.Payload)
	if why == "" {
		return pk, nil
	}
	h.metrics.publishesRefused.Inc()
	h.log.warn("publish "+cl.ID, "MQTT publish refused, connection closed", "client", cl.ID, "username", name,
		"topic", pk.TopicName, "bytes", len(pk.Payload), "retain", pk.FixedHeader.Retain, "why", why)
	// mochi ignores any other error of this hook; a rejected packet ends the client's read
	// loop, and with it the connection.
	return pk, packets.ErrRejectPacket
}

// OnACLCheck allows reads and writes by kind (filter is a topic, or a subscription filter).
func (h *accessHook) OnACLCheck(cl *mochi.Client, filter string, write bool) bool {
	u := h.lookup(cl)
	if write {
		return h.mayPublishOn(u, filter)
	}
	return h.mayRead(u, filter)
}

// mayRead says whether an account may subscribe to filter, or receive a message on topic.
func (h *accessHook) mayRead(u user, filter string) bool {
	telemetry := reaches(filter, h.root+"telemetry") || reaches(filter, h.root+"gateway")
	switch u.kind {
	case kindGateway:
		return true
	case kindHandset:
		return reaches(filter, h.root+"patrol") || telemetry
	case kindDevice:
		for _, t := range u.dev.CommandTopics {
			if topicMatches(t, filter) {
				return true
			}
		}
		return telemetry
	case kindIntegrator:
		return telemetry || reaches(filter, h.root+"alarms") || covers(filter, h.root+"notices") ||
			covers(filter, h.root+"workorders/notifications")
	case kindAnonymous:
		return telemetry
	}
	return false
}

// mayPublishOn says whether an account may publish on topic at all.
func (h *accessHook) mayPublishOn(u user, topic string) bool {
	switch u.kind {
	case kindGateway:
		return true
	case kindHandset:
		return claimsTopic(topic, h.root)
	case kindDevice:
		return (matchesAny(u.dev.Topics, topic) || matchesAny(u.dev.StatusTopics, topic)) && !slices.Contains(h.commands, topic)
	}
	return false
}

// publishRefusal says why an account (username name) may not publish payload on topic with
// the retain flag, or "" if it may. Wills are checked with it too.
func (h *accessHook) publishRefusal(u user, name, topic string, retain bool, payload []byte) string {
	if u.kind == kindGateway {
		return ""
	}
	if !h.mayPublishOn(u, topic) {
		return "topic not allowed for this account"
	}
	// Retained messages are the gateway's (its status; patrol alerts if patrol.retained) and
	// a device's status: a retained message elsewhere would outlive its sender and mislead
	// every later subscriber.
	if retain && (u.kind != kindDevice || !matchesAny(u.dev.StatusTopics, topic)) {
		return "retain not allowed on this topic"
	}
	if u.kind == kindHandset {
		var req struct {
			Guard string `json:"guard"`
		}
		if json.Unmarshal(payload, &req) != nil || req.Guard != name {
			return "a handset claims in its own guard's name only"
		}
	}
	return ""
}

func matchesAny(filters []string, topic string) bool {
	for _, f := range filters {
		if topicMatches(f, topic) {
			return true
		}
	}
	return false
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

// covers reports whether filter can match topic itself or a topic below it.
func covers(filter, topic string) bool { return reaches(filter, topic) || topicMatches(filter, topic) }

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
