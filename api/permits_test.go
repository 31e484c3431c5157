package api

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/workorders"
)

// TestConfinedSpacePermitHTTP: a tank-cleaning job's start is refused until a permit is
// recorded through the API with a passing gas test and an attendant; the issuer is the
// token's holder, whatever the body says.
func TestConfinedSpacePermitHTTP(t *testing.T) {
	srv, m, now := woServer(t)
	srv.UseAuth(NewAuth([]Token{mustToken(t, "sup-li", "engineer", "s"), mustToken(t, "tech-chen", "engineer", "c"), mustToken(t, "guard-wu", "patrol", "g"), mustToken(t, "boss", "admin", "a")}, false))
	job, err := m.Schedule(context.Background(), workorders.ScheduleRequest{Plan: "tank", Device: "P-1", At: now.Add(48 * time.Hour), By: "eng"})
	if err != nil {
		t.Fatal(err)
	}
	*now = now.Add(48 * time.Hour)
	send := func(secret, action, body string) (int, string) {
		req := newTestRequest("POST", "/api/v1/workorders/"+job.ID+"/"+action, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	const bad = `{"permit":{"attendant":"tech-wu","readings":{"o2_pct":18.9,"lel_pct":0,"h2s_mg_m3":0,"co_mg_m3":3}}}`
	const good = `{"permit":{"attendant":"tech-wu","readings":{"o2_pct":20.9,"lel_pct":0,"h2s_mg_m3":0.5,"co_mg_m3":3}}}`
	for _, s := range []struct {
		name, secret, action, body string
		code                       int
		part                       string
		not                        string
	}{
		{"accepted", "c", "accept", `{}`, 200, `"state": "accepted"`, ""},
		{"start without a permit", "c", "start", `{}`, 409, "needs a permit first", ""},
		{"the patrol may not record a permit", "g", "permit", good, 403, "", ""},
		{"an issuer named in the body", "s", "permit", `{"issued_by":"boss",` + good[1:], 400, "unknown field", ""},
		{"a readings field missing", "s", "permit", `{"permit":{"attendant":"tech-wu","readings":{"o2_pct":20.9}}}`, 400, "give the LEL reading", ""},
		{"oxygen-deficient test recorded", "s", "permit", bad, 200, `"issued_by": "sup-li"`, ""},
		{"start refused on the reading", "c", "start", `{}`, 409, "O2 18.9 % is under 19.5 %", ""},
		{"an admin recording it for the supervisor", "a", "permit", `{"by":"sup-li",` + good[1:], 200, `"on_behalf_of": "sup-li"`, `"issued_by": "boss"`},
		{"tested again after ventilation", "s", "permit", good, 200, `"attendant": "tech-wu"`, ""},
		{"start allowed", "c", "start", `{}`, 200, `"state": "in_progress"`, ""},
	} {
		code, body := send(s.secret, s.action, s.body)
		if code != s.code || !strings.Contains(body, s.part) || s.not != "" && strings.Contains(body, s.not) {
			t.Fatalf("%s: %d %s, want %d with %q (and without %q)", s.name, code, body, s.code, s.part, s.not)
		}
	}
}
