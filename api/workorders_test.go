package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/workorders"
)

func woServer(t *testing.T) (*Server, *workorders.Manager, *time.Time) {
	t.Helper()
	srv, _ := testServer(t)
	st, err := workorders.OpenStore(context.Background(), "sqlite", filepath.Join(t.TempDir(), "wo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := workorders.Default()
	cfg.Zones = []workorders.ZoneTeam{{Zone: "north", Team: "north-team", Butler: "butler-wang"}}
	cfg.Technicians = []workorders.Technician{{ID: "tech-chen", Name: "Chen Wei", Team: "north-team", Handset: "h-chen"},
		{ID: "tech-lin", Name: "Lin Tao", Team: "south-team", Handset: "h-lin"}}
	// The centre director calls every repair back here, so the sample is known.
	cfg.FollowUp.Sampling = []workorders.SamplingLevel{{Level: "team", Share: 1}, {Level: "quality", Share: 0.5}, {Level: "management", Share: 1}}
	cfg.Plans = []workorders.Plan{{ID: "tank", Devices: []string{"P-1"}, Every: "quarterly", Day: 10, Interrupts: "water", ConfinedSpace: true}}
	devs := []workorders.Device{{ID: "P-1", Kind: "pump", Zone: "north", Site: "s"},
		{ID: "L-1", Kind: "elevator", Zone: "south", Site: "s", Asset: &workorders.Asset{Make: "Otis", Contractor: "Otis Service"}}}
	now := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	m, err := workorders.New(cfg, "s", devs, st, workorders.Options{Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	RegisterWorkOrders(srv, m, nil)
	return srv, m, &now
}

func sendWO(t *testing.T, h http.Handler, method, url, body string, v any) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newTestRequest(method, url, strings.NewReader(body)))
	if v != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, rec.Body)
		}
	}
	return rec
}

// TestWorkOrdersHTTP takes an order raised by an alarm to closed through the HTTP API.
func TestWorkOrdersHTTP(t *testing.T) {
	srv, m, now := woServer(t)
	o, err := m.HandleAlarm(context.Background(), alarms.Event{Type: alarms.EventRaised, At: *now,
		Alarm: alarms.Alarm{ID: "P-1/pump_trip", Device: "P-1", Kind: "pump", Zone: "north", Rule: "pump_trip", Class: alarms.ClassEquipment}})
	if err != nil {
		t.Fatal(err)
	}
	var list OrderList
	if rec := sendWO(t, srv, "GET", "/api/v1/workorders?state=new&zone=north", "", &list); rec.Code != 200 || len(list.Orders) != 1 || list.Orders[0].ID != o.ID {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	for _, step := range []struct{ action, body string }{
		{"assign", `{"by":"engineering-supervisor","to":"tech-chen"}`},
		{"accept", `{"by":"tech-chen"}`},
		{"start", `{"by":"tech-chen"}`},
		{"resolve", `{"by":"tech-chen","note":"relay reset"}`},
		{"verify", `{"by":"engineering-supervisor","note":"pressure steady"}`},
	} {
		var got workorders.Order
		if rec := sendWO(t, srv, "POST", "/api/v1/workorders/"+o.ID+"/"+step.action, step.body, &got); rec.Code != 200 {
			t.Fatalf("%s: %d %s", step.action, rec.Code, rec.Body)
		}
	}
	var got workorders.Order
	sendWO(t, srv, "GET", "/api/v1/workorders/"+o.ID, "", &got)
	if got.State != workorders.StateClosed || len(got.History) != 6 || got.History[4].Note != "relay reset" || got.Assignee != "tech-chen" {
		t.Fatalf("order %s, history %+v", got.State, got.History)
	}
	var dev OrderList
	if sendWO(t, srv, "GET", "/api/v1/devices/P-1/orders", "", &dev); len(dev.Orders) != 1 {
		t.Fatalf("maintenance record of P-1: %d orders", len(dev.Orders))
	}

	open2, _ := m.HandleAlarm(context.Background(), alarms.Event{Type: alarms.EventRaised, At: *now,
		Alarm: alarms.Alarm{ID: "P-1/overcurrent", Device: "P-1", Kind: "pump", Zone: "north", Rule: "overcurrent", Class: alarms.ClassEquipment}})
	o2 := open2.ID
	// The console reads these keys: id, name, team and handset.
	var techs struct{ Technicians []map[string]string }
	if sendWO(t, srv, "GET", "/api/v1/technicians", "", &techs); len(techs.Technicians) != 2 ||
		techs.Technicians[1]["id"] != "tech-lin" || techs.Technicians[1]["name"] != "Lin Tao" ||
		techs.Technicians[1]["team"] != "south-team" || techs.Technicians[1]["handset"] != "h-lin" {
		t.Fatalf("technicians %+v", techs)
	}
	var mine OrderList
	if sendWO(t, srv, "GET", "/api/v1/workorders?assignee=tech-chen", "", &mine); len(mine.Orders) != 1 || mine.Orders[0].ID != o.ID {
		t.Fatalf("orders of tech-chen: %+v", mine)
	}
	tests := []struct {
		name, method, url, body string
		code                    int
		errPart                 string
	}{
		{"illegal transition is a conflict with the reason", "POST", "/api/v1/workorders/" + o.ID + "/accept", `{"by":"x"}`, 409, "is closed; accept needs new"},
		{"unknown order", "GET", "/api/v1/workorders/WO-404", "", 404, "no such work order"},
		{"unknown transition", "POST", "/api/v1/workorders/" + o.ID + "/explode", `{"by":"x"}`, 404, "no transition"},
		{"unknown field", "POST", "/api/v1/workorders", `{"title":"x","by":"y","colour":"red"}`, 400, "unknown field"},
		{"empty body", "POST", "/api/v1/workorders/" + o.ID + "/cancel", ``, 400, "a JSON object is required"},
		{"too large", "POST", "/api/v1/workorders", `{"title":"` + strings.Repeat("x", 70000) + `"}`, 413, "larger than"},
		{"missing title", "POST", "/api/v1/workorders", `{"by":"cs"}`, 400, "title"},
		{"follow-up needs an answer", "POST", "/api/v1/workorders/" + o.ID + "/follow_up", `{"by":"cs"}`, 409, "follow_up needs resolved"},
		{"assign across teams without the supervisor", "POST", "/api/v1/workorders/" + o2 + "/assign", `{"by":"tech-chen","to":"tech-lin"}`, 400, "only the supervisor"},
		{"bad state filter", "GET", "/api/v1/workorders?state=done", "", 400, "not one of"},
		{"water job without a day's notice", "POST", "/api/v1/workorders/schedule", `{"plan":"tank","device":"P-1","at":"2026-03-03T12:00:00Z","by":"eng"}`, 409, "residents must be told"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e struct{ Error string }
			rec := sendWO(t, srv, tc.method, tc.url, tc.body, &e)
			if rec.Code != tc.code || !strings.Contains(e.Error, tc.errPart) {
				t.Fatalf("%d %q, want %d containing %q", rec.Code, e.Error, tc.code, tc.errPart)
			}
		})
	}

	t.Run("a resident's report, follow-ups, notices and the ledger", func(t *testing.T) {
		var h workorders.Order
		rec := sendWO(t, srv, "POST", "/api/v1/workorders", `{"zone":"north","title":"Tap leaks, 3-1802","reporter":"Ms Zhang","by":"cs-liu"}`, &h)
		if rec.Code != 201 || h.Category != workorders.CategoryHousehold || h.Team != "north-team" {
			t.Fatalf("raise: %d %s", rec.Code, rec.Body)
		}
		for _, a := range []string{"accept", "start", "resolve"} {
			sendWO(t, srv, "POST", "/api/v1/workorders/"+h.ID+"/"+a, `{"by":"tech"}`, nil)
		}
		var f FollowUpList
		if sendWO(t, srv, "GET", "/api/v1/workorders/followups", "", &f); len(f.Due) != 1 || len(f.Overdue) != 0 || f.Level != "team" {
			t.Fatalf("follow-ups %+v", f)
		}
		// A repair's call records three points and is never the technician's own.
		var e1 struct{ Error string }
		if rec := sendWO(t, srv, "POST", "/api/v1/workorders/"+h.ID+"/follow_up", `{"by":"tech","points":{"timeliness":true,"quality":true,"satisfaction":true}}`, &e1); rec.Code != 400 || !strings.Contains(e1.Error, "did the job") {
			t.Fatalf("the assignee's own call: %d %q", rec.Code, e1.Error)
		}
		if rec := sendWO(t, srv, "POST", "/api/v1/workorders/"+h.ID+"/follow_up", `{"by":"cs","satisfied":true}`, &e1); rec.Code != 400 || !strings.Contains(e1.Error, "three points") {
			t.Fatalf("a repair answered satisfied alone: %d %q", rec.Code, e1.Error)
		}
		sendWO(t, srv, "POST", "/api/v1/workorders/"+h.ID+"/follow_up", `{"by":"cs","points":{"timeliness":true,"quality":true,"satisfaction":true}}`, nil)
		// A complaint is called back by the department head at the service centre only.
		var c workorders.Order
		sendWO(t, srv, "POST", "/api/v1/workorders", `{"zone":"north","category":"complaint","title":"Rude repairer","by":"cs-liu"}`, &c)
		for _, a := range []string{"accept", "start", "resolve"} {
			sendWO(t, srv, "POST", "/api/v1/workorders/"+c.ID+"/"+a, `{"by":"tech"}`, nil)
		}
		if rec := sendWO(t, srv, "POST", "/api/v1/workorders/"+c.ID+"/follow_up", `{"by":"engineering-supervisor","satisfied":true}`, nil); rec.Code != 200 {
			t.Fatalf("the head's call on a complaint: %d %s", rec.Code, rec.Body)
		}
		var q FollowUpList
		if rec := sendWO(t, srv, "GET", "/api/v1/workorders/followups?level=management", "", &q); rec.Code != 200 || len(q.Due) != 1 || q.Due[0].ID != h.ID {
			t.Fatalf("management sample: %d %s", rec.Code, rec.Body)
		}
		var called workorders.Order
		if rec := sendWO(t, srv, "POST", "/api/v1/workorders/"+h.ID+"/follow_up", `{"by":"gm-zhou","level":"management","points":{"timeliness":true,"quality":true,"satisfaction":true}}`, &called); rec.Code != 200 || called.State != workorders.StateFollowedUp {
			t.Fatalf("management call: %d %s", rec.Code, rec.Body)
		}
		if sendWO(t, srv, "GET", "/api/v1/workorders/followups?level=management", "", &q); len(q.Due) != 0 || len(q.Done) != 1 {
			t.Fatalf("after the call: %+v", q)
		}
		var e struct{ Error string }
		if rec := sendWO(t, srv, "GET", "/api/v1/workorders/followups?level=board", "", &e); rec.Code != 400 || !strings.Contains(e.Error, "team quality management") {
			t.Fatalf("unknown level: %d %q", rec.Code, e.Error)
		}
		var sched workorders.Order
		if rec := sendWO(t, srv, "POST", "/api/v1/workorders/schedule", `{"plan":"tank","device":"P-1","at":"2026-03-05T12:00:00Z","by":"eng"}`, &sched); rec.Code != 201 {
			t.Fatalf("schedule: %d %s", rec.Code, rec.Body)
		}
		var n struct{ Notices []workorders.Notice }
		if sendWO(t, srv, "GET", "/api/v1/notices", "", &n); len(n.Notices) != 1 || n.Notices[0].Interrupts != "water" {
			t.Fatalf("notices %+v", n)
		}
		var ne struct{ Error string }
		if rec := sendWO(t, srv, "POST", "/api/v1/notices", `{"interrupts":"power","by":"eng"}`, &ne); rec.Code != 400 || !strings.Contains(ne.Error, "reason") {
			t.Fatalf("emergency notice without a reason: %d %q", rec.Code, ne.Error)
		}
		var em workorders.Notice
		if rec := sendWO(t, srv, "POST", "/api/v1/notices", `{"interrupts":"power","reason":"transformer fault","by":"eng","zone":"north"}`, &em); rec.Code != 201 || !em.Emergency {
			t.Fatalf("emergency notice: %d %+v", rec.Code, em)
		}
		if sendWO(t, srv, "GET", "/api/v1/notices", "", &n); len(n.Notices) != 2 || !n.Notices[1].Emergency {
			t.Fatalf("notices after the emergency %+v", n)
		}
		var l struct{ Devices []workorders.LedgerEntry }
		if sendWO(t, srv, "GET", "/api/v1/ledger", "", &l); len(l.Devices) != 2 || l.Devices[1].Asset.Contractor != "Otis Service" {
			t.Fatalf("ledger %+v", l)
		}
	})
}
