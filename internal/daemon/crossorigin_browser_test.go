package daemon_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/internal/testenv"
)

// evilPage is a page of another site (another loopback port) that tries to acknowledge an
// alarm through the visitor's browser: a fetch that needs no preflight (no-cors, text/plain)
// and a form that posts a JSON-looking body as text/plain.
const evilPage = `<!doctype html><html><body>
<form id="f" method="POST" action="%[1]s/api/v1/alarms/%[2]s/ack" enctype="text/plain">
<input type="hidden" name='{"by": "tech-chen", "note": "' value='"}'></form>
<script>
window.fetchResult = '';
fetch('%[1]s/api/v1/alarms/%[2]s/ack', {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'},
	body: JSON.stringify({by: 'tech-chen', note: 'from another site'})})
	.then(() => { window.fetchResult = 'sent'; }, (e) => { window.fetchResult = 'failed: ' + e; });
</script></body></html>`

// TestCrossOriginPageCannotAct: in the open demo a page of another origin, opened in a browser
// on the gateway, can neither fetch nor post a form against the API: the alarm stays
// unacknowledged. The console itself still acknowledges it.
func TestCrossOriginPageCannotAct(t *testing.T) {
	b := testenv.NewBrowser(t)
	t.Logf("screenshots in %s", b.Dir())
	cfg, estate := demoEstate(t, nil)
	d := startDaemon(t, cfg)
	if err := estate.Inject("L1-1", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	const id = "L1-1/entrapment"
	var detail api.AlarmDetail
	waitFor(t, "the entrapment alarm", 15*time.Second, func() bool {
		get(t, d.API+"/api/v1/alarms/"+id, &detail)
		return detail.State == alarms.StateUnacknowledged
	})

	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, evilPage, d.API, id)
	}))
	defer evil.Close()
	if strings.TrimPrefix(evil.URL, "http://") == strings.TrimPrefix(d.API, "http://") {
		t.Fatal("the other site must be another origin")
	}
	b.Navigate(evil.URL + "/")
	b.WaitFor("the page's fetch settled", `return window.fetchResult !== ''`)
	b.Exec(nil, `document.getElementById('f').submit()`)
	b.WaitFor("the form's answer: refused as cross-origin", `return location.href.indexOf(arguments[0]) === 0 && /cross-origin request refused/.test(document.body.textContent)`, d.API)
	b.Screenshot("cross-origin-form-refused")
	get(t, d.API+"/api/v1/alarms/"+id, &detail)
	if detail.State != alarms.StateUnacknowledged {
		t.Fatalf("after another site's fetch and form: alarm %s, want UNACK; history %+v", detail.State, detail.History)
	}

	// The console, of the API's own origin, still acts.
	b.Navigate(d.API + "/")
	b.WaitFor("the console's modules loaded", `return !!window.facilityd && window.facilityd.session.known`)
	var acked struct {
		Status  int
		Message string
	}
	b.ExecAsync(&acked, `const done = arguments[arguments.length - 1];
		window.facilityd.api('POST', '/api/v1/alarms/'+arguments[0]+'/ack', {by: 'tech-chen', note: 'from the console'})
			.then(() => done({Status: 200}), (e) => done({Status: e.status, Message: e.message}))`, id)
	if acked.Status != 200 {
		t.Fatalf("the console's own ack: %d %s", acked.Status, acked.Message)
	}
	get(t, d.API+"/api/v1/alarms/"+id, &detail)
	if detail.State != alarms.StateAcknowledged || detail.AckedBy != "tech-chen" {
		t.Errorf("after the console's ack: %s by %q, want ACKED by tech-chen", detail.State, detail.AckedBy)
	}
}
