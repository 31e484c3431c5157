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

	"github.com/facilityd/facilityd/workorders"
)

// TestCustomerServiceToken: a desk token raises a resident's request under its own name,
// gives the resident the answer and moves the visit, and is refused the technician's
// actions and any write to the plant; engineers keep what they had.
func TestCustomerServiceToken(t *testing.T) {
	srv, _, _ := woServer(t)
	srv.UseAuth(NewAuth([]Token{mustToken(t, "cs-liu", "customer_service", "c-secret"), mustToken(t, "tech-chen", "engineer", "e-secret")}, false))
	call := func(secret, method, url, body string, v any) int {
		t.Helper()
		rec := httptestRecorder(srv, method, url, body, secret)
		if v != nil && rec.Code < 300 {
			decodeInto(t, rec.Body.Bytes(), v)
		}
		return rec.Code
	}
	var o workorders.Order
	if code := call("c-secret", "POST", "/api/v1/workorders", `{"title":"x","by":"someone-else","channel":"phone","resident":"Z","home":"3-1-1802"}`, nil); code != http.StatusForbidden {
		t.Fatalf("a desk token naming someone else in by: %d", code)
	}
	raise := `{"title":"No hot water","zone":"north","channel":"hotline_12345","resident":"Mrs Zhang","home":"3-1-1802",
		"contact":"138 0000 0000","hotline_case":"SZ-42","reply_by":"2026-03-04T10:00:00Z"}`
	if code := call("c-secret", "POST", "/api/v1/workorders", raise, &o); code != http.StatusCreated {
		t.Fatalf("raise by customer service: %d", code)
	}
	if o.Desk == nil || o.Desk.Answer.Owner != "cs-liu" || o.Desk.Channel != workorders.ChannelHotline || o.Desk.Hotline.Case != "SZ-42" || o.Desk.Home != "3-1-1802" {
		t.Fatalf("desk record %+v: want cs-liu's (the token's), the 12345 case and the home", o.Desk)
	}
	if code := call("c-secret", "POST", "/api/v1/devices/P-1/points/setpoint", `{"value": 1}`, nil); code != http.StatusForbidden {
		t.Fatalf("customer service wrote to the plant: %d", code)
	}
	if code := call("c-secret", "POST", "/api/v1/workorders/"+o.ID+"/accept", `{}`, nil); code != http.StatusForbidden {
		t.Fatalf("customer service accepted the technician's job: %d", code)
	}
	if code := call("e-secret", "POST", "/api/v1/workorders/"+o.ID+"/accept", `{}`, nil); code != http.StatusOK {
		t.Fatalf("engineer accept: %d", code)
	}
	var list AnswerList
	if code := call("c-secret", "GET", "/api/v1/workorders/answers?owner=cs-liu", "", &list); code != http.StatusOK || len(list.Due) != 1 {
		t.Fatalf("answer queue: %d %+v", code, list)
	}
	if code := call("e-secret", "POST", "/api/v1/workorders/"+o.ID+"/inform", `{"note":"coming"}`, nil); code != http.StatusBadRequest {
		t.Fatalf("the technician took the first receiver's answer: %d", code)
	}
	if code := call("c-secret", "POST", "/api/v1/workorders/"+o.ID+"/inform", `{"note":"plumber at 11"}`, &o); code != http.StatusOK || o.Desk.Answer.AnsweredAt.IsZero() {
		t.Fatalf("inform: %d %+v", code, o.Desk.Answer)
	}
	if code := call("c-secret", "POST", "/api/v1/workorders/"+o.ID+"/reply_12345", `{"note":"handled"}`, &o); code != http.StatusOK || o.Desk.Hotline.RepliedAt.IsZero() {
		t.Fatalf("12345 reply: %d", code)
	}
	var st workorders.Stocktake
	if code := call("c-secret", "GET", "/api/v1/workorders/stocktake?period=quarter&at=2026-03-03", "", &st); code != http.StatusOK || st.Period != workorders.PeriodQuarter || st.From.Month() != 1 {
		t.Fatalf("stock-take: %d %+v", code, st)
	}
	for _, q := range []string{"period=week", "at=March"} {
		if code := call("c-secret", "GET", "/api/v1/workorders/stocktake?"+q, "", nil); code != http.StatusBadRequest {
			t.Fatalf("stock-take ?%s: %d", q, code)
		}
	}
	bad := strings.Replace(raise, `"3-1-1802"`, `"3-1802"`, 1)
	rec := httptestRecorder(srv, "POST", "/api/v1/workorders", bad, "c-secret")
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "building-unit-room") {
		t.Fatalf("a home without its unit: %d %s", rec.Code, rec.Body)
	}
}

func httptestRecorder(h http.Handler, method, url, body, secret string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := newTestRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	h.ServeHTTP(rec, req)
	return rec
}

func decodeInto(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

// TestDeskKeepsDefectsAndSurveys: a customer_service token files a handover defect, starts
// the year-end survey and records a home's answer, each as the token's holder whatever the
// body says; a patrol token may read them but not write.
func TestDeskKeepsDefectsAndSurveys(t *testing.T) {
	srv, _ := testServer(t)
	st, err := workorders.OpenStore(context.Background(), "sqlite", filepath.Join(t.TempDir(), "wo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := workorders.Default()
	cfg.Plans = []workorders.Plan{}
	cfg.Homes = []workorders.Home{{Home: "3-1-1802"}}
	now := time.Date(2026, 12, 20, 10, 0, 0, 0, time.UTC)
	m, err := workorders.New(cfg, "s", nil, st, workorders.Options{Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	RegisterDefects(srv, m)
	RegisterSurveys(srv, m)
	srv.UseAuth(NewAuth([]Token{mustToken(t, "cs-liu", "customer_service", "c-secret"), mustToken(t, "g-wang", "patrol", "p-secret")}, false))
	var d workorders.Defect
	rec := httptestRecorder(srv, "POST", "/api/v1/defects", `{"home":"3-1-1802","title":"crack in the bathroom tiles"}`, "c-secret")
	if rec.Code != http.StatusCreated {
		t.Fatalf("defect by customer service: %d %s", rec.Code, rec.Body)
	}
	if decodeInto(t, rec.Body.Bytes(), &d); d.Owner != "cs-liu" {
		t.Fatalf("defect owner %q, want the token's holder", d.Owner)
	}
	if rec := httptestRecorder(srv, "POST", "/api/v1/defects/"+d.ID, `{"note":"called","by":"cs-ma"}`, "c-secret"); rec.Code != http.StatusForbidden {
		t.Fatalf("a desk token naming someone else: %d %s", rec.Code, rec.Body)
	}
	if rec := httptestRecorder(srv, "POST", "/api/v1/defects/"+d.ID, `{"note":"repair office visits Friday","status":"repair_office"}`, "c-secret"); rec.Code != http.StatusOK {
		t.Fatalf("contact: %d %s", rec.Code, rec.Body)
	}
	var sv workorders.Survey
	rec = httptestRecorder(srv, "POST", "/api/v1/surveys", `{"kind":"satisfaction","year":2026}`, "c-secret")
	if rec.Code != http.StatusCreated {
		t.Fatalf("survey by customer service: %d %s", rec.Code, rec.Body)
	}
	if decodeInto(t, rec.Body.Bytes(), &sv); sv.StartedBy != "cs-liu" {
		t.Fatalf("survey started by %q, want the token's holder", sv.StartedBy)
	}
	if rec := httptestRecorder(srv, "POST", "/api/v1/surveys/"+sv.ID+"/answers", `{"home":"3-1-1802","satisfied":true}`, "c-secret"); rec.Code != http.StatusOK {
		t.Fatalf("answer: %d %s", rec.Code, rec.Body)
	}
	for _, w := range []struct{ path, body string }{{"/api/v1/defects", `{"home":"3-1-1802","title":"x"}`}, {"/api/v1/surveys", `{"kind":"opinion","year":2026,"half":2}`}} {
		if rec := httptestRecorder(srv, "POST", w.path, w.body, "p-secret"); rec.Code != http.StatusForbidden {
			t.Errorf("patrol POST %s: %d", w.path, rec.Code)
		}
	}
	if rec := httptestRecorder(srv, "GET", "/api/v1/defects/meeting", "", "p-secret"); rec.Code != http.StatusOK {
		t.Errorf("patrol reads the meeting list: %d", rec.Code)
	}
}
