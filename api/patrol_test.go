package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/devices"
)

func patrolServer(t *testing.T) (*httptest.Server, *patrol.Service) {
	t.Helper()
	cfg := patrol.Config{Site: "estate", Location: time.UTC, Store: filepath.Join(t.TempDir(), "patrol.db")}
	cfg.Escalation.LifeSafety = patrol.Timing{Resend: 30 * time.Second, Escalate: time.Minute}
	cfg.Escalation.Critical = cfg.Escalation.LifeSafety
	cfg.Shifts = []patrol.Shift{{Name: "night", Start: "18:00", End: "08:00", Supervisor: "sup"}, {Name: "day", Start: "08:00", End: "18:00", Supervisor: "sup"}}
	cfg.Guards = []patrol.Guard{{ID: "g1", Handset: "H1"}, {ID: "g2", Handset: "H2"}, {ID: "sup", Handset: "H9"}}
	cfg.Groups = []patrol.Group{{Name: "all", Shift: "night", Zones: []string{"*"}, Guards: []string{"g1", "g2"}}, {Name: "day", Shift: "day", Zones: []string{"*"}, Guards: []string{"g1"}}}
	now := time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)
	svc, err := patrol.New(cfg, patrol.Deps{Now: func() time.Time { return now }, Channels: []patrol.Channel{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	for i, z := range []string{"north", "south"} {
		err := svc.Handle(alarms.Event{Seq: uint64(i + 1), Type: alarms.EventRaised, Notify: true, Alarm: alarms.Alarm{
			ID: "FP-1/fire_zone_alarm/0" + string(rune('1'+i)), Site: "estate", Zone: z, Priority: alarms.PriorityCritical, Class: alarms.ClassLifeSafety, Message: "fire"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	srv := New(devices.NewLatest(nil), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.ServePatrol(svc)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts, svc
}

func TestPatrolAPI(t *testing.T) {
	ts, _ := patrolServer(t)
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 []string
	}{
		{"list", "GET", "/api/v1/patrol/alerts", "", 200, []string{`"id": "A2"`, `"id": "A1"`}},
		{"filter by zone", "GET", "/api/v1/patrol/alerts?zone=south", "", 200, []string{`"id": "A2"`}},
		{"one", "GET", "/api/v1/patrol/alerts/A1", "", 200, []string{`"state": "open"`}},
		{"missing", "GET", "/api/v1/patrol/alerts/A9", "", 404, []string{`"error": "no patrol alert \"A9\"`}},
		{"g1 claims", "POST", "/api/v1/patrol/alerts/A1/claim", `{"by": "g1"}`, 200, []string{`"owner": "g1"`, `"state": "claimed"`}},
		{"g2's claim is refused naming g1", "POST", "/api/v1/patrol/alerts/A1/claim", `{"by": "g2"}`, 409, []string{`already claimed by g1`, `"owner": "g1"`}},
		{"unknown guard", "POST", "/api/v1/patrol/alerts/A2/claim", `{"by": "nobody"}`, 422, []string{`unknown guard \"nobody\"`}},
		{"unknown field", "POST", "/api/v1/patrol/alerts/A2/claim", `{"by": "g1", "force": true}`, 400, []string{`unknown field \"force\"`}},
		{"no by", "POST", "/api/v1/patrol/alerts/A2/claim", `{}`, 400, []string{`\"by\" is required`}},
		{"empty body", "POST", "/api/v1/patrol/alerts/A2/claim", ``, 400, []string{`empty body`}},
		{"too big", "POST", "/api/v1/patrol/alerts/A2/claim", `{"by": "` + strings.Repeat("x", 20000) + `"}`, 413, []string{`body larger than`}},
		{"claim of no alert", "POST", "/api/v1/patrol/alerts/A9/claim", `{"by": "g1"}`, 404, []string{`no such alert`}},
		{"ack", "POST", "/api/v1/patrol/alerts/A2/ack", `{"by": "g2", "note": "reset"}`, 200, []string{`"state": "acked"`, `"acked_by": "g2"`}},
		{"filter by owner", "GET", "/api/v1/patrol/alerts?owner=g2", "", 200, []string{`"id": "A2"`}},
		{"checklist, none yet", "GET", "/api/v1/patrol/checklist", "", 200, []string{`"checklists": []`}},
		{"tick off an unknown item", "POST", "/api/v1/patrol/checklist/LP-1:01/done", `{"by": "g1"}`, 404, []string{`no checklist item`}},
		{"unknown route", "GET", "/api/v1/patrol/nothing", "", 404, []string{`no such route`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, ts.URL+tt.path, bytes.NewBufferString(tt.body))
			if tt.method == "POST" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			for _, w := range tt.wantBody {
				if !strings.Contains(string(body), w) {
					t.Errorf("body lacks %s:\n%s", w, body)
				}
			}
			if resp.StatusCode >= 400 {
				var e struct{ Error string }
				if json.Unmarshal(body, &e) != nil || e.Error == "" {
					t.Errorf("error body is not {\"error\": ...}: %s", body)
				}
			}
		})
	}
}
