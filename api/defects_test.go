package api

import (
	"strings"
	"testing"

	"github.com/facilityd/facilityd/workorders"
)

// TestDefectsHTTP: a handover defect registered by customer service, a contact logged, the
// owner's duty kept from others, the meeting list; and the month's follow-up problems.
func TestDefectsHTTP(t *testing.T) {
	srv, m, _ := woServer(t)
	RegisterDefects(srv, m)
	var d workorders.Defect
	if rec := sendWO(t, srv, "POST", "/api/v1/defects", `{"home":"3-1-1802","title":"crack in the bathroom tiles","resident":"Ms Zhang","by":"cs-liu"}`, &d); rec.Code != 201 || d.Owner != "cs-liu" {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	var e struct{ Error string }
	if rec := sendWO(t, srv, "POST", "/api/v1/defects", `{"title":"no home","by":"cs-liu"}`, &e); rec.Code != 400 || !strings.Contains(e.Error, "building-unit-room") {
		t.Fatalf("no home: %d %q", rec.Code, e.Error)
	}
	if rec := sendWO(t, srv, "POST", "/api/v1/defects/"+d.ID, `{"by":"cs-liu","note":"repair office visits Friday","status":"repair_office"}`, &d); rec.Code != 200 || len(d.Log) != 2 || d.Status != workorders.DefectRepairOffice {
		t.Fatalf("contact: %d %s", rec.Code, rec.Body)
	}
	if rec := sendWO(t, srv, "POST", "/api/v1/defects/"+d.ID, `{"by":"cs-wang","note":"called"}`, &e); rec.Code != 400 || !strings.Contains(e.Error, "owned by cs-liu") {
		t.Fatalf("someone else's entry: %d %q", rec.Code, e.Error)
	}
	if rec := sendWO(t, srv, "POST", "/api/v1/defects/DF-99", `{"by":"cs-liu","note":"called"}`, &e); rec.Code != 404 {
		t.Fatalf("unknown defect: %d %q", rec.Code, e.Error)
	}
	var ml MeetingList
	if sendWO(t, srv, "GET", "/api/v1/defects/meeting", "", &ml); len(ml.Items) != 1 || ml.Items[0].Defect.ID != d.ID || ml.Items[0].LastContact.Note != "repair office visits Friday" {
		t.Fatalf("meeting list %+v", ml)
	}
	var dl DefectList
	if sendWO(t, srv, "GET", "/api/v1/defects?home=3-1-1802", "", &dl); len(dl.Defects) != 1 {
		t.Fatalf("home file %+v", dl)
	}

	var h workorders.Order
	sendWO(t, srv, "POST", "/api/v1/workorders", `{"zone":"north","location":"3-1-1802","title":"Tap leaks","by":"cs-liu"}`, &h)
	for _, a := range []string{"accept", "start", "resolve"} {
		sendWO(t, srv, "POST", "/api/v1/workorders/"+h.ID+"/"+a, `{"by":"tech"}`, nil)
	}
	if rec := sendWO(t, srv, "POST", "/api/v1/workorders/"+h.ID+"/follow_up", `{"by":"cs","note":"came late","points":{"timeliness":false,"quality":true,"satisfaction":true}}`, &h); rec.Code != 200 || h.State != workorders.StateAccepted {
		t.Fatalf("unsatisfied call: %d %s", rec.Code, rec.Body)
	}
	var pl ProblemList
	if rec := sendWO(t, srv, "GET", "/api/v1/workorders/problems?month=2026-03", "", &pl); rec.Code != 200 || len(pl.Problems) != 1 || pl.Problems[0].Order != h.ID ||
		strings.Join(pl.Problems[0].Points, ",") != "timeliness" || pl.Problems[0].Note != "came late" {
		t.Fatalf("problems: %d %s", rec.Code, rec.Body)
	}
	if rec := sendWO(t, srv, "GET", "/api/v1/workorders/problems?month=March", "", &e); rec.Code != 400 || !strings.Contains(e.Error, "2026-03") {
		t.Fatalf("a bad month: %d %q", rec.Code, e.Error)
	}
}
