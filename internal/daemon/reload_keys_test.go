package daemon

import (
	"slices"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
)

// TestRebuildKeys: a reload rebuilds the pipeline for the edits its fast path cannot apply,
// and takes the fast path for device transports and polling alone; the keys are logged.
func TestRebuildKeys(t *testing.T) {
	base := func() *config.Config {
		return &config.Config{
			Site: "demo-estate", ShutdownTimeout: 10 * time.Second,
			Devices: []config.Device{
				{ID: "P-1", Kind: "pump", Zone: "north", Profile: "pump", Modbus: &config.DeviceModbus{Address: "127.0.0.1:5020", Unit: 1}},
			},
		}
	}
	tests := []struct {
		name string
		edit func(c *config.Config)
		want []string
	}{
		{name: "nothing changed", edit: func(*config.Config) {}},
		{name: "a device moves to another gateway and polls faster", edit: func(c *config.Config) {
			c.Devices[0].Modbus = &config.DeviceModbus{Address: "127.0.0.1:5021", Unit: 2}
			c.Devices[0].Interval = time.Second
		}},
		{name: "the alarm timezone", edit: func(c *config.Config) { c.Alarms.Timezone = "Asia/Shanghai" }, want: []string{"alarms"}},
		{name: "the patrol roster and the work-order tables", edit: func(c *config.Config) {
			c.Patrol.Guards = []config.PatrolGuard{{ID: "g1"}}
			c.WorkOrders.Ledger = make([]config.LedgerAsset, 1)
		}, want: []string{"patrol", "workorders"}},
		{name: "a device added and a zone moved", edit: func(c *config.Config) {
			c.Devices[0].Zone = "south"
			c.Devices = append(c.Devices, config.Device{ID: "P-2", Kind: "pump"})
		}, want: []string{"devices[P-1] (alarm rules, work orders)", "devices[P-2] (alarm rules, work orders)"}},
		{name: "the API's address", edit: func(c *config.Config) { c.HTTP.Addr = "127.0.0.1:9090" }, want: []string{"http"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := base()
			tc.edit(next)
			if got := rebuildKeys(base(), next); !slices.Equal(got, tc.want) {
				t.Errorf("rebuildKeys = %q, want %q", got, tc.want)
			}
		})
	}
}
