package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/locale"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]*$`)

// Validate checks the configuration and returns every problem as one *Problems error, each
// naming the key and, for devices, the device. It fills in what devices inherit.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if !idPattern.MatchString(c.Site) {
		add("site: %q must be letters, digits, '-', '_' or '.', starting with a letter or digit", c.Site)
	}
	if l, err := locale.Parse(c.Locale); err != nil {
		add("locale: %v (set %s)", err, EnvName("locale"))
	} else {
		c.Locale = string(l)
	}
	if c.Influx.URL != "" {
		if u, err := url.Parse(c.Influx.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("influx.url: %q is not an http:// or https:// URL (set %s)", c.Influx.URL, EnvName("influx.url"))
		}
		if c.Influx.Bucket == "" {
			add("influx.bucket: missing (on InfluxDB 1.8 use database/retention-policy, e.g. facility/autogen)")
		}
	}
	if c.Influx.BatchSize < 1 {
		add("influx.batch_size: %d must be at least 1", c.Influx.BatchSize)
	}
	if c.Influx.FlushInterval <= 0 {
		add("influx.flush_interval: %v must be positive", c.Influx.FlushInterval)
	}
	if c.Influx.Timeout <= 0 {
		add("influx.timeout: %v must be positive", c.Influx.Timeout)
	}
	if c.Influx.QueueSize < 1 {
		add("influx.queue_size: %d must be at least 1", c.Influx.QueueSize)
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		add("http.addr: %q is not host:port (%v)", c.HTTP.Addr, err)
	}
	if _, _, err := net.SplitHostPort(c.Demo.SimAddr); err != nil {
		add("demo.sim_addr: %q is not host:port (%v)", c.Demo.SimAddr, err)
	} else if !Loopback(c.Demo.SimAddr) {
		// The control API has no tokens and injects faults that raise real alarms.
		add("demo.sim_addr: %q is not a loopback address; the simulators' control API takes no token, so serve it on 127.0.0.1, [::1] or localhost", c.Demo.SimAddr)
	}
	if c.Polling.Interval <= 0 {
		add("polling.interval: %v must be positive", c.Polling.Interval)
	}
	if c.Polling.Timeout <= 0 {
		add("polling.timeout: %v must be positive", c.Polling.Timeout)
	}
	if c.Polling.Timeout >= c.Polling.Interval && c.Polling.Interval > 0 {
		add("polling.timeout: %v must be shorter than polling.interval %v", c.Polling.Timeout, c.Polling.Interval)
	}
	if c.Polling.OfflineAfter < 1 {
		add("polling.offline_after: %d must be at least 1", c.Polling.OfflineAfter)
	}
	if c.Modbus.MaxGapRegisters < 0 || c.Modbus.MaxGapRegisters > devices.MaxRegisters {
		add("modbus.max_gap_registers: %d must be 0 to %d", c.Modbus.MaxGapRegisters, devices.MaxRegisters)
	}
	if c.Modbus.MaxGapBits < 0 || c.Modbus.MaxGapBits > devices.MaxBits {
		add("modbus.max_gap_bits: %d must be 0 to %d", c.Modbus.MaxGapBits, devices.MaxBits)
	}
	if c.Modbus.BackoffMin <= 0 || c.Modbus.BackoffMax < c.Modbus.BackoffMin {
		add("modbus.backoff_min, modbus.backoff_max: %v and %v must be positive, min not above max", c.Modbus.BackoffMin, c.Modbus.BackoffMax)
	}
	errs = append(errs, c.validateMQTT()...)
	errs = append(errs, c.validateBACnet()...)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format: %q is not one of text, json", c.Log.Format)
	}

	errs = append(errs, c.validateSpool()...)
	errs = append(errs, c.validateCommands()...)
	errs = append(errs, c.validateSecurity()...)

	profiles, perr := LoadProfiles(c.Profiles.Dir)
	if perr != nil {
		errs = append(errs, perr)
	}
	if len(c.Devices) == 0 {
		add("devices: none configured; facilityd has nothing to poll")
	}
	seen := map[string]int{}
	units := map[string]string{}
	instances := map[int]string{}
	for i := range c.Devices {
		errs = append(errs, c.validateDevice(i, profiles, seen, units, instances)...)
	}
	errs = append(errs, c.validateMQTTOverlap(profiles)...)
	errs = append(errs, c.validatePatrol()...)
	errs = append(errs, c.validateAlarms()...)
	errs = append(errs, c.validateWorkOrders()...)
	if len(errs) > 0 {
		return &Problems{Source: "config", Errs: errs}
	}
	return nil
}

func (c *Config) validateDevice(i int, profiles map[string]*devices.Profile, seen map[string]int, units map[string]string, instances map[int]string) []error {
	d := &c.Devices[i]
	var errs []error
	name := fmt.Sprintf("devices[%d]", i)
	if d.ID != "" {
		name = fmt.Sprintf("devices[%d] (%s)", i, d.ID)
	}
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", name, key, fmt.Sprintf(format, args...)))
	}
	switch {
	case d.ID == "":
		add("id", "missing")
	case !idPattern.MatchString(d.ID):
		add("id", "%q must be letters, digits, '-', '_' or '.'", d.ID)
	default:
		if j, dup := seen[d.ID]; dup {
			add("id", "%q is already used by devices[%d]", d.ID, j)
		}
		seen[d.ID] = i
	}
	if d.Site == "" {
		d.Site = c.Site
	}
	// A device that sets neither inherits both, and polling's own check speaks for it.
	ownTiming := d.Interval != 0 || d.Timeout != 0
	if d.Interval == 0 {
		d.Interval = c.Polling.Interval
	}
	if d.Timeout == 0 {
		d.Timeout = c.Polling.Timeout
	}
	if d.OfflineAfter == 0 {
		d.OfflineAfter = c.Polling.OfflineAfter
	}
	if d.Interval < 0 {
		add("interval", "%v must be positive", d.Interval)
	}
	if ownTiming && d.Timeout >= d.Interval && d.Interval > 0 {
		add("timeout", "%v must be shorter than the poll interval %v", d.Timeout, d.Interval)
	}
	if d.OfflineAfter < 1 {
		add("offline_after", "%d must be at least 1", d.OfflineAfter)
	}
	if d.OPCUA != nil {
		c.validateDeviceOPCUA(d, add) // config/opcua.go
		return errs
	}
	var profile *devices.Profile
	if d.Profile == "" {
		add("profile", "missing; the built-in profiles are %s", strings.Join(devices.BuiltinNames(), ", "))
	} else if profile = profiles[d.Profile]; profile == nil {
		add("profile", "%q is neither built in (%s) nor a file in profiles.dir", d.Profile, strings.Join(devices.BuiltinNames(), ", "))
	}
	if d.Kind == "" && profile != nil {
		d.Kind = string(profile.Kind)
	}
	if d.Kind == "" && profile == nil {
		// The profile's problem is already reported; the kind follows from it.
	} else if !devices.Kind(d.Kind).Valid() {
		add("kind", "%q is not one of pump, elevator, fire_panel, lighting, generic", d.Kind)
	} else if profile != nil && profile.Kind != devices.KindGeneric && string(profile.Kind) != d.Kind {
		add("kind", "%s does not match profile %q, which is for %s", d.Kind, profile.Name, profile.Kind)
	}
	switch {
	case d.BACnet != nil && (d.Modbus != nil || d.MQTT != nil):
		add("bacnet", "a device has one transport: modbus, mqtt, bacnet or opcua, not two")
		return errs
	case d.BACnet != nil:
		validateDeviceBACnet(d, profile, instances, add)
		return errs
	case d.Modbus != nil && d.MQTT != nil:
		add("mqtt", "a device has one transport: modbus or mqtt, not both")
		return errs
	case d.MQTT != nil:
		validateDeviceMQTT(d, profile, add)
		return errs
	case d.Modbus == nil:
		add("modbus", "missing: a device needs a transport (modbus: {address: host:port, unit: 1}, mqtt: {topic: ...} or bacnet: {device_instance: N})")
		return errs
	}
	if profile != nil && profile.Transport() != "modbus" {
		add("profile", "%q locates its points by JSON path; a Modbus device needs a profile with a table and address per point", profile.Name)
	}
	c.validateDeviceModbus(d.ID, d.Modbus, units, add)
	return errs
}

// validateDeviceModbus checks a device's Modbus transport: a TCP address or a serial line, the
// framing, and a unit not already taken on that address or line.
func (c *Config) validateDeviceModbus(id string, m *DeviceModbus, units map[string]string, add func(key, format string, args ...any)) {
	where := m.Address
	if m.Serial != nil {
		where = "serial line " + m.Serial.Device
		c.validateSerial(m, units, add)
	} else if host, port, err := net.SplitHostPort(m.Address); err != nil || host == "" {
		add("modbus.address", "%q is not host:port", m.Address)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		add("modbus.address", "%q: port must be 1-65535", m.Address)
	}
	if m.Framing != "" && m.Framing != string(devices.FramingTCP) && m.Framing != string(devices.FramingRTU) {
		add("modbus.framing", "%q is not tcp (MBAP) or rtu (RTU frames over TCP, for a serial server)", m.Framing)
	}
	if m.Unit < 0 || m.Unit > 255 {
		add("modbus.unit", "%d must be 0-255", m.Unit)
	}
	if m.Serial != nil && (m.Unit < 1 || m.Unit > 247) {
		add("modbus.unit", "%d: a unit on a serial line is 1-247 (MODBUS over serial line v1.02, 2.2)", m.Unit)
	}
	key := fmt.Sprintf("%s/%d", where, m.Unit)
	if other, dup := units[key]; dup {
		add("modbus.unit", "%s unit %d is already device %s", where, m.Unit, other)
	} else {
		units[key] = id
	}
	if m.MaxGapRegisters != nil && (*m.MaxGapRegisters < 0 || *m.MaxGapRegisters > devices.MaxRegisters) {
		add("modbus.max_gap_registers", "%d must be 0 to %d", *m.MaxGapRegisters, devices.MaxRegisters)
	}
	if m.MaxGapBits != nil && (*m.MaxGapBits < 0 || *m.MaxGapBits > devices.MaxBits) {
		add("modbus.max_gap_bits", "%d must be 0 to %d", *m.MaxGapBits, devices.MaxBits)
	}
}

// LoadProfiles returns the built-in profiles and every *.yaml file in dir (dir may be empty).
// A file's profile replaces a built-in one of the same name.
func LoadProfiles(dir string) (map[string]*devices.Profile, error) {
	out := map[string]*devices.Profile{}
	for _, n := range devices.BuiltinNames() {
		out[n], _ = devices.Builtin(n)
	}
	if dir == "" {
		return out, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return out, fmt.Errorf("profiles.dir: %w", err)
	}
	if _, err := os.Stat(dir); err != nil {
		return out, fmt.Errorf("profiles.dir: %w", err)
	}
	sort.Strings(files)
	var errs []error
	from := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("profiles.dir: %w", err))
			continue
		}
		p, err := devices.ParseProfile(f, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := from[p.Name]; dup {
			errs = append(errs, fmt.Errorf("profile %s: name %q is already the profile in %s", f, p.Name, prev))
			continue
		}
		from[p.Name] = f
		out[p.Name] = p
	}
	return out, errors.Join(errs...)
}

// BuildDevices turns the validated configuration into the devices the drivers poll.
func (c *Config) BuildDevices() ([]*devices.Device, error) {
	profiles, err := LoadProfiles(c.Profiles.Dir)
	if err != nil {
		return nil, err
	}
	opcuaProfiles, err := LoadOPCUAProfiles(c.Profiles.Dir)
	if err != nil {
		return nil, err
	}
	out := make([]*devices.Device, 0, len(c.Devices))
	for i := range c.Devices {
		d := &c.Devices[i]
		p := profiles[d.Profile]
		if d.OPCUA != nil {
			p = opcuaDeviceProfile(opcuaProfiles, d) // config/opcua.go
		}
		if p == nil {
			return nil, fmt.Errorf("devices[%d] (%s).profile: %q not found; run Validate first", i, d.ID, d.Profile)
		}
		dev := &devices.Device{
			ID: d.ID, Kind: devices.Kind(d.Kind), Site: d.Site, Building: d.Building, Zone: d.Zone,
			Profile: p, Interval: d.Interval, Timeout: d.Timeout, OfflineAfter: d.OfflineAfter, Tags: d.Tags,
		}
		if m := d.Modbus; m != nil {
			dev.Modbus = &devices.ModbusTransport{
				Address: m.Address, Unit: uint8(m.Unit), Framing: devices.Framing(m.Framing),
				MaxGapRegisters: c.Modbus.MaxGapRegisters, MaxGapBits: c.Modbus.MaxGapBits,
			}
			if m.MaxGapRegisters != nil {
				dev.Modbus.MaxGapRegisters = *m.MaxGapRegisters
			}
			if m.MaxGapBits != nil {
				dev.Modbus.MaxGapBits = *m.MaxGapBits
			}
			if s := m.Serial; s != nil {
				dev.Modbus.Serial = &devices.SerialLine{Device: s.Device, Baud: s.Baud, DataBits: s.DataBits, Parity: s.Parity, StopBits: s.StopBits}
			}
		}
		if m := d.MQTT; m != nil {
			dev.MQTT = &devices.MQTTTransport{Topic: m.Topic, StatusTopic: m.StatusTopic, StaleAfter: m.StaleAfter}
		}
		if b := d.BACnet; b != nil {
			dev.BACnet = b.transport()
		}
		if o := d.OPCUA; o != nil {
			dev.OPCUA = o.connection(d.Timeout).Transport() // config/opcua.go
		}
		out = append(out, dev)
	}
	return out, nil
}
