package daemon

import (
	"slices"
	"testing"

	"github.com/facilityd/facilityd/config"
)

// TestOPCUAChangesRebuild: an OPC UA device added, removed or given another endpoint rebuilds
// the pipeline (its driver is built with it); a Modbus-only change does not name it.
func TestOPCUAChangesRebuild(t *testing.T) {
	ua := func(id, ep string) config.Device {
		return config.Device{ID: id, Profile: "chiller", OPCUA: &config.DeviceOPCUA{Endpoint: ep}}
	}
	mb := config.Device{ID: "P-1", Profile: "pump", Modbus: &config.DeviceModbus{Address: "127.0.0.1:502", Unit: 1}}
	mb2 := mb
	mb2.Modbus = &config.DeviceModbus{Address: "127.0.0.1:503", Unit: 1}
	for _, tc := range []struct {
		name       string
		prev, next []config.Device
		want       []string
	}{
		{"added", []config.Device{mb}, []config.Device{mb, ua("CH-1", "opc.tcp://a:4840")}, []string{"devices[CH-1].opcua"}},
		{"removed", []config.Device{mb, ua("CH-1", "opc.tcp://a:4840")}, []config.Device{mb}, []string{"devices[CH-1].opcua"}},
		{"endpoint", []config.Device{ua("CH-1", "opc.tcp://a:4840")}, []config.Device{ua("CH-1", "opc.tcp://b:4840")}, []string{"devices[CH-1].opcua"}},
		{"unchanged", []config.Device{ua("CH-1", "opc.tcp://a:4840"), mb}, []config.Device{ua("CH-1", "opc.tcp://a:4840"), mb2}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := opcuaRebuildKeys(&config.Config{Devices: tc.prev}, &config.Config{Devices: tc.next})
			if !slices.Equal(got, tc.want) {
				t.Errorf("keys %q, want %q", got, tc.want)
			}
		})
	}
}
