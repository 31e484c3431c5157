package daemon

import (
	"context"
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

// CheckAlarmRules compiles the alarm rules of every device of cfg with its overrides, so that
// check-config finds a rule the daemon would refuse at start.
func CheckAlarmRules(cfg *config.Config) error {
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

// buildAlarms opens the journal and the engine; raised alarms are logged at warn.
func (d *Daemon) buildAlarms(context.Context) error {
	ac, err := alarmsConfig(d.cfg)
	if err != nil {
		return err
	}
	j, err := alarms.OpenJournal(d.cfg.Alarms.Journal)
	if err != nil {
		return err
	}
	j.AfterCommit = d.h.AfterJournal
	d.journal = j
	d.closers = append(d.closers, func() { j.Close() })
	alog := d.log.With("component", "alarms")
	logged := alarms.SinkFunc(func(e alarms.Event) {
		switch {
		case e.Type == alarms.EventRaised || e.Type == alarms.EventFlood:
			alog.Warn("alarm "+string(e.Type), "id", e.Alarm.ID, "priority", e.Alarm.Priority, "class", e.Alarm.Class,
				"message", e.Alarm.Message, "notify", e.Notify, "seq", e.Seq)
		default:
			alog.Info("alarm "+string(e.Type), "id", e.Alarm.ID, "state", e.Alarm.State, "by", e.By, "reason", e.Reason, "seq", e.Seq)
		}
	})
	if d.engine, err = alarms.New(ac, d.devs, j, time.Now, logged); err != nil {
		return err
	}
	d.reg.MustRegister(d.engine.Collector())
	alog.Info("alarm journal", "path", d.cfg.Alarms.Journal)
	return nil
}
