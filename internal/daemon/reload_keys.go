package daemon

import (
	"reflect"

	"github.com/facilityd/facilityd/config"
)

// restartKeys names the keys of next that differ from prev and that a reload does not apply:
// a reload replaces the device sources (devices, profiles, polling, modbus) and nothing else,
// so the operator is told which edits wait for the next restart instead of finding out later.
// Only key names are returned, never values: some are secrets.
func restartKeys(prev, next *config.Config) []string {
	if prev == nil || next == nil {
		return nil
	}
	sections := []struct {
		key        string
		prev, next any
	}{
		{"site", prev.Site, next.Site},
		{"state_dir", prev.StateDir, next.StateDir},
		{"locale", prev.Locale, next.Locale},
		{"influx", prev.Influx, next.Influx},
		{"http", prev.HTTP, next.HTTP},
		{"mqtt", prev.MQTT, next.MQTT},
		{"log", prev.Log, next.Log},
		{"alarms", prev.Alarms, next.Alarms},
		{"patrol", prev.Patrol, next.Patrol},
		{"spool", prev.Spool, next.Spool},
		{"shutdown_timeout", prev.ShutdownTimeout, next.ShutdownTimeout},
		{"workorders", prev.WorkOrders, next.WorkOrders},
		{"commands", prev.Commands, next.Commands},
	}
	var keys []string
	for _, s := range sections {
		if !reflect.DeepEqual(s.prev, s.next) {
			keys = append(keys, s.key)
		}
	}
	// The alarm engine and the work orders were built with the devices of the start: a device
	// added, or one whose kind, profile, place or alarm overrides changed, is polled at once
	// but has its alarm rules and work-order routing only after the restart.
	old := map[string]config.Device{}
	for _, d := range prev.Devices {
		old[d.ID] = d
	}
	for _, d := range next.Devices {
		if o, ok := old[d.ID]; !ok || !sameRules(o, d) {
			keys = append(keys, "devices["+d.ID+"] (alarm rules, work orders)")
		}
	}
	return keys
}

// sameRules says whether a and b give a device the same alarm rules and work-order routing.
func sameRules(a, b config.Device) bool {
	return a.Kind == b.Kind && a.Profile == b.Profile && a.Site == b.Site && a.Building == b.Building &&
		a.Zone == b.Zone && reflect.DeepEqual(a.Alarms, b.Alarms) && reflect.DeepEqual(a.Asset, b.Asset)
}
