package daemon

import (
	"slices"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
)

// TestBACnetRebuildKeys: a reload that changes the BACnet section or a BACnet device's
// transport rebuilds the pipeline (the source is built with it); one that changes neither
// does not ask for it.
func TestBACnetRebuildKeys(t *testing.T) {
	base := func() *config.Config {
		instance := 2601
		return &config.Config{
			Site: "demo-estate", ShutdownTimeout: 10 * time.Second, BACnet: config.BACnet{Local: "127.0.0.1:0", COVLifetime: 5 * time.Minute},
			Devices: []config.Device{
				{ID: "AHU-1", Kind: "generic", Zone: "north", Profile: "ahu_bacnet", BACnet: &config.DeviceBACnet{DeviceInstance: &instance, Address: "127.0.0.1:47808"}},
			},
		}
	}
	for _, tc := range []struct {
		name string
		edit func(*config.Config)
		want []string
	}{
		{"nothing", func(*config.Config) {}, nil},
		{"cov lifetime", func(c *config.Config) { c.BACnet.COVLifetime = time.Minute }, []string{"bacnet"}},
		{"address", func(c *config.Config) { c.Devices[0].BACnet.Address = "127.0.0.1:47809" }, []string{"devices[].bacnet"}},
		{"instance", func(c *config.Config) { n := 2602; c.Devices[0].BACnet.DeviceInstance = &n }, []string{"devices[].bacnet"}},
		{"device added", func(c *config.Config) {
			n := 7
			c.Devices = append(c.Devices, config.Device{ID: "AHU-2", Profile: "ahu_bacnet", BACnet: &config.DeviceBACnet{DeviceInstance: &n}})
		}, []string{"devices[].bacnet"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := base()
			tc.edit(next)
			got := bacnetRebuildKeys(base(), next)
			if !slices.Equal(got, tc.want) {
				t.Errorf("keys %v, want %v", got, tc.want)
			}
			if len(tc.want) > 0 && len(rebuildKeys(base(), next)) == 0 {
				t.Error("the reload takes the fast path, which does not rebuild the BACnet source")
			}
		})
	}
}
