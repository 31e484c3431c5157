package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/devices"
)

// influxFromEnv returns the InfluxDB 1.8 that scripts/test.sh started. Without one the test
// is skipped on a developer's machine and fails in CI, where skipping would hide it.
func influxFromEnv(t *testing.T) (baseURL, db string) {
	t.Helper()
	baseURL, db = os.Getenv("FACILITYD_TEST_INFLUX_URL"), os.Getenv("FACILITYD_TEST_INFLUX_DB")
	if baseURL != "" && db != "" {
		return strings.TrimSuffix(baseURL, "/"), db
	}
	if os.Getenv("CI") == "" {
		t.Skip("FACILITYD_TEST_INFLUX_URL and FACILITYD_TEST_INFLUX_DB are not set: run make test to test against a real InfluxDB")
	}
	t.Fatal("FACILITYD_TEST_INFLUX_URL and FACILITYD_TEST_INFLUX_DB are not set in CI: run make test, which starts InfluxDB")
	return "", ""
}

// influxQL runs one InfluxQL statement and returns the first result's series.
func influxQL(t *testing.T, baseURL, method, db, q string) []influxSeries {
	t.Helper()
	params := url.Values{"q": {q}, "epoch": {"ns"}}
	if db != "" {
		params.Set("db", db)
	}
	var req *http.Request
	var err error
	if method == http.MethodPost {
		req, err = http.NewRequest(method, baseURL+"/query", strings.NewReader(params.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequest(method, baseURL+"/query?"+params.Encode(), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s %s %v", q, resp.Status, body, err)
	}
	var out struct {
		Results []struct {
			Series []influxSeries `json:"series"`
			Error  string         `json:"error"`
		} `json:"results"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber() // keep 3 and 3.0 and the nanosecond timestamps exactly as sent
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%s: decode %s: %v", q, body, err)
	}
	if len(out.Results) == 0 {
		return nil
	}
	if out.Results[0].Error != "" {
		t.Fatalf("%s: %s", q, out.Results[0].Error)
	}
	return out.Results[0].Series
}

type influxSeries struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Values  [][]any  `json:"values"`
}

// rows turns a series into one map per row, keyed by column.
func (s influxSeries) rows() []map[string]any {
	out := make([]map[string]any, 0, len(s.Values))
	for _, v := range s.Values {
		row := map[string]any{}
		for i, c := range s.Columns {
			row[c] = v[i]
		}
		out = append(out, row)
	}
	return out
}

// createDatabase makes a database of the test's own and drops it afterwards.
func createDatabase(t *testing.T, baseURL, prefix string) string {
	t.Helper()
	db := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	influxQL(t, baseURL, http.MethodPost, "", `CREATE DATABASE "`+db+`"`)
	t.Cleanup(func() { influxQL(t, baseURL, http.MethodPost, "", `DROP DATABASE "`+db+`"`) })
	return db
}

func TestWriterInfluxDB(t *testing.T) {
	baseURL, prefix := influxFromEnv(t)
	db := createDatabase(t, baseURL, prefix)

	pump, ok := devices.Builtin("pump")
	if !ok {
		t.Fatal("no built-in pump profile")
	}
	value := map[string]devices.Value{
		"running": {Number: 1}, "fault": {Number: 0}, "overload": {Number: 0}, "dry_run": {Number: 0},
		"pit_high": {Number: 0}, "auto_mode": {Number: 1}, "run_command": {Number: 1}, "fault_reset": {Number: 0},
		"pressure": {Number: 4.25}, "flow": {Number: 12}, "motor_current": {Number: 18.7},
		"frequency": {Number: 48.5}, "running_hours": {Number: 12345.67}, "pit_level": {Number: -0.12},
		"vfd_fault_code": {Number: 3}, "role": {Number: 0}, "starts": {Number: 4021},
	}
	values := func(change func(name string, v *devices.Value)) []devices.Value {
		out := make([]devices.Value, len(pump.Points))
		for i, p := range pump.Points {
			v, ok := value[p.Name]
			if !ok {
				t.Fatalf("test has no value for pump point %q", p.Name)
			}
			if change != nil {
				change(p.Name, &v)
			}
			out[i] = v
		}
		return out
	}

	p1 := &devices.Device{ID: "P-01", Kind: devices.KindPump, Site: "estate1", Building: "B2", Zone: "north", Profile: pump}
	odd := &devices.Device{ID: `pump 2,east=1`, Kind: devices.KindPump, Site: "estate1", Building: "楼 A", Profile: pump}
	panel := &devices.Device{ID: "G-1", Kind: devices.KindGeneric, Site: "estate1", Profile: &devices.Profile{
		Name: "labels", Kind: devices.KindGeneric,
		Points: []devices.Point{{Name: "label", Table: devices.TableHolding, Type: devices.TypeString, Length: 8}},
	}}
	base := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	t1, t2, t3 := base.Add(123456789), base.Add(10*time.Second+1), base.Add(20*time.Second)
	snaps := []*devices.Snapshot{
		{Device: p1, Time: t1, Values: values(nil), Comm: devices.CommOnline},
		{Device: p1, Time: t2, Comm: devices.CommOnline, Values: values(func(name string, v *devices.Value) {
			switch name {
			case "pressure":
				v.Quality = devices.QualityBad
			case "flow":
				v.Number = nan()
			}
		})},
		{Device: p1, Time: t3, Comm: devices.CommRetrying, Err: errors.New("read input 0-13: i/o timeout")},
		{Device: odd, Time: t1, Values: values(nil), Comm: devices.CommOnline},
		{Device: panel, Time: t1, Values: []devices.Value{{Text: `say "hi" \ bye`}}, Comm: devices.CommOnline},
	}

	reg := prometheus.NewRegistry()
	w, err := NewWriter(Config{URL: baseURL, Bucket: db, FlushInterval: 50 * time.Millisecond, Timeout: 5 * time.Second}, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for _, s := range snaps[:2] {
		if !w.Enqueue(s) {
			t.Fatal("Enqueue refused")
		}
	}
	// Half the snapshots go in a flush while running, the rest in the final flush.
	deadline := time.Now().Add(5 * time.Second)
	for metric(t, reg, "facilityd_influx_points_written_total") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, s := range snaps[2:] {
		if !w.Enqueue(s) {
			t.Fatal("Enqueue refused")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if v := metric(t, reg, "facilityd_influx_points_written_total"); v != float64(len(snaps)) {
		t.Errorf("points written = %v, want %d", v, len(snaps))
	}
	if v := metric(t, reg, "facilityd_influx_write_errors_total"); v != 0 {
		t.Errorf("write errors = %v, want 0", v)
	}

	series := influxQL(t, baseURL, http.MethodGet, db, `SELECT * FROM pump WHERE device = 'P-01'`)
	if len(series) != 1 || len(series[0].Values) != 3 {
		t.Fatalf("want 3 rows of P-01, got %+v", series)
	}
	rows := series[0].rows()
	num := func(s string) json.Number { return json.Number(s) }
	ns := func(tm time.Time) json.Number { return json.Number(fmt.Sprint(tm.UnixNano())) }
	want := []map[string]any{
		{
			"time": ns(t1), "building": "B2", "device": "P-01", "site": "estate1", "zone": "north",
			"comm_ok": true, "running": true, "fault": false, "run_command": true,
			"pressure": num("4.25"), "flow": num("12"), "motor_current": num("18.7"), "pit_level": num("-0.12"),
			"running_hours": num("12345.67"), "vfd_fault_code": num("3"), "role": num("0"), "starts": num("4021"),
		},
		{"time": ns(t2), "comm_ok": true, "running": true, "pressure": nil, "flow": nil, "frequency": num("48.5")},
		{
			"time": ns(t3), "comm_ok": false, "zone": "north", "running": nil, "pressure": nil,
			"vfd_fault_code": nil, "starts": nil,
		},
	}
	for i, wantRow := range want {
		for col, v := range wantRow {
			if got := rows[i][col]; got != v {
				t.Errorf("row %d (%v) column %s = %#v, want %#v", i, rows[i]["time"], col, got, v)
			}
		}
	}

	// Field types as InfluxDB stored them: booleans, enum codes as integers, the rest floats.
	fieldType := map[string]string{}
	for _, r := range influxQL(t, baseURL, http.MethodGet, db, `SHOW FIELD KEYS FROM pump`)[0].rows() {
		fieldType[r["fieldKey"].(string)] = r["fieldType"].(string)
	}
	for field, typ := range map[string]string{
		"comm_ok": "boolean", "running": "boolean", "pit_high": "boolean",
		"vfd_fault_code": "integer", "role": "integer",
		"pressure": "float", "flow": "float", "motor_current": "float", "starts": "float", "running_hours": "float",
	} {
		if fieldType[field] != typ {
			t.Errorf("field %s is %q, want %s", field, fieldType[field], typ)
		}
	}
	if len(fieldType) != len(pump.Points)+1 {
		t.Errorf("%d fields, want one per point plus comm_ok: %v", len(fieldType), fieldType)
	}

	// Escaped tags and strings come back as they were; an empty tag is absent.
	series = influxQL(t, baseURL, http.MethodGet, db, `SELECT "building", "device", "zone", "pressure" FROM pump WHERE site = 'estate1' AND device != 'P-01'`)
	if len(series) != 1 || len(series[0].Values) != 1 {
		t.Fatalf("want the one row of the oddly named device, got %+v", series)
	}
	r := series[0].rows()[0]
	if r["device"] != odd.ID || r["building"] != odd.Building || r["zone"] != nil || r["pressure"] != num("4.25") {
		t.Errorf("escaped tags came back as %v", r)
	}
	series = influxQL(t, baseURL, http.MethodGet, db, `SELECT "label", "comm_ok" FROM "generic"`)
	if len(series) != 1 || len(series[0].Values) != 1 || series[0].rows()[0]["label"] != `say "hi" \ bye` {
		t.Errorf("string field came back as %+v", series)
	}
}

func TestWriterInfluxDBRejectsUnknownDatabase(t *testing.T) {
	baseURL, _ := influxFromEnv(t)
	reg := prometheus.NewRegistry()
	var logs logBuffer
	w, err := newWriter(Config{URL: baseURL, Bucket: "facilityd_no_such_db", FlushInterval: 20 * time.Millisecond}, reg,
		newTextLogger(&logs), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	w.Enqueue(snap("P-1", 0))
	deadline := time.Now().Add(5 * time.Second)
	for metric(t, reg, "facilityd_influx_dropped_total", "reason", "rejected") < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if v := metric(t, reg, "facilityd_influx_dropped_total", "reason", "rejected"); v != 1 {
		t.Errorf("dropped{rejected} = %v, want 1", v)
	}
	if l := logs.lines("database not found"); len(l) != 1 {
		t.Errorf("the server's reason is not logged once: %q", logs.lines(""))
	}
}

// TestWriterDeadInfluxDB points writers at an InfluxDB that is not there: Enqueue must never
// wait for it, every snapshot must be written or counted as dropped, and Run must return within
// Timeout of being cancelled.
func TestWriterDeadInfluxDB(t *testing.T) {
	tests := []struct {
		name   string
		listen func(t *testing.T) string // returns host:port
	}{
		{name: "closed port", listen: closedPort},
		{name: "listener that never answers", listen: silentListener},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const timeout = time.Second
			cfg := Config{URL: "http://" + tc.listen(t), Bucket: "facility", BatchSize: 5, QueueSize: 20,
				FlushInterval: 20 * time.Millisecond, Timeout: timeout}
			reg := prometheus.NewRegistry()
			w, err := NewWriter(cfg, reg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()

			accepted, slowest := 0, time.Duration(0)
			for i := range 1000 {
				start := time.Now()
				if w.Enqueue(snap("P-1", i)) {
					accepted++
				}
				slowest = max(slowest, time.Since(start))
				if i%100 == 0 {
					time.Sleep(5 * time.Millisecond) // let Run take some and try to write
				}
			}
			if slowest > 200*time.Millisecond {
				t.Errorf("an Enqueue took %s with InfluxDB away", slowest)
			}
			if limit := cfg.QueueSize + 2*cfg.BatchSize; accepted > limit {
				t.Errorf("accepted %d snapshots, more than queue + pending batch + failed batch = %d", accepted, limit)
			}
			if v := metric(t, reg, "facilityd_influx_dropped_total", "reason", "queue_full"); int(v) != 1000-accepted {
				t.Errorf("dropped{queue_full} = %v, want %d", v, 1000-accepted)
			}

			start := time.Now()
			cancel()
			select {
			case <-done:
			case <-time.After(timeout + 2*time.Second):
				t.Fatal("Run did not return within Timeout + 2 s of cancel")
			}
			if took := time.Since(start); took > timeout+750*time.Millisecond {
				t.Errorf("Run returned %s after cancel, want at most Timeout (%s) + 750 ms", took, timeout)
			}
			if w.Enqueue(snap("P-1", 0)) {
				t.Error("Enqueue accepted after Run returned")
			}
			// Every accepted snapshot is accounted for.
			lost := metric(t, reg, "facilityd_influx_dropped_total", "reason", "shutdown") +
				metric(t, reg, "facilityd_influx_dropped_total", "reason", "retries_exhausted") - 1 // the late Enqueue
			if int(lost) != accepted || metric(t, reg, "facilityd_influx_points_written_total") != 0 {
				t.Errorf("accepted %d, lost %v", accepted, lost)
			}
		})
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentListener accepts connections and never answers, like a hung server.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}
