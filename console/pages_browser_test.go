package console_test

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/internal/testenv"
)

// TestPagesInBrowser drives the alarm, patrol and work-order pages in headless Chromium against
// fakeAPI, which follows the routes docs/ describes: sign-in with role tokens, a new alert
// arriving over the event stream without a reload on a 360-pixel phone, a claim and its owner
// on the alarms page, a patrol token refused a shelve, an engineer moving an order, a
// confined-space job's permit on its card, and a repair verified beside its readings.
func TestPagesInBrowser(t *testing.T) {
	f := newFakeAPI()
	f.tokens["guard-secret"] = fakeToken{name: "guard-1", role: "patrol"}
	f.tokens["eng-secret"] = fakeToken{name: "eng-1", role: "engineer"}
	f.tokens["cs-secret"] = fakeToken{name: "cs-liu", role: "customer_service"}
	now := time.Now()
	f.orders = []fakeOrder{
		{ID: "WO-7", State: "new", Category: "repair", Title: "Booster pump P-1 overload", Device: "P-1", Zone: "north", Team: "plumbing",
			Priority: "high", AcceptBy: now.Add(-10 * time.Minute), CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour)},
		{ID: "WO-8", State: "accepted", Category: "household_repair", Title: "Replace the bathroom fan", Zone: "north", Team: "plumbing",
			Priority: "low", AcceptBy: now.Add(time.Hour), CompleteBy: now.Add(5 * time.Hour), CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour),
			Desk: map[string]any{"channel": "hotline_12345", "kind": "paid", "resident": "Mrs Zhang", "home": "3-1-1802",
				"hotline": map[string]any{"case": "SZ-42"}, "answer": map[string]any{"owner": "cs-liu"},
				"visit":  map[string]any{"window": map[string]any{"from": now.Add(time.Hour), "to": now.Add(3 * time.Hour)}, "arrival": "within"},
				"charge": map[string]any{"quoted_fen": 9550, "quoted_at": now}}},
		{ID: "WO-9", State: "resolved", Category: "household_repair", Title: "Kitchen tap drips", Zone: "north", Team: "plumbing",
			Priority: "low", AcceptBy: now.Add(-2 * time.Hour), CreatedAt: now.Add(-3 * time.Hour), UpdatedAt: now.Add(-time.Hour),
			Desk: map[string]any{"channel": "phone", "kind": "routine", "resident": "Mr Li", "home": "5-2-0601", "answer": map[string]any{"owner": "cs-liu", "answered_at": now}}},
		{ID: "WO-10", State: "resolved", Category: "household_repair", Title: "Kitchen tap leaks, 3-1-1802", Zone: "north", Team: "plumbing",
			Priority: "low", AcceptBy: now.Add(-2 * time.Hour), CreatedAt: now.Add(-3 * time.Hour), UpdatedAt: now.Add(-time.Minute)},
		// Tank cleaning under a permit whose gas test refused entry.
		{ID: "WO-11", State: "accepted", Category: "preventive", Title: "Secondary water tank cleaning", Device: "P-2", Zone: "north", Team: "plumbing",
			Priority: "low", AcceptBy: now.Add(-time.Hour), CreatedAt: now.Add(-2 * time.Hour), UpdatedAt: now.Add(-time.Minute), ConfinedSpace: true,
			Permit: map[string]any{"issued_by": "sup-li", "issued_at": now.Add(-10 * time.Minute), "attendant": "tech-wu",
				"readings": map[string]any{"o2_pct": 18.2, "lel_pct": 0, "h2s_mg_m3": 0.5, "co_mg_m3": 3},
				"refused":  []string{"O2 18.2 % is under 19.5 % (GB 8958-2006: not under 19.5 %; over 23.5 % is enriched)"}}},
		// A pump trip repaired, awaiting the supervisor's verification against its readings.
		{ID: "WO-12", State: "resolved", Category: "pump_trip", Title: "Booster pump P-1 tripped", Device: "P-1", Zone: "north", Team: "plumbing",
			Priority: "high", AcceptBy: now.Add(-2 * time.Hour), CreatedAt: now.Add(-3 * time.Hour), UpdatedAt: now.Add(-20 * time.Minute),
			Since: map[string]any{"device": "P-1", "since": now.Add(-20 * time.Minute), "source": "live", "points": []map[string]any{
				{"point": "pressure", "unit": "bar", "values": [][2]any{{now.Add(-19 * time.Minute).UnixMilli(), 3.2}, {now.Add(-10 * time.Minute).UnixMilli(), 3.6},
					{now.Add(-time.Minute).UnixMilli(), 3.4}}}}}},
	}
	f.lamps = []map[string]any{{"id": "LP-1:05", "device": "LP-1", "circuit": 5, "fault": "lamp_failed", "zone": "north"}}
	ts := httptest.NewServer(f.handler())
	t.Cleanup(ts.Close)
	t.Cleanup(func() { close(f.done) })
	b := testenv.NewBrowser(t)
	t.Logf("screenshots in %s", b.Dir())

	// A guard signs in on a phone.
	b.Viewport(360, 740, true)
	b.Navigate(ts.URL + "/")
	b.WaitFor("the sign-in form", `return !!document.getElementById('signin')`)
	b.Type("#token", "wrong")
	b.Click("#signin button")
	b.WaitFor("an unknown token refused with the server's words", `return /not known here: unknown token/.test(document.getElementById('signin-error').textContent)`)
	b.Screenshot("signin-refused")
	b.Exec(nil, `document.getElementById('token').value = ''`)
	b.Type("#token", "guard-secret")
	b.Click("#signin button")
	b.WaitFor("a patrol token lands on the patrol view", `return location.hash === '#/patrol' && document.body.dataset.view === 'patrol'`)
	b.WaitFor("the event stream connected", `return document.getElementById('live').textContent === 'live'`)
	b.WaitFor("no alerts yet", `return !!document.getElementById('all-clear')`)
	var who string
	b.Exec(&who, `return document.getElementById('user').textContent`)
	if who != "guard-1 · patrol" {
		t.Errorf("header shows %q, want the token's name and role", who)
	}

	// A fire alarm: the alert appears through the event stream (the page's own timer would take
	// 30 s while the stream is live), on the same page, most urgent first.
	b.Exec(nil, `window.__noReload = 'still here'`)
	f.raise(alarms.Alarm{ID: "L2-1/door_fault", Device: "L2-1", Zone: "south", Building: "B2", Priority: alarms.PriorityMedium,
		Class: alarms.ClassEquipment, Message: "Elevator L2-1, B2 lobby: door fault"})
	f.raise(alarms.Alarm{ID: "FP-1/fire_zone_alarm/03", Device: "FP-1", Zone: "north", Building: "B1", Priority: alarms.PriorityCritical,
		Class: alarms.ClassLifeSafety, Message: "Fire panel FP-1, B1: fire alarm in zone 3"})
	b.Timeout = 5 * time.Second
	b.WaitFor("the fire alert on the patrol view without a reload, above the door fault",
		`const cards = [...document.querySelectorAll('#alerts article.alert')];
		 return window.__noReload === 'still here' && cards.length === 2 && cards[0].dataset.alarm === 'FP-1/fire_zone_alarm/03'`)
	b.Timeout = 15 * time.Second
	var width struct{ Scroll, Inner int }
	b.Exec(&width, `return {Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth}`)
	if width.Inner != 360 || width.Scroll > 360 {
		t.Errorf("patrol view with alerts at %d px: scrollWidth %d, want no horizontal scrolling at 360", width.Inner, width.Scroll)
	}
	var claimHeight float64
	b.Exec(&claimHeight, `return document.querySelector('article[data-alarm="FP-1/fire_zone_alarm/03"] button.claim').getBoundingClientRect().height`)
	if claimHeight < 48 {
		t.Errorf("the claim button is %.0f px tall; a guard's thumb needs at least 48", claimHeight)
	}
	b.Screenshot("patrol-360-alert")

	// My zone only.
	b.Exec(nil, `const s = document.getElementById('zone'); s.value = 'north'; s.dispatchEvent(new Event('change'))`)
	b.WaitFor("zone north shows only the fire alert", `return document.querySelectorAll('#alerts article.alert').length === 1`)

	// The first tap also turns the sound on; the page must not move under the guard's thumb.
	const cardTop = `return document.querySelector('article[data-alarm="FP-1/fire_zone_alarm/03"]').getBoundingClientRect().top`
	var before, after float64
	b.Exec(&before, cardTop)
	b.Click(`article[data-alarm="FP-1/fire_zone_alarm/03"] button.claim`)
	b.Exec(&after, cardTop)
	if before != after {
		t.Errorf("the first tap moved the alert from y=%.0f to y=%.0f", before, after)
	}
	b.WaitFor("the guard owns the alert", `return /Owner: guard-1/.test(document.querySelector('article[data-alarm="FP-1/fire_zone_alarm/03"] .owner').textContent)`)
	if got := f.did(); !slices.Contains(got, "claim A2 guard-1") {
		t.Errorf("the API saw %v, want a claim of A2 by guard-1", got)
	}
	b.Screenshot("patrol-360-claimed")

	// The night lighting check: the guard ticks off the failed circuit of the zone.
	b.Click(`#lighting li[data-item="LP-1:05"] button`)
	b.WaitFor("circuit 5 checked by guard-1", `return /checked by guard-1/.test(document.querySelector('#lighting li[data-item="LP-1:05"]').textContent)`)

	// The owner shows on the alarms page; a patrol token sees no shelve, and the server refuses
	// one if it is tried anyway.
	b.Viewport(1280, 900, false)
	b.Navigate(ts.URL + "/#/alarms")
	b.WaitFor("the alarms page with the owner", `const c = document.querySelector('article[data-alarm="FP-1/fire_zone_alarm/03"]'); return c && /Owner: guard-1/.test(c.textContent)`)
	var shelveButtons int
	b.Exec(&shelveButtons, `return document.querySelectorAll('button[data-action="shelve"]').length`)
	if shelveButtons != 0 {
		t.Errorf("a patrol token is offered %d shelve buttons", shelveButtons)
	}
	var refused struct {
		Status  int
		Message string
	}
	b.ExecAsync(&refused, `const done = arguments[arguments.length - 1];
		window.facilityd.api('POST', '/api/v1/alarms/' + encodeURIComponent('L2-1/door_fault') + '/shelve', {by: 'guard-1', reason: 'x', duration: '1h'})
			.then(() => done({Status: 200}), (e) => done({Status: e.status, Message: e.message}))`)
	if refused.Status != 403 || refused.Message != `POST /api/v1/alarms/L2-1/door_fault/shelve needs role engineer; token "guard-1" has role patrol` {
		t.Errorf("patrol shelve: %d %q, want 403 naming the role needed", refused.Status, refused.Message)
	}
	b.Click(`article[data-alarm="L2-1/door_fault"] button[data-action="ack"]`)
	b.WaitFor("the door fault acknowledged by guard-1", `const c = document.querySelector('article[data-alarm="L2-1/door_fault"]'); return c && c.dataset.state === 'ACKED' && /acknowledged by guard-1/.test(c.textContent)`)
	b.Screenshot("alarms-patrol")

	// An engineer: shelving a life-safety alarm shows the server's refusal.
	b.Click("#signout")
	b.WaitFor("the sign-in form again", `return !!document.getElementById('signin')`)
	b.Type("#token", "eng-secret")
	b.Click("#signin button")
	b.WaitFor("the engineer on the alarms page", `return !!document.querySelector('article[data-alarm="FP-1/fire_zone_alarm/03"] button[data-action="shelve"]')`)
	b.Click(`article[data-alarm="FP-1/fire_zone_alarm/03"] button[data-action="shelve"]`)
	b.Type(`article[data-alarm="FP-1/fire_zone_alarm/03"] form.shelve input[name="reason"]`, "detector cleaning")
	b.Click(`article[data-alarm="FP-1/fire_zone_alarm/03"] form.shelve button`)
	b.WaitFor("the life-safety refusal in the server's words", `const n = document.querySelector('article[data-alarm="FP-1/fire_zone_alarm/03"] .note.error'); return n && /life safety: it cannot be shelved/.test(n.textContent)`)
	b.Screenshot("alarms-engineer-refused")

	// The work-order board: the late order, accepted by the engineer.
	b.Navigate(ts.URL + "/#/orders")
	b.WaitFor("WO-7 late in the new column", `const c = document.querySelector('.column[data-state="new"] article[data-order="WO-7"]'); return c && /late/.test(c.textContent)`)
	b.Click(`article[data-order="WO-7"] button[data-transition="accept"]`)
	b.WaitFor("WO-7 in the accepted column, due in 4 h", `const c = document.querySelector('.column[data-state="accepted"] article[data-order="WO-7"]'); return c && /in 3 h 5\d min|in 4 h/.test(c.textContent)`)
	if got := f.did(); !slices.Contains(got, "accept WO-7 eng-1") {
		t.Errorf("the API saw %v, want WO-7 accepted by eng-1", got)
	}
	b.Screenshot("orders")

	// The resident's call on three points: late, so WO-10 goes back to engineering.
	b.WaitFor("WO-10's call on three points", `return document.querySelectorAll('article[data-order="WO-10"] input[data-point]').length === 3`)
	b.Click(`article[data-order="WO-10"] input[data-point="timeliness"]`)
	b.Click(`article[data-order="WO-10"] button[data-transition="follow_up"]`)
	b.WaitFor("WO-10 reopened to the accepted column", `return !!document.querySelector('.column[data-state="accepted"] article[data-order="WO-10"]')`)
	if got := f.did(); !slices.Contains(got, "follow_up WO-10 eng-1 timeliness=false quality=true satisfaction=true") {
		t.Errorf("the API saw %v, want WO-10's call with timeliness unsatisfied", got)
	}
	b.Screenshot("orders-follow-up")

	// A resident's paid request taken from the 12345 hotline: its channel, kind, home, case,
	// the first receiver still to answer, the visit and the quote are on its card.
	var desk string
	b.Exec(&desk, `return document.querySelector('article[data-order="WO-8"] .desk').innerText`)
	for _, want := range []string{"12345 hotline · paid, by appointment · 3-1-1802 · Mrs Zhang", "12345 case SZ-42", "cs-liu to tell the resident",
		"arrived within the window", "quoted ¥95.50"} {
		if !strings.Contains(desk, want) {
			t.Errorf("WO-8's card says %q, want %q", desk, want)
		}
	}

	// The tank-cleaning card shows its permit: the issuer, the attendant, the gas test and the
	// refusal; the pump trip shows its readings since the repair and is verified, not called.
	var permitText string
	b.Exec(&permitText, `return document.querySelector('article[data-order="WO-11"] .permit').innerText`)
	for _, want := range []string{"Confined-space permit by sup-li", "attendant tech-wu", "O2 18.2 %, flammable gas 0 % LEL, H2S 0.5 mg/m³, CO 3 mg/m³",
		"entry refused: O2 18.2 % is under 19.5 %"} {
		if !strings.Contains(permitText, want) {
			t.Errorf("WO-11's permit says %q, want %q", permitText, want)
		}
	}
	b.WaitFor("WO-12's readings since the repair", `const c = document.querySelector('article[data-order="WO-12"] .since-repair'); return c && /pressure: 3 readings, 3.2–3.6 bar, latest 3.4/.test(c.innerText)`)
	var verifyCard struct {
		Verify, FollowUp int
		Listed           bool
	}
	b.Exec(&verifyCard, `const c = document.querySelector('article[data-order="WO-12"]');
		return {Verify: c.querySelectorAll('button[data-transition="verify"]').length, FollowUp: c.querySelectorAll('[data-transition="follow_up"]').length,
			Listed: /WO-12/.test(document.getElementById('followups').textContent)}`)
	if verifyCard.Verify != 1 || verifyCard.FollowUp != 0 || verifyCard.Listed {
		t.Errorf("WO-12 awaiting verification: %+v, want a verify button, no follow-up call and not among the calls due", verifyCard)
	}
	b.Screenshot("orders-permit-verify")
	b.Click(`article[data-order="WO-12"] button[data-transition="verify"]`)
	b.WaitFor("WO-12 verified and closed", `return !!document.querySelector('.column[data-state="closed"] article[data-order="WO-12"]')`)
	if got := f.did(); !slices.Contains(got, "verify WO-12 eng-1") {
		t.Errorf("the API saw %v, want WO-12 verified by eng-1", got)
	}

	// Customer service lands on the orders and makes the follow-up call, and is shown none of
	// the technician's moves.
	b.Click("#signout")
	b.WaitFor("the sign-in form for the desk", `return !!document.getElementById('signin')`)
	b.Navigate(ts.URL + "/")
	b.WaitFor("the sign-in form", `return !!document.getElementById('signin')`)
	b.Type("#token", "cs-secret")
	b.Click("#signin button")
	b.WaitFor("the desk on the orders page with WO-9's call to make", `return location.hash === '#/orders' && !!document.querySelector('article[data-order="WO-9"] button[data-transition="follow_up"]')`)
	var techMoves int
	b.Exec(&techMoves, `return document.querySelectorAll('article[data-order="WO-7"] button, article[data-order="WO-8"] button, article[data-order="WO-11"] button').length`)
	if techMoves != 0 {
		t.Errorf("customer service is offered %d of the technician's moves", techMoves)
	}
	b.Click(`article[data-order="WO-9"] button[data-transition="follow_up"]`)
	b.WaitFor("WO-9 followed up", `return !!document.querySelector('.column[data-state="followed_up"] article[data-order="WO-9"]')`)
	if got := f.did(); !slices.Contains(got, "follow_up WO-9 cs-liu timeliness=true quality=true satisfaction=true") {
		t.Errorf("the API saw %v, want WO-9 followed up by cs-liu", got)
	}
	b.Screenshot("orders-customer-service")
}
