package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/simulators"
	"github.com/facilityd/facilityd/workorders"
)

// TestChildOutageSequenceWithDefaults plays, against a real InfluxDB, with no spool settings
// at all (the state directory as the demo has it): InfluxDB away, kill -9, restart and replay,
// a clean restart, InfluxDB away again, kill -9, restart and replay. After each replay, for
// every device, InfluxDB holds at least 95% of the polls the killed process took: every reading
// fsync'd to the spool, which is all but the last 200 ms before the kill.
func TestChildOutageSequenceWithDefaults(t *testing.T) {
	influx := testenv.StartInfluxd(t, "sequence")
	cfg, _ := modbusEstate(t, nil)
	addr := freeAddr(t)
	cfg.HTTP.Addr = addr
	cfg.Influx.URL = influx.URL
	cfg.Influx.Bucket = "sequence/autogen"
	path := filepath.Join(t.TempDir(), "facilityd.yaml")
	writeConfig(t, path, cfg)

	phase := func(name string, outage time.Duration) {
		t.Helper()
		from := time.Now()
		c := startChild(t, path, addr)
		time.Sleep(2 * time.Second)
		influx.Stop()
		time.Sleep(outage)
		polls := pollsByDevice(t, c.api)
		c.signal(t, syscall.SIGKILL)
		c.wait(t)
		to := time.Now()
		influx.Start()

		r := startChild(t, path, addr)
		waitFor(t, name+": the spool replayed into InfluxDB", 90*time.Second, func() bool {
			return scrape(t, r.api, "facilityd_spool_points") == 0 && scrape(t, r.api, "facilityd_spool_appended_points_total") == 0 &&
				influxCount(t, influx, from, to)["P-1"] > 0
		})
		held := influxCount(t, influx, from, to)
		if len(polls) < 8 {
			t.Fatalf("%s: polls of %d devices, want the estate's Modbus devices", name, len(polls))
		}
		for dev, n := range polls {
			if got := float64(held[dev]); got < 0.95*n {
				t.Errorf("%s: %s: InfluxDB holds %v readings of the %v polls taken before the kill (%.0f%%), want at least 95%%",
					name, dev, got, n, 100*got/n)
			}
		}
		// A clean stop of the process that replayed.
		r.signal(t, syscall.SIGTERM)
		if err := r.wait(t); err != nil {
			t.Fatalf("%s: clean stop: %v", name, err)
		}
	}
	phase("first outage (12 s)", 12*time.Second)
	phase("second outage (15 s), after a replay and a clean restart", 15*time.Second)
}

// pollsByDevice sums facilityd_modbus_polls_total by device, whatever the result: a failed poll
// is a reading too (comm_ok false).
func pollsByDevice(t *testing.T, api string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, "facilityd_modbus_polls_total{")
		if !ok {
			continue
		}
		labels, value, _ := strings.Cut(rest, "} ")
		_, dev, ok := strings.Cut(labels, `device="`)
		if !ok {
			continue
		}
		dev, _, _ = strings.Cut(dev, `"`)
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			t.Fatalf("polls of %s: %q", dev, value)
		}
		out[dev] += v
	}
	return out
}

// influxCount is the number of readings (comm_ok values) InfluxDB holds per device taken
// between from and to.
func influxCount(t *testing.T, influx *testenv.Influxd, from, to time.Time) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, m := range []string{"pump", "elevator", "fire_panel", "lighting"} {
		series, err := influx.Query(fmt.Sprintf(`SELECT count(comm_ok) FROM %q WHERE time >= %d AND time <= %d GROUP BY device`, m, from.UnixNano(), to.UnixNano()))
		if err != nil {
			return map[string]int{} // InfluxDB still starting
		}
		for _, s := range series {
			for _, row := range s.Rows() {
				n, _ := row["count"].(json.Number).Int64()
				out[s.Tags["device"]] += int(n)
			}
		}
	}
	return out
}

// TestChildKilledBetweenJournalAndConsumers: facilityd is killed (SIGKILL) right after it
// journals an entrapment and before any consumer has seen it. After the restart the patrol
// alert, the work order and the MQTT message on facility/{site}/alarms/L1-1 each appear
// exactly once, and the same hold after one more restart.
func TestChildKilledBetweenJournalAndConsumers(t *testing.T) {
	broker, cfg, estate, path, addr := killTestEstate(t)
	topic := "facility/" + cfg.Site + "/alarms/L1-1"
	host, _, _ := strings.Cut(broker.Addr, ":")
	sub := exec.Command(testenv.MosquittoTool(t, "mosquitto_sub"), "-h", host, "-p", broker.Port, "-t", topic, "-q", "1", "-v")
	var subOut syncBuffer
	sub.Stdout = &subOut
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Process.Kill(); sub.Wait() })

	const id = "L1-1/entrapment"
	killedAtEntrapment(t, estate, path, addr, daemon.KillAfterJournalEnv+"="+id, "killed after journalling")
	if strings.Contains(subOut.String(), `"raised"`) {
		t.Fatalf("the raise reached MQTT before the kill: the hook ran too late\n%s", subOut.String())
	}

	for run := 1; run <= 2; run++ {
		c := startChild(t, path, addr)
		waitFor(t, "the entrapment's alert, order and MQTT message", 20*time.Second, func() bool {
			return len(alertsFor(t, c.api, id)) > 0 && len(ordersFor(t, c.api, "L1-1")) > 0 && strings.Count(subOut.String(), `"type":"raised"`) > 0
		})
		time.Sleep(time.Second) // time for a duplicate to show
		if n := len(alertsFor(t, c.api, id)); n != 1 {
			t.Errorf("run %d: %d patrol alerts for the entrapment, want 1", run, n)
		}
		if n := len(ordersFor(t, c.api, "L1-1")); n != 1 {
			t.Errorf("run %d: %d work orders for L1-1, want 1", run, n)
		}
		if n := strings.Count(subOut.String(), `"type":"raised"`); n != 1 {
			t.Errorf("run %d: the raise was published %d times on %s, want once:\n%s", run, n, topic, subOut.String())
		}
		c.signal(t, syscall.SIGTERM)
		if err := c.wait(t); err != nil {
			t.Fatalf("run %d: clean stop: %v\n%s", run, err, c.log)
		}
	}
	var e alarms.Event
	line := strings.SplitN(strings.TrimSpace(subOut.String()), "\n", 2)[0]
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, topic+" ")), &e); err != nil {
		t.Fatalf("MQTT alarm message is not the journalled event: %v\n%s", err, line)
	}
	if e.Alarm.ID != id || e.Seq == 0 || e.Alarm.Priority != alarms.PriorityCritical {
		t.Errorf("MQTT alarm message %+v, want the entrapment with its seq and critical priority", e)
	}
}

// TestChildKilledAfterAnOrderIsStored: facilityd is killed (SIGKILL) right after the work
// orders stored an entrapment's order and before the journal recorded that they had. The raise
// is delivered again at the restart: the order must still be one order of one occurrence, and
// stay so after one more restart; the patrol alert is delivered once.
func TestChildKilledAfterAnOrderIsStored(t *testing.T) {
	_, _, estate, path, addr := killTestEstate(t)
	const id = "L1-1/entrapment"
	killedAtEntrapment(t, estate, path, addr, daemon.KillAfterHandledEnv+"=workorders "+id, "killed after workorders handled")
	for run := 1; run <= 2; run++ {
		c := startChild(t, path, addr)
		waitFor(t, "the entrapment's alert and order", 20*time.Second, func() bool {
			return len(alertsFor(t, c.api, id)) > 0 && len(ordersFor(t, c.api, "L1-1")) > 0
		})
		time.Sleep(time.Second) // time for a duplicate to show
		orders := ordersFor(t, c.api, "L1-1")
		if len(orders) != 1 || orders[0].Occurrences != 1 {
			var occ []int
			for _, o := range orders {
				occ = append(occ, o.Occurrences)
			}
			t.Errorf("run %d: %d work orders for L1-1 with occurrences %v, want one order of one occurrence", run, len(orders), occ)
		}
		if n := len(alertsFor(t, c.api, id)); n != 1 {
			t.Errorf("run %d: %d patrol alerts for the entrapment, want 1", run, n)
		}
		c.signal(t, syscall.SIGTERM)
		if err := c.wait(t); err != nil {
			t.Fatalf("run %d: clean stop: %v\n%s", run, err, c.log)
		}
	}
}

// killTestEstate is the demo estate on a mosquitto of its own, its configuration written to
// path with the API on addr, for the tests that kill facilityd at a point of delivery.
func killTestEstate(t *testing.T) (broker *testenv.Mosquitto, cfg *config.Config, estate *simulators.Estate, path, addr string) {
	t.Helper()
	broker = testenv.NewMosquitto(t)
	cfg, estate = demoEstateOn(t, nil, broker.URL)
	addr = freeAddr(t)
	cfg.HTTP.Addr = addr
	path = filepath.Join(t.TempDir(), "facilityd.yaml")
	writeConfig(t, path, cfg)
	return broker, cfg, estate, path, addr
}

// killedAtEntrapment runs facilityd with the kill hook env set, traps a passenger in L1-1 and
// waits until the hook has killed it (its log says mark).
func killedAtEntrapment(t *testing.T, estate *simulators.Estate, path, addr, env, mark string) {
	t.Helper()
	c := startChild(t, path, addr, env)
	time.Sleep(time.Second)
	if err := estate.Inject("L1-1", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.wait(t); err == nil || !strings.Contains(c.log.String(), mark) {
		t.Fatalf("facilityd was not killed by the hook (exit %v)\n%s", err, c.log)
	}
}

func alertsFor(t *testing.T, api, alarmID string) []patrol.Alert {
	t.Helper()
	var list struct{ Alerts []patrol.Alert }
	get(t, api+"/api/v1/patrol/alerts", &list)
	var out []patrol.Alert
	for _, a := range list.Alerts {
		for _, al := range a.Alarms {
			if al.ID == alarmID {
				out = append(out, a)
			}
		}
	}
	return out
}

func ordersFor(t *testing.T, api, device string) []*workorders.Order {
	t.Helper()
	var list struct{ Orders []*workorders.Order }
	get(t, api+"/api/v1/workorders?device="+device, &list)
	var out []*workorders.Order
	for _, o := range list.Orders {
		if o.Device == device && o.Source == workorders.SourceAlarm {
			out = append(out, o)
		}
	}
	return out
}
