package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/bacnet"
)

// BACnet tunes the BACnet/IP client every BACnet device is reached through (docs/bacnet.md).
type BACnet struct {
	// Local is the UDP address the client listens on: :47808 (the BACnet port, 47808, Annex
	// J.1) hears broadcast I-Am; 127.0.0.1:0 takes any free port, enough for devices with an
	// address.
	Local string `mapstructure:"local" yaml:"local"`
	// Broadcast is where a Who-Is for a device configured by instance alone goes: the
	// subnet's broadcast address and the BACnet port.
	Broadcast string `mapstructure:"broadcast" yaml:"broadcast"`
	// BBMD, if set, is host:port of a BBMD (Annex J.4) to register with as a foreign device
	// (J.5), so that Who-Is reaches another subnet.
	BBMD string `mapstructure:"bbmd" yaml:"bbmd,omitempty"`
	// BBMDTTL is how long the BBMD keeps the registration (J.5.2.1); it is renewed at half
	// of it.
	BBMDTTL time.Duration `mapstructure:"bbmd_ttl" yaml:"bbmd_ttl"`
	// APDUTimeout and Retries are how long one try of a request waits and how many times it
	// is sent again (12.11, APDU_Timeout and Number_Of_APDU_Retries; ASHRAE suggests 3 s and 3,
	// ours are shorter so a poll fits its interval on a LAN).
	APDUTimeout time.Duration `mapstructure:"apdu_timeout" yaml:"apdu_timeout"`
	Retries     int           `mapstructure:"retries" yaml:"retries"`
	// COVLifetime is the lifetime of each change-of-value subscription (13.14.1.1.4); each is
	// renewed at half of it, so a device that restarted and forgot it is subscribed again.
	COVLifetime time.Duration `mapstructure:"cov_lifetime" yaml:"cov_lifetime"`
	// WhoIsWait is how long a Who-Is for a device configured by instance alone waits for its
	// I-Am before trying again at the next poll.
	WhoIsWait time.Duration `mapstructure:"who_is_wait" yaml:"who_is_wait"`
}

func defaultBACnet() BACnet {
	return BACnet{
		Local: ":47808", Broadcast: "255.255.255.255:47808", BBMDTTL: 10 * time.Minute,
		APDUTimeout: time.Second, Retries: 2, COVLifetime: bacnet.DefaultCOVLifetime, WhoIsWait: 3 * time.Second,
	}
}

// DeviceBACnet is a BACnet/IP device's transport: its instance, and its address or none (found
// by Who-Is), with the network and MAC of a device behind a router.
type DeviceBACnet struct {
	// DeviceInstance is the Device object's instance number (0-4194302), unique in the
	// BACnet internetwork.
	DeviceInstance *int `mapstructure:"device_instance" yaml:"device_instance"`
	// Address is host:port of the device, or of the router in front of it; unset: found by a
	// Who-Is for device_instance on bacnet.broadcast (or through bacnet.bbmd).
	Address string `mapstructure:"address" yaml:"address,omitempty"`
	// Network is the device's network number behind a router (1-65534), with its MAC.
	Network int `mapstructure:"network" yaml:"network,omitempty"`
	// MAC is the device's MAC address on that network in hex: one octet on MS/TP ("05"), six
	// on BACnet/IP ("c0a8010abac0").
	MAC string `mapstructure:"mac" yaml:"mac,omitempty"`
}

func (c *Config) validateBACnet() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	b := c.BACnet
	if !hostPort(b.Local, true) {
		add("bacnet.local: %q is not host:port (:47808 for the BACnet port, 127.0.0.1:0 for any)", b.Local)
	}
	if !hostPort(b.Broadcast, false) {
		add("bacnet.broadcast: %q is not host:port, e.g. 192.168.1.255:47808", b.Broadcast)
	}
	if b.BBMD != "" && !hostPort(b.BBMD, false) {
		add("bacnet.bbmd: %q is not host:port, e.g. 10.1.0.2:47808", b.BBMD)
	}
	// J.5.2.1: the BBMD keeps a foreign device for its TTL in seconds, a 16-bit number.
	if b.BBMDTTL < time.Second || b.BBMDTTL > 65535*time.Second {
		add("bacnet.bbmd_ttl: %v must be 1s to 18h12m15s (a 16-bit number of seconds)", b.BBMDTTL)
	}
	if b.APDUTimeout <= 0 {
		add("bacnet.apdu_timeout: %v must be positive", b.APDUTimeout)
	}
	if b.Retries < 0 || b.Retries > 10 {
		add("bacnet.retries: %d must be 0 to 10", b.Retries)
	}
	if b.COVLifetime < 10*time.Second {
		add("bacnet.cov_lifetime: %v must be at least 10s (each subscription is renewed at half of it)", b.COVLifetime)
	}
	if b.WhoIsWait <= 0 {
		add("bacnet.who_is_wait: %v must be positive", b.WhoIsWait)
	}
	return errs
}

// hostPort reports whether s is host:port; port 0 (any free port) and an empty host only where
// local.
func hostPort(s string, local bool) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || (host == "" && !local) {
		return false
	}
	p, err := strconv.Atoi(port)
	return err == nil && p >= 0 && p <= 65535 && (p > 0 || local)
}

// validateDeviceBACnet checks a BACnet device's transport, that its profile names BACnet
// objects devices/bacnet knows, and that its instance is not already another device's.
func validateDeviceBACnet(d *Device, profile *devices.Profile, instances map[int]string, add func(key, format string, args ...any)) {
	b := d.BACnet
	switch {
	case b.DeviceInstance == nil:
		add("bacnet.device_instance", "missing: the device's instance number (its Device object, device:N), e.g. device_instance: 1234")
	case *b.DeviceInstance < 0 || *b.DeviceInstance >= bacnet.MaxInstance:
		add("bacnet.device_instance", "%d must be 0 to %d", *b.DeviceInstance, bacnet.MaxInstance-1)
	default:
		if other, dup := instances[*b.DeviceInstance]; dup {
			add("bacnet.device_instance", "%d is already device %s; instances are unique in a BACnet internetwork (12.11.1)", *b.DeviceInstance, other)
		} else {
			instances[*b.DeviceInstance] = d.ID
		}
	}
	if b.Address != "" && !hostPort(b.Address, false) {
		add("bacnet.address", "%q is not host:port, e.g. 192.168.1.20:47808; leave it out to find the device by Who-Is", b.Address)
	}
	if _, err := b.mac(); err != nil {
		add("bacnet.mac", "%v", err)
	}
	switch {
	case b.Network < 0 || b.Network >= bacnet.GlobalBroadcast:
		add("bacnet.network", "%d must be 1 to 65534 (6.2.2: 65535 is every network)", b.Network)
	case b.Network == 0 && b.MAC != "":
		add("bacnet.mac", "a MAC says where the device is on a remote network; give its network too")
	case b.Network != 0 && b.MAC == "":
		add("bacnet.mac", "missing: a device behind a router on network %d needs its MAC there", b.Network)
	}
	if profile == nil {
		return
	}
	if profile.Transport() != "bacnet" {
		add("profile", "%q locates its points by Modbus table or MQTT path; a BACnet device needs a profile with an object per point (object: analog-input:0)", profile.Name)
		return
	}
	for i := range profile.Points {
		pt := &profile.Points[i]
		if _, err := bacnet.ParseObjectID(pt.Object); err != nil {
			add("profile", "%q point %q: %v", profile.Name, pt.Name, err)
		}
		if _, err := bacnet.ParsePropertyID(pt.BACnetProperty()); err != nil {
			add("profile", "%q point %q: %v", profile.Name, pt.Name, err)
		}
	}
}

// mac decodes the MAC, which may be written with ':' or '-' between octets.
func (b *DeviceBACnet) mac() ([]byte, error) {
	if b.MAC == "" {
		return nil, nil
	}
	s := strings.NewReplacer(":", "", "-", "").Replace(strings.TrimPrefix(b.MAC, "0x"))
	m, err := hex.DecodeString(s)
	// 6.2.2: DLEN is one octet; MACs in use are 1 (MS/TP, ARCNET), 2, 6 (B/IP) or 7 (LonTalk).
	if err != nil || len(m) == 0 || len(m) > 7 {
		return nil, fmt.Errorf("%q is not a MAC of 1 to 7 octets in hex, e.g. 05 or c0a8010abac0", b.MAC)
	}
	return m, nil
}

// transport is the validated transport as the BACnet source takes it.
func (b *DeviceBACnet) transport() *devices.BACnetTransport {
	mac, _ := b.mac()
	t := &devices.BACnetTransport{Address: b.Address, Network: uint16(b.Network), MAC: mac}
	if b.DeviceInstance != nil {
		t.Instance = uint32(*b.DeviceInstance)
	}
	return t
}
