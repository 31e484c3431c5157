package daemon_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/workorders"
)

// TestPumpTripClosesOnVerification: on the demo's defaults a drainage pump's drive fault
// raises a repair; the zone's technician fixes it and the engineering supervisor verifies it,
// which closes it. Nobody is asked to call a resident about a pump: the order never has a
// follow-up due and never appears among the follow-up calls.
func TestPumpTripClosesOnVerification(t *testing.T) {
	cfg, estate := demoEstate(t, nil)
	d := startDaemon(t, cfg)
	if err := estate.Inject("P-2", "vfd_fault", map[string]string{"code": "4"}); err != nil {
		t.Fatal(err)
	}
	var list api.OrderList
	waitFor(t, "a repair order for P-2's drive fault", 20*time.Second, func() bool {
		get(t, d.API+"/api/v1/workorders?device=P-2", &list)
		return len(list.Orders) > 0
	})
	o := list.Orders[0]
	if o.Source != workorders.SourceAlarm {
		t.Fatalf("P-2's order is from %s, want alarm", o.Source)
	}
	base := d.API + "/api/v1/workorders/" + o.ID + "/"
	for _, step := range []struct{ action, by string }{{"accept", "tech-north-1"}, {"start", "tech-north-1"}, {"resolve", "tech-north-1"}} {
		var got workorders.Order
		if code := post(t, base+step.action, map[string]string{"by": step.by, "note": "drive reset, fan cleaned"}, &got); code != http.StatusOK {
			t.Fatalf("%s: %d", step.action, code)
		}
	}
	// Beside the verification, the pump's own readings since the repair, from the live cache.
	var view api.OrderView
	waitFor(t, "P-2's readings since the repair on its order", 10*time.Second, func() bool {
		get(t, d.API+"/api/v1/workorders/"+o.ID, &view)
		return view.SinceRepair != nil && len(view.SinceRepair.Points) > 0
	})
	for _, p := range view.SinceRepair.Points {
		for _, v := range p.Values {
			if at, _ := v[0].(float64); int64(at) < view.ResolvedAt.UnixMilli() {
				t.Fatalf("%s: a reading of %v, before the repair at %v", p.Point, time.UnixMilli(int64(at)), view.ResolvedAt)
			}
		}
	}
	var fu api.FollowUpList
	get(t, d.API+"/api/v1/workorders/followups", &fu)
	for _, f := range append(fu.Due, fu.Overdue...) {
		if f.ID == o.ID {
			t.Fatalf("the pump repair is among the follow-up calls: %+v", f)
		}
	}
	var refused map[string]any
	if code := post(t, base+"verify", map[string]string{"by": "tech-north-1"}, &refused); code != http.StatusBadRequest {
		t.Fatalf("the technician verifying his own repair: %d %v", code, refused)
	}
	var closed workorders.Order
	if code := post(t, base+"verify", map[string]string{"by": "engineering-supervisor", "note": "pump running, pit level falling"}, &closed); code != http.StatusOK {
		t.Fatalf("verify: %d", code)
	}
	if closed.State != workorders.StateClosed || !closed.FollowUpDue.IsZero() || closed.Satisfied != nil {
		t.Fatalf("verified: state %s, follow-up due %v", closed.State, closed.FollowUpDue)
	}
	for _, h := range closed.History {
		if h.Action == string(workorders.ActionFollowUp) {
			t.Fatalf("a follow-up call on a pump: %+v", h)
		}
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
