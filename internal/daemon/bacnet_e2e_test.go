package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/bacnet"
	"github.com/facilityd/facilityd/devices/commands"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/simulators"
)

// ahuProfile is an air-handling unit's controller as a site would map it: supply-air
// temperature and fan status by COV, the setpoint polled and writable.
const ahuProfile = `name: test_ahu
kind: generic
points:
  - {name: supply_temp, object: "analog-input:1", unit: "°C"}
  - {name: fan_running, object: "binary-input:1"}
  - {name: setpoint, object: "analog-value:1", unit: "°C", cov: false, writable: true, min: 12, max: 26}
`

var (
	ahuSupply   = bacnet.ObjectID{Type: bacnet.ObjectAnalogInput, Instance: 1}
	ahuFan      = bacnet.ObjectID{Type: bacnet.ObjectBinaryInput, Instance: 1}
	ahuSetpoint = bacnet.ObjectID{Type: bacnet.ObjectAnalogValue, Instance: 1}
)

// bacnetEstate is the Modbus estate with one BACnet air-handling unit, AHU-9, served by the
// simulator returned; the daemon's BACnet client listens on the address returned.
func bacnetEstate(t *testing.T, influx *testenv.Influx) (*config.Config, *simulators.BACnetServer, netip.AddrPort) {
	t.Helper()
	cfg, _ := modbusEstate(t, influx)
	sim, err := simulators.NewBACnetServer(simulators.BACnetOptions{Instance: 2609, Name: "AHU-9"}, []simulators.BACnetObject{
		{ID: ahuSupply, Name: "Supply air temperature", Units: 62, Present: bacnet.Value{Kind: bacnet.KindReal, Real: 16.5}},
		{ID: ahuFan, Name: "Supply fan status", Present: bacnet.Value{Kind: bacnet.KindEnumerated, Uint: 1}},
		{ID: ahuSetpoint, Name: "Supply air setpoint", Units: 62, Commandable: true, Present: bacnet.Value{Kind: bacnet.KindReal, Real: 18}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "test_ahu.yaml"), []byte(ahuProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	instance := 2609
	cfg.Profiles.Dir = dir
	cfg.Devices = append(cfg.Devices, config.Device{ID: "AHU-9", Profile: "test_ahu", Building: "B1", Zone: "north",
		Interval: 200 * time.Millisecond, Timeout: 150 * time.Millisecond,
		BACnet: &config.DeviceBACnet{DeviceInstance: &instance, Address: sim.Addr().String()}})
	local := freeUDP(t)
	cfg.BACnet.Local = local.String()
	cfg.BACnet.APDUTimeout = 60 * time.Millisecond
	cfg.BACnet.Retries = 1
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg, sim, local
}

// freeUDP is a loopback UDP address nobody listens on now.
func freeUDP(t *testing.T) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// bacnetReading is the API's reading of one point of a device, and whether it has one.
func bacnetReading(t *testing.T, base, device, point string) (devices.Reading, api.DeviceDetail) {
	t.Helper()
	var dev api.DeviceDetail
	get(t, base+"/api/v1/devices/"+device, &dev)
	for _, r := range dev.Readings {
		if r.Point == point {
			return r, dev
		}
	}
	return devices.Reading{}, dev
}

// alarmOf reads one alarm at the API, false while it does not exist.
func alarmOf(t *testing.T, base, id string, a *alarms.Alarm) bool {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/alarms/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return false
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET alarm %s: %s", id, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(a); err != nil {
		t.Fatal(err)
	}
	return true
}

// TestBACnetDeviceThroughDaemon is a BACnet device read by the daemon as an operator sees it:
// its points at the API, a change of value there by notification, a fault flag making a
// reading bad, a restart of the device (which forgets its subscriptions) followed by
// subscriptions made again, and comm loss raised as its own alarm and cleared.
func TestBACnetDeviceThroughDaemon(t *testing.T) {
	cfg, sim, local := bacnetEstate(t, nil)
	d := startDaemon(t, cfg)

	waitFor(t, "AHU-9's three points at the API", 10*time.Second, func() bool {
		r, dev := bacnetReading(t, d.API, "AHU-9", "supply_temp")
		return dev.Comm == devices.CommOnline && r.Value == 16.5 && r.Unit == "°C" && len(dev.Readings) == 3
	})
	if r, dev := bacnetReading(t, d.API, "AHU-9", "fan_running"); r.Value != true || dev.Address != sim.Addr().String() {
		t.Errorf("fan_running reads %v, want true; the device's address %q, want %s", r.Value, dev.Address, sim.Addr())
	}
	waitFor(t, "AHU-9's two COV points subscribed", 10*time.Second, func() bool { return sim.Subscriptions() == 2 })

	// A change of value reaches the API by notification.
	if err := sim.Set(ahuSupply, bacnet.Value{Kind: bacnet.KindReal, Real: 21.25}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the supply temperature's change at the API", 10*time.Second, func() bool {
		r, _ := bacnetReading(t, d.API, "AHU-9", "supply_temp")
		return r.Value == 21.25
	})
	if sim.NotificationACKs() == 0 {
		t.Error("the change arrived without a confirmed notification acknowledged")
	}
	if err := sim.SetFlags(ahuSupply, bacnet.StatusFlags{Fault: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a fault flag makes the supply temperature bad", 10*time.Second, func() bool {
		r, _ := bacnetReading(t, d.API, "AHU-9", "supply_temp")
		return r.Quality == devices.QualityBad
	})

	// A restart forgets the subscriptions; the device's I-Am has them made again, and its
	// changes reach the API once more.
	sim.Restart()
	if n := sim.Subscriptions(); n != 0 {
		t.Fatalf("%d subscriptions survived the restart", n)
	}
	sim.Announce(local)
	waitFor(t, "AHU-9 subscribed again after its restart", 10*time.Second, func() bool { return sim.Subscriptions() == 2 })
	if err := sim.Set(ahuFan, bacnet.Value{Kind: bacnet.KindEnumerated, Uint: 0}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fan's stop at the API after the restart", 10*time.Second, func() bool {
		r, _ := bacnetReading(t, d.API, "AHU-9", "fan_running")
		return r.Value == false
	})

	// Comm loss: the device stops answering, the alarm of its own is raised, then cleared.
	sim.DropReplies(1 << 30)
	var alarm alarms.Alarm
	waitFor(t, "AHU-9's comm loss alarm raised", 15*time.Second, func() bool {
		return alarmOf(t, d.API, "AHU-9/comm_loss", &alarm) && alarm.Active
	})
	if r, _ := bacnetReading(t, d.API, "AHU-9", "supply_temp"); r.Quality != devices.QualityCommFail {
		t.Errorf("offline, supply_temp has quality %s, want comm_fail", r.Quality)
	}
	sim.DropReplies(0)
	waitFor(t, "AHU-9's comm loss cleared", 15*time.Second, func() bool {
		alarmOf(t, d.API, "AHU-9/comm_loss", &alarm)
		r, _ := bacnetReading(t, d.API, "AHU-9", "fan_running")
		return !alarm.Active && r.Value == false && r.Quality == devices.QualityGood
	})
}

// TestBACnetIntoInfluxDB: a BACnet device's readings are written to InfluxDB as a Modbus
// device's are, under its kind with its place as tags, at the time the API showed, and
// published northbound; a change notified by COV is a row and a message of its own.
func TestBACnetIntoInfluxDB(t *testing.T) {
	influx := testenv.NewInflux(t)
	cfg, sim, _ := bacnetEstate(t, influx)
	d := startDaemon(t, cfg)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(cfg.MQTT.BrokerURL(), "tcp://"))
	northbound := watch(t, testenv.MosquittoTool(t, "mosquitto_sub"), "-h", host, "-p", port,
		"-t", "facility/+/telemetry/AHU-9", "-t", "facility/+/gateway/status", "-v")
	waitFor(t, "AHU-9 at the API", 10*time.Second, func() bool {
		r, _ := bacnetReading(t, d.API, "AHU-9", "supply_temp")
		return r.Value == 16.5
	})
	// The retained status comes first: mosquitto_sub is then subscribed.
	waitFor(t, "mosquitto_sub subscribed", 20*time.Second, func() bool { return strings.Contains(northbound(), "/gateway/status online") })
	if err := sim.Set(ahuSupply, bacnet.Value{Kind: bacnet.KindReal, Real: 22.5}); err != nil {
		t.Fatal(err)
	}
	var shown devices.Reading
	waitFor(t, "the notified change at the API and northbound", 20*time.Second, func() bool {
		shown, _ = bacnetReading(t, d.API, "AHU-9", "supply_temp")
		return shown.Value == 22.5 && strings.Contains(northbound(), `"supply_temp":22.5`)
	})
	if err := d.Stop(); err != nil {
		t.Fatalf("daemon stopped with %v", err)
	}
	series, err := influx.Query(fmt.Sprintf(`SELECT * FROM "generic" WHERE device = 'AHU-9' AND time = %d`, shown.Time.UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || len(series[0].Values) != 1 {
		t.Fatalf("no single row of AHU-9 in InfluxDB at %v (the time the API showed): %+v", shown.Time, series)
	}
	row := series[0].Rows()[0]
	if n, _ := row["supply_temp"].(json.Number).Float64(); n != 22.5 || row["fan_running"] != true || row["comm_ok"] != true ||
		row["building"] != "B1" || row["zone"] != "north" {
		t.Errorf("AHU-9's row in InfluxDB: %v", row)
	}
}

// TestBACnetWriteThroughAPI: a write to a BACnet setpoint goes through the same checks and
// journal as a Modbus write, lands in the point's slot of the priority array (8, Manual
// Operator, unless the profile says), is read back, and a null relinquishes it so that the
// relinquish default rules again.
func TestBACnetWriteThroughAPI(t *testing.T) {
	cfg, sim, _ := bacnetEstate(t, nil)
	cfg.HTTP.Operators = append(cfg.HTTP.Operators, "eng-zhang")
	d := startDaemon(t, cfg)
	url := d.API + "/api/v1/devices/AHU-9/points/"
	waitFor(t, "AHU-9's setpoint at the API", 10*time.Second, func() bool {
		r, _ := bacnetReading(t, d.API, "AHU-9", "setpoint")
		return r.Value == 18.0
	})
	write := func(point string, value any) (commands.Record, int) {
		var rec commands.Record
		st := post(t, url+point, map[string]any{"value": value, "reason": "summer schedule", "by": "eng-zhang"}, &rec)
		return rec, st
	}

	rec, st := write("setpoint", 21)
	if st != http.StatusOK || rec.Result != commands.ResultConfirmed || rec.ReadBack != 21.0 || rec.Old != 18.0 || rec.By != "eng-zhang" {
		t.Fatalf("write 21: %d %+v", st, rec)
	}
	client, err := bacnet.Listen(bacnet.ClientConfig{Local: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	slot, err := client.ReadProperty(context.Background(), bacnet.Peer{Addr: sim.Addr()}, ahuSetpoint, bacnet.PropPriorityArray, devices.DefaultBACnetPriority)
	if err != nil || len(slot) != 1 || slot[0].Kind != bacnet.KindReal || slot[0].Real != 21 {
		t.Fatalf("priority array slot 8 after the write: %+v, %v", slot, err)
	}
	if r, _ := bacnetReading(t, d.API, "AHU-9", "setpoint"); r.Value != 21.0 {
		t.Errorf("setpoint at the API after the write: %v", r.Value)
	}

	rec, st = write("setpoint", nil)
	if st != http.StatusOK || rec.Result != commands.ResultConfirmed || rec.New != nil || rec.ReadBack != 18.0 {
		t.Fatalf("relinquish: %d %+v, want confirmed, new null, read back the relinquish default 18", st, rec)
	}
	if v, _ := sim.Present(ahuSetpoint); v.Real != 18 {
		t.Errorf("present value after the relinquish: %+v", v)
	}
	slot, err = client.ReadProperty(context.Background(), bacnet.Peer{Addr: sim.Addr()}, ahuSetpoint, bacnet.PropPriorityArray, devices.DefaultBACnetPriority)
	if err != nil || len(slot) != 1 || slot[0].Kind != bacnet.KindNull {
		t.Errorf("priority array slot 8 after the relinquish: %+v, %v", slot, err)
	}

	// The profile's limits and writable flags hold as for Modbus.
	if _, st := write("setpoint", 30); st != http.StatusUnprocessableEntity {
		t.Errorf("a setpoint above max 26 answered %d, want 422", st)
	}
	if _, st := write("supply_temp", 20); st != http.StatusConflict {
		t.Errorf("a write to the supply temperature, not writable, answered %d, want 409", st)
	}
	if v, _ := sim.Present(ahuSetpoint); v.Real != 18 {
		t.Errorf("refused writes reached the device: present value %+v", v)
	}
	var list struct{ Commands []commands.Record }
	get(t, d.API+"/api/v1/commands?device=AHU-9", &list)
	if len(list.Commands) != 2 {
		t.Errorf("the journal holds %d writes of AHU-9, want the two that went out", len(list.Commands))
	}
}

// nodeProfile maps the node device's objects (devices/bacnet/testdata/device.js).
const nodeProfile = `name: node_ahu
points:
  - {name: outside_temp, object: "analog-input:5", unit: "°F"}
  - {name: setpoint, object: "analog-value:1", unit: "°C", writable: true, min: 10, max: 30}
  - {name: occupied, object: "binary-value:1"}
`

// TestBACnetNodeDeviceThroughDaemon: a device of a stack this repository did not write
// (@bacnet-js/client) is read and subscribed to by the daemon, its confirmed notifications
// acknowledged, and written and relinquished through the API.
func TestBACnetNodeDeviceThroughDaemon(t *testing.T) {
	node := testenv.NewBACnetNode(t)
	cfg, _, _ := bacnetEstate(t, nil)
	if err := os.WriteFile(filepath.Join(cfg.Profiles.Dir, "node_ahu.yaml"), []byte(nodeProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	instance := 3001
	cfg.Devices = append(cfg.Devices, config.Device{ID: "NODE-1", Profile: "node_ahu", Building: "B2", Zone: "south",
		Interval: 200 * time.Millisecond, Timeout: 150 * time.Millisecond,
		BACnet: &config.DeviceBACnet{DeviceInstance: &instance, Address: node.Addr.String()}})
	cfg.HTTP.Operators = append(cfg.HTTP.Operators, "eng-zhang")
	cfg.BACnet.APDUTimeout = 500 * time.Millisecond // node answers slower than the simulator
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	waitFor(t, "NODE-1's points at the API", 15*time.Second, func() bool {
		r, dev := bacnetReading(t, d.API, "NODE-1", "outside_temp")
		s, _ := bacnetReading(t, d.API, "NODE-1", "setpoint")
		return dev.Comm == devices.CommOnline && r.Value == float64(float32(72.3)) && r.Unit == "°F" && s.Value == 20.0
	})
	// Subscribed, confirmed, and acknowledged: the device prints each acknowledged notification.
	acked := func() int {
		n := 0
		for _, l := range node.Lines.All() {
			if l == "cov-ack 2:1" {
				n++
			}
		}
		return n
	}
	waitFor(t, "the setpoint's first notification acknowledged", 15*time.Second, func() bool { return acked() >= 1 })

	var rec commands.Record
	if st := post(t, d.API+"/api/v1/devices/NODE-1/points/setpoint", map[string]any{"value": 17.5, "reason": "test", "by": "eng-zhang"}, &rec); st != http.StatusOK ||
		rec.Result != commands.ResultConfirmed || rec.ReadBack != 17.5 {
		t.Fatalf("write 17.5: %d %+v", st, rec)
	}
	before := acked()
	if st := post(t, d.API+"/api/v1/devices/NODE-1/points/setpoint", map[string]any{"value": nil, "reason": "test", "by": "eng-zhang"}, &rec); st != http.StatusOK ||
		rec.Result != commands.ResultConfirmed || rec.ReadBack != 20.0 {
		t.Fatalf("relinquish: %d %+v", st, rec)
	}
	waitFor(t, "the relinquish notified and acknowledged", 15*time.Second, func() bool { return acked() > before })
	waitFor(t, "the relinquish default at the API", 15*time.Second, func() bool {
		s, _ := bacnetReading(t, d.API, "NODE-1", "setpoint")
		return s.Value == 20.0
	})
}

// TestBACnetReloadMovesDevice: a reload that gives a BACnet device another address rebuilds the
// pipeline, and the device is read and subscribed to there.
func TestBACnetReloadMovesDevice(t *testing.T) {
	cfg, _, _ := bacnetEstate(t, nil)
	moved, err := simulators.NewBACnetServer(simulators.BACnetOptions{Instance: 2609, Name: "AHU-9 replaced"}, []simulators.BACnetObject{
		{ID: ahuSupply, Units: 62, Present: bacnet.Value{Kind: bacnet.KindReal, Real: 30.5}},
		{ID: ahuFan, Present: bacnet.Value{Kind: bacnet.KindEnumerated, Uint: 1}},
		{ID: ahuSetpoint, Commandable: true, Present: bacnet.Value{Kind: bacnet.KindReal, Real: 19}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := moved.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { moved.Close() })
	r := startReloadable(t, cfg)
	waitFor(t, "AHU-9 at its first address", 10*time.Second, func() bool {
		v, _ := bacnetReading(t, r.API, "AHU-9", "supply_temp")
		return v.Value == 16.5
	})
	status, body := r.reloadWith(t, func(c *config.Config) {
		c.Devices = append([]config.Device(nil), c.Devices...)
		for i := range c.Devices {
			if c.Devices[i].ID == "AHU-9" {
				b := *c.Devices[i].BACnet
				b.Address = moved.Addr().String()
				c.Devices[i].BACnet = &b
			}
		}
	})
	if status != http.StatusOK || !strings.Contains(body, `"rebuilt": true`) {
		t.Fatalf("reload: %d %s, want the pipeline rebuilt", status, body)
	}
	waitFor(t, "AHU-9 read at its new address", 10*time.Second, func() bool {
		v, _ := bacnetReading(t, r.API, "AHU-9", "supply_temp")
		return v.Value == 30.5
	})
	waitFor(t, "AHU-9 subscribed at its new address", 10*time.Second, func() bool { return moved.Subscriptions() == 2 })
}

// TestBACnetAlarmFromDemoAHU: the demo's air-handling unit raises its own alarm from BACnet
// readings (supply air above the limit while the fan runs, here 15 °C at once), and a lower
// setpoint written through the API brings the supply air down and the alarm back to normal.
func TestBACnetAlarmFromDemoAHU(t *testing.T) {
	cfg, _, _ := bacnetEstate(t, nil)
	limit, now := 15.0, time.Duration(0)
	for i := range cfg.Devices {
		if cfg.Devices[i].ID == "AHU-1" {
			cfg.Devices[i].Alarms = []config.AlarmOverride{{Rule: "supply_air_high", Limit: &limit, OnDelay: &now}}
		}
	}
	cfg.HTTP.Operators = append(cfg.HTTP.Operators, "eng-zhang")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	var alarm alarms.Alarm
	waitFor(t, "AHU-1's supply air high at 16 °C", 15*time.Second, func() bool {
		return alarmOf(t, d.API, "AHU-1/supply_air_high", &alarm) && alarm.Active
	})
	var rec commands.Record
	if st := post(t, d.API+"/api/v1/devices/AHU-1/points/supply_air_setpoint", map[string]any{"value": 12, "reason": "more cooling", "by": "eng-zhang"}, &rec); st != http.StatusOK ||
		rec.Result != commands.ResultConfirmed {
		t.Fatalf("setpoint 12: %d %+v", st, rec)
	}
	waitFor(t, "the supply air below 14 °C and the alarm cleared", 30*time.Second, func() bool {
		alarmOf(t, d.API, "AHU-1/supply_air_high", &alarm)
		return !alarm.Active
	})
	if r, _ := bacnetReading(t, d.API, "AHU-1", "supply_air_temp"); r.Value.(float64) >= 14 {
		t.Errorf("alarm cleared at a supply air of %v", r.Value)
	}
}
