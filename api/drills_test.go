package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/workorders"
)

// TestRescueDrillHTTP runs the estate's rescue drill through the API: the release is refused
// without the car used, and then records the scenario, the car and the rescue time.
func TestRescueDrillHTTP(t *testing.T) {
	srv, m, now := woServer(t)
	*now = time.Date(2026, 3, 10, 4, 0, 0, 0, time.UTC) // a week before the drill of Monday 16 March
	if err := m.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	var list OrderList
	if sendWO(t, srv, "GET", "/api/v1/workorders?plan="+workorders.DrillPlan, "", &list); len(list.Orders) != 1 {
		t.Fatalf("drill orders: %+v", list.Orders)
	}
	id := list.Orders[0].ID
	*now = time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
	for _, step := range []string{"accept", "start"} {
		if rec := sendWO(t, srv, "POST", "/api/v1/workorders/"+id+"/"+step, `{"by":"tech-lin"}`, nil); rec.Code != 200 {
			t.Fatalf("%s: %d %s", step, rec.Code, rec.Body)
		}
	}
	*now = now.Add(17 * time.Minute)
	var e struct{ Error string }
	if rec := sendWO(t, srv, "POST", "/api/v1/workorders/"+id+"/release", `{"by":"tech-lin","scenario":"stopped between floors"}`, &e); rec.Code != 400 || !strings.Contains(e.Error, "which car") {
		t.Fatalf("release without a car: %d %s", rec.Code, rec.Body)
	}
	var got workorders.Order
	if rec := sendWO(t, srv, "POST", "/api/v1/workorders/"+id+"/release", `{"by":"tech-lin","scenario":"stopped between floors","car":"L-1"}`, &got); rec.Code != 200 {
		t.Fatalf("release: %d %s", rec.Code, rec.Body)
	}
	if got.State != workorders.StateClosed || got.Drill == nil || got.Drill.Car != "L-1" || got.Drill.RescueTime != 17*time.Minute {
		t.Fatalf("released drill %s, record %+v", got.State, got.Drill)
	}
}
