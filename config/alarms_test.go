package config

import (
	"testing"
	"time"
)

func TestAlarmOverrides(t *testing.T) {
	t.Setenv("FACILITYD_ALARMS_REALARM", "45m")
	cfg, err := Parse("alarms.yaml", []byte(`
site: estate
state_dir: /var/lib/facilityd
alarms:
  timezone: UTC
devices:
  - id: P-1
    profile: pump
    modbus: {address: "127.0.0.1:1502", unit: 1}
    alarms:
      - {rule: supply_pressure_low, limit: 3.2, on_delay: 20s, priority: high}
      - {rule: pump_trip, disabled: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ResolveState(); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Alarms.Journal; got != "/var/lib/facilityd/alarms.db" {
		t.Errorf("journal path %s", got)
	}
	if cfg.Alarms.Realarm != 45*time.Minute || cfg.Alarms.FloodLimit != 10 || cfg.Alarms.FloodWindow != 10*time.Minute {
		t.Errorf("alarms defaults and environment: %+v", cfg.Alarms)
	}
	o := cfg.Devices[0].Alarms
	if len(o) != 2 || o[0].Limit == nil || *o[0].Limit != 3.2 || o[0].OnDelay == nil || *o[0].OnDelay != 20*time.Second ||
		o[0].Priority != "high" || o[0].OffDelay != nil || !o[1].Disabled {
		t.Fatalf("overrides decoded as %+v", o)
	}
}
