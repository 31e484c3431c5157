package config

import (
	"fmt"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// Commands governs writes to the plant (POST /api/v1/devices/{id}/points/{point}).
type Commands struct {
	// DenyKinds are kinds of device never written, whatever their profiles mark writable.
	// Fire panels are refused whether listed or not: their state belongs to the fire alarm
	// system (GB 50116, NFPA 72), not to a building gateway.
	DenyKinds []string `mapstructure:"deny_kinds" yaml:"deny_kinds"`
	// Store is the SQLite journal of every write; default state_dir/commands.db.
	Store string `mapstructure:"store" yaml:"store"`
	// Timeout bounds a write and its read-back; the API answers within it.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout"`
}

func defaultCommands() Commands {
	return Commands{DenyKinds: []string{string(devices.KindFirePanel)}, Timeout: 10 * time.Second}
}

func (c *Config) validateCommands() []error {
	var errs []error
	for i, k := range c.Commands.DenyKinds {
		if !devices.Kind(k).Valid() {
			errs = append(errs, fmt.Errorf("commands.deny_kinds[%d]: %q is not one of pump, elevator, fire_panel, lighting, generic", i, k))
		}
	}
	if c.Commands.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("commands.timeout: %v must be positive (it bounds a write and its read-back)", c.Commands.Timeout))
	}
	return errs
}

// DenyKinds is commands.deny_kinds as device kinds, fire_panel always among them.
func (c *Config) DenyKinds() []devices.Kind {
	out := []devices.Kind{devices.KindFirePanel}
	for _, k := range c.Commands.DenyKinds {
		if devices.Kind(k) != devices.KindFirePanel {
			out = append(out, devices.Kind(k))
		}
	}
	return out
}

// validateSerial fills in a serial line's defaults (19200 baud, 8 data bits, even parity,
// 1 stop bit) and checks it against the other devices on the same port, recorded in lines
// under "line:" + the port.
func (c *Config) validateSerial(m *DeviceModbus, lines map[string]string, add func(key, format string, args ...any)) {
	s := m.Serial
	if m.Address != "" || m.Framing != "" {
		add("modbus.serial", "a device on a serial line has no address or framing (RTU is the line's framing)")
	}
	if s.Device == "" {
		add("modbus.serial.device", "missing: the serial port, e.g. /dev/ttyUSB0")
	}
	if s.Baud == 0 {
		s.Baud = 19200
	}
	if s.DataBits == 0 {
		s.DataBits = 8
	}
	if s.StopBits == 0 {
		s.StopBits = 1
	}
	switch s.Parity {
	case "", "even", "E", "e":
		s.Parity = "E"
	case "none", "N", "n":
		s.Parity = "N"
	case "odd", "O", "o":
		s.Parity = "O"
	default:
		add("modbus.serial.parity", "%q is not none, even or odd", s.Parity)
	}
	switch s.Baud {
	case 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400:
	default:
		add("modbus.serial.baud", "%d is not one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400", s.Baud)
	}
	if s.DataBits < 5 || s.DataBits > 8 {
		add("modbus.serial.data_bits", "%d must be 5-8 (Modbus RTU uses 8)", s.DataBits)
	}
	if s.StopBits != 1 && s.StopBits != 2 {
		add("modbus.serial.stop_bits", "%d must be 1 or 2", s.StopBits)
	}
	format := fmt.Sprintf("%d %d%s%d", s.Baud, s.DataBits, s.Parity, s.StopBits)
	key := "line:" + s.Device
	if prev, ok := lines[key]; ok && prev != format {
		add("modbus.serial", "%s is %s here but %s for another device on the same port: one line has one character format", s.Device, format, prev)
	} else if !ok {
		lines[key] = format
	}
}
