package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/telemetry"
)

// startAlarms opens the journal and builds the engine; its events go to the SSE hub as
// "alarm" events, to the extra sinks (patrol alerts, work orders), and raised alarms are
// logged at warn. The caller closes the journal after the pollers have stopped.
func startAlarms(cfg *config.Config, devs []*devices.Device, hub *api.Hub, log *slog.Logger, extra ...alarms.Sink) (*alarms.Engine, *alarms.Journal, error) {
	ac, err := alarmsConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	path := cfg.Alarms.JournalPath()
	journal, err := alarms.OpenJournal(path)
	if err != nil {
		return nil, nil, err
	}
	sink := alarms.SinkFunc(func(e alarms.Event) {
		hub.Publish("alarm", e)
		switch {
		case e.Type == alarms.EventRaised || e.Type == alarms.EventFlood:
			log.Warn("alarm "+string(e.Type), "id", e.Alarm.ID, "priority", e.Alarm.Priority, "class", e.Alarm.Class,
				"message", e.Alarm.Message, "notify", e.Notify, "seq", e.Seq)
		default:
			log.Info("alarm "+string(e.Type), "id", e.Alarm.ID, "state", e.Alarm.State, "by", e.By, "reason", e.Reason, "seq", e.Seq)
		}
	})
	eng, err := alarms.New(ac, devs, journal, time.Now, append([]alarms.Sink{sink}, extra...)...)
	if err != nil {
		journal.Close()
		return nil, nil, err
	}
	log.Info("alarm journal", "path", path)
	return eng, journal, nil
}

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
		ShelveMax: cfg.Alarms.ShelveMax, Overrides: map[string][]alarms.Override{},
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

// alarmLine is an alarm transition as InfluxDB's measurement alarm (DESIGN.md, Telemetry):
// tags site, device, rule, priority, state (and class, zone, and the event, so that two
// transitions of one alarm in the same instant, raised and chattering, are two points);
// fields the alarm id, whether it is active and notified, its message, who acted and why, and
// the journal seq.
func alarmLine(e alarms.Event) string {
	a := e.Alarm
	return telemetry.Line{
		Measurement: "alarm",
		Tags: map[string]string{"site": a.Site, "device": a.Device, "rule": a.Rule, "priority": string(a.Priority),
			"state": string(a.State), "class": string(a.Class), "zone": a.Zone, "event": string(e.Type)},
		Fields: map[string]any{"id": a.ID, "active": a.Active, "notify": e.Notify,
			"message": a.Message, "by": e.By, "reason": e.Reason, "seq": int64(e.Seq)},
		Time: e.At,
	}.String()
}
