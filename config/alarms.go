package config

import (
	"fmt"
	"time"
)

// Alarms configures the alarm engine: the site's clock for suppression windows, the re-alarm
// time, flood and chatter limits, shelving's maximum and where the journal lives.
type Alarms struct {
	// Timezone is the IANA zone suppression windows are written in, e.g. Asia/Shanghai.
	Timezone string `mapstructure:"timezone" yaml:"timezone"`
	// Realarm re-announces an alarm still active and unacknowledged after this long; 0 never.
	Realarm time.Duration `mapstructure:"realarm" yaml:"realarm"`
	// FloodLimit new alarms within FloodWindow at one site are a flood (EEMUA 191: 10 in 10m).
	FloodLimit  int           `mapstructure:"flood_limit" yaml:"flood_limit"`
	FloodWindow time.Duration `mapstructure:"flood_window" yaml:"flood_window"`
	// ChatterCount activations within ChatterWindow flag an alarm as chattering.
	ChatterCount  int           `mapstructure:"chatter_count" yaml:"chatter_count"`
	ChatterWindow time.Duration `mapstructure:"chatter_window" yaml:"chatter_window"`
	// ShelveMax bounds every shelf, one-shot ones included (ISA-18.2 requires a limit).
	ShelveMax time.Duration `mapstructure:"shelve_max" yaml:"shelve_max"`
	// Journal is the SQLite file of the alarm journal; default state_dir/alarms.db.
	Journal string `mapstructure:"journal" yaml:"journal"`
	// Retention is how long the journal keeps an event every consumer has handled; an event
	// a consumer has not handled is kept however old. The default, a year (8760h), is the
	// estate's practice for duty records.
	Retention time.Duration `mapstructure:"retention" yaml:"retention"`
}

// DefaultRetention is how long journals and outboxes keep what every consumer has handled: a
// year, the estate's practice for duty records (值班记录).
const DefaultRetention = 365 * 24 * time.Hour

// AlarmOverride changes one built-in rule of one device (devices[].alarms), by rule name.
// Unset fields keep the rule's defaults.
type AlarmOverride struct {
	Rule     string         `mapstructure:"rule" yaml:"rule"`
	Disabled bool           `mapstructure:"disabled" yaml:"disabled,omitempty"`
	Priority string         `mapstructure:"priority" yaml:"priority,omitempty"`
	Limit    *float64       `mapstructure:"limit" yaml:"limit,omitempty"`
	Deadband *float64       `mapstructure:"deadband" yaml:"deadband,omitempty"`
	OnDelay  *time.Duration `mapstructure:"on_delay" yaml:"on_delay,omitempty"`
	OffDelay *time.Duration `mapstructure:"off_delay" yaml:"off_delay,omitempty"`
}

func defaultAlarms() Alarms {
	return Alarms{
		Timezone: "Local", Realarm: 30 * time.Minute,
		FloodLimit: 10, FloodWindow: 10 * time.Minute,
		ChatterCount: 3, ChatterWindow: time.Minute,
		ShelveMax: 8 * time.Hour, Retention: DefaultRetention,
	}
}

func (c *Config) validateAlarms() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	a := &c.Alarms
	if _, err := time.LoadLocation(a.Timezone); err != nil {
		add("alarms.timezone: %q is not an IANA time zone (e.g. Asia/Shanghai): %v", a.Timezone, err)
	}
	if a.Realarm < 0 {
		add("alarms.realarm: %v must not be negative (0 turns re-alarm off)", a.Realarm)
	}
	if a.FloodLimit < 1 {
		add("alarms.flood_limit: %d must be at least 1", a.FloodLimit)
	}
	if a.FloodWindow <= 0 {
		add("alarms.flood_window: %v must be positive", a.FloodWindow)
	}
	if a.ChatterCount < 2 {
		add("alarms.chatter_count: %d must be at least 2", a.ChatterCount)
	}
	if a.ChatterWindow <= 0 {
		add("alarms.chatter_window: %v must be positive", a.ChatterWindow)
	}
	if a.ShelveMax <= 0 {
		add("alarms.shelve_max: %v must be positive", a.ShelveMax)
	}
	if a.Retention < 24*time.Hour {
		add("alarms.retention: %v is less than a day; duty records are kept a year (8760h)", a.Retention)
	}
	for i, d := range c.Devices {
		for j, o := range d.Alarms {
			key := fmt.Sprintf("devices[%d] (%s).alarms[%d]", i, d.ID, j)
			if o.Rule == "" {
				add("%s.rule: missing; name the rule to change (see docs/alarms.md)", key)
			}
			switch o.Priority {
			case "", "critical", "high", "medium", "low":
			default:
				add("%s.priority: %q is not one of critical, high, medium, low", key, o.Priority)
			}
			if o.Deadband != nil && *o.Deadband < 0 {
				add("%s.deadband: %v must not be negative", key, *o.Deadband)
			}
			if o.OnDelay != nil && *o.OnDelay < 0 || o.OffDelay != nil && *o.OffDelay < 0 {
				add("%s: on_delay and off_delay must not be negative", key)
			}
		}
	}
	return errs
}
