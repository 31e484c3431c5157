package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/commands"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/simulators"
)

// consoleLang is what the console shows in one language, for the browser tests: the same
// steps run once per language, the browser set to it (navigator.language) and the daemon's
// locale with it, so alarm messages are in it too.
type consoleLang struct {
	lang   string
	banner string // a regexp of the open-console banner
	owner  string // a regexp of "Owner: g1"
	dueIn  string // a regexp of a deadline counting down
}

var consoleLangs = []consoleLang{
	{lang: "en", banner: `Open console`, owner: `Owner: g1`, dueIn: `in \d+ (h|min)`},
	{lang: "zh-CN", banner: `开放模式`, owner: `认领人：g1`, dueIn: `\d+ (小时|分钟)后`},
}

// TestConsoleInBrowser drives the console in a real headless Chromium against the demo estate's
// simulators, once per language: the overview shows every device kind, a device page follows a
// fault injected at the simulator without a reload, and the patrol view fits a 360-pixel phone.
// Screenshots are kept in the folder each run logs.
func TestConsoleInBrowser(t *testing.T) {
	for _, l := range consoleLangs {
		t.Run(l.lang, func(t *testing.T) { consoleInBrowser(t, l) })
	}
}

func consoleInBrowser(t *testing.T, l consoleLang) {
	b := testenv.NewBrowserIn(t, l.lang)
	t.Logf("screenshots in %s", b.Dir())
	cfg, estate := demoEstate(t, nil)
	withPatrol(t, cfg) // guard g1 patrols every zone, day and night
	// On a loaded CI machine a device that flaps (comm loss and back) can raise enough alarms
	// to trip flood detection, which folds the fire alarm into a summary; this test is about
	// the console, not flood handling.
	cfg.Alarms.FloodLimit = 1000
	cfg.Locale = l.lang
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	t.Cleanup(func() {
		if t.Failed() { // what the server had, beside what the page showed
			for _, path := range []string{"/api/v1/alarms", "/api/v1/patrol/alerts"} {
				if resp, err := http.Get(d.API + path); err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					t.Logf("GET %s:\n%.3000s", path, body)
				}
			}
		}
	})

	b.Navigate(d.API + "/")
	b.WaitFor("the console's modules loaded", `return !!window.facilityd && window.facilityd.session.known`)
	// The language comes from the browser, with nothing set in the console.
	var shown struct{ Nav, Page, Kept string }
	b.Exec(&shown, `return {Nav: navigator.language, Page: document.documentElement.lang, Kept: localStorage.getItem('facilityd.lang') || ''}`)
	if shown.Nav != l.lang || shown.Page != l.lang || shown.Kept != "" {
		t.Fatalf("browser language %q, console in %q (kept %q), want %s from the browser alone", shown.Nav, shown.Page, shown.Kept, l.lang)
	}
	b.WaitFor("the open-console banner", `const el = document.getElementById('banner'); return !el.hidden && new RegExp(arguments[0]).test(el.textContent)`, l.banner)
	consoleOverviewAndDevice(t, b, d, estate)
	consolePatrolAlarmsOrders(t, b, d, estate, l)
}

// consoleOverviewAndDevice: every device and kind on the overview, and a device page that
// follows a fault injected at the simulator.
func consoleOverviewAndDevice(t *testing.T, b *testenv.Browser, d *running, estate *simulators.Estate) {
	// Every device the API lists, and every kind among them, is on the overview (not every one
	// online: on a loaded machine an MQTT device can miss its staleness limit and flap, which the
	// overview shows as it should).
	var list struct{ Devices []api.DeviceSummary }
	get(t, d.API+"/api/v1/devices", &list)
	var want []string
	for _, k := range devices.Kinds {
		for _, dev := range list.Devices {
			if dev.Kind == k {
				want = append(want, string(k))
				break
			}
		}
	}
	if len(want) < 4 {
		t.Fatalf("the demo estate has kinds %v, want at least pump, elevator, fire_panel and lighting", want)
	}
	for _, kind := range want {
		b.WaitFor("a "+kind+" on the overview, online", `return document.querySelectorAll('#estate .chip.comm-online[data-kind="'+arguments[0]+'"]').length > 0`, kind)
	}
	b.WaitFor(fmt.Sprintf("all %d devices counted", len(list.Devices)),
		`const t = document.querySelector('#comm-tiles .tile b'); return t && t.textContent === String(arguments[0])`, len(list.Devices))
	var kinds []string
	b.Exec(&kinds, `return [...document.querySelectorAll('table.kinds tbody tr')].map(r => r.dataset.kind)`)
	if strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Errorf("devices by kind lists %v, want %v", kinds, want)
	}
	b.Screenshot("overview")

	// The device page, opened by a click as an engineer would.
	b.Click(`#estate .chip[data-device="P-2"]`)
	b.WaitFor("P-2's live values", `return !!document.querySelector('#readings tr[data-point="vfd_fault_code"]')`)
	b.Exec(nil, `window.__noReload = 'still here'`)
	var before string
	b.Exec(&before, `return document.querySelector('#readings tr[data-point="vfd_fault_code"]').textContent`)
	if strings.Contains(before, "drive overheat") {
		t.Fatalf("P-2 shows a VFD fault before one was injected: %q", before)
	}
	if err := estate.Inject("P-2", "vfd_fault", map[string]string{"code": "4"}); err != nil {
		t.Fatal(err)
	}
	b.WaitFor("P-2's VFD fault code 4 labelled 'drive overheat' without a reload",
		`return window.__noReload === 'still here' && /drive overheat/.test(document.querySelector('#readings tr[data-point="vfd_fault_code"]').textContent)`)
	b.WaitFor("a chart of P-2's pressure from the live cache", `const p = document.querySelector('#chart svg.chart path.chart-line'); return p && p.getAttribute('d').length > 10`)
	var unit string
	b.Exec(&unit, `return document.querySelector('#readings tr[data-point="pressure"] .unit').textContent.trim()`)
	if unit != "bar" {
		t.Errorf("P-2 pressure shown with unit %q, want bar", unit)
	}
	b.Screenshot("device-P-2")
	consoleWrite(t, b, d.API)
}

// consolePatrolAlarmsOrders: the patrol view on a phone, a fire alert claimed there, its owner
// on the alarms page, and the work-order board; then the header's switch to the other language.
func consolePatrolAlarmsOrders(t *testing.T, b *testenv.Browser, d *running, estate *simulators.Estate, l consoleLang) {
	// The patrol view on a 360-pixel phone: no horizontal scrolling.
	b.Viewport(360, 740, true)
	b.Navigate(d.API + "/#/patrol")
	b.WaitFor("the patrol view", `return document.body.dataset.view === 'patrol' && !!document.getElementById('alerts') && document.getElementById('alerts').childElementCount > 0`)
	var width struct{ Scroll, Inner int }
	b.Exec(&width, `return {Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth}`)
	if width.Inner != 360 {
		t.Errorf("viewport is %d px wide, want 360", width.Inner)
	}
	if width.Scroll > 360 {
		t.Errorf("patrol view scrolls sideways on a 360 px phone: scrollWidth %d", width.Scroll)
	}
	b.Screenshot("patrol-360")

	// Guard g1 names themself once (the console is open: no tokens), then a fire alarm in zone 3
	// of FP-1: the alert appears on the patrol view without a reload, most urgent first.
	b.Click("#myname")
	b.Type("#myname", "g1\uE004") // and Tab, as a guard leaves the field
	b.WaitFor("the name kept", `return localStorage.getItem('facilityd.name') === 'g1'`)
	b.WaitFor("the event stream connected", `return document.getElementById('live').dataset.state === 'live'`)
	b.Exec(nil, `window.__noReload = 'patrol'`)
	if err := estate.Inject("FP-1", "zone_alarm", map[string]string{"zone": "3"}); err != nil {
		t.Fatal(err)
	}
	const fire = `#alerts article.alert.critical`
	b.WaitFor("the fire alert on the patrol view without a reload",
		`const a = document.querySelector('`+fire+`'); return window.__noReload === 'patrol' && a && /zone 3|03/i.test(a.textContent) && !!a.querySelector('button.claim')`)
	b.Exec(&width, `return {Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth}`)
	if width.Scroll > 360 {
		t.Errorf("patrol view with an alert scrolls sideways at 360 px: scrollWidth %d", width.Scroll)
	}
	b.Screenshot("patrol-360-fire")
	b.Click(fire + ` button.claim`)
	b.WaitFor("g1 owns the fire alert", `return new RegExp(arguments[0]).test(document.querySelector('`+fire+` .owner').textContent)`, l.owner)
	var alarmID string
	b.Exec(&alarmID, `return document.querySelector('`+fire+`').dataset.alarm`)
	b.Screenshot("patrol-360-claimed")

	// The owner shows on the alarms page, beside the alarm.
	b.Viewport(1280, 900, false)
	b.Navigate(d.API + "/#/alarms")
	b.WaitFor("the fire alarm owned by g1 on the alarms page",
		`const c = document.querySelector('article.alarm[data-alarm="'+arguments[0]+'"]'); return c && new RegExp(arguments[1]).test(c.textContent) && c.dataset.state === 'UNACK'`, alarmID, l.owner)
	b.Screenshot("alarms")
	b.Click(`article.alarm[data-alarm="` + alarmID + `"] button[data-action="shelve"]`)
	b.Type(`article.alarm[data-alarm="`+alarmID+`"] form.shelve input[name="reason"]`, "detector cleaning")
	b.Click(`article.alarm[data-alarm="` + alarmID + `"] form.shelve button`)
	b.WaitFor("the engine's refusal to shelve a life-safety alarm, in its words",
		`const n = document.querySelector('article.alarm[data-alarm="'+arguments[0]+'"] .note.error'); return n && /life.safety/i.test(n.textContent)`, alarmID)

	// The overview counts it.
	b.Navigate(d.API + "/")
	b.WaitFor("one critical alarm on the overview", `const c = document.querySelector('#alarm-summary [data-priority="critical"] b'); return c && c.textContent === '1'`)
	b.Screenshot("overview-alarm")

	// The work-order board: P-2's fault raised an order; it is accepted from the board, and
	// the month's report shows beside it.
	b.Navigate(d.API + "/#/orders")
	b.WaitFor("an order for P-2 in the new column", `return !!document.querySelector('.column[data-state="new"] article.order[data-device="P-2"]')`)
	b.WaitFor("the month's report from the server", `return document.querySelectorAll('#report .tile').length >= 8 && !!document.getElementById('report-html')`)
	b.Click(`.column[data-state="new"] article.order[data-device="P-2"] button[data-transition="accept"]`)
	b.WaitFor("the order accepted, its repair deadline counting down", `const c = document.querySelector('.column[data-state="accepted"] article.order[data-device="P-2"]'); return c && new RegExp(arguments[0]).test(c.textContent)`, l.dueIn)
	b.Screenshot("orders")

	// The header's switch: the other language at once, and remembered.
	other := "en"
	if l.lang == "en" {
		other = "zh-CN"
	}
	b.Click("#lang")
	b.WaitFor("the console in "+other+" after the switch", `return document.documentElement.lang === arguments[0] && localStorage.getItem('facilityd.lang') === arguments[0] && !!document.querySelector('#report .tile')`, other)
	b.Screenshot("orders-switched")
}

// TestConsoleSignInWithTokens: with role tokens configured, the console asks for one, acts in
// the token's name, hides what the role may not do, and the server refuses it anyway when tried:
// a guard's patrol token may claim and acknowledge a fire alarm but not shelve anything.
func TestConsoleSignInWithTokens(t *testing.T) {
	b := testenv.NewBrowser(t)
	t.Logf("screenshots in %s", b.Dir())
	cfg, estate := demoEstate(t, nil)
	withPatrol(t, cfg)
	cfg.Alarms.FloodLimit = 1000 // see TestConsoleInBrowser
	cfg.HTTP.Tokens = []config.Token{
		{Name: "g1", Role: "patrol", SHA256: api.HashToken("guard-token")},
		{Name: "eng", Role: "engineer", SHA256: api.HashToken("engineer-token")},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)

	b.Viewport(360, 740, true)
	b.Navigate(d.API + "/")
	b.WaitFor("the sign-in form, not the open banner", `return !!document.getElementById('signin') && document.getElementById('banner').hidden`)
	b.Type("#token", "guard-token")
	b.Click("#signin button")
	b.WaitFor("the guard on the patrol view, signed in as g1", `return location.hash === '#/patrol' && document.getElementById('user').textContent === 'g1 · patrol'`)
	b.WaitFor("the event stream connected with the token", `return document.getElementById('live').dataset.state === 'live'`)
	b.Screenshot("signed-in-patrol")

	if err := estate.Inject("FP-1", "zone_alarm", map[string]string{"zone": "5"}); err != nil {
		t.Fatal(err)
	}
	const fire = `#alerts article.alert.critical`
	b.WaitFor("the fire alert, live", `const a = document.querySelector('`+fire+`'); return a && !!a.querySelector('button.claim')`)
	b.Click(fire + ` button.claim`)
	b.WaitFor("g1 owns it, by the token's name", `return /Owner: g1/.test(document.querySelector('`+fire+` .owner').textContent)`)
	b.Click(fire + ` button[data-action="ack"]`)
	b.WaitFor("acknowledged through the patrol", `const a = document.querySelector('`+fire+`'); return a && /acked/i.test(a.querySelector('.line1').textContent)`)
	var alarmID string
	b.Exec(&alarmID, `return document.querySelector('`+fire+`').dataset.alarm`)

	b.Viewport(1280, 900, false)
	b.Navigate(d.API + "/#/alarms")
	b.WaitFor("the alarms page with g1's acknowledgement", `const c = document.querySelector('article.alarm[data-alarm="'+arguments[0]+'"]'); return c && /acknowledged by g1/.test(c.textContent)`, alarmID)
	var shelves int
	b.Exec(&shelves, `return document.querySelectorAll('button[data-action="shelve"]').length`)
	if shelves != 0 {
		t.Errorf("a patrol token is offered %d shelve buttons", shelves)
	}
	var refused struct {
		Status  int
		Message string
	}
	b.ExecAsync(&refused, `const done = arguments[arguments.length - 1];
		window.facilityd.api('POST', '/api/v1/alarms/P-2/pump_trip/shelve', {by: 'g1', reason: 'try', duration: '1h'})
			.then(() => done({Status: 200}), (e) => done({Status: e.status, Message: e.message}))`)
	if refused.Status != 403 || !strings.Contains(refused.Message, "needs role engineer") {
		t.Errorf("a patrol token's shelve: %d %q, want 403 saying it needs role engineer", refused.Status, refused.Message)
	}
	b.Screenshot("alarms-patrol-token")

	// A patrol token sees LP-1's values but no switch: writes need role engineer.
	b.Navigate(d.API + "/#/device/LP-1")
	b.WaitFor("LP-1's values for the guard", `return !!document.querySelector('#readings tr[data-point="circuit_03_command"]')`)
	var controls int
	b.Exec(&controls, `return document.querySelectorAll('#readings td.control, #readings button.switch').length`)
	if controls != 0 {
		t.Errorf("a patrol token is offered %d write controls on LP-1's page", controls)
	}

	// Without a token the API answers nothing but the sign-in.
	resp, err := http.Get(d.API + "/api/v1/alarms")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/alarms without a token: %s, want 401", resp.Status)
	}
	for _, path := range []string{"/", "/ui/app.js"} {
		resp, err := http.Get(d.API + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s without a token: %s; the console must load to sign in", path, resp.Status)
		}
	}
}

// consoleWrite switches LP-1's circuit 3 on from its device page, as an engineer would: the
// switch beside the point, a confirmation naming the device and the point, a reason; the
// result (confirmed) and the read-back show on the page. A fire panel's page offers no
// controls, and the page reads well on a 360-pixel phone.
func consoleWrite(t *testing.T, b *testenv.Browser, base string) {
	t.Helper()
	const c3 = `#readings tr[data-point="circuit_03_command"]`
	if on, _ := pointValue(t, base, "LP-1", "circuit_03_command").(bool); on { // lit by its schedule: off first
		var rec commands.Record
		if st := post(t, base+"/api/v1/devices/LP-1/points/circuit_03_command", map[string]any{"value": false, "reason": "test", "by": "g1"}, &rec); st != http.StatusOK {
			t.Fatalf("switch circuit 3 off first: %d %+v", st, rec)
		}
	}
	// An open console acts in the name its user typed under "Acting as": an operator of the demo.
	b.Exec(nil, `localStorage.setItem('facilityd.name', 'tech-chen')`)
	b.Navigate(base + "/#/device/LP-1")
	b.WaitFor("LP-1's circuit 3 switch, off", `const s = document.querySelector('`+c3+` button.switch'); return s && s.getAttribute('aria-checked') === 'false'`)
	var read struct{ Switches, Sets int }
	b.Exec(&read, `return {Switches: document.querySelectorAll('#readings button.switch').length, Sets: document.querySelectorAll('#readings button.set').length}`)
	if read.Switches != 24 || read.Sets != 2 {
		t.Errorf("LP-1 offers %d switches and %d Set buttons, want 24 (circuit commands) and 2 (on and off time)", read.Switches, read.Sets)
	}
	b.Click(c3 + ` button.switch`)
	b.WaitFor("the confirmation", `const d = document.getElementById('write'); return d && d.open`)
	var ask string
	b.Exec(&ask, `return document.getElementById('write').textContent`)
	for _, want := range []string{"LP-1", "circuit_03_command"} {
		if !strings.Contains(ask, want) {
			t.Errorf("the confirmation %q does not say %q", ask, want)
		}
	}
	if !strings.Contains(ask, "Switch circuit 03 command on?") && !strings.Contains(ask, "开启 circuit 03 command？") {
		t.Errorf("the confirmation %q does not ask to switch circuit 03 command on", ask)
	}
	// No reason, no write: the dialog says why.
	b.Click(`#write button[type="submit"]`)
	b.WaitFor("a reason asked for", `return document.getElementById('write').open && /reason|原因/i.test(document.querySelector('#write .note').textContent + document.getElementById('write-reason').validationMessage)`)
	b.Type("#write-reason", "night round: north path dark")
	b.Screenshot("device-LP-1-confirm")
	b.Click(`#write button[type="submit"]`)
	b.WaitFor("the write confirmed in the dialog", `const r = document.querySelector('#write .result'); return r && r.dataset.result === 'confirmed'`)
	b.Screenshot("device-LP-1-confirmed")
	b.Click(`#write .actions button`) // Close
	b.WaitFor("the read-back beside the point: switch on, value on, result kept",
		`const row = document.querySelector('`+c3+`'); return !document.getElementById('write').open && row.querySelector('button.switch').getAttribute('aria-checked') === 'true' && /^(on|开)$/.test(row.querySelector('td.value').textContent.trim()) && row.querySelector('.result').dataset.result === 'confirmed'`)
	var by string
	b.Exec(&by, `return document.querySelector('`+c3+` .result').textContent`)
	if !strings.Contains(by, "tech-chen") {
		t.Errorf("the result beside the point %q does not say who wrote (tech-chen, the name typed in the open console)", by)
	}
	if v := pointValue(t, base, "LP-1", "circuit_03_command"); v != true {
		t.Errorf("after the console's write the API reads circuit_03_command = %v", v)
	}
	b.Screenshot("device-LP-1")

	b.Viewport(360, 740, true)
	b.Navigate(base + "/#/device/LP-1")
	b.WaitFor("LP-1 on a phone", `return !!document.querySelector('`+c3+` button.switch')`)
	b.Exec(nil, `document.querySelector('`+c3+`').scrollIntoView({block: 'center'})`)
	b.Screenshot("device-LP-1-360")
	b.Click(`#readings tr[data-point="on_time"] button.set`)
	b.WaitFor("the Set dialog with a number field within the day", `const v = document.getElementById('write-value'); return document.getElementById('write').open && v && v.min === '0' && v.max === '1439'`)
	var width struct{ Scroll, Inner, Dialog int }
	b.Exec(&width, `return {Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth, Dialog: Math.round(document.getElementById('write').getBoundingClientRect().right)}`)
	if width.Scroll > 360 || width.Dialog > 360 {
		t.Errorf("LP-1's page at 360 px: scrollWidth %d, dialog's right edge %d", width.Scroll, width.Dialog)
	}
	b.Screenshot("device-LP-1-360-set")
	b.Click(`#write .actions button`) // Cancel
	b.Viewport(1280, 900, false)

	b.Navigate(base + "/#/device/FP-1")
	b.WaitFor("FP-1's live values", `return document.querySelectorAll('#readings tbody tr').length > 0`)
	b.Exec(&read, `return {Switches: document.querySelectorAll('#readings button.switch').length, Sets: document.querySelectorAll('#readings button.set, #readings td.control').length}`)
	if read.Switches+read.Sets != 0 {
		t.Errorf("the fire panel's page offers controls: %+v", read)
	}
}
