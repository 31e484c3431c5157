package daemon_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/internal/testenv"
)

// TestDeviceHistoryFromInfluxDB: the console's charts read the last hours back from the
// InfluxDB the daemon writes to, bucketed by InfluxQL, and bad questions get an answer that
// says what to ask instead.
func TestDeviceHistoryFromInfluxDB(t *testing.T) {
	influx := testenv.NewInflux(t)
	cfg, _ := demoEstate(t, influx)
	d := startDaemon(t, cfg)

	var h api.HistoryResponse
	waitFor(t, "P-1 pressure history from InfluxDB", 15*time.Second, func() bool {
		get(t, d.API+"/api/v1/devices/P-1/history?point=pressure&since=10m", &h)
		return h.Source == "influx" && len(h.Values) >= 2
	})
	if h.Unit != "bar" || h.Kind != "number" || h.Since != "10m" {
		t.Errorf("history unit %q kind %q since %q, want bar, number, 10m", h.Unit, h.Kind, h.Since)
	}
	for _, v := range h.Values {
		p, ok := v[1].(float64)
		if !ok || p < 2 || p > 6 {
			t.Errorf("P-1 pressure %v in history, want a booster's 2-6 bar", v)
		}
	}
	get(t, d.API+"/api/v1/devices/L1-1/history?point=fault_code&since=10m", &h)
	if h.Kind != "enum" || h.Labels["0"] == "" || h.Source != "influx" {
		t.Errorf("elevator fault_code history: kind %q labels %v source %q, want enum with labels from InfluxDB", h.Kind, h.Labels, h.Source)
	}

	tests := []struct {
		name, path string
		status     int
		says       string
	}{
		{name: "unknown point", path: "/api/v1/devices/P-1/history?point=nope", status: 400, says: "it has running, fault"},
		{name: "text point", path: "/api/v1/devices/FP-1/history?point=" + textPoint(t, d.API, "FP-1"), status: 400, says: "text point"},
		{name: "bad span", path: "/api/v1/devices/P-1/history?point=pressure&since=yesterday", status: 400, says: "like 30m or 6h"},
		{name: "too long", path: "/api/v1/devices/P-1/history?point=pressure&since=9000h", status: 400, says: "at most"},
		{name: "unknown device", path: "/api/v1/devices/X-9/history?point=pressure", status: 404, says: "no device"},
		{name: "report of no month", path: "/api/v1/workorders/report?month=2026-13", status: 400, says: "want YYYY-MM"},
		{name: "report in no format", path: "/api/v1/workorders/report?format=pdf", status: 400, says: "json or html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.HasSuffix(tt.path, "point=") {
				t.Fatal("the fire panel profile has no text point any more")
			}
			resp, err := http.Get(d.API + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Error string }
			_ = json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != tt.status || !strings.Contains(e.Error, tt.says) {
				t.Errorf("GET %s: %d %q, want %d saying %q", tt.path, resp.StatusCode, e.Error, tt.status, tt.says)
			}
		})
	}
}

// TestWorkOrderReportRoute: the board's monthly report is the one `facilityd report` writes,
// as JSON for the console and as its HTML page to download.
func TestWorkOrderReportRoute(t *testing.T) {
	cfg, _ := demoEstate(t, nil)
	d := startDaemon(t, cfg)
	month := time.Now().Format("2006-01")
	var rep struct {
		Month  string `json:"month"`
		Orders *int   `json:"orders"`
	}
	get(t, d.API+"/api/v1/workorders/report", &rep)
	if rep.Month != month || rep.Orders == nil {
		t.Errorf("report %+v, want this month's (%s) with an order count", rep, month)
	}
	resp, err := http.Get(d.API + "/api/v1/workorders/report?format=html&month=" + month)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/html") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "workorders-"+month+".html") {
		t.Errorf("HTML report: %s, %s, %q", resp.Status, ct, resp.Header.Get("Content-Disposition"))
	}
}

// textPoint names a string point of the device, or "" when it has none.
func textPoint(t *testing.T, base, id string) string {
	var dd api.DeviceDetail
	get(t, base+"/api/v1/devices/"+id, &dd)
	for _, r := range dd.Readings {
		if _, ok := r.Value.(string); ok {
			return r.Point
		}
	}
	return ""
}
