package simulators

import (
	"testing"

	"github.com/facilityd/facilityd/devices/bacnet"
)

// TestAHUFollowsSetpointAndFan: the simulated air-handling unit's supply air closes on the
// setpoint while the fan runs, the fan status follows its command, and a stopped fan lets the
// supply air drift to the return air.
func TestAHUFollowsSetpointAndFan(t *testing.T) {
	e, err := New([]DeviceSpec{{ID: "AHU-1", BACnet: &BACnetSpec{Instance: 2601}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	a := e.ahus[0]
	present := func(id bacnet.ObjectID) float64 {
		v, _ := a.srv.Present(id)
		f, _ := v.Float()
		return f
	}
	if e.Addr("AHU-1") == "" {
		t.Fatal("the estate gives no address for AHU-1")
	}
	if err := a.srv.Set(ahuSetpoint, bacnet.Value{Kind: bacnet.KindReal, Real: 20}); err != nil {
		t.Fatal(err)
	}
	for range 60 {
		a.step()
	}
	if got := present(ahuSupplyTemp); got < 19.5 || got > 20.5 {
		t.Errorf("supply air %v after a minute, want near the setpoint 20", got)
	}
	if err := a.srv.Set(ahuFanCommand, bacnet.Value{Kind: bacnet.KindEnumerated}); err != nil {
		t.Fatal(err)
	}
	for range 60 {
		a.step()
	}
	if present(ahuFanStatus) != 0 {
		t.Error("the fan status still shows running after the stop command")
	}
	if got := present(ahuSupplyTemp); got < 23.5 {
		t.Errorf("supply air %v a minute after the fan stopped, want near the return air 24", got)
	}
}
