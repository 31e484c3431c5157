package api

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/workorders"
)

// TestSurveysHTTP: the year-end satisfaction survey started, a home's answer recorded, and the
// year's summary with the owners' overall satisfaction against the plans' 80%.
func TestSurveysHTTP(t *testing.T) {
	srv, _ := testServer(t)
	st, err := workorders.OpenStore(context.Background(), "sqlite", filepath.Join(t.TempDir(), "wo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := workorders.Default()
	cfg.Plans = []workorders.Plan{}
	cfg.Homes = []workorders.Home{{Home: "3-1-1802"}, {Home: "3-1-1902"}}
	now := time.Date(2026, 12, 20, 10, 0, 0, 0, time.UTC)
	m, err := workorders.New(cfg, "s", nil, st, workorders.Options{Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	RegisterSurveys(srv, m)
	var sv workorders.Survey
	if rec := sendWO(t, srv, "POST", "/api/v1/surveys", `{"kind":"satisfaction","year":2026,"by":"cs-liu"}`, &sv); rec.Code != 201 || len(sv.Sample) != 2 || sv.StartedBy != "cs-liu" {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	var e struct{ Error string }
	if rec := sendWO(t, srv, "POST", "/api/v1/surveys", `{"kind":"census","year":2026,"by":"cs-liu"}`, &e); rec.Code != 400 || !strings.Contains(e.Error, "opinion or satisfaction") {
		t.Fatalf("a kind that is not one: %d %q", rec.Code, e.Error)
	}
	for _, h := range []string{"3-1-1802", "3-1-1902"} {
		if rec := sendWO(t, srv, "POST", "/api/v1/surveys/"+sv.ID+"/answers", `{"home":"`+h+`","satisfied":true,"by":"cs-liu"}`, &sv); rec.Code != 200 {
			t.Fatalf("answer: %d %s", rec.Code, rec.Body)
		}
	}
	if rec := sendWO(t, srv, "GET", "/api/v1/surveys/2027-satisfaction", "", &e); rec.Code != 404 {
		t.Fatalf("an unknown survey: %d %q", rec.Code, e.Error)
	}
	var sum workorders.YearSummary
	if rec := sendWO(t, srv, "GET", "/api/v1/surveys/summary?year=2026", "", &sum); rec.Code != 200 || !sum.Qualifies || sum.OwnersSatisfaction != 1 || sum.OwnersTarget != 0.8 {
		t.Fatalf("summary: %d %s", rec.Code, rec.Body)
	}
}
