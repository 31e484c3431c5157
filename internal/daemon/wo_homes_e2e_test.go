package daemon_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
)

// TestHomeWarrantySMS: on the demo with an SMS gateway for the patrol, a resident whose home's
// warranty ends within the month gets the reminder by SMS on their own phone, once; a resident
// whose warranty ends later gets nothing yet.
func TestHomeWarrantySMS(t *testing.T) {
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
	cfg, _ := demoEstate(t, nil)
	cfg.Patrol.Phones.SMS.Gateway.URL = config.Secret(gateway.URL + "/send")
	cfg.Patrol.Phones.SMS.Gateway.Body = `{"to": {{json .To}}, "text": {{json .Text}}}`
	soon := time.Now().AddDate(0, 0, 20).Format(time.DateOnly)
	later := time.Now().AddDate(0, 3, 0).Format(time.DateOnly)
	cfg.WorkOrders.Homes = []config.Home{
		{Home: "3-1-1802", Zone: "north", Resident: "Ms Zhang", Phone: "13900000001", WarrantyEnd: soon},
		{Home: "3-1-1902", Zone: "north", Resident: "Mr Li", Phone: "13900000002", WarrantyEnd: later},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, cfg)
	waitFor(t, "the warranty SMS to Ms Zhang", 15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(texts["13900000001"]) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if got := texts["13900000001"]; len(got) != 1 || !strings.Contains(got[0], "3-1-1802") || !strings.Contains(got[0], soon) {
		t.Fatalf("texts to Ms Zhang: %q", got)
	}
	if got := texts["13900000002"]; len(got) != 0 {
		t.Fatalf("Mr Li's warranty ends in three months, yet: %q", got)
	}
}
