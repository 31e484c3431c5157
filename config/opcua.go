package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/opcua"
)

// DeviceOPCUA is an OPC UA device's transport: the server's endpoint, the security and
// identity facilityd uses there, and how values are read. Its profile (devices[].profile) is
// an OPC UA profile in profiles.dir/opcua/NAME.yaml.
type DeviceOPCUA struct {
	// Endpoint is the server's opc.tcp://host:port URL.
	Endpoint string `mapstructure:"endpoint" yaml:"endpoint"`
	// SecurityPolicy is None (the default), Basic256Sha256, Aes128_Sha256_RsaOaep or
	// Aes256_Sha256_RsaPss; a server certificate must be trusted (facilityd opcua trust)
	// for any but None.
	SecurityPolicy string `mapstructure:"security_policy" yaml:"security_policy,omitempty"`
	// SecurityMode is None (with policy None), Sign or SignAndEncrypt (the default with a
	// secure policy).
	SecurityMode string `mapstructure:"security_mode" yaml:"security_mode,omitempty"`
	// Auth is anonymous (the default), username or certificate.
	Auth string `mapstructure:"auth" yaml:"auth,omitempty"`
	// Username and Password are the identity of auth username; the password is hidden
	// wherever the configuration is printed.
	Username string `mapstructure:"username" yaml:"username,omitempty"`
	Password Secret `mapstructure:"password" yaml:"password,omitempty"`
	// CertFile and KeyFile are the user certificate of auth certificate; unset: facilityd's
	// application certificate in state_dir/opcua/own.
	CertFile string `mapstructure:"cert_file" yaml:"cert_file,omitempty"`
	KeyFile  string `mapstructure:"key_file" yaml:"key_file,omitempty"`
	// Mode is subscribe (the default; polling where the server refuses a subscription) or
	// poll (a read of every point each interval).
	Mode string `mapstructure:"mode" yaml:"mode,omitempty"`
	// PublishingInterval is the subscription's publishing interval; unset: the device's
	// interval.
	PublishingInterval time.Duration `mapstructure:"publishing_interval" yaml:"publishing_interval,omitempty"`
}

// opcuaConnectTimeout is the least time a connection attempt is given: ours; opening a secure
// channel costs RSA operations on both sides that a loaded gateway or a small PLC takes well
// over the polling timeout (500 ms by default) to do.
const opcuaConnectTimeout = 5 * time.Second

// connection is the device's transport as devices/opcua takes it.
func (o *DeviceOPCUA) connection(timeout time.Duration) opcua.Connection {
	return opcua.Connection{Endpoint: o.Endpoint, Policy: o.SecurityPolicy, Mode: o.SecurityMode, Auth: o.Auth,
		Username: o.Username, Password: string(o.Password), CertFile: o.CertFile, KeyFile: o.KeyFile,
		Timeout: max(timeout, opcuaConnectTimeout)}
}

// LoadOPCUAProfiles reads the built-in OPC UA profiles (the simulators' servers) and every OPC
// UA profile in dir/opcua/*.yaml, which replaces a built-in one of its name (only the built-in
// ones when dir is empty or has no such folder). They live apart from the Modbus and MQTT
// profiles because their points are located by node, not by register or JSON path.
func LoadOPCUAProfiles(dir string) (map[string]*opcua.Profile, error) {
	out := opcua.Builtins()
	builtin := opcua.Builtins()
	if dir == "" {
		return out, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "opcua", "*.yaml"))
	if err != nil {
		return out, fmt.Errorf("profiles.dir: %w", err)
	}
	sort.Strings(files)
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("profiles.dir: %w", err))
			continue
		}
		p, err := opcua.ParseProfile(f, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := out[p.Name]; dup && out[p.Name] != builtin[p.Name] {
			errs = append(errs, fmt.Errorf("opcua profile %s: name %q is already another file's", f, p.Name))
			continue
		}
		out[p.Name] = p
	}
	return out, errors.Join(errs...)
}

// validateDeviceOPCUA checks an OPC UA device: one transport, its OPC UA profile, its kind,
// and its connection.
func (c *Config) validateDeviceOPCUA(d *Device, add func(key, format string, args ...any)) {
	if d.Modbus != nil || d.MQTT != nil || d.BACnet != nil {
		add("opcua", "a device has one transport: modbus, mqtt, bacnet or opcua, not two")
		return
	}
	if d.Profile == "" {
		add("profile", "missing: an OPC UA device names its profile in profiles.dir/opcua (facilityd opcua browse --out writes a draft)")
		return
	}
	profiles, err := LoadOPCUAProfiles(c.Profiles.Dir)
	if err != nil {
		add("profile", "%v", err)
		return
	}
	p := profiles[d.Profile]
	if p == nil {
		add("profile", "%q is not an OPC UA profile: put it in profiles.dir/opcua/%s.yaml (facilityd opcua browse --out writes a draft)", d.Profile, d.Profile)
		return
	}
	if d.Kind == "" {
		d.Kind = string(p.Kind)
	}
	if !devices.Kind(d.Kind).Valid() {
		add("kind", "%q is not one of pump, elevator, fire_panel, lighting, generic", d.Kind)
	}
	if err := d.OPCUA.connection(d.Timeout).Validate(); err != nil {
		add("opcua", "%v", err)
	}
	switch opcua.Mode(d.OPCUA.Mode) {
	case "", opcua.ModeSubscribe, opcua.ModePoll:
	default:
		add("opcua.mode", "%q is not one of subscribe, poll", d.OPCUA.Mode)
	}
	if d.OPCUA.PublishingInterval < 0 {
		add("opcua.publishing_interval", "%v must be positive", d.OPCUA.PublishingInterval)
	}
}

// opcuaDeviceProfile is the common profile of an OPC UA device, for BuildDevices.
func opcuaDeviceProfile(profiles map[string]*opcua.Profile, d *Device) *devices.Profile {
	if p := profiles[d.Profile]; p != nil {
		return p.DeviceProfile()
	}
	return nil
}

// OPCUADevices pairs each built device that has an OPC UA transport with its connection and
// profile, for the OPC UA driver: devs are BuildDevices' devices, whose snapshots every stage
// reads.
func (c *Config) OPCUADevices(devs []*devices.Device) ([]*opcua.Device, error) {
	profiles, err := LoadOPCUAProfiles(c.Profiles.Dir)
	if err != nil {
		return nil, err
	}
	byID := map[string]*devices.Device{}
	for _, d := range devs {
		byID[d.ID] = d
	}
	var out []*opcua.Device
	for i := range c.Devices {
		d := &c.Devices[i]
		if d.OPCUA == nil {
			continue
		}
		dev, p := byID[d.ID], profiles[d.Profile]
		if dev == nil || p == nil {
			return nil, fmt.Errorf("devices[%d] (%s): not built; run Validate first", i, d.ID)
		}
		out = append(out, &opcua.Device{Dev: dev, Conn: d.OPCUA.connection(d.Timeout), Profile: p,
			Mode: opcua.Mode(d.OPCUA.Mode), Publishing: d.OPCUA.PublishingInterval})
	}
	return out, nil
}
