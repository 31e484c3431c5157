package daemon_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/workorders"
)

func postText(t *testing.T, url, body string, out any) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// TestEstateWorkEndToEnd runs the demo estate: an entrapment's order must be attended within
// 30 minutes of the alarm, is assigned to a technician of the zone's team who arrives; a
// second repair in one home is rework; a complaint is due by the close of a working day; a
// silent fire panel reaches the patrol's handsets as a high-priority alert.
func TestEstateWorkEndToEnd(t *testing.T) {
	cfg, estate := demoEstate(t, nil)
	withPatrol(t, cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	var alarmList api.AlarmList
	waitFor(t, "the demo polled", 15*time.Second, func() bool {
		var list struct{ Devices []api.DeviceSummary }
		get(t, d.API+"/api/v1/devices", &list)
		return len(list.Devices) == len(cfg.Devices)+1
	})

	if err := estate.Inject("L1-1", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	var raised alarms.Alarm
	waitFor(t, "the entrapment alarm", 10*time.Second, func() bool {
		get(t, d.API+"/api/v1/alarms?priority=critical", &alarmList)
		if len(alarmList.Alarms) == 1 {
			raised = alarmList.Alarms[0]
		}
		return len(alarmList.Alarms) == 1
	})
	var orders api.OrderList
	waitFor(t, "the entrapment's order", 10*time.Second, func() bool {
		get(t, d.API+"/api/v1/workorders?device=L1-1&category=elevator_entrapment", &orders)
		return len(orders.Orders) == 1
	})
	o := orders.Orders[0]
	if o.ArriveBy.IsZero() || o.ArriveBy.After(raised.ActivatedAt.Add(30*time.Minute)) || o.Team != "north-maintenance" {
		t.Fatalf("entrapment order: arrive by %v for an alarm at %v, team %s", o.ArriveBy, raised.ActivatedAt, o.Team)
	}
	var got workorders.Order
	if code := postText(t, d.API+"/api/v1/workorders/"+o.ID+"/assign", `{"by":"engineering-supervisor","to":"tech-north-1"}`, &got); code != 200 || got.Assignee != "tech-north-1" {
		t.Fatalf("assign: %d %+v", code, got)
	}
	for _, a := range []string{"accept", "arrive"} {
		if code := postText(t, d.API+"/api/v1/workorders/"+o.ID+"/"+a, `{"by":"tech-north-1"}`, &got); code != 200 {
			t.Fatalf("%s: %d", a, code)
		}
	}
	if got.ArrivedAt.IsZero() || got.ArriveBreached || got.ArriveBy != o.ArriveBy {
		t.Fatalf("arrived %v, breached %v, arrive by %v (was %v)", got.ArrivedAt, got.ArriveBreached, got.ArriveBy, o.ArriveBy)
	}

	// A resident's second repair in one home is rework; a complaint is due the same working day.
	var h1, h2, c workorders.Order
	postText(t, d.API+"/api/v1/workorders", `{"zone":"south","location":"2-0301","title":"Door lock jammed","by":"cs-liu"}`, &h1)
	for _, a := range []string{"accept", "start", "resolve"} {
		postText(t, d.API+"/api/v1/workorders/"+h1.ID+"/"+a, `{"by":"tech-south-2"}`, nil)
	}
	if code := postText(t, d.API+"/api/v1/workorders", `{"zone":"south","location":"2-0301","title":"Door lock jammed again","by":"cs-liu"}`, &h2); code != 201 || !h2.Rework || h2.ReworkOf != h1.ID {
		t.Fatalf("second repair in 2-0301: %d rework %v of %q, want of %s", code, h2.Rework, h2.ReworkOf, h1.ID)
	}
	if code := postText(t, d.API+"/api/v1/workorders", `{"zone":"south","category":"complaint","title":"Nobody came","by":"cs-liu"}`, &c); code != 201 ||
		c.CompleteBy.IsZero() || c.CompleteBy.Sub(c.CreatedAt) > 3*24*time.Hour {
		t.Fatalf("complaint: %d, complete by %v for a call at %v", code, c.CompleteBy, c.CreatedAt)
	}
	loc, _ := time.LoadLocation(cfg.WorkOrders.Calendar.Timezone)
	if due := c.CompleteBy.In(loc); due.Hour() != 18 || due.Minute() != 0 {
		t.Fatalf("a complaint is due at the close of a working day, not %v", due)
	}

	if err := estate.Inject("FP-1", "silent", nil); err != nil {
		t.Fatal(err)
	}
	var alerts struct{ Alerts []patrol.Alert }
	waitFor(t, "a patrol alert for the silent fire panel", 30*time.Second, func() bool {
		get(t, d.API+"/api/v1/patrol/alerts", &alerts)
		for _, a := range alerts.Alerts {
			if a.AlarmID == "FP-1/comm_loss" {
				return a.Priority == alarms.PriorityHigh && len(a.Recipients) > 0
			}
		}
		return false
	})
}
