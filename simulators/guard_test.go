package simulators

import (
	"net/http/httptest"
	"testing"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testutil"
)

// TestGuardRefusesWebPages: no web page can inject a fault (a fire alarm) into a running demo
// through the browser: a foreign Host, a cross-site Origin or Sec-Fetch-Site, and a body that is
// not JSON are refused and the panel stays quiet; curl with the JSON content type still works.
func TestGuardRefusesWebPages(t *testing.T) {
	t.Parallel()
	const inject = "/sim/v1/devices/fp-1/faults/zone_alarm?zone=3"
	tests := []struct {
		name    string
		method  string
		host    string
		header  map[string]string
		want    int
		injects bool
	}{
		{name: "curl with JSON", method: "POST", header: map[string]string{"Content-Type": "application/json"}, want: 200, injects: true},
		{name: "localhost name", method: "POST", host: "localhost:8081", header: map[string]string{"Content-Type": "application/json"}, want: 200, injects: true},
		{name: "rebound DNS name", method: "POST", host: "evil.example:8081", header: map[string]string{"Content-Type": "application/json"}, want: 403},
		{name: "rebound name reading", method: "GET", host: "evil.example:8081", want: 403},
		{name: "cross-site fetch", method: "POST", header: map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, want: 403},
		{name: "foreign origin", method: "POST", header: map[string]string{"Content-Type": "application/json", "Origin": "http://127.0.0.1:9999"}, want: 403},
		{name: "no content type", method: "POST", want: 415},
		{name: "form post", method: "POST", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, want: 415},
		{name: "text/plain no-cors", method: "POST", header: map[string]string{"Content-Type": "text/plain"}, want: 415},
		{name: "read on loopback", method: "GET", want: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEstate(t, testutil.NewClock(evening), DeviceSpec{ID: "fp-1", Kind: devices.KindFirePanel})
			h := Guard(e.Handler(), "127.0.0.1:8081")
			path := inject
			if tc.method == "GET" {
				path = "/sim/v1/devices"
			}
			req := httptest.NewRequest(tc.method, path, nil)
			req.Host = "127.0.0.1:8081"
			if tc.host != "" {
				req.Host = tc.host
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("%s %s (Host %s): %d %s, want %d", tc.method, path, req.Host, rec.Code, rec.Body, tc.want)
			}
			st, _ := e.Device("fp-1")
			if got := len(st.Faults) > 0; got != tc.injects {
				t.Errorf("fire panel faults %v, want injected %v", st.Faults, tc.injects)
			}
		})
	}
}

func TestGuardHosts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, host, listen string
		want               bool
	}{
		{name: "loopback literal", host: "127.0.0.1:1", listen: "127.0.0.1", want: true},
		{name: "ipv6 loopback", host: "[::1]:1", listen: "127.0.0.1", want: true},
		{name: "listen name", host: "sim.lan:8081", listen: "sim.lan", want: true},
		{name: "other name", host: "evil.example", listen: "127.0.0.1", want: false},
		{name: "any literal on all interfaces", host: "192.0.2.1:8081", listen: "0.0.0.0", want: true},
		{name: "other literal", host: "192.0.2.1:8081", listen: "127.0.0.1", want: false},
		{name: "empty", host: "", listen: "127.0.0.1", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hostAllowed(tc.host, tc.listen); got != tc.want {
				t.Errorf("hostAllowed(%q, %q) = %v, want %v", tc.host, tc.listen, got, tc.want)
			}
		})
	}
}
