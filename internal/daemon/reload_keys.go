package daemon

import (
	"reflect"

	"github.com/facilityd/facilityd/config"
)

// rebuildKeys names the keys of next that differ from prev and that the reload's fast path
// (new device sources, reload.go) cannot apply, so that the pipeline is rebuilt for them
// (rebuild.go): every section but the devices' transports, profiles and polling. The same
// names are logged with the outcome. Only key names are returned, never values: some are
// secrets.
func rebuildKeys(prev, next *config.Config) []string {
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
	keys = append(keys, bacnetRebuildKeys(prev, next)...)
	// The alarm engine and the work orders are built with the pipeline's devices: a device
	// added, or one whose kind, profile, place or alarm overrides changed, needs them built
	// again to have its alarm rules and work-order routing.
	old := map[string]config.Device{}
	for _, d := range prev.Devices {
		old[d.ID] = d
	}
	for _, d := range next.Devices {
		if o, ok := old[d.ID]; !ok || !sameRules(o, d) {
			keys = append(keys, "devices["+d.ID+"] (alarm rules, work orders)")
		}
	}
	return append(keys, opcuaRebuildKeys(prev, next)...) // opcua.go
}

// sameRules says whether a and b give a device the same alarm rules and work-order routing.
func sameRules(a, b config.Device) bool {
	return a.Kind == b.Kind && a.Profile == b.Profile && a.Site == b.Site && a.Building == b.Building &&
		a.Zone == b.Zone && reflect.DeepEqual(a.Alarms, b.Alarms) && reflect.DeepEqual(a.Asset, b.Asset)
}
