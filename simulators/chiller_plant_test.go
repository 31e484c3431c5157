package simulators_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/opcua"
	"github.com/facilityd/facilityd/internal/testutil"
	"github.com/facilityd/facilityd/simulators"
)

// TestChillerPlantReadByBrowsePathAndWritten: the demo's chiller plant, read with its built-in
// profile (points by browse path) by subscription, shows its temperatures, and a setpoint
// written through the driver is read back and kept by the plant.
func TestChillerPlantReadByBrowsePathAndWritten(t *testing.T) {
	plant, err := simulators.NewChillerPlant("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plant.Close()
	prof := opcua.Builtins()["chiller_plant"]
	if prof == nil {
		t.Fatal("no built-in OPC UA profile chiller_plant")
	}
	var rec testutil.Recorder[*devices.Snapshot]
	dev := &opcua.Device{Dev: &devices.Device{ID: "CH-1", Interval: 200 * time.Millisecond, Timeout: 150 * time.Millisecond},
		Conn: opcua.Connection{Endpoint: plant.URL()}, Profile: prof, Publishing: 100 * time.Millisecond}
	drv, err := opcua.New([]*opcua.Device{dev}, rec.Add, opcua.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { drv.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	value := func(s *devices.Snapshot, name string) devices.Value {
		for i, p := range prof.Points {
			if p.Name == name && i < len(s.Values) {
				return s.Values[i]
			}
		}
		return devices.Value{}
	}
	testutil.WaitFor(t, "every point of the plant good", 10*time.Second, func() bool {
		s, ok := rec.Last()
		if !ok || s.Comm != devices.CommOnline {
			return false
		}
		for _, v := range s.Values {
			if v.Quality != devices.QualityGood {
				return false
			}
		}
		return true
	})
	s, _ := rec.Last()
	sup, ret := value(s, "supply_temp").Number, value(s, "return_temp").Number
	if sup < 5 || sup > 12 || ret <= sup {
		t.Errorf("supply %.2f °C, return %.2f °C: want chilled water between 5 and 12 °C coming back warmer", sup, ret)
	}
	if sp := value(s, "setpoint").Number; sp != 7 {
		t.Errorf("setpoint %v, want 7 °C", sp)
	}
	got, err := drv.Write(ctx, "CH-1", "setpoint", devices.Value{Number: 9, Quality: devices.QualityGood})
	if err != nil {
		t.Fatal(err)
	}
	if got.Number != 9 {
		t.Errorf("setpoint read back %v, want 9", got.Number)
	}
	testutil.WaitFor(t, "the written setpoint in a snapshot", 10*time.Second, func() bool {
		s, ok := rec.Last()
		return ok && value(s, "setpoint").Number == 9
	})
}
