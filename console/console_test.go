package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/console"
	"github.com/facilityd/facilityd/devices"
)

// TestRoutes: the console takes "/" and its assets from the API's catch-all, and everything
// else the API does not know still gets the API's JSON 404.
func TestRoutes(t *testing.T) {
	srv := api.New(devices.NewLatest(nil), prometheus.NewRegistry(), nil)
	console.Register(srv)
	ts := httptest.NewServer(srv)
	defer ts.Close()

	tests := []struct {
		name, path string
		status     int
		ctype      string
		body       string
	}{
		{name: "page", path: "/", status: 200, ctype: "text/html", body: `<script type="module" src="/ui/app.js">`},
		{name: "module", path: "/ui/app.js", status: 200, ctype: "text/javascript", body: "import"},
		{name: "style", path: "/ui/style.css", status: 200, ctype: "text/css", body: "--critical"},
		{name: "no folder listing", path: "/ui/", status: 404},
		{name: "unknown asset", path: "/ui/nope.js", status: 404},
		{name: "unknown API route stays JSON", path: "/api/v2/devices", status: 404, ctype: "application/json", body: `"error": "no such route: GET /api/v2/devices"`},
		{name: "other paths stay with the API", path: "/index.html", status: 404, ctype: "application/json"},
		{name: "API still served", path: "/api/v1/devices", status: 200, ctype: "application/json", body: `"devices"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(ts.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("GET %s: %d, want %d: %s", tt.path, resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.ctype) {
				t.Errorf("GET %s: Content-Type %q, want %s", tt.path, ct, tt.ctype)
			}
			if !strings.Contains(string(body), tt.body) {
				t.Errorf("GET %s: body lacks %q:\n%.300s", tt.path, tt.body, body)
			}
			if tt.status == 200 && strings.HasPrefix(tt.path, "/") && !strings.HasPrefix(tt.path, "/api/") {
				if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
					t.Errorf("GET %s: Content-Security-Policy %q lets in other origins or framing", tt.path, csp)
				}
			}
		})
	}
}

// TestNothingExternal: the console loads nothing from elsewhere (no CDN, no web fonts) and never
// builds markup from strings, so server text cannot become script.
func TestNothingExternal(t *testing.T) {
	h := console.Handler()
	for _, name := range []string{"index.html", "ui/app.js", "ui/api.js", "ui/dom.js", "ui/chart.js", "ui/common.js",
		"ui/overview.js", "ui/device.js", "ui/write.js", "ui/alarms.js", "ui/patrol.js", "ui/orders.js", "ui/style.css"} {
		path := "/" + name
		if name == "index.html" {
			path = "/"
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != 200 {
			t.Errorf("%s: %d", name, rec.Code)
			continue
		}
		body := rec.Body.String()
		for _, bad := range []string{"http://", "https://", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
			if strings.Contains(body, bad) && !(bad == "http://" && strings.Contains(body, "'http://www.w3.org/2000/svg'")) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}
