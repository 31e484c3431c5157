package daemon_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/workorders"
)

// TestDaemonServesWorkOrders: the running daemon keeps an order book, serves the ledger from
// the demo's configuration and routes a resident's report to the zone's team.
func TestDaemonServesWorkOrders(t *testing.T) {
	cfg, _ := demoEstate(t, nil)
	d := startDaemon(t, cfg)
	var ledger struct{ Devices []workorders.LedgerEntry }
	get(t, d.API+"/api/v1/ledger", &ledger)
	found := false
	for _, e := range ledger.Devices {
		found = found || (e.ID == "L1-1" && e.Asset != nil && e.Asset.Contractor == "Otis Service Shanghai")
	}
	if !found {
		t.Fatalf("ledger without L1-1's contractor: %+v", ledger.Devices)
	}
	resp, err := http.Post(d.API+"/api/v1/workorders", "application/json", strings.NewReader(`{"zone":"south","title":"Corridor light out, 5F","by":"cs-liu"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("raise: %s", resp.Status)
	}
	var list api.OrderList
	get(t, d.API+"/api/v1/workorders?team=south-maintenance", &list)
	if len(list.Orders) != 1 || list.Orders[0].Butler != "south-butler" {
		t.Fatalf("orders of the south team: %+v", list.Orders)
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
