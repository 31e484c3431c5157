package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/devices"
)

// alarmServer is the API over a real engine with a stepped clock, an elevator in entrapment
// and a tripped pump.
func alarmServer(t *testing.T) *Server {
	t.Helper()
	lift, _ := devices.Builtin("elevator")
	pump, _ := devices.Builtin("pump")
	l1 := &devices.Device{ID: "L1-1", Kind: devices.KindElevator, Site: "s", Building: "B1", Zone: "north", Profile: lift}
	p1 := &devices.Device{ID: "P-1", Kind: devices.KindPump, Site: "s", Building: "B1", Zone: "north", Profile: pump}
	j, err := alarms.OpenJournal(t.TempDir() + "/alarms.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	now := time.Unix(0, 0)
	eng, err := alarms.New(alarms.Config{Location: time.UTC}, []*devices.Device{l1, p1}, j, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	snap := func(d *devices.Device, kv map[string]float64) *devices.Snapshot {
		s := &devices.Snapshot{Device: d, Time: now, Comm: devices.CommOnline, Values: make([]devices.Value, len(d.Profile.Points))}
		for k, v := range kv {
			_, i, _ := d.Profile.Point(k)
			s.Values[i].Number = v
		}
		return s
	}
	eng.Observe(snap(l1, map[string]float64{"fault_code": 21}))
	eng.Observe(snap(p1, map[string]float64{"fault": 1}))
	s := New(devices.NewLatest(nil), prometheus.NewRegistry(), nil)
	s.ServeAlarms(eng)
	return s
}

func send(t *testing.T, h http.Handler, method, url, body string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newTestRequest(method, url, strings.NewReader(body)))
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

func errorOf(t *testing.T, body string) string {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Fatalf("not a JSON error: %s", body)
	}
	return e.Error
}

func TestAlarmRoutesErrors(t *testing.T) {
	t.Parallel()
	s := alarmServer(t)
	cases := []struct {
		name, method, url, body string
		code                    int
		want                    string
	}{
		{"unknown alarm", "GET", "/api/v1/alarms/L9-9/entrapment", "", 404, `alarm "L9-9/entrapment": unknown alarm; GET /api/v1/alarms lists them`},
		{"ack unknown alarm", "POST", "/api/v1/alarms/L9-9/entrapment/ack", `{"by":"wang"}`, 404, `alarm "L9-9/entrapment": unknown alarm; GET /api/v1/alarms lists them`},
		{"shelve life safety", "POST", "/api/v1/alarms/L1-1/entrapment/shelve", `{"by":"wang","reason":"noisy","duration":"2h"}`, 409, `alarm "L1-1/entrapment": not allowed: life-safety alarms cannot be shelved`},
		{"shelve without reason", "POST", "/api/v1/alarms/P-1/pump_trip/shelve", `{"by":"wang","duration":"2h"}`, 400, `"reason" is required to shelve an alarm`},
		{"shelve bad duration", "POST", "/api/v1/alarms/P-1/pump_trip/shelve", `{"by":"wang","reason":"r","duration":"2 hours"}`, 400, `"duration": "2 hours" is not a duration (e.g. 30m, 2h)`},
		{"shelve too long", "POST", "/api/v1/alarms/P-1/pump_trip/shelve", `{"by":"wang","reason":"r","duration":"9h"}`, 400, `alarm "P-1/pump_trip": invalid request: shelve duration 9h0m0s must be more than 0 and at most 8h0m0s (alarms.shelve_max)`},
		{"unknown field", "POST", "/api/v1/alarms/P-1/pump_trip/ack", `{"by":"wang","who":"me"}`, 400, `body: json: unknown field "who"`},
		{"no body", "POST", "/api/v1/alarms/P-1/pump_trip/ack", ``, 400, `body: a JSON object is required`},
		{"body too big", "POST", "/api/v1/alarms/P-1/pump_trip/ack", `{"by":"wang","note":"` + strings.Repeat("x", 20000) + `"}`, 413, `body larger than 16384 bytes`},
		{"no by", "POST", "/api/v1/alarms/P-1/pump_trip/ack", `{"note":"x"}`, 400, `"by" is required: who acts`},
		{"unknown action", "POST", "/api/v1/alarms/P-1/pump_trip/silence", `{"by":"x"}`, 404, `no such action "silence"; actions are ack, shelve, unshelve`},
		{"unshelve not shelved", "POST", "/api/v1/alarms/P-1/pump_trip/unshelve", `{"by":"x"}`, 409, `alarm "P-1/pump_trip": not allowed: it is not shelved`},
		{"bad state filter", "GET", "/api/v1/alarms?state=RED", "", 400, `state: "RED" is not one of NORM, UNACK, ACKED, RTNUN`},
		{"unknown filter", "GET", "/api/v1/alarms?colour=red", "", 400, `unknown filter "colour"; filters are state, priority, class, device, zone, active, shelved, all`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := send(t, s, tc.method, tc.url, tc.body)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, body)
			}
			if got := errorOf(t, body); got != tc.want {
				t.Errorf("error %q\n want %q", got, tc.want)
			}
		})
	}
}

func TestAlarmRoutes(t *testing.T) {
	t.Parallel()
	s := alarmServer(t)
	var list AlarmList
	do(t, s, "GET", "/api/v1/alarms", &list)
	if len(list.Alarms) != 2 || list.Alarms[0].ID != "L1-1/entrapment" || list.Alarms[1].ID != "P-1/pump_trip" {
		t.Fatalf("list, most urgent first: %+v", list.Alarms)
	}
	do(t, s, "GET", "/api/v1/alarms?priority=critical&class=life_safety&active=true", &list)
	if len(list.Alarms) != 1 || list.Alarms[0].Priority != alarms.PriorityCritical {
		t.Fatalf("filtered: %+v", list.Alarms)
	}
	code, body := send(t, s, "POST", "/api/v1/alarms/L1-1/entrapment/ack", `{"by":"Chen Hao","note":"on my way"}`)
	if code != 200 || !strings.Contains(body, `"state": "ACKED"`) || !strings.Contains(body, `"acked_by": "Chen Hao"`) {
		t.Fatalf("ack: %d %s", code, body)
	}
	code, body = send(t, s, "POST", "/api/v1/alarms/L1-1/entrapment/ack", `{"by":"Chen Hao"}`)
	if code != 409 || errorOf(t, body) != `alarm "L1-1/entrapment": not allowed: it is ACKED, there is nothing to acknowledge` {
		t.Fatalf("second ack: %d %s", code, body)
	}
	code, body = send(t, s, "POST", "/api/v1/alarms/P-1/pump_trip/shelve", `{"by":"Li Wei","reason":"contractor on site","duration":"2h"}`)
	if code != 200 || !strings.Contains(body, `"shelved": true`) {
		t.Fatalf("shelve: %d %s", code, body)
	}
	do(t, s, "GET", "/api/v1/alarms?shelved=true", &list)
	if len(list.Alarms) != 1 || list.Alarms[0].ShelvedBy != "Li Wei" {
		t.Fatalf("shelved filter: %+v", list.Alarms)
	}
	var d AlarmDetail
	do(t, s, "GET", "/api/v1/alarms/L1-1/entrapment", &d)
	if len(d.History) != 2 || d.History[0].Type != alarms.EventRaised || d.History[1].Type != alarms.EventAcknowledged || d.History[1].Reason != "on my way" {
		t.Fatalf("history: %+v", d.History)
	}
}

func TestEventsHub(t *testing.T) {
	t.Parallel()
	hub := NewHub(8, 4)
	srv := httptest.NewServer(hub)
	defer srv.Close()
	hub.Publish("alarm", map[string]string{"id": "before"})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	read := func(lastID string) (*bufio.Reader, func()) {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("content type %q", ct)
		}
		return bufio.NewReader(resp.Body), func() { resp.Body.Close() }
	}
	next := func(r *bufio.Reader) string {
		var ev []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			line = strings.TrimRight(line, "\n")
			if line == "" {
				if len(ev) > 0 {
					return strings.Join(ev, "|")
				}
				continue
			}
			if !strings.HasPrefix(line, ":") {
				ev = append(ev, line)
			}
		}
	}
	r, done := read("")
	for hub.Clients() == 0 {
		time.Sleep(time.Millisecond)
	}
	hub.Publish("alarm", map[string]string{"id": "A"})
	if got := next(r); got != `id: 2|event: alarm|data: {"id":"A"}` {
		t.Fatalf("live event: %s", got)
	}
	done()
	// Resume after event 1: event 2 comes again from the ring.
	r, done = read("1")
	defer done()
	if got := next(r); got != `id: 2|event: alarm|data: {"id":"A"}` {
		t.Fatalf("resumed: %s", got)
	}
}

func TestEventsHubDropsSlowClient(t *testing.T) {
	t.Parallel()
	hub := NewHub(0, 2)
	c, _ := hub.subscribe(0, false)
	for i := 0; i < 3; i++ {
		hub.Publish("alarm", i) // never blocks, though nobody reads
	}
	if hub.Clients() != 0 {
		t.Fatal("slow client not dropped")
	}
	n := 0
	for range c.ch {
		n++
	}
	if n != 2 {
		t.Fatalf("slow client got %d buffered events before being dropped, want 2", n)
	}
}
