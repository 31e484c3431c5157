package daemon_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/testenv"
)

// TestClaimLinkInBrowser: a guard's SMS (here through an HTTP SMS gateway) carries a claim
// link; opened in Chromium at a phone's width, on an API that needs role tokens, the page shows
// the alert and claims it in that guard's name with one tap and no sign-in. Opening it claims
// nothing by itself (a messaging app's preview must not).
func TestClaimLinkInBrowser(t *testing.T) {
	b := testenv.NewBrowser(t)
	t.Logf("screenshots in %s", b.Dir())
	var mu sync.Mutex
	texts := map[string][]string{}
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ To, Text string }
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		texts[m.To] = append(texts[m.To], m.Text)
		mu.Unlock()
	}))
	defer gateway.Close()

	cfg, estate := demoEstate(t, nil)
	addr := freeAddr(t)
	cfg.HTTP.Addr = addr
	cfg.HTTP.Tokens = []config.Token{{Name: "ops", Role: "engineer", SHA256: api.HashToken("ops-token")}}
	for i := range cfg.Patrol.Guards {
		cfg.Patrol.Guards[i].Mobile = "+8613900000" + string(rune('0'+i/10)) + string(rune('0'+i%10))
	}
	cfg.Patrol.Phones.SMS.Gateway.URL = config.Secret(gateway.URL + "/send")
	cfg.Patrol.Phones.SMS.Gateway.Body = `{"to": {{json .To}}, "text": {{json .Text}}}`
	cfg.Patrol.Phones.LinkBase = "http://" + addr
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	if err := estate.Inject("L1-1", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`http://\S+/#/patrol/(A\d+)\?claim=\S+`)
	var guard, url, alert string
	waitFor(t, "an SMS with a claim link", 15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, g := range cfg.Patrol.Guards {
			for _, text := range texts[g.Mobile] {
				if m := link.FindStringSubmatch(text); m != nil {
					guard, url, alert = g.ID, m[0], m[1]
					return true
				}
			}
		}
		return false
	})
	owner := func() string {
		req, _ := http.NewRequest("GET", d.API+"/api/v1/patrol/alerts/"+alert, nil)
		req.Header.Set("Authorization", "Bearer ops-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a struct{ Owner string }
		json.NewDecoder(resp.Body).Decode(&a)
		return a.Owner
	}

	b.Viewport(360, 740, true)
	b.Navigate(url)
	b.WaitFor("the alert and the claim button", `const b = document.getElementById('link-claim'); return b && !b.hidden && document.getElementById('link-alert').textContent === arguments[0]`, alert)
	b.Screenshot("claim-link")
	if o := owner(); o != "" {
		t.Fatalf("opening the link claimed the alert for %q", o)
	}
	b.Click("#link-claim")
	b.WaitFor("the claim confirmed", `return /own this alert|已认领/.test(document.getElementById('link-status').textContent)`)
	b.Screenshot("claimed")
	if o := owner(); o != guard {
		t.Errorf("owner after the tap: %q, want %s, the link's guard", o, guard)
	}
	// A forged token is refused on the page.
	b.Navigate(strings.Replace(url, "claim=", "claim=x", 1))
	b.WaitFor("the refusal", `return /not valid|无效/.test(document.querySelector('.claim-link .error') ? document.querySelector('.claim-link .error').textContent : '')`)
}
