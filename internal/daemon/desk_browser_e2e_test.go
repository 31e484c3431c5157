package daemon_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/workorders"
)

// The tokens of TestDeskEndToEnd: customer service's desk and the zone's technician, each
// acting in its own name.
const (
	deskToken = "cs-liu-desk-token"
	techToken = "tech-north-1-token"
)

// TestDeskEndToEnd: on the demo with role tokens, a resident's paid request goes from the
// customer-service desk to the resident's answer. Customer service takes the call (the
// desk record names it first receiver) and tells the resident within the hour; the job is
// quoted and the visit booked; the zone's technician accepts, arrives within the window,
// starts, draws a part and resolves, and the charge is confirmed. The technician may not
// record his own follow-up call. Customer service, signed in to the console's orders page in
// Chromium, calls the resident back the same day on the three points; one unsatisfied
// reopens the order to engineering, on the page and through the API, and the call is on
// record with its three points and the token's name as the caller.
func TestDeskEndToEnd(t *testing.T) {
	b := testenv.NewBrowser(t)
	b.Timeout = 90 * time.Second // a loaded machine runs the simulators, the daemon and Chromium at once
	t.Logf("screenshots in %s", b.Dir())
	cfg, _ := demoEstate(t, nil)
	cfg.HTTP.Tokens = []config.Token{
		{Name: "cs-liu", Role: "customer_service", SHA256: api.HashToken(deskToken)},
		{Name: "tech-north-1", Role: "engineer", SHA256: api.HashToken(techToken)},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	o := deskTakesPaidCall(t, d.API)
	base := d.API + "/api/v1/workorders/" + o.ID + "/"
	t.Cleanup(func() {
		if t.Failed() { // the order as the server had it, beside what the page showed
			var got workorders.Order
			deskCall(t, http.MethodGet, d.API+"/api/v1/workorders/"+o.ID, deskToken, nil, &got)
			j, _ := json.MarshalIndent(got, "", "  ")
			t.Logf("order %s:\n%s", o.ID, j)
		}
	})
	technicianDoesPaidJob(t, base)

	// The technician did the job: his token may not record the resident's call, satisfied
	// or not, and the order waits for customer service's.
	var refused struct{ Error string }
	all := map[string]bool{"timeliness": true, "quality": true, "satisfaction": true}
	if code := deskCall(t, http.MethodPost, base+"follow_up", techToken, map[string]any{"points": all}, &refused); code != http.StatusBadRequest || !strings.Contains(refused.Error, "did the job") {
		t.Fatalf("the technician's own follow-up call: %d %q, want 400 saying he did the job", code, refused.Error)
	}
	deskCall(t, http.MethodGet, d.API+"/api/v1/workorders/"+o.ID, deskToken, nil, &o)
	if o.State != workorders.StateResolved || o.FollowUpDue.IsZero() {
		t.Fatalf("after the technician's refused call: state %s, follow-up due %v; want resolved, a call due", o.State, o.FollowUpDue)
	}

	deskCallsBackInConsole(t, b, d.API, o.ID)

	// Through the API: back with engineering, and the call on record in customer service's name.
	var back workorders.Order
	deskCall(t, http.MethodGet, d.API+"/api/v1/workorders/"+o.ID, techToken, nil, &back)
	if back.State != workorders.StateAccepted || back.Reopens != 1 || back.Assignee != "tech-north-1" || back.Satisfied == nil || *back.Satisfied {
		t.Fatalf("after the unsatisfied call: state %s, reopens %d, assignee %q, satisfied %v; want accepted, 1, tech-north-1, false",
			back.State, back.Reopens, back.Assignee, back.Satisfied)
	}
	var call *workorders.Change
	for i := range back.History {
		if back.History[i].Action == string(workorders.ActionFollowUp) {
			if call != nil {
				t.Fatalf("two follow-up calls recorded: %+v and %+v", *call, back.History[i])
			}
			call = &back.History[i]
		}
	}
	if call == nil {
		t.Fatalf("no follow-up call in the history: %+v", back.History)
	}
	p := call.Points
	if call.By != "cs-liu" || p == nil || p.Timeliness == nil || !*p.Timeliness || p.Quality == nil || *p.Quality || p.Satisfaction == nil || !*p.Satisfaction {
		t.Fatalf("the call recorded: by %q, points %s; want cs-liu, timeliness and satisfaction yes, quality no", call.By, deskPoints(p))
	}
	if call.At.After(o.FollowUpDue) {
		t.Errorf("the call at %v, after its same-day due time %v", call.At, o.FollowUpDue)
	}
	// The month's problems list the point found wanting, for the monthly report.
	month := call.At.In(shanghaiTZ(t)).Format("2006-01")
	var pl api.ProblemList
	deskCall(t, http.MethodGet, d.API+"/api/v1/workorders/problems?month="+month, deskToken, nil, &pl)
	if len(pl.Problems) != 1 || pl.Problems[0].Order != o.ID || pl.Problems[0].By != "cs-liu" || strings.Join(pl.Problems[0].Points, ",") != "quality" {
		t.Fatalf("the month's problems: %+v, want %s's quality found wanting by cs-liu", pl.Problems, o.ID)
	}
}

// deskTakesPaidCall: customer service takes a resident's phone call for paid work in their
// home and tells the resident within the hour how it is handled; the desk record names
// customer service, the token's name, as the first receiver.
func deskTakesPaidCall(t *testing.T, apiURL string) workorders.Order {
	t.Helper()
	// The resident first asks for tomorrow afternoon; the visit is booked for today once the
	// quote is agreed (technicianDoesPaidJob).
	from := time.Now().Truncate(time.Hour).Add(24 * time.Hour)
	var o workorders.Order
	if code := deskCall(t, http.MethodPost, apiURL+"/api/v1/workorders", deskToken, map[string]any{
		"zone": "north", "title": "Kitchen tap to replace", "channel": "phone", "kind": "paid",
		"resident": "Ms Zhang", "home": "3-1-1802", "contact": "13900000001",
		"visit": map[string]time.Time{"from": from, "to": from.Add(4 * time.Hour)},
	}, &o); code != http.StatusCreated {
		t.Fatalf("the desk's raise: %d %+v", code, o)
	}
	dk := o.Desk
	if dk == nil || dk.Channel != workorders.ChannelPhone || dk.Kind != workorders.KindPaid || dk.Home != "3-1-1802" ||
		dk.Resident != "Ms Zhang" || dk.Contact != "13900000001" || dk.ReceivedAt.IsZero() {
		t.Fatalf("the desk record: %+v", dk)
	}
	if dk.Answer.Owner != "cs-liu" || !dk.Answer.DueBy.Equal(dk.ReceivedAt.Add(workorders.AnswerWithin)) {
		t.Fatalf("the first receiver's answer: owner %q due %v, want cs-liu within the hour of %v", dk.Answer.Owner, dk.Answer.DueBy, dk.ReceivedAt)
	}
	if o.Team != "north-maintenance" || o.State != workorders.StateNew || len(o.History) == 0 || o.History[0].By != "cs-liu" {
		t.Fatalf("the order raised: team %q, state %s, history %+v", o.Team, o.State, o.History)
	}
	// Customer service is not a technician: the job's moves are refused to its token.
	var refused struct{ Error string }
	if code := deskCall(t, http.MethodPost, apiURL+"/api/v1/workorders/"+o.ID+"/accept", deskToken, map[string]any{}, &refused); code != http.StatusForbidden {
		t.Fatalf("customer service accepting the job: %d %q, want 403", code, refused.Error)
	}
	if code := deskCall(t, http.MethodPost, apiURL+"/api/v1/workorders/"+o.ID+"/inform", deskToken,
		map[string]string{"note": "a technician will come; the tap and the labour are quoted before the work"}, &o); code != http.StatusOK {
		t.Fatalf("inform: %d", code)
	}
	if a := o.Desk.Answer; a.AnsweredAt.IsZero() || a.AnsweredAt.After(a.DueBy) || a.Breached {
		t.Fatalf("the resident's answer: %+v, want answered within the hour", a)
	}
	return o
}

// technicianDoesPaidJob: the job is quoted from the price list and the visit booked for
// today's window; the technician accepts, arrives within the window, starts, draws a part and
// resolves; the charge the resident confirms is recorded, and the part drawn counts in the
// month's stock-take.
func technicianDoesPaidJob(t *testing.T, base string) {
	t.Helper()
	var o workorders.Order
	lines := []workorders.Line{{Item: "tap replacement", Qty: 1}, {Item: "labour", Qty: 1}}
	if code := deskCall(t, http.MethodPost, base+"quote", techToken, map[string]any{"lines": lines}, &o); code != http.StatusOK {
		t.Fatalf("quote: %d", code)
	}
	// The demo's example price list: a tap ¥30 and an hour's labour ¥40.
	if c := o.Desk.Charge; c == nil || c.Quoted != 7000 || c.QuotedBy != "tech-north-1" {
		t.Fatalf("the quote: %+v, want ¥70.00 by tech-north-1", c)
	}
	from := time.Now().Truncate(time.Hour)
	window := workorders.Window{From: from, To: from.Add(4 * time.Hour)}
	if code := deskCall(t, http.MethodPost, base+"reschedule", deskToken, map[string]any{"visit": window, "note": "the resident agreed the quote; today instead"}, &o); code != http.StatusOK ||
		o.Desk.Visit == nil || !o.Desk.Visit.Window.From.Equal(window.From) || !o.Desk.Visit.Window.To.Equal(window.To) {
		t.Fatalf("the visit booked: %d %+v", code, o.Desk.Visit)
	}
	steps := []struct {
		action string
		body   map[string]any
	}{
		{"accept", nil},
		{"arrive", nil},
		{"start", map[string]any{"note": "old tap off"}},
		{"draw", map[string]any{"parts": []workorders.Line{{Item: "kitchen mixer tap", Qty: 1}}}},
		{"resolve", map[string]any{"note": "new tap fitted, no leak"}},
		{"confirm_charge", nil},
	}
	for _, s := range steps {
		body := s.body
		if body == nil {
			body = map[string]any{}
		}
		var errBody struct{ Error string }
		var raw json.RawMessage
		if code := deskCall(t, http.MethodPost, base+s.action, techToken, body, &raw); code != http.StatusOK {
			_ = json.Unmarshal(raw, &errBody)
			t.Fatalf("%s by the technician: %d %s", s.action, code, errBody.Error)
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatal(err)
		}
		switch s.action {
		case "accept":
			if o.Assignee != "tech-north-1" || !o.ArriveBy.Equal(window.To) {
				t.Fatalf("accepted: assignee %q, arrive by %v; want tech-north-1 by the window's end %v", o.Assignee, o.ArriveBy, window.To)
			}
		case "arrive":
			if o.Desk.Visit.Arrival != workorders.ArrivalWithin || o.ArriveBreached {
				t.Fatalf("arrival judged %q (breached %v) in the window %v–%v", o.Desk.Visit.Arrival, o.ArriveBreached, window.From, window.To)
			}
		case "resolve":
			if o.State != workorders.StateResolved || o.FollowUpDue.IsZero() {
				t.Fatalf("resolved: state %s, follow-up due %v", o.State, o.FollowUpDue)
			}
		case "confirm_charge":
			if c := o.Desk.Charge; c.Confirmed != 7000 || c.ConfirmedAt.IsZero() || c.ConfirmedBy != "tech-north-1" {
				t.Fatalf("the charge confirmed: %+v, want the quote's ¥70.00", c)
			}
		}
	}
	if len(o.Materials) != 1 || o.Materials[0].By != "tech-north-1" || len(o.Materials[0].Parts) != 1 || o.Materials[0].Parts[0].Item != "kitchen mixer tap" {
		t.Fatalf("the parts drawn: %+v", o.Materials)
	}
	apiURL, _, _ := strings.Cut(base, "/api/v1/")
	var st workorders.Stocktake
	// The month of the draw in the estate's time, which the stock-take counts in.
	at := o.Materials[0].At.In(shanghaiTZ(t)).Format(time.DateOnly)
	deskCall(t, http.MethodGet, apiURL+"/api/v1/workorders/stocktake?period=month&at="+at, deskToken, nil, &st)
	drawn := false
	for _, m := range st.Materials {
		drawn = drawn || (m.Part == "kitchen mixer tap" && m.Qty == 1 && m.Orders == 1)
	}
	charged := false
	for _, c := range st.Charges {
		charged = charged || (c.Category == o.Category && c.Total == 7000 && c.Orders == 1)
	}
	if !drawn || !charged {
		t.Fatalf("the month's stock-take: materials %+v, charges %+v; want the tap drawn and ¥70.00 charged for %s", st.Materials, st.Charges, o.Category)
	}
}

// deskCallsBackInConsole: customer service signs in to the console with its token, lands on
// the orders page, finds the resolved order with the desk's record on its card, and records
// the resident's call with quality of service unsatisfied; the order moves back to the
// accepted column without a reload.
func deskCallsBackInConsole(t *testing.T, b *testenv.Browser, apiURL, id string) {
	t.Helper()
	b.Navigate(apiURL + "/")
	b.WaitFor("the sign-in form", `return !!document.getElementById('signin') && document.getElementById('banner').hidden`)
	b.Type("#token", deskToken)
	b.Click("#signin button")
	b.WaitFor("customer service on the orders page, signed in as cs-liu",
		`return location.hash === '#/orders' && document.getElementById('user').textContent === 'cs-liu · customer_service'`)
	card := `.column[data-state="resolved"] article.order[data-order="` + id + `"]`
	b.WaitFor("the resolved order's card with the desk's record: answered, arrived within the window, charged",
		`const c = document.querySelector(arguments[0]); const d = c && c.querySelector('.desk');
		 return !!d && /resident told/.test(d.textContent) && /arrived within the window/.test(d.textContent) && /charged ¥70\.00/.test(d.textContent) && /3-1-1802/.test(d.textContent)`, card)
	var offered struct{ Points []string }
	b.Exec(&offered, `return {Points: [...document.querySelectorAll(arguments[0] + ' input[data-point]')].map(i => i.dataset.point)}`, card)
	if strings.Join(offered.Points, ",") != "timeliness,quality,satisfaction" {
		t.Fatalf("the follow-up form asks %v, want the three points", offered.Points)
	}
	var technician int
	b.Exec(&technician, `return document.querySelectorAll('article.order button[data-transition="accept"], article.order button[data-transition="start"], article.order button[data-transition="resolve"]').length`)
	if technician != 0 {
		t.Errorf("customer service is offered %d technician's moves", technician)
	}
	// The resident: on time and satisfied overall, but the quality of service fell short. The
	// page redraws itself from the server, which puts every box back: the call is recorded in
	// the same turn as the box is seen unticked.
	box := card + ` input[data-point="quality"]`
	recorded := false
	for try := 0; try < 20 && !recorded; try++ {
		var ticked bool
		b.Exec(&ticked, `const i = document.querySelector(arguments[0]); return !!i && i.checked`, box)
		if ticked {
			b.Click(box)
		}
		b.Screenshot("follow-up-form")
		b.Exec(&recorded, `const c = document.querySelector(arguments[0]); if (!c) return false;
			const q = c.querySelector('input[data-point="quality"]'), others = [...c.querySelectorAll('input[data-point]')].filter(i => i !== q);
			if (q.checked || others.some(i => !i.checked)) return false;
			c.querySelector('button[data-transition="follow_up"]').click(); return true`, card)
	}
	if !recorded {
		t.Fatal("the call could not be recorded with quality unticked: the form was redrawn every time")
	}
	b.WaitFor("the order reopened to engineering: in the accepted column, its call recorded",
		`const c = document.querySelector('.column[data-state="accepted"] article.order[data-order="'+arguments[0]+'"]');
		 return !!c && /done/.test((c.querySelector('.note') || {}).textContent || '') && !document.querySelector('.column[data-state="resolved"] article.order[data-order="'+arguments[0]+'"]')`, id)
	b.Screenshot("reopened")
}

// deskCall sends body (nil: none) to url with token as the bearer credential, decodes the
// answer into out (if not nil) and returns its status.
func deskCall(t *testing.T, method, url, token string, body, out any) int {
	t.Helper()
	var j []byte
	if body != nil {
		var err error
		if j, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	rd := bytes.NewReader(j)
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if method == http.MethodGet && resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, url, resp.Status, err)
		}
	}
	return resp.StatusCode
}

// deskPoints shows a call's three answers for a failure message.
func deskPoints(p *workorders.Points) string {
	if p == nil {
		return "none"
	}
	show := func(b *bool) string {
		if b == nil {
			return "unanswered"
		}
		if *b {
			return "yes"
		}
		return "no"
	}
	return "timeliness " + show(p.Timeliness) + ", quality " + show(p.Quality) + ", satisfaction " + show(p.Satisfaction)
}
