package daemon_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/commands"
	"github.com/facilityd/facilityd/internal/testenv"
)

const chillerProfile = `name: chiller
kind: generic
namespace: urn:facilityd:test:plant
points:
  - {name: supply_temp, node: /Objects/Plant/Chiller1/SupplyTemp, type: float64, unit: °C}
  - {name: running, node: /Objects/Plant/Chiller1/Running, type: bool}
  - {name: setpoint, node: /Objects/Plant/Chiller1/Setpoint, type: float64, unit: °C, writable: true, min: 4, max: 12}
`

// opcuaEstate is the Modbus estate with one chiller read from the foreign OPC UA server.
func opcuaEstate(t *testing.T, srv *testenv.OPCUAServer, influx *testenv.Influx) *config.Config {
	t.Helper()
	cfg, _ := modbusEstate(t, influx)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "opcua"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "opcua", "chiller.yaml"), []byte(chillerProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Profiles.Dir = dir
	cfg.HTTP.Operators = append(cfg.HTTP.Operators, "eng-zhang") // open mode: known names act
	cfg.Devices = append(cfg.Devices, config.Device{ID: "CH-1", Profile: "chiller", Building: "B1", Zone: "south",
		Interval: 500 * time.Millisecond, Timeout: 400 * time.Millisecond, OfflineAfter: 2,
		OPCUA: &config.DeviceOPCUA{Endpoint: srv.URL(), PublishingInterval: 100 * time.Millisecond}})
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func chillerReading(t *testing.T, d *running, point string) (devices.Reading, devices.Comm) {
	var dev api.DeviceDetail
	get(t, d.API+"/api/v1/devices/CH-1", &dev)
	for _, r := range dev.Readings {
		if r.Point == point {
			return r, dev.Comm
		}
	}
	return devices.Reading{}, dev.Comm
}

// TestOPCUADeviceLikeModbus: an OPC UA server's points reach the API and InfluxDB like a Modbus
// device's,
// its outage is a comm_loss alarm, it comes back after the server restarts without facilityd
// restarting, and a write through the API goes through the command journal and is read back.
func TestOPCUADeviceLikeModbus(t *testing.T) {
	srv := testenv.NewOPCUAServer(t)
	influx := testenv.NewInflux(t)
	srv.Start()
	d := startDaemon(t, opcuaEstate(t, srv, influx))
	waitFor(t, "CH-1's supply temperature from the server", 30*time.Second, func() bool {
		r, comm := chillerReading(t, d, "supply_temp")
		return comm == devices.CommOnline && r.Quality == devices.QualityGood
	})
	waitFor(t, "CH-1's supply temperature in InfluxDB", 30*time.Second, func() bool {
		series, err := influx.Query(`SELECT supply_temp FROM "generic" WHERE device = 'CH-1' AND building = 'B1'`)
		if err != nil || len(series) == 0 {
			return false
		}
		for _, row := range series[0].Rows() {
			n, _ := row["supply_temp"].(json.Number)
			if v, err := n.Float64(); err == nil && v >= 6 && v <= 12 {
				return true
			}
		}
		return false
	})

	srv.Stop()
	waitFor(t, "CH-1's comm_loss alarm while the server is down", 30*time.Second, func() bool {
		var list api.AlarmList
		get(t, d.API+"/api/v1/alarms", &list)
		for _, a := range list.Alarms {
			if a.Device == "CH-1" && a.Rule == alarms.CommLossRule {
				return true
			}
		}
		return false
	})
	srv.Start()
	waitFor(t, "CH-1 read again after the server's restart", 30*time.Second, func() bool {
		r, comm := chillerReading(t, d, "supply_temp")
		return comm == devices.CommOnline && r.Quality == devices.QualityGood
	})

	var rec commands.Record
	if st := post(t, d.API+"/api/v1/devices/CH-1/points/setpoint", map[string]any{"value": 8.5, "reason": "summer setpoint", "by": "eng-zhang"}, &rec); st != http.StatusOK {
		t.Fatalf("write answered %d: %+v", st, rec)
	}
	if rec.Result != commands.ResultConfirmed || rec.ReadBack != 8.5 {
		t.Fatalf("write record %+v, want confirmed with read-back 8.5", rec)
	}
	waitFor(t, "the new setpoint in CH-1's readings", 10*time.Second, func() bool {
		r, _ := chillerReading(t, d, "setpoint")
		return r.Value == 8.5
	})
	if st := post(t, d.API+"/api/v1/devices/CH-1/points/setpoint", map[string]any{"value": 30, "reason": "too warm", "by": "eng-zhang"}, &rec); st == http.StatusOK && rec.Result == commands.ResultConfirmed {
		t.Errorf("a setpoint above the profile's max 12 was written: %+v", rec)
	}
}
