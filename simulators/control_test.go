package simulators

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testutil"
)

func TestControlAPI(t *testing.T) {
	clock := testutil.NewClock(evening)
	e := newTestEstate(t, clock,
		DeviceSpec{ID: "fp-1", Kind: devices.KindFirePanel},
		DeviceSpec{ID: "sump-1", Kind: devices.KindPump, Role: RoleDrainage},
		DeviceSpec{ID: "lp-1", Kind: devices.KindLighting},
	)
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()

	// Steps run in order: later ones see what earlier ones injected.
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		// wantBody are substrings of the body; check inspects the decoded JSON.
		wantBody []string
		check    func(t *testing.T, body map[string]any)
	}{
		{
			name: "list devices", method: "GET", path: "/sim/v1/devices", wantStatus: 200,
			check: func(t *testing.T, body map[string]any) {
				list, _ := body["devices"].([]any)
				if len(list) != 3 {
					t.Fatalf("devices: %v, want 3", body["devices"])
				}
				first := list[0].(map[string]any)
				if first["id"] != "fp-1" || first["kind"] != "fire_panel" {
					t.Errorf("first device %v, want fp-1, a fire_panel", first)
				}
				if v := first["values"].(map[string]any); v["model"] != "FP-16 SIM" || v["general_alarm"] != false || v["zone_01"] != 0.0 {
					t.Errorf("fp-1 values %v: want model, bools and enum codes typed", v)
				}
			},
		},
		{
			name: "one device", method: "GET", path: "/sim/v1/devices/sump-1", wantStatus: 200,
			wantBody: []string{`"role": "drainage"`, `"pit_level"`, `"labels"`, `"address": "127.0.0.1:0"`},
		},
		{
			name: "unknown device", method: "GET", path: "/sim/v1/devices/boiler-9", wantStatus: 404,
			wantBody: []string{`"error"`, `boiler-9`, "fp-1, sump-1, lp-1"},
		},
		{
			name: "inject a zone alarm", method: "POST", path: "/sim/v1/devices/fp-1/faults/zone_alarm?zone=3", wantStatus: 200,
			check: func(t *testing.T, body map[string]any) {
				v := body["values"].(map[string]any)
				if v["zone_03"] != 1.0 || v["general_alarm"] != true || v["zones_in_alarm"] != 1.0 {
					t.Errorf("values after zone_alarm: zone_03 %v general_alarm %v zones_in_alarm %v", v["zone_03"], v["general_alarm"], v["zones_in_alarm"])
				}
				if l := body["labels"].(map[string]any); l["zone_03"] != "alarm" {
					t.Errorf("zone_03 label %v, want alarm", l["zone_03"])
				}
				faults := body["faults"].([]any)
				f := faults[0].(map[string]any)
				if len(faults) != 1 || f["fault"] != "zone_alarm" || f["params"].(map[string]any)["zone"] != "3" {
					t.Errorf("faults %v, want zone_alarm on zone 3", faults)
				}
			},
		},
		{
			name: "a second zone", method: "POST", path: "/sim/v1/devices/fp-1/faults/zone_alarm?zone=9", wantStatus: 200,
			wantBody: []string{`"zones_in_alarm": 2`},
		},
		{
			name: "zone missing", method: "POST", path: "/sim/v1/devices/fp-1/faults/zone_fault", wantStatus: 400,
			wantBody: []string{`"error"`, "parameter zone", "missing"},
		},
		{
			name: "zone out of range", method: "POST", path: "/sim/v1/devices/fp-1/faults/zone_fault?zone=40", wantStatus: 400,
			wantBody: []string{"parameter zone", "1-16"},
		},
		{
			name: "zone given twice", method: "POST", path: "/sim/v1/devices/fp-1/faults/zone_fault?zone=1&zone=2", wantStatus: 400,
			wantBody: []string{"parameter zone given 2 times"},
		},
		{
			name: "unknown fault", method: "POST", path: "/sim/v1/devices/sump-1/faults/flood", wantStatus: 400,
			wantBody: []string{`has no fault \"flood\"`, "overload, dry_run, vfd_fault, pit_high, slow, drop, exception, silent"},
		},
		{
			name: "fault on an unknown device", method: "POST", path: "/sim/v1/devices/boiler-9/faults/slow", wantStatus: 404,
			wantBody: []string{"boiler-9"},
		},
		{
			name: "bad delay", method: "POST", path: "/sim/v1/devices/sump-1/faults/slow?delay=later", wantStatus: 400,
			wantBody: []string{"parameter delay", `\"later\"`},
		},
		{
			name: "protocol fault with parameters", method: "POST", path: "/sim/v1/devices/sump-1/faults/exception?code=2", wantStatus: 200,
			wantBody: []string{`"fault": "exception"`, `"code": "2"`},
		},
		{
			name: "circuit trip", method: "POST", path: "/sim/v1/devices/lp-1/faults/circuit_trip?circuit=5", wantStatus: 200,
			wantBody: []string{`"circuit_05_on": false`, `"circuit_05_command": true`},
		},
		{
			name: "clear one zone", method: "DELETE", path: "/sim/v1/devices/fp-1/faults/zone_alarm?zone=3", wantStatus: 200,
			wantBody: []string{`"zone_03": 0`, `"zone_09": 1`, `"zones_in_alarm": 1`},
		},
		{
			name: "clear every zone", method: "DELETE", path: "/sim/v1/devices/fp-1/faults/zone_alarm", wantStatus: 200,
			wantBody: []string{`"zone_09": 0`, `"general_alarm": false`, `"faults": []`},
		},
		{
			name: "clear a protocol fault", method: "DELETE", path: "/sim/v1/devices/sump-1/faults/exception", wantStatus: 200,
			wantBody: []string{`"faults": []`},
		},
		{
			name: "clear an unknown fault", method: "DELETE", path: "/sim/v1/devices/lp-1/faults/flood", wantStatus: 400,
			wantBody: []string{"lamp_failure, circuit_trip"},
		},
		{
			name: "method not allowed", method: "PUT", path: "/sim/v1/devices/fp-1/faults/zone_alarm", wantStatus: 405,
		},
		{
			name: "fault catalogue", method: "GET", path: "/sim/v1/faults", wantStatus: 200,
			wantBody: []string{`"pit_high"`, `"entrapment"`, `"name": "zone"`, `"default": "2s"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s: status %d, want %d; body %s", tt.method, tt.path, resp.StatusCode, tt.wantStatus, raw)
			}
			if tt.wantStatus != 405 && resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q, want application/json", resp.Header.Get("Content-Type"))
			}
			for _, w := range tt.wantBody {
				if !strings.Contains(string(raw), w) {
					t.Errorf("body does not contain %s:\n%s", w, raw)
				}
			}
			if tt.check != nil {
				var body map[string]any
				if err := json.Unmarshal(raw, &body); err != nil {
					t.Fatalf("body is not a JSON object: %v\n%s", err, raw)
				}
				tt.check(t, body)
			}
		})
	}
	// The HTTP injections reached the models.
	expect(t, e, "lp-1", "via HTTP", map[string]check{"circuit_05_on": isFalse()})
	expect(t, e, "fp-1", "via HTTP", map[string]check{"general_alarm": isFalse()})
}
