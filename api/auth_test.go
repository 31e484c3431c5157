package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func mustToken(t *testing.T, name, role, secret string) Token {
	t.Helper()
	tok, err := ParseToken(name, role, HashToken(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAuthEveryRoute(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t)
	s.UseAuth(NewAuth([]Token{
		mustToken(t, "guard", "patrol", "p-secret"),
		mustToken(t, "desk", "customer_service", "c-secret"),
		mustToken(t, "eng", "engineer", "e-secret"),
		mustToken(t, "boss", "admin", "a-secret"),
	}, false))

	tests := []struct {
		name, method, path string
		need               Role
	}{
		{"healthz", "GET", "/healthz", RoleOpen},
		{"device list", "GET", "/api/v1/devices", RolePatrol},
		{"one device", "GET", "/api/v1/devices/P-1", RolePatrol},
		{"metrics", "GET", "/metrics", RoleEngineer},
	}
	secrets := map[Role]string{RolePatrol: "p-secret", RoleCustomerService: "c-secret", RoleEngineer: "e-secret", RoleAdmin: "a-secret"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call := func(auth string) *httptest.ResponseRecorder {
				req := newTestRequest(tt.method, tt.path, nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				return rec
			}
			expectErr := func(rec *httptest.ResponseRecorder, status int, what string) {
				t.Helper()
				if rec.Code != status {
					t.Errorf("%s: status %d, want %d: %s", what, rec.Code, status, rec.Body)
				}
				var e struct{ Error string }
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Errorf("%s: body %q is not a JSON error", what, rec.Body)
				}
			}
			if tt.need == RoleOpen {
				if rec := call(""); rec.Code != http.StatusOK {
					t.Errorf("open route without token: %d", rec.Code)
				}
				return
			}
			expectErr(call(""), http.StatusUnauthorized, "no token")
			expectErr(call("Bearer wrong"), http.StatusUnauthorized, "wrong token")
			expectErr(call("Basic p-secret"), http.StatusUnauthorized, "wrong scheme")
			for role := RolePatrol; role <= RoleAdmin; role++ {
				rec := call("Bearer " + secrets[role])
				if role < tt.need {
					expectErr(rec, http.StatusForbidden, role.String()+" token")
				} else if rec.Code != http.StatusOK {
					t.Errorf("%s token: status %d, want 200: %s", role, rec.Code, rec.Body)
				}
			}
		})
	}

	t.Run("metrics_open", func(t *testing.T) {
		s2, _ := testServer(t)
		s2.UseAuth(NewAuth([]Token{mustToken(t, "eng", "engineer", "e")}, true))
		rec := httptest.NewRecorder()
		s2.ServeHTTP(rec, newTestRequest("GET", "/metrics", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("/metrics with metrics_open: %d", rec.Code)
		}
	})
}

func TestRouteTableRoles(t *testing.T) {
	t.Parallel()
	a := NewAuth([]Token{}, false)
	tests := []struct {
		name, method, path string
		want               Roles
	}{
		{"alarm ack: the guards', not the desk's", "POST", "/api/v1/alarms/7/ack", guards},
		{"patrol claim", "POST", "/api/v1/patrol/alerts/3/claim", guards},
		{"shelve", "POST", "/api/v1/alarms/7/shelve", engineers},
		{"ack of an alarm id with slashes", "POST", "/api/v1/alarms/FP-1/fire_zone_alarm/03/ack", guards},
		{"shelve of an alarm id with slashes", "POST", "/api/v1/alarms/FP-1/fire_zone_alarm/03/shelve", engineers},
		{"unshelve", "POST", "/api/v1/alarms/P-2/pit_high_high/unshelve", engineers},
		{"unknown alarm action", "POST", "/api/v1/alarms/P-2/pit_high_high/delete", admins},
		{"patrol ack", "POST", "/api/v1/patrol/alerts/A3/ack", guards},
		{"checklist item", "POST", "/api/v1/patrol/checklist/LP-1-03/done", guards},
		{"work order", "POST", "/api/v1/workorders/9/accept", engineers},
		{"a resident's request", "POST", "/api/v1/workorders", desk},
		{"the answer to the resident", "POST", "/api/v1/workorders/WO-9/inform", desk},
		{"a follow-up call", "POST", "/api/v1/workorders/WO-9/follow-up", desk},
		{"a plant write", "POST", "/api/v1/devices/P-1/points/setpoint", engineers},
		{"schedule", "POST", "/api/v1/workorders/schedule", engineers},
		{"reload", "POST", "/api/v1/reload", engineers},
		{"emergency notice", "POST", "/api/v1/notices", engineers},
		{"any GET", "GET", "/api/v1/alarms", readers},
		{"a handover defect", "POST", "/api/v1/defects", desk},
		{"a contact on a defect", "POST", "/api/v1/defects/D-3", desk},
		{"a survey", "POST", "/api/v1/surveys", desk},
		{"a survey's answer", "POST", "/api/v1/surveys/2026-satisfaction/answers", desk},
		{"unknown DELETE: a 404 for anyone", "DELETE", "/api/v1/devices/P-1", anyone},
		{"unknown top level", "GET", "/debug/pprof/", admins},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.Required(newTestRequest(tt.method, tt.path, nil)); got != tt.want {
				t.Errorf("%s %s needs %s, want %s", tt.method, tt.path, got, tt.want)
			}
		})
	}
}
