package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/devices"
)

// sseAlarms collects the alarm events of GET /api/v1/events.
type sseAlarms struct {
	mu     sync.Mutex
	events []alarms.Event
}

func (s *sseAlarms) has(typ alarms.EventType, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if e.Type == typ && e.Alarm.ID == id {
			return true
		}
	}
	return false
}

func subscribe(t *testing.T, url string) *sseAlarms {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out := &sseAlarms{}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		typ := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				typ = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && typ == "alarm":
				var e alarms.Event
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e) == nil {
					out.mu.Lock()
					out.events = append(out.events, e)
					out.mu.Unlock()
				}
			}
		}
	}()
	return out
}

func runCLI(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestEntrapmentEndToEnd: an entrapment injected into the elevator simulator becomes a
// critical life-safety alarm at the API and on the event stream; the CLI acknowledges it and
// cannot shelve it; clearing the fault returns it to normal.
func TestEntrapmentEndToEnd(t *testing.T) {
	cfg, estate := demoEstate(t, nil)
	d := startDaemon(t, cfg)
	stream := subscribe(t, d.API+"/api/v1/events")

	var list struct{ Devices []api.DeviceSummary }
	waitFor(t, "every demo device online", 15*time.Second, func() bool {
		get(t, d.API+"/api/v1/devices", &list)
		for _, dev := range list.Devices {
			if dev.Comm != devices.CommOnline {
				return false
			}
		}
		return len(list.Devices) == len(cfg.Devices)+1 // and the gateway itself
	})
	if err := estate.Inject("L1-1", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	const id = "L1-1/entrapment"
	var al api.AlarmList
	waitFor(t, "entrapment at GET /api/v1/alarms", 10*time.Second, func() bool {
		get(t, d.API+"/api/v1/alarms?priority=critical", &al)
		return len(al.Alarms) == 1 && al.Alarms[0].ID == id
	})
	a := al.Alarms[0]
	if a.Class != alarms.ClassLifeSafety || a.State != alarms.StateUnacknowledged || !a.Active ||
		a.Message != "Elevator L1-1, B1 lobby, car 1, building B1: passengers trapped" {
		t.Fatalf("entrapment alarm: %+v", a)
	}
	waitFor(t, "raised entrapment on GET /api/v1/events", 5*time.Second, func() bool { return stream.has(alarms.EventRaised, id) })

	addr := strings.TrimPrefix(d.API, "http://")
	if _, err := runCLI(t, shelveCommand(), id, "--by", "tech-chen", "--reason", "noisy", "--for", "1h", "--addr", addr); err == nil ||
		err.Error() != `shelve L1-1/entrapment: 409 Conflict: alarm "L1-1/entrapment": not allowed: life-safety alarms cannot be shelved` {
		t.Fatalf("shelving an entrapment: %v", err)
	}
	out, err := runCLI(t, ackCommand(), id, "--by", "tech-chen", "--note", "on my way", "--addr", addr)
	if err != nil || strings.TrimSpace(out) != "L1-1/entrapment: ACKED" {
		t.Fatalf("ack: %q %v", out, err)
	}
	out, err = runCLI(t, alarmsCommand(), "--class", "life_safety", "--addr", addr)
	if err != nil || !strings.Contains(out, "L1-1/entrapment  critical  life_safety  ACKED") {
		t.Fatalf("alarms listing:\n%s %v", out, err)
	}
	waitFor(t, "ack on the event stream", 5*time.Second, func() bool { return stream.has(alarms.EventAcknowledged, id) })

	if err := estate.Clear("L1-1", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	var detail api.AlarmDetail
	waitFor(t, "entrapment back to NORM", 10*time.Second, func() bool {
		get(t, d.API+"/api/v1/alarms/"+id, &detail)
		return detail.State == alarms.StateNormal && !detail.Active
	})
	var types []string
	for _, e := range detail.History {
		types = append(types, string(e.Type)+" by "+e.By)
	}
	if got := strings.Join(types, ", "); got != "raised by system, acked by tech-chen, cleared by system" {
		t.Errorf("journal of the entrapment: %s", got)
	}
	waitFor(t, "cleared on the event stream", 5*time.Second, func() bool { return stream.has(alarms.EventCleared, id) })
	get(t, d.API+"/api/v1/alarms", &al)
	for _, a := range al.Alarms {
		if a.Kind != "lighting" {
			t.Errorf("unexpected alarm in a healthy demo estate: %s %s %s", a.ID, a.State, a.Message)
		}
	}
	// An open event stream does not hold the daemon's shutdown up (the API would give up
	// after five seconds with an error).
	if err := d.Stop(); err != nil {
		t.Fatalf("stop with an event stream open: %v", err)
	}
}
