package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/workorders"
)

// routeCase is one request the route table says the server serves.
type routeCase struct {
	route  Route
	method string
	path   string
	roles  Roles
}

var wildcard = regexp.MustCompile(`\{[a-z]+(\.\.\.)?\}|\{\$\}`)

// routeCases turns every route of the table into a request that reaches it; the alarm actions
// share one pattern and become one request each.
func routeCases() []routeCase {
	var out []routeCase
	for _, rt := range Routes() {
		method, path, ok := strings.Cut(rt.Pattern, " ")
		if !ok {
			method, path = "GET", rt.Pattern
		}
		path = wildcard.ReplaceAllStringFunc(path, func(w string) string {
			switch {
			case w == "{$}":
				return ""
			case strings.HasSuffix(w, "...}"):
				return "FP-1/fire_zone_alarm/03"
			}
			return "P-1"
		})
		if strings.HasSuffix(path, "/") && !strings.HasSuffix(rt.Pattern, "{$}") {
			path += "x" // a subtree: a path below it
		}
		if rt.Pattern == "POST /api/v1/workorders/{id}/{transition}" {
			for _, a := range workorders.Actions {
				out = append(out, routeCase{route: rt, method: method, path: "/api/v1/workorders/WO-1/" + string(a), roles: WorkOrderActionRoles(string(a))})
			}
			continue
		}
		if rt.Pattern == "POST /api/v1/alarms/{id...}" {
			for action, roles := range AlarmActions() {
				out = append(out, routeCase{route: rt, method: method, path: path + "/" + action, roles: roles})
			}
			continue
		}
		out = append(out, routeCase{route: rt, method: method, path: path, roles: rt.Roles})
	}
	return out
}

// routeServer serves every route of the table: the ones New adds, and a stub answering 200
// for each of the others.
func routeServer(t *testing.T, tokens []Token) *Server {
	t.Helper()
	s, _ := testServer(t)
	own := map[string]bool{"GET /healthz": true, "GET /metrics": true, "GET /api/v1/devices": true, "GET /api/v1/devices/{id}": true, "/": true}
	for _, rt := range Routes() {
		if own[rt.Pattern] {
			continue
		}
		s.Handle(rt.Pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"pattern": r.Pattern, "by": Caller(r.Context())})
		}))
	}
	s.UseAuth(NewAuth(tokens, false))
	s.UsePolicy(Policy{Hosts: []string{"gateway.estate.lan"}})
	return s
}

// TestEveryRouteEveryCaller is the route table against every kind of caller: no token, each
// role, a page of another origin and a foreign Host (DNS rebinding). It is generated from the
// table, and Server.Handle refuses a route not in the table, so no route is left out.
func TestEveryRouteEveryCaller(t *testing.T) {
	t.Parallel()
	secrets := map[Role]string{RolePatrol: "p-secret", RoleCustomerService: "c-secret", RoleEngineer: "e-secret", RoleAdmin: "a-secret"}
	s := routeServer(t, []Token{
		mustToken(t, "g-wang", "patrol", secrets[RolePatrol]),
		mustToken(t, "cs-liu", "customer_service", secrets[RoleCustomerService]),
		mustToken(t, "eng", "engineer", secrets[RoleEngineer]),
		mustToken(t, "boss", "admin", secrets[RoleAdmin]),
	})
	for _, c := range routeCases() {
		// What the route answers once let through: the catch-all is a 404 for everyone.
		ok := http.StatusOK
		if c.route.Pattern == "/" {
			ok = http.StatusNotFound
		}
		stateChanging := !safeMethod(c.method)
		callers := []struct {
			name   string
			token  Role // RoleOpen: none
			header map[string]string
			want   int
		}{
			{"no token", RoleOpen, nil, pick(c.roles.Open(), ok, http.StatusUnauthorized)},
			{"patrol", RolePatrol, nil, pick(c.roles.Has(RolePatrol), ok, http.StatusForbidden)},
			{"customer service", RoleCustomerService, nil, pick(c.roles.Has(RoleCustomerService), ok, http.StatusForbidden)},
			{"engineer", RoleEngineer, nil, pick(c.roles.Has(RoleEngineer), ok, http.StatusForbidden)},
			{"admin", RoleAdmin, nil, ok},
			{"admin, foreign Origin", RoleAdmin, map[string]string{"Origin": "http://evil.example"}, pick(stateChanging, http.StatusForbidden, ok)},
			{"admin, cross-site fetch", RoleAdmin, map[string]string{"Sec-Fetch-Site": "cross-site"}, pick(stateChanging, http.StatusForbidden, ok)},
			{"admin, foreign Host", RoleAdmin, map[string]string{"Host": "evil.example:8080"}, http.StatusForbidden},
			{"admin, configured host name", RoleAdmin, map[string]string{"Host": "gateway.estate.lan:8080"}, ok},
		}
		for _, caller := range callers {
			t.Run(fmt.Sprintf("%s %s/%s", c.method, c.path, caller.name), func(t *testing.T) {
				req := newTestRequest(c.method, c.path, strings.NewReader(`{"by": ""}`))
				if c.route.Pattern != "/" {
					if _, pattern := s.mux.Handler(req); pattern != c.route.Pattern {
						t.Fatalf("the test's path %s reaches %q, not %q", c.path, pattern, c.route.Pattern)
					}
				}
				if caller.token != RoleOpen {
					req.Header.Set("Authorization", "Bearer "+secrets[caller.token])
				}
				for k, v := range caller.header {
					if k == "Host" {
						req.Host = v
					} else {
						req.Header.Set(k, v)
					}
				}
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != caller.want {
					t.Errorf("status %d, want %d: %s", rec.Code, caller.want, rec.Body)
				}
			})
		}
	}
}

func pick(cond bool, yes, no int) int {
	if cond {
		return yes
	}
	return no
}

// An open API (the demo) is where a web page could act through the browser: a foreign Origin
// or Host is refused, and so is a body a cross-site form can send without a preflight.
func TestOpenModeRefusesWebPages(t *testing.T) {
	t.Parallel()
	s := routeServer(t, nil)
	tests := []struct {
		name   string
		mutate func(*http.Request)
		want   int
	}{
		{"the console itself", func(r *http.Request) { r.Header.Set("Origin", "http://127.0.0.1:8080") }, http.StatusOK},
		{"same-origin fetch", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-origin") }, http.StatusOK},
		{"the CLI (no Origin)", func(r *http.Request) {}, http.StatusOK},
		{"foreign Origin", func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") }, http.StatusForbidden},
		{"another loopback port", func(r *http.Request) { r.Header.Set("Origin", "http://127.0.0.1:9999") }, http.StatusForbidden},
		{"same-site but another port", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-site") }, http.StatusForbidden},
		{"foreign Host", func(r *http.Request) { r.Host = "evil.example:8080" }, http.StatusForbidden},
		{"http.hosts are for tokens only", func(r *http.Request) { r.Host = "gateway.estate.lan" }, http.StatusForbidden},
		{"text/plain body", func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, http.StatusUnsupportedMediaType},
		{"form body", func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, http.StatusUnsupportedMediaType},
		{"no content type", func(r *http.Request) { r.Header.Del("Content-Type") }, http.StatusUnsupportedMediaType},
		{"JSON with a charset", func(r *http.Request) { r.Header.Set("Content-Type", "application/json; charset=utf-8") }, http.StatusOK},
		{"IPv6 loopback", func(r *http.Request) { r.Host = "[::1]:8080" }, http.StatusOK},
		{"localhost", func(r *http.Request) { r.Host = "localhost:8080" }, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newTestRequest("POST", "/api/v1/alarms/P-1/pressure_low/ack", strings.NewReader(`{"by": "g-wang"}`))
			tt.mutate(req)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
		})
	}
}

func TestHandleRefusesARouteNotInTheTable(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "route table") {
			t.Errorf("Handle of an unlisted route: panic %v, want one naming the route table", r)
		}
	}()
	s.Handle("POST /api/v1/frobnicate", http.NotFoundHandler())
}

// TestCustomerServiceRoutes: the desk's token takes the residents' side — requests, the
// defect register, the surveys, follow-ups — and reads what the patrol reads, but does not
// answer alarms: acknowledging an alarm, claiming or acknowledging a patrol alert and ticking
// off the night check stay the patrol's (and the engineer's and admin's), as before.
// Written out by hand, not from the table, so a wrong entry in the table fails here.
func TestCustomerServiceRoutes(t *testing.T) {
	t.Parallel()
	secrets := map[Role]string{RolePatrol: "p-secret", RoleCustomerService: "c-secret", RoleEngineer: "e-secret", RoleAdmin: "a-secret"}
	s := routeServer(t, []Token{
		mustToken(t, "g-wang", "patrol", secrets[RolePatrol]),
		mustToken(t, "cs-liu", "customer_service", secrets[RoleCustomerService]),
		mustToken(t, "eng", "engineer", secrets[RoleEngineer]),
		mustToken(t, "boss", "admin", secrets[RoleAdmin]),
	})
	const ok, no = http.StatusOK, http.StatusForbidden
	for _, tc := range []struct {
		name, method, path            string
		patrol, desk, engineer, admin int
	}{
		{"raise a resident's request", "POST", "/api/v1/workorders", no, ok, ok, ok},
		{"file a handover defect", "POST", "/api/v1/defects", no, ok, ok, ok},
		{"log a contact on a defect", "POST", "/api/v1/defects/DF-1", no, ok, ok, ok},
		{"start a survey", "POST", "/api/v1/surveys", no, ok, ok, ok},
		{"record a survey answer", "POST", "/api/v1/surveys/2026-satisfaction/answers", no, ok, ok, ok},
		{"a follow-up call", "POST", "/api/v1/workorders/WO-1/follow_up", no, ok, ok, ok},
		{"the desk's answer to the resident", "POST", "/api/v1/workorders/WO-1/inform", no, ok, ok, ok},
		{"read the alarms", "GET", "/api/v1/alarms", ok, ok, ok, ok},
		{"read the patrol's alerts", "GET", "/api/v1/patrol/alerts", ok, ok, ok, ok},
		{"read the orders", "GET", "/api/v1/workorders/WO-1", ok, ok, ok, ok},
		{"read the report", "GET", "/api/v1/workorders/report", ok, ok, ok, ok},
		{"acknowledge an alarm", "POST", "/api/v1/alarms/FP-1/fire_zone_alarm/03/ack", ok, no, ok, ok},
		{"shelve an alarm", "POST", "/api/v1/alarms/P-1/pressure_low/shelve", no, no, ok, ok},
		{"claim a patrol alert", "POST", "/api/v1/patrol/alerts/A-1/claim", ok, no, ok, ok},
		{"acknowledge a patrol alert", "POST", "/api/v1/patrol/alerts/A-1/ack", ok, no, ok, ok},
		{"tick off the night check", "POST", "/api/v1/patrol/checklist/L-1-05/done", ok, no, ok, ok},
		{"accept a job", "POST", "/api/v1/workorders/WO-1/accept", no, no, ok, ok},
		{"write to the plant", "POST", "/api/v1/devices/P-1/points/setpoint", no, no, ok, ok},
	} {
		for role, want := range map[Role]int{RolePatrol: tc.patrol, RoleCustomerService: tc.desk, RoleEngineer: tc.engineer, RoleAdmin: tc.admin} {
			t.Run(tc.name+"/"+role.String(), func(t *testing.T) {
				req := newTestRequest(tc.method, tc.path, strings.NewReader(`{}`))
				req.Header.Set("Authorization", "Bearer "+secrets[role])
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != want {
					t.Errorf("%s %s as %s: status %d, want %d: %s", tc.method, tc.path, role, rec.Code, want, rec.Body)
				}
				if want == no && !strings.Contains(rec.Body.String(), "needs role") {
					t.Errorf("refusal %s does not say which role is needed", rec.Body)
				}
			})
		}
	}
}
