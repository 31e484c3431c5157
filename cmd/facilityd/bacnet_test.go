package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/bacnet"
	"github.com/facilityd/facilityd/simulators"
)

// smallController is a controller that announces the smallest max APDU and does not segment,
// so that its object list cannot come whole and is read element by element.
func smallController(t *testing.T) *simulators.BACnetServer {
	t.Helper()
	objs := []simulators.BACnetObject{
		{ID: bacnet.ObjectID{Type: bacnet.ObjectAnalogInput, Instance: 0}, Name: "Supply Air Temp", Units: 62},
		{ID: bacnet.ObjectID{Type: bacnet.ObjectAnalogInput, Instance: 1}, Name: "Return Air Temp", Units: 62},
		{ID: bacnet.ObjectID{Type: bacnet.ObjectAnalogValue, Instance: 0}, Name: "Supply Air Setpoint", Units: 62, Commandable: true},
		{ID: bacnet.ObjectID{Type: bacnet.ObjectAnalogOutput, Instance: 0}, Name: "Cooling Valve", Units: 98},
		{ID: bacnet.ObjectID{Type: bacnet.ObjectBinaryInput, Instance: 0}, Name: "Supply Fan Status"},
		{ID: bacnet.ObjectID{Type: bacnet.ObjectBinaryOutput, Instance: 0}, Name: "Supply Fan Start/Stop"},
		{ID: bacnet.ObjectID{Type: bacnet.ObjectMultiStateValue, Instance: 0}, Name: "Occupancy Mode"},
	}
	for i := range 8 {
		objs = append(objs, simulators.BACnetObject{ID: bacnet.ObjectID{Type: bacnet.ObjectAnalogInput, Instance: uint32(10 + i)},
			Name: "Zone Temp", Units: 62})
	}
	sim, err := simulators.NewBACnetServer(simulators.BACnetOptions{Instance: 3100, Name: "AHU controller", MaxAPDU: 50,
		NoSegmentation: true, Vendor: 42}, objs)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// TestBacnetDiscoverDraftsAProfile: discover lists the device, reads its object list element by
// element, and writes a draft profile that loads as it is, in a configuration that reads the
// device by it.
func TestBacnetDiscoverDraftsAProfile(t *testing.T) {
	sim := smallController(t)
	out, err := runCLI(t, rootCommand(), "bacnet", "discover", "--local", "127.0.0.1:0", "--address", sim.Addr().String(), "--wait", "500ms")
	if err != nil {
		t.Fatalf("discover: %v\n%s", err, out)
	}
	if !strings.Contains(out, "INSTANCE") || !strings.Contains(out, "3100") || !strings.Contains(out, "none") || !strings.Contains(out, sim.Addr().String()) {
		t.Errorf("the device list does not show device 3100 at %s without segmentation:\n%s", sim.Addr(), out)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "ahu_controller.yaml")
	out, err = runCLI(t, rootCommand(), "bacnet", "discover", "--local", "127.0.0.1:0", "--address", sim.Addr().String(),
		"--instance", "3100", "--name", "ahu_controller", "--out", file)
	if err != nil {
		t.Fatalf("discover --instance: %v\n%s", err, out)
	}
	if n := sim.Requests(bacnet.ServiceReadProperty) + sim.Requests(bacnet.ServiceReadPropertyMultiple); n < 16 {
		t.Errorf("%d reads for 15 objects in 50-octet replies: the object list was not read element by element", n)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := devices.ParseProfile(file, data)
	if err != nil {
		t.Fatalf("the draft does not load as it is: %v\n%s", err, data)
	}
	if len(p.Points) != 15 || p.Transport() != "bacnet" {
		t.Fatalf("draft has %d points on %q, want the 15 objects:\n%s", len(p.Points), p.Transport(), data)
	}
	for _, tc := range []struct{ point, object, unit string }{
		{"supply_air_temp", "analog-input:0", "°C"},
		{"supply_air_setpoint", "analog-value:0", "°C"},
		{"cooling_valve", "analog-output:0", "%"},
		{"supply_fan_start_stop", "binary-output:0", ""},
		{"occupancy_mode", "multi-state-value:0", ""},
		{"zone_temp_2", "analog-input:11", "°C"},
	} {
		pt, _, ok := p.Point(tc.point)
		if !ok || pt.Object != tc.object || pt.Unit != tc.unit {
			t.Errorf("point %s: %+v, want object %s unit %q\n%s", tc.point, pt, tc.object, tc.unit, data)
		}
	}
	if !strings.Contains(string(data), "commandable: writable: true") {
		t.Errorf("the draft does not point out the commandable outputs:\n%s", data)
	}

	// Loadable as is: a configuration reading the device by the draft passes validation.
	instance := 3100
	cfg := config.Default()
	cfg.Profiles.Dir = dir
	cfg.Devices = []config.Device{{ID: "AHU-9", Profile: "ahu_controller",
		BACnet: &config.DeviceBACnet{DeviceInstance: &instance, Address: "127.0.0.1:" + strconv.Itoa(int(sim.Addr().Port()))}}}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("a configuration with the draft: %v", err)
	}
}
