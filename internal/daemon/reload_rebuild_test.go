package daemon_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/internal/daemon/daemontest"
	"github.com/facilityd/facilityd/workorders"
)

// reloadable is a daemon started from a configuration file that the test edits and reloads.
type reloadable struct {
	*running
	path string
	cfg  *config.Config // as written last
	// served counts the pipelines that served the API: 1 until a reload rebuilds it.
	served atomic.Int32
	// handled is every (consumer, seq) a journal consumer applied, with how often.
	mu      sync.Mutex
	handled map[string]int
}

// startReloadable writes cfg to a file and runs a daemon of it that reloads that file.
func startReloadable(t *testing.T, cfg *config.Config) *reloadable {
	t.Helper()
	r := &reloadable{path: filepath.Join(t.TempDir(), "facilityd.yaml"), handled: map[string]int{}}
	daemontest.WriteConfig(t, r.path, cfg)
	loaded, err := config.Load(r.path)
	if err != nil {
		t.Fatal(err)
	}
	r.cfg = loaded
	r.running = daemontest.StartWith(t, loaded, daemon.Options{
		ConfigPath: r.path,
		Listening:  func(net.Addr) { r.served.Add(1) },
		AfterHandled: func(consumer string, e alarms.Event) {
			r.mu.Lock()
			r.handled[fmt.Sprintf("%s #%d", consumer, e.Seq)]++
			r.mu.Unlock()
		},
	})
	return r
}

// reloadWith writes the file edited by edit (on a copy of the last one written) and asks the
// daemon to reload it; it returns the answer's status and body.
func (r *reloadable) reloadWith(t *testing.T, edit func(c *config.Config)) (int, string) {
	t.Helper()
	next := *r.cfg
	edit(&next)
	daemontest.WriteConfig(t, r.path, &next)
	resp, err := http.Post(r.API+"/api/v1/reload", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		r.cfg = &next
	}
	return resp.StatusCode, string(body)
}

// deliveredTwice is every journal event that a consumer applied more than once.
func (r *reloadable) deliveredTwice() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var twice []string
	for k, n := range r.handled {
		if n > 1 {
			twice = append(twice, k)
		}
	}
	return twice
}

// alarmByID is the alarm id at the API, and whether there is one.
func alarmByID(t *testing.T, base, id string) (alarms.Alarm, bool) {
	t.Helper()
	var list api.AlarmList
	get(t, base+"/api/v1/alarms?all=true", &list)
	for _, a := range list.Alarms {
		if a.ID == id {
			return a, true
		}
	}
	return alarms.Alarm{}, false
}

func ptrTo[T any](v T) *T { return &v }

// TestReloadRebuildsAlarmRules: a new alarm override in the file raises, after a reload, an
// alarm the old rules did not; the alarm acknowledged before the reload is still acknowledged,
// and no journal consumer is handed an event twice (their cursors survived the rebuild).
func TestReloadRebuildsAlarmRules(t *testing.T) {
	cfg, estate := modbusEstate(t, nil)
	d := startReloadable(t, cfg)
	if err := estate.Inject("P-2", "vfd_fault", map[string]string{"code": "4"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "P-2's VFD fault raised", 15*time.Second, func() bool {
		a, ok := alarmByID(t, d.API, "P-2/vfd_fault")
		return ok && a.Active
	})
	if code := post(t, d.API+"/api/v1/alarms/P-2/vfd_fault/ack", api.ActionRequest{By: "tech-chen", Note: "on my way"}, nil); code != http.StatusOK {
		t.Fatalf("ack P-2/vfd_fault: %d", code)
	}
	if a, ok := alarmByID(t, d.API, "P-2/pit_level_high"); ok && a.Active {
		t.Fatalf("P-2/pit_level_high active under the old rules: %+v", a)
	}

	code, body := d.reloadWith(t, func(c *config.Config) {
		c.Devices = append([]config.Device(nil), c.Devices...)
		for i := range c.Devices {
			if c.Devices[i].ID == "P-2" {
				// Any pit level is above -1 m: the new limit raises the alarm at once.
				c.Devices[i].Alarms = []config.AlarmOverride{{Rule: "pit_level_high", Limit: ptrTo(-1.0), OnDelay: ptrTo(time.Duration(0))}}
			}
		}
	})
	if code != http.StatusOK || !strings.Contains(body, "rebuilt") {
		t.Fatalf("reload with a new override answered %d %s, want 200 rebuilt", code, body)
	}
	waitFor(t, "P-2/pit_level_high raised by the new override", 15*time.Second, func() bool {
		a, ok := alarmByID(t, d.API, "P-2/pit_level_high")
		return ok && a.Active
	})
	if a, _ := alarmByID(t, d.API, "P-2/vfd_fault"); a.State != alarms.StateAcknowledged {
		t.Errorf("P-2/vfd_fault after the rebuild is %s, want ACKED as before it", a.State)
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("daemon stopped with %v", err)
	}
	if twice := d.deliveredTwice(); len(twice) > 0 {
		t.Errorf("events applied twice across the rebuild (a cursor went back): %v", twice)
	}
	if n := d.served.Load(); n != 2 {
		t.Errorf("%d pipelines served the API, want 2 (the first and the rebuilt one)", n)
	}
}

// TestReloadRebuildsPatrolRoster: a guard added to the roster is routed the next alert after
// a reload; the alert open before it keeps its claim.
func TestReloadRebuildsPatrolRoster(t *testing.T) {
	cfg, estate := modbusEstate(t, nil)
	withPatrol(t, cfg)
	d := startReloadable(t, cfg)
	if err := estate.Inject("L1-1", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	first := waitAlert(t, d.API, "L1-1")
	if code := post(t, d.API+"/api/v1/patrol/alerts/"+first.ID+"/claim", map[string]string{"by": "g1"}, nil); code != http.StatusOK {
		t.Fatalf("g1 claims %s: %d", first.ID, code)
	}

	code, body := d.reloadWith(t, func(c *config.Config) {
		c.Patrol.Guards = append(append([]config.PatrolGuard(nil), c.Patrol.Guards...), config.PatrolGuard{ID: "g2", Handset: "H2"})
		c.Patrol.Groups = []config.PatrolGroup{
			{Name: "n", Shift: "night", Zones: []string{"*"}, Guards: []string{"g1", "g2"}},
			{Name: "d", Shift: "day", Zones: []string{"*"}, Guards: []string{"g1", "g2"}},
		}
	})
	if code != http.StatusOK {
		t.Fatalf("reload with g2 in the roster answered %d %s", code, body)
	}
	if err := estate.Inject("L1-2", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	next := waitAlert(t, d.API, "L1-2")
	if !containsString(next.Recipients, "g2") {
		t.Errorf("the alert after the reload went to %v, not to g2 who was added", next.Recipients)
	}
	var got patrol.Alert
	get(t, d.API+"/api/v1/patrol/alerts/"+first.ID, &got)
	if got.Owner != "g1" {
		t.Errorf("the alert claimed before the reload is owned by %q, want g1", got.Owner)
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("daemon stopped with %v", err)
	}
}

// waitAlert waits for the patrol alert of an alarm of device and returns it.
func waitAlert(t *testing.T, base, device string) patrol.Alert {
	t.Helper()
	var found patrol.Alert
	waitFor(t, "a patrol alert for "+device, 20*time.Second, func() bool {
		var list struct{ Alerts []patrol.Alert }
		get(t, base+"/api/v1/patrol/alerts", &list)
		for _, a := range list.Alerts {
			if strings.HasPrefix(a.AlarmID, device+"/") && len(a.Recipients) > 0 {
				found = a
				return true
			}
		}
		return false
	})
	return found
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestReloadRebuildsWorkOrderLimits: after a reload with a new time-limit table, a new order
// gets the new time to accept and an order raised before keeps the deadline it had.
func TestReloadRebuildsWorkOrderLimits(t *testing.T) {
	cfg, _ := modbusEstate(t, nil)
	d := startReloadable(t, cfg)
	raise := func(title string) workorders.Order {
		t.Helper()
		var o workorders.Order
		if code := post(t, d.API+"/api/v1/workorders", map[string]string{"zone": "south", "title": title, "by": "cs-liu"}, &o); code != http.StatusCreated {
			t.Fatalf("raise %q: %d", title, code)
		}
		return o
	}
	before := raise("Corridor light out, 5F")

	const accept = 7*time.Hour + 13*time.Minute
	code, body := d.reloadWith(t, func(c *config.Config) {
		c.WorkOrders.Limits = nil
		for _, l := range workorders.DefaultTimeLimits() {
			c.WorkOrders.Limits = append(c.WorkOrders.Limits, config.TimeLimit{Category: l.Category, Priority: l.Priority, Accept: accept, Complete: 9 * time.Hour, Basis: "test"})
		}
	})
	if code != http.StatusOK {
		t.Fatalf("reload with a new time-limit table answered %d %s", code, body)
	}
	after := raise("Door of the bike store sticks")
	if got := after.AcceptBy.Sub(after.CreatedAt); got != accept {
		t.Errorf("an order raised after the reload is to be accepted within %v, want the new table's %v", got, accept)
	}
	var kept workorders.Order
	get(t, d.API+"/api/v1/workorders/"+before.ID, &kept)
	if !kept.AcceptBy.Equal(before.AcceptBy) {
		t.Errorf("the order raised before the reload is due for acceptance at %v, was %v", kept.AcceptBy, before.AcceptBy)
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("daemon stopped with %v", err)
	}
}

// TestReloadRebuildsHTTPTokens: role tokens added to the file guard the API after a reload, at
// the same address (the listener was handed over).
func TestReloadRebuildsHTTPTokens(t *testing.T) {
	cfg, _ := modbusEstate(t, nil)
	d := startReloadable(t, cfg)
	if got := status(t, d.API+"/api/v1/alarms"); got != http.StatusOK {
		t.Fatalf("open API: GET /api/v1/alarms answered %d", got)
	}
	code, body := d.reloadWith(t, func(c *config.Config) {
		c.HTTP.Tokens = []config.Token{{Name: "ops", Role: "admin", SHA256: api.HashToken("ops-secret")}}
	})
	if code != http.StatusOK {
		t.Fatalf("reload with tokens answered %d %s", code, body)
	}
	if got := status(t, d.API+"/api/v1/alarms"); got != http.StatusUnauthorized {
		t.Errorf("after the reload, GET /api/v1/alarms without a token answered %d, want 401", got)
	}
	req, _ := http.NewRequest(http.MethodGet, d.API+"/api/v1/alarms", nil)
	req.Header.Set("Authorization", "Bearer ops-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after the reload, GET /api/v1/alarms with the new token answered %s, want 200", resp.Status)
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("daemon stopped with %v", err)
	}
}

// TestReloadRefusedFileChangesNothing: a file that a rebuild would fail on is refused before
// anything stops: 422 naming the key at fault, the same pipeline serving, the alarms as before.
func TestReloadRefusedFileChangesNothing(t *testing.T) {
	cfg, _ := modbusEstate(t, nil)
	d := startReloadable(t, cfg)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name string
		edit func(c *config.Config)
		want string // in the answer
	}{
		{name: "http.addr taken by another program", edit: func(c *config.Config) { c.HTTP.Addr = taken.Addr().String() }, want: "http.addr"},
		{name: "an alarm override of a rule the device does not have", edit: func(c *config.Config) {
			c.Devices = append([]config.Device(nil), c.Devices...)
			c.Devices[0].Alarms = []config.AlarmOverride{{Rule: "no_such_rule", Disabled: true}}
		}, want: "no_such_rule"},
		{name: "a token that is not a SHA-256", edit: func(c *config.Config) {
			c.HTTP.Tokens = []config.Token{{Name: "ops", Role: "admin", SHA256: "not-a-hash"}}
		}, want: "http.tokens"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := d.reloadWith(t, tc.edit)
			if code != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) {
				t.Errorf("reload answered %d %s, want 422 naming %s", code, body, tc.want)
			}
			if got := status(t, d.API+"/api/v1/alarms"); got != http.StatusOK {
				t.Errorf("after the refused reload the API answers %d", got)
			}
			if n := d.served.Load(); n != 1 {
				t.Errorf("%d pipelines served the API, want the first alone", n)
			}
		})
	}
}

// TestReloadRestartsPreviousAfterFailedNew: a file whose pipeline fails to build after the
// old one stopped (the alarm journal named at a folder) is answered 422 and the previous
// configuration runs again, with the alarm state it had, at the same address.
func TestReloadRestartsPreviousAfterFailedNew(t *testing.T) {
	cfg, estate := modbusEstate(t, nil)
	d := startReloadable(t, cfg)
	if err := estate.Inject("P-2", "vfd_fault", map[string]string{"code": "4"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "P-2's VFD fault raised", 15*time.Second, func() bool {
		a, ok := alarmByID(t, d.API, "P-2/vfd_fault")
		return ok && a.Active
	})
	folder := t.TempDir()
	code, body := d.reloadWith(t, func(c *config.Config) { c.Alarms.Journal = folder })
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "previous configuration runs again") {
		t.Fatalf("reload with the journal at a folder answered %d %s, want 422 saying the previous configuration runs again", code, body)
	}
	waitFor(t, "the previous configuration polling again", 15*time.Second, func() bool {
		a, ok := alarmByID(t, d.API, "P-2/vfd_fault")
		return ok && a.Active
	})
	if n := d.served.Load(); n != 2 {
		t.Errorf("%d pipelines served the API, want 2 (the first, then the first again)", n)
	}
	var health map[string]any
	resp, err := http.Get(d.API + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz after the failed reload: %s %v", resp.Status, health)
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("daemon stopped with %v", err)
	}
}
