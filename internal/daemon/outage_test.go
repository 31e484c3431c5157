package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/internal/daemon/daemontest"
	"github.com/facilityd/facilityd/internal/testenv"
)

// TestInfluxOutageLosesNothing stops InfluxDB under load for several seconds and starts it
// again: every reading the daemon took meanwhile must be in InfluxDB, by device and time, with
// its values.
func TestInfluxOutageLosesNothing(t *testing.T) {
	influx := testenv.StartInfluxd(t, "outage")
	cfg, _ := modbusEstate(t, nil)
	cfg.Influx.URL = influx.URL
	cfg.Influx.Bucket = "outage/autogen"
	cfg.Influx.FlushInterval = 100 * time.Millisecond
	cfg.Influx.Timeout = 2 * time.Second
	cfg.Spool.Dir = t.TempDir()

	var mu sync.Mutex
	seen := map[string]map[int64]*devices.Snapshot{}
	observe := func(s *devices.Snapshot) {
		mu.Lock()
		defer mu.Unlock()
		if seen[s.Device.ID] == nil {
			seen[s.Device.ID] = map[int64]*devices.Snapshot{}
		}
		seen[s.Device.ID][s.Time.UnixNano()] = s
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- daemontest.Run(ctx, cfg, daemon.Options{Observe: observe, Listening: func(a net.Addr) { addr <- a }})
	}()
	api := "http://" + (<-addr).String()
	time.Sleep(2 * time.Second)
	influx.Stop()
	time.Sleep(6 * time.Second) // 11 devices, 5 polls a second each: about 330 readings spooled
	influx.Start()
	waitFor(t, "the spool replayed into InfluxDB", 60*time.Second, func() bool {
		return scrape(t, api, "facilityd_spool_points") == 0 && scrape(t, api, "facilityd_spool_appended_points_total") > 0
	})
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("daemon: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	total := 0
	for id, byTime := range seen {
		kind := byTime[firstKey(byTime)].Device.Kind
		series, err := influx.Query(fmt.Sprintf(`SELECT * FROM %q WHERE device = '%s'`, kind, id))
		if err != nil {
			t.Fatal(err)
		}
		rows := map[int64]map[string]any{}
		for _, s := range series {
			for _, r := range s.Rows() {
				n, _ := r["time"].(json.Number).Int64()
				rows[n] = r
			}
		}
		if len(rows) != len(byTime) {
			t.Errorf("%s: InfluxDB holds %d readings, the daemon took %d", id, len(rows), len(byTime))
		}
		for ts, snap := range byTime {
			total++
			row, ok := rows[ts]
			if !ok {
				t.Errorf("%s: reading at %v missing from InfluxDB", id, time.Unix(0, ts))
				continue
			}
			if row["comm_ok"] != snap.OK() {
				t.Errorf("%s at %v: comm_ok %v, daemon saw ok=%v", id, time.Unix(0, ts), row["comm_ok"], snap.OK())
			}
			for _, r := range snap.Readings() {
				f, isNum := r.Value.(float64)
				if r.Quality != devices.QualityGood || !isNum {
					continue
				}
				n, _ := row[r.Point].(json.Number)
				got, _ := n.Float64()
				if got != f {
					t.Errorf("%s.%s at %v: InfluxDB %v, daemon read %v", id, r.Point, time.Unix(0, ts), row[r.Point], f)
				}
			}
		}
	}
	if total < 300 {
		t.Errorf("only %d readings taken; the outage was not under load", total)
	}
}

func firstKey(m map[int64]*devices.Snapshot) int64 {
	for k := range m {
		return k
	}
	return 0
}

// scrape reads one unlabelled sample from the daemon's /metrics.
