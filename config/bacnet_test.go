package config

import (
	"bytes"
	"testing"

	"github.com/facilityd/facilityd/devices"
)

// TestBACnetDevices checks that BACnet devices are built as configured: by address, behind a
// router, or by instance alone, with their profile's points typed by object and COV chosen
// per point.
func TestBACnetDevices(t *testing.T) {
	cfg, err := Load("testdata/bacnet-good/facilityd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	devs, err := cfg.BuildDevices()
	if err != nil {
		t.Fatal(err)
	}
	want := []devices.BACnetTransport{
		{Instance: 1234, Address: "127.0.0.1:47808"},
		{Instance: 1235, Address: "10.0.0.1:47808", Network: 5, MAC: []byte{0x0a}},
		{Instance: 1236},
	}
	for i, d := range devs {
		b := d.BACnet
		if b == nil || d.Modbus != nil || d.MQTT != nil {
			t.Fatalf("device %s: transport %+v, modbus %v, mqtt %v", d.ID, b, d.Modbus, d.MQTT)
		}
		if b.Instance != want[i].Instance || b.Address != want[i].Address || b.Network != want[i].Network || !bytes.Equal(b.MAC, want[i].MAC) {
			t.Errorf("device %s: transport %+v, want %+v", d.ID, *b, want[i])
		}
	}
	p := devs[0].Profile
	if p.Transport() != "bacnet" {
		t.Errorf("profile transport %q", p.Transport())
	}
	for _, tc := range []struct {
		point    string
		typ      devices.Type
		property string
		cov      bool
		priority uint8
	}{
		{"supply_temp", devices.TypeFloat64, "present-value", true, 8},
		{"fan_running", devices.TypeBool, "present-value", true, 8},
		{"mode", devices.TypeEnum, "present-value", true, 8},
		{"setpoint", devices.TypeFloat64, "present-value", false, 10},
		{"supply_units", devices.TypeUint32, "units", false, 8},
	} {
		pt, _, ok := p.Point(tc.point)
		if !ok {
			t.Fatalf("no point %s", tc.point)
		}
		if pt.Type != tc.typ || pt.BACnetProperty() != tc.property || pt.WantsCOV() != tc.cov || pt.WritePriority() != tc.priority {
			t.Errorf("point %s: type %s property %s cov %v priority %d, want %+v", tc.point, pt.Type, pt.BACnetProperty(), pt.WantsCOV(), pt.WritePriority(), tc)
		}
	}
}
