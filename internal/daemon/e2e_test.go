package daemon_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testenv"
)

// TestDemoEstateIntoInfluxDB is the edge data path end to end: simulators of every kind,
// polled by the daemon, written to a real InfluxDB, read back with InfluxQL.
func TestDemoEstateIntoInfluxDB(t *testing.T) {
	influx := testenv.NewInflux(t)
	cfg, estate := demoEstate(t, influx)
	d := startDaemon(t, cfg)

	var list struct{ Devices []api.DeviceSummary }
	waitFor(t, "every demo device online at /api/v1/devices", 15*time.Second, func() bool {
		get(t, d.API+"/api/v1/devices", &list)
		for _, dev := range list.Devices {
			if dev.Comm != devices.CommOnline {
				return false
			}
		}
		return len(list.Devices) == 16 // 11 on Modbus, 2 on MQTT, 1 on BACnet, 1 on OPC UA, and the gateway itself
	})
	for _, dev := range list.Devices {
		if dev.ID == "CH-1" && (!strings.HasPrefix(dev.Endpoint, "opc.tcp://127.0.0.1:") || dev.Security != "None/None" || dev.Auth != "anonymous") {
			t.Errorf("the chiller plant's summary shows endpoint %q, security %q, auth %q; want its loopback endpoint, None/None, anonymous",
				dev.Endpoint, dev.Security, dev.Auth)
		}
	}
	if err := estate.Inject("P-2", "vfd_fault", map[string]string{"code": "4"}); err != nil {
		t.Fatal(err)
	}
	var p2 api.DeviceDetail
	waitFor(t, "P-2 VFD fault 4 at the API", 10*time.Second, func() bool {
		get(t, d.API+"/api/v1/devices/P-2", &p2)
		for _, r := range p2.Readings {
			if r.Point == "vfd_fault_code" && r.Value == 4.0 && r.Label == "drive overheat" {
				return true
			}
		}
		return false
	})
	// What the API showed last for each device must be in InfluxDB, at the same nanosecond.
	shown := map[string]api.DeviceDetail{}
	for _, id := range []string{"P-1", "P-2", "L1-1", "FP-1", "LP-2"} {
		var dd api.DeviceDetail
		get(t, d.API+"/api/v1/devices/"+id, &dd)
		shown[id] = dd
	}
	polled := map[string]uint64{}
	waitFor(t, "five polls of every device", 10*time.Second, func() bool {
		get(t, d.API+"/api/v1/devices?kind=elevator", &list)
		for _, dev := range list.Devices {
			if dev.Polls < 5 {
				return false
			}
			polled[dev.ID] = dev.Polls
		}
		return true
	})
	if err := d.Stop(); err != nil {
		t.Fatalf("daemon stopped with %v", err)
	}

	for id, dd := range shown {
		ts := dd.Readings[0].Time
		series, err := influx.Query(fmt.Sprintf("SELECT * FROM %q WHERE device = '%s' AND time = %d", dd.Kind, id, ts.UnixNano()))
		if err != nil {
			t.Fatal(err)
		}
		if len(series) != 1 || len(series[0].Values) != 1 {
			t.Fatalf("%s: no single row in InfluxDB at %v (the time the API showed): %+v", id, ts, series)
		}
		row := series[0].Rows()[0]
		want := map[string]string{"site": "demo-estate", "device": id, "building": dd.Building, "zone": dd.Zone}
		for tag, v := range want {
			if row[tag] != v {
				t.Errorf("%s: tag %s = %v, want %q", id, tag, row[tag], v)
			}
		}
		if row["comm_ok"] != true {
			t.Errorf("%s: comm_ok = %v", id, row["comm_ok"])
		}
		for _, r := range dd.Readings {
			got := row[r.Point]
			switch v := r.Value.(type) {
			case bool, string:
				if got != v {
					t.Errorf("%s.%s in InfluxDB %v (%T), API showed %v", id, r.Point, got, got, v)
				}
			case float64:
				n, ok := got.(json.Number)
				f, _ := n.Float64()
				if !ok || f != v {
					t.Errorf("%s.%s in InfluxDB %v, API showed %v", id, r.Point, got, v)
				}
				if r.Label != "" && strings.ContainsAny(n.String(), ".eE") {
					t.Errorf("%s.%s is an enum but InfluxDB holds %v, not an integer", id, r.Point, n)
				}
			}
		}
	}
	// The VFD fault raised an alarm; its transition is in measurement alarm.
	alarmRows, err := influx.Query(`SELECT * FROM "alarm" WHERE device = 'P-2'`)
	if err != nil {
		t.Fatal(err)
	}
	raised := false
	for _, s := range alarmRows {
		for _, row := range s.Rows() {
			if row["event"] == "raised" && row["state"] == "UNACK" && row["site"] == "demo-estate" && row["priority"] != nil {
				raised = true
			}
		}
	}
	if !raised {
		t.Errorf("no raised alarm of P-2 in measurement alarm: %+v", alarmRows)
	}
	// Every poll is there, not only the last: at least as many as the API had counted before
	// the daemon was stopped (it flushes what it read on the way out).
	series, err := influx.Query(`SELECT count(comm_ok) FROM "elevator" GROUP BY device`)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 4 {
		t.Fatalf("elevator series %+v, want one per elevator", series)
	}
	for _, s := range series {
		n, _ := s.Values[0][1].(json.Number).Int64()
		if id := s.Tags["device"]; uint64(n) < polled[id] {
			t.Errorf("elevator %s: %d polls in InfluxDB, but the API had counted %d", id, n, polled[id])
		}
	}
}
