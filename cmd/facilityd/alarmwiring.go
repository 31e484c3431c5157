package main

import (
	"fmt"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/config"
)

// alarmsConfig turns the alarms section and the devices' overrides into the engine's Config.
func alarmsConfig(cfg *config.Config) (alarms.Config, error) {
	loc, err := time.LoadLocation(cfg.Alarms.Timezone)
	if err != nil {
		return alarms.Config{}, fmt.Errorf("alarms.timezone: %w", err)
	}
	ac := alarms.Config{
		Location: loc, Realarm: cfg.Alarms.Realarm,
		FloodLimit: cfg.Alarms.FloodLimit, FloodWindow: cfg.Alarms.FloodWindow,
		ChatterCount: cfg.Alarms.ChatterCount, ChatterWindow: cfg.Alarms.ChatterWindow,
		ShelveMax: cfg.Alarms.ShelveMax, Retention: cfg.Alarms.Retention, Overrides: map[string][]alarms.Override{},
		Locale: cfg.Lang(),
	}
	for _, d := range cfg.Devices {
		for _, o := range d.Alarms {
			ac.Overrides[d.ID] = append(ac.Overrides[d.ID], alarms.Override{
				Rule: o.Rule, Disabled: o.Disabled, Priority: alarms.Priority(o.Priority),
				Limit: o.Limit, Deadband: o.Deadband, OnDelay: o.OnDelay, OffDelay: o.OffDelay,
			})
		}
	}
	return ac, nil
}

// checkAlarmRules compiles the alarm rules of every device with its overrides.
func checkAlarmRules(cfg *config.Config) error {
	ac, err := alarmsConfig(cfg)
	if err != nil {
		return err
	}
	devs, err := cfg.BuildDevices()
	if err != nil {
		return err
	}
	return alarms.Check(ac, devs)
}
