// Package config reads facilityd's YAML configuration: typed, strict (an unknown key is an
// error naming its path and line), every key overridable from the environment as FACILITYD_
// plus the key path in capitals with "_" for "." (influx.url is FACILITYD_INFLUX_URL), defaults
// set in one place (Default), and Validate listing every problem at once.
package config

import (
	"time"

	"github.com/facilityd/facilityd/locale"
)

// Config is the whole of facilityd's configuration.
type Config struct {
	// Site names the estate; it is the InfluxDB tag and MQTT topic level of every device that
	// does not name its own.
	Site string `mapstructure:"site" yaml:"site"`
	// StateDir holds the spool, the alarm journal, the patrol store, the SQLite order book and
	// the MQTT session store and the command journal (commands.db, or commands.store), each
	// overridable by its own key (state.go). Unset: run uses /var/lib/facilityd when
	// writable, else ./state beside the configuration; the demo .demo/.
	StateDir string `mapstructure:"state_dir" yaml:"state_dir"`
	// Locale is the language of everything facilityd writes for people (alarm messages,
	// handset alerts, work orders, the monthly report, CLI headers, the console's default):
	// en or zh-CN. Identifiers (ids, states, JSON keys, metrics, topics) never change.
	Locale   string   `mapstructure:"locale" yaml:"locale"`
	Influx   Influx   `mapstructure:"influx" yaml:"influx"`
	HTTP     HTTP     `mapstructure:"http" yaml:"http"`
	Polling  Polling  `mapstructure:"polling" yaml:"polling"`
	Modbus   Modbus   `mapstructure:"modbus" yaml:"modbus"`
	MQTT     MQTT     `mapstructure:"mqtt" yaml:"mqtt"`
	BACnet   BACnet   `mapstructure:"bacnet" yaml:"bacnet"`
	Profiles Profiles `mapstructure:"profiles" yaml:"profiles"`
	Log      Log      `mapstructure:"log" yaml:"log"`
	Demo     Demo     `mapstructure:"demo" yaml:"demo"`
	Alarms   Alarms   `mapstructure:"alarms" yaml:"alarms"`
	Devices  []Device `mapstructure:"devices" yaml:"devices"`
	Patrol   Patrol   `mapstructure:"patrol" yaml:"patrol"`
	Spool    Spool    `mapstructure:"spool" yaml:"spool"`
	// ShutdownTimeout bounds a graceful stop on SIGTERM; a second signal exits at once.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout" yaml:"shutdown_timeout"`
	// WorkOrders is the work-order book (config/workorders.go).
	WorkOrders WorkOrders `mapstructure:"workorders" yaml:"workorders"`
	// Commands governs writes to the plant (config/commands.go).
	Commands Commands `mapstructure:"commands" yaml:"commands"`
}

// Influx says where telemetry goes. With no URL, readings are kept only in the live cache.
type Influx struct {
	// URL is InfluxDB (1.8 or 2.x, v2 write API); empty keeps readings in the live cache only.
	URL string `mapstructure:"url" yaml:"url"`
	// Bucket is a v2 bucket, or "database/retention-policy" (or just "database") on InfluxDB 1.8.
	Bucket string `mapstructure:"bucket" yaml:"bucket"`
	// Org is the v2 organisation.
	Org string `mapstructure:"org" yaml:"org"`
	// Token is the v2 API token, or "user:password" on InfluxDB 1.8 with auth on. It never
	// appears in logs or printed configuration.
	Token Secret `mapstructure:"token" yaml:"token"`
	// TokenFile holds the token instead of the config file (e.g. a mounted secret).
	TokenFile string `mapstructure:"token_file" yaml:"token_file,omitempty"`
	// BatchSize is the most lines in one batch: a batch goes out when it is full or at
	// FlushInterval, whichever comes first.
	BatchSize     int           `mapstructure:"batch_size" yaml:"batch_size"`
	FlushInterval time.Duration `mapstructure:"flush_interval" yaml:"flush_interval"`
	// Timeout bounds one write to InfluxDB.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout"`
	// QueueSize bounds the polls waiting to be written, so a slow InfluxDB never slows polling.
	QueueSize int `mapstructure:"queue_size" yaml:"queue_size"`
}

// HTTP is the API's listener.
type HTTP struct {
	// Addr is where the API and the console listen.
	Addr string `mapstructure:"addr" yaml:"addr"`
	// Pprof serves Go's profiler at /debug/pprof/, for finding where CPU and memory go on site.
	Pprof bool `mapstructure:"pprof" yaml:"pprof"`
	// Tokens guard the API by role; with none, the API is open (loopback only, for run).
	Tokens []Token `mapstructure:"tokens" yaml:"tokens,omitempty"`
	// MetricsOpen serves /metrics without a token, for a Prometheus that cannot send one.
	MetricsOpen bool `mapstructure:"metrics_open" yaml:"metrics_open"`
	// TLSCert and TLSKey (PEM files) serve the API over HTTPS.
	TLSCert string `mapstructure:"tls_cert" yaml:"tls_cert,omitempty"`
	TLSKey  string `mapstructure:"tls_key" yaml:"tls_key,omitempty"`
	// Hosts are the names (Host header, without port) the API answers to besides its listen
	// address, localhost and loopback literals, e.g. gateway.estate.lan: any other name is
	// refused, so a web page that rebinds its own name to the gateway reads nothing. Only with
	// tokens.
	Hosts []string `mapstructure:"hosts" yaml:"hosts,omitempty"`
	// Operators are the people who may act (`by`) in open mode besides the patrol guards and
	// the work-order butlers, supervisors and technicians; with tokens, the token's name acts.
	Operators []string `mapstructure:"operators" yaml:"operators,omitempty"`
	// MaxStreams bounds the clients of the event stream at once; more get 503.
	MaxStreams int `mapstructure:"max_streams" yaml:"max_streams"`
}

// Polling holds the defaults every device inherits unless it sets its own.
type Polling struct {
	// Interval is how often each device is polled.
	Interval time.Duration `mapstructure:"interval" yaml:"interval"`
	// Timeout bounds one request; it must be shorter than the interval.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout"`
	// OfflineAfter is the number of failed polls in a row that makes a device offline.
	OfflineAfter int `mapstructure:"offline_after" yaml:"offline_after"`
}

// Modbus tunes the Modbus TCP driver.
type Modbus struct {
	// MaxGapRegisters is how many unmapped registers may be read and thrown away to merge two
	// requests into one. Zero reads only mapped registers, which every device tolerates.
	MaxGapRegisters int `mapstructure:"max_gap_registers" yaml:"max_gap_registers"`
	// MaxGapBits is the same for coils and discrete inputs.
	MaxGapBits int `mapstructure:"max_gap_bits" yaml:"max_gap_bits"`
	// BackoffMin and BackoffMax bound the wait between failed connection attempts, doubling,
	// with jitter.
	BackoffMin time.Duration `mapstructure:"backoff_min" yaml:"backoff_min"`
	BackoffMax time.Duration `mapstructure:"backoff_max" yaml:"backoff_max"`
}

// Profiles says where site-specific profiles are found, beside the built-in ones.
type Profiles struct {
	// Dir is the folder of site profiles (*.yaml) beside the built-in ones; a relative one is
	// taken from the configuration file's folder.
	Dir string `mapstructure:"dir" yaml:"dir"`
}

// Log sets the daemon's log output.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `mapstructure:"level" yaml:"level"`
	// Format is text or json.
	Format string `mapstructure:"format" yaml:"format"`
}

// Demo configures `facilityd demo`.
type Demo struct {
	// SimAddr is where the simulators' control API listens.
	SimAddr string `mapstructure:"sim_addr" yaml:"sim_addr"`
}

// Device is one device as configured.
type Device struct {
	// ID names the device in every alarm, order, topic and tag; unique in the file.
	ID string `mapstructure:"id" yaml:"id"`
	// Kind is pump, elevator, fire_panel, lighting or generic; from the profile if omitted.
	Kind string `mapstructure:"kind" yaml:"kind"`
	// Site, Building and Zone place the device: its tags, its topics, and the zone's patrol
	// group and maintenance team. Site defaults to the file's site.
	Site     string `mapstructure:"site" yaml:"site"`
	Building string `mapstructure:"building" yaml:"building"`
	Zone     string `mapstructure:"zone" yaml:"zone"`
	// Profile names a built-in profile or one in profiles.dir.
	Profile string `mapstructure:"profile" yaml:"profile"`
	// Interval, Timeout and OfflineAfter override the polling section for this device.
	Interval     time.Duration `mapstructure:"interval" yaml:"interval,omitempty"`
	Timeout      time.Duration `mapstructure:"timeout" yaml:"timeout,omitempty"`
	OfflineAfter int           `mapstructure:"offline_after" yaml:"offline_after,omitempty"`
	// Modbus, MQTT or BACnet is the device's transport, only one.
	Modbus *DeviceModbus `mapstructure:"modbus" yaml:"modbus,omitempty"`
	MQTT   *DeviceMQTT   `mapstructure:"mqtt" yaml:"mqtt,omitempty"`
	// OPCUA, in place of modbus or mqtt, reads the device from an OPC UA server, with a
	// profile in profiles.dir/opcua (config/opcua.go).
	OPCUA *DeviceOPCUA `mapstructure:"opcua" yaml:"opcua,omitempty"`
	// BACnet, in place of modbus or mqtt, reads the device over BACnet/IP (config/bacnet.go).
	BACnet *DeviceBACnet `mapstructure:"bacnet" yaml:"bacnet,omitempty"`
	// Tags are free tags written with every reading (name and location also word its alarms).
	Tags map[string]string `mapstructure:"tags" yaml:"tags,omitempty"`
	// Alarms changes or disables the built-in alarm rules of this device's profile.
	Alarms []AlarmOverride `mapstructure:"alarms" yaml:"alarms,omitempty"`
	// Asset is the device's entry in the equipment ledger (config/workorders.go).
	Asset *Asset `mapstructure:"asset" yaml:"asset,omitempty"`
}

// DeviceModbus is a Modbus device's transport: TCP (address), RTU frames over TCP through a
// serial server (address, framing: rtu), or a serial line (serial).
type DeviceModbus struct {
	// Address is host:port of the device, or of the gateway in front of it.
	Address string `mapstructure:"address" yaml:"address,omitempty"`
	// Framing is tcp (MBAP, the default) or rtu (RTU frames with CRC, for serial servers
	// that pass frames through).
	Framing string `mapstructure:"framing" yaml:"framing,omitempty"`
	// Serial is the RS-485 line the device hangs on, in place of an address.
	Serial *SerialLine `mapstructure:"serial" yaml:"serial,omitempty"`
	// Unit is the unit identifier behind the address.
	Unit int `mapstructure:"unit" yaml:"unit"`
	// MaxGapRegisters and MaxGapBits override the modbus section for this device.
	MaxGapRegisters *int `mapstructure:"max_gap_registers" yaml:"max_gap_registers,omitempty"`
	MaxGapBits      *int `mapstructure:"max_gap_bits" yaml:"max_gap_bits,omitempty"`
}

// SerialLine is a serial port and its character format (MODBUS over serial line v1.02,
// 2.5.1: 8 data bits, even parity and 1 stop bit by default). Every device on one port must
// give the same settings.
type SerialLine struct {
	// Device is the serial port, e.g. /dev/ttyUSB0.
	Device string `mapstructure:"device" yaml:"device"`
	// Baud is the line's speed; 19200 when unset.
	Baud int `mapstructure:"baud" yaml:"baud"`
	// DataBits (8), Parity (even) and StopBits (1) are the character format when unset.
	DataBits int `mapstructure:"data_bits" yaml:"data_bits"`
	// Parity is none, even or odd (or N, E, O).
	Parity   string `mapstructure:"parity" yaml:"parity"`
	StopBits int    `mapstructure:"stop_bits" yaml:"stop_bits"`
}

// Default is the configuration every file starts from: the one place defaults are set.
func Default() Config {
	return Config{
		Site:   "estate",
		Locale: string(locale.EN),
		Influx: Influx{
			Bucket:        "facility/autogen",
			BatchSize:     5000,
			FlushInterval: time.Second,
			Timeout:       10 * time.Second,
			QueueSize:     10000,
		},
		HTTP:    HTTP{Addr: "127.0.0.1:8080", MaxStreams: 64},
		Polling: Polling{Interval: time.Second, Timeout: 500 * time.Millisecond, OfflineAfter: 3},
		Modbus:  Modbus{BackoffMin: 500 * time.Millisecond, BackoffMax: 30 * time.Second},
		MQTT:    defaultMQTT(),
		BACnet:  defaultBACnet(),
		Log:     Log{Level: "info", Format: "text"},
		Demo:    Demo{SimAddr: "127.0.0.1:8081"},
		Patrol:  DefaultPatrol(),
		Alarms:  defaultAlarms(),

		Spool:           defaultSpool(),
		ShutdownTimeout: DefaultShutdownTimeout,
		WorkOrders:      DefaultWorkOrders(),
		Commands:        defaultCommands(),
	}
}

// Secret is a value that never appears in logs or printed configuration.
type Secret string

// String hides the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<hidden>"
}

// MarshalYAML hides the secret in printed configuration.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText hides the secret in JSON.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret itself, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// Lang is the site's locale; Validate has checked it, so a bad value reads as English.
func (c *Config) Lang() locale.Locale {
	l, err := locale.Parse(c.Locale)
	if err != nil {
		return locale.EN
	}
	return l
}
