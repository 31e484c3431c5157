package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/devices"
)

func testServer(t *testing.T) (*Server, *devices.Latest) {
	t.Helper()
	pump, _ := devices.Builtin("pump")
	lift, _ := devices.Builtin("elevator")
	devs := []*devices.Device{
		{ID: "P-1", Kind: devices.KindPump, Site: "s", Building: "B1", Zone: "north", Profile: pump, Modbus: &devices.ModbusTransport{Address: "127.0.0.1:502", Unit: 1}},
		{ID: "L-1", Kind: devices.KindElevator, Site: "s", Building: "B2", Zone: "south", Profile: lift, Modbus: &devices.ModbusTransport{Address: "127.0.0.1:503", Unit: 1}},
	}
	latest := devices.NewLatest(devs)
	return New(latest, prometheus.NewRegistry(), nil), latest
}

func do(t *testing.T, h http.Handler, method, url string, v any) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newTestRequest(method, url, nil))
	if ct := rec.Header().Get("Content-Type"); v != nil && ct != "application/json" {
		t.Fatalf("%s %s: content type %q", method, url, ct)
	}
	if v != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, rec.Body)
		}
	}
	return rec
}

func TestDevices(t *testing.T) {
	t.Parallel()
	s, latest := testServer(t)
	pump := latest.List()[1].Device
	values := make([]devices.Value, len(pump.Profile.Points))
	_, ip, _ := pump.Profile.Point("pressure")
	_, ic, _ := pump.Profile.Point("vfd_fault_code")
	_, ir, _ := pump.Profile.Point("running")
	values[ip] = devices.Value{Number: 4.2}
	values[ic] = devices.Value{Number: 4}
	values[ir] = devices.Value{Number: 1}
	at := time.Date(2026, 11, 26, 22, 0, 0, 5, time.UTC)
	latest.Update(&devices.Snapshot{Device: pump, Time: at, Values: values, Comm: devices.CommOnline})
	latest.Update(&devices.Snapshot{Device: pump, Time: at.Add(time.Second), Comm: devices.CommRetrying, Err: errors.New("i/o timeout")})

	var list struct{ Devices []DeviceSummary }
	do(t, s, "GET", "/api/v1/devices", &list)
	if len(list.Devices) != 2 || list.Devices[0].ID != "L-1" || list.Devices[1].ID != "P-1" {
		t.Fatalf("devices %+v, want L-1 and P-1 sorted", list.Devices)
	}
	p := list.Devices[1]
	if p.Comm != devices.CommRetrying || p.Polls != 2 || p.Failures != 1 || p.LastError != "i/o timeout" || !p.LastOK.Equal(at) {
		t.Errorf("P-1 summary %+v", p)
	}
	if l := list.Devices[0]; l.Comm != devices.CommUnknown || l.LastPoll != nil {
		t.Errorf("never-polled L-1 shows comm %s, last poll %v", l.Comm, l.LastPoll)
	}

	do(t, s, "GET", "/api/v1/devices?kind=elevator", &list)
	if len(list.Devices) != 1 || list.Devices[0].ID != "L-1" {
		t.Errorf("?kind=elevator gave %+v", list.Devices)
	}
	do(t, s, "GET", "/api/v1/devices?zone=north&comm=retrying", &list)
	if len(list.Devices) != 1 || list.Devices[0].ID != "P-1" {
		t.Errorf("?zone=north&comm=retrying gave %+v", list.Devices)
	}

	var d DeviceDetail
	do(t, s, "GET", "/api/v1/devices/P-1", &d)
	got := map[string]devices.Reading{}
	for _, r := range d.Readings {
		got[r.Point] = r
	}
	if len(d.Readings) != len(pump.Profile.Points) {
		t.Errorf("%d readings, want one per point (%d)", len(d.Readings), len(pump.Profile.Points))
	}
	if r := got["pressure"]; r.Value != 4.2 || r.Unit != "bar" || !r.Time.Equal(at) {
		t.Errorf("pressure reading %+v: the last good values must stay while retrying", r)
	}
	if r := got["vfd_fault_code"]; r.Value != 4.0 || r.Label != "drive overheat" {
		t.Errorf("enum reading %+v, want 4 labelled", r)
	}
	if r := got["running"]; r.Value != true {
		t.Errorf("bool reading %+v", r)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t)
	cases := []struct {
		name, method, url string
		status            int
		says              string
	}{
		{name: "unknown device", method: "GET", url: "/api/v1/devices/NOPE", status: 404, says: `no device "NOPE"`},
		{name: "unknown route", method: "GET", url: "/api/v2/things", status: 404, says: "no such route"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var e struct{ Error string }
			rec := do(t, s, tc.method, tc.url, &e)
			if rec.Code != tc.status || !strings.Contains(e.Error, tc.says) {
				t.Errorf("%s %s: %d %q, want %d saying %q", tc.method, tc.url, rec.Code, e.Error, tc.status, tc.says)
			}
		})
	}
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t)
	var h healthResponse
	if rec := do(t, s, "GET", "/healthz", &h); rec.Code != 200 || h.Status != "ok" || h.Devices["unknown"] != 2 {
		t.Errorf("healthz %d %+v", rec.Code, h)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, newTestRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Errorf("/metrics: %d", rec.Code)
	}
}

// newTestRequest is httptest.NewRequest sent to the API's own loopback address (httptest's
// default Host, example.com, is refused like any foreign name).
func newTestRequest(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	r.Host = "127.0.0.1:8080"
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// TestDeviceSummaryOPCUA: an OPC UA device's summary, in the list and in its detail, says which
// server it is read from and how (security policy and mode, identity), and no Modbus address.
func TestDeviceSummaryOPCUA(t *testing.T) {
	t.Parallel()
	prof := &devices.Profile{Name: "chiller", Kind: devices.KindGeneric, Points: []devices.Point{{Name: "supply_temp", Type: devices.TypeFloat64}}}
	ch := &devices.Device{ID: "CH-1", Kind: devices.KindGeneric, Site: "s", Building: "B1", Zone: "north", Profile: prof,
		OPCUA: &devices.OPCUATransport{Endpoint: "opc.tcp://10.20.0.15:4840", Security: "Basic256Sha256/SignAndEncrypt", Auth: "username"}}
	s := New(devices.NewLatest([]*devices.Device{ch}), prometheus.NewRegistry(), nil)

	var list struct{ Devices []DeviceSummary }
	do(t, s, "GET", "/api/v1/devices", &list)
	var d DeviceDetail
	do(t, s, "GET", "/api/v1/devices/CH-1", &d)
	for _, got := range []DeviceSummary{list.Devices[0], d.DeviceSummary} {
		if got.Endpoint != "opc.tcp://10.20.0.15:4840" || got.Security != "Basic256Sha256/SignAndEncrypt" || got.Auth != "username" {
			t.Errorf("CH-1 shows endpoint %q, security %q, auth %q", got.Endpoint, got.Security, got.Auth)
		}
		if got.Address != "" || got.Unit != nil {
			t.Errorf("CH-1 shows a Modbus address %q unit %v", got.Address, got.Unit)
		}
	}
}
