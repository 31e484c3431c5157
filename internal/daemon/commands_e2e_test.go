package daemon_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/devices/commands"
)

// TestCommandRecordOnEventStream: a write through the API reaches the console's event stream
// from the command journal, as the journalled record with its id and result.
func TestCommandRecordOnEventStream(t *testing.T) {
	cfg, _ := modbusEstate(t, nil)
	cfg.HTTP.Operators = append(cfg.HTTP.Operators, "eng-zhang") // open mode: known names act
	d := startDaemon(t, cfg)
	waitFor(t, "LP-1 read", 10*time.Second, func() bool {
		var dev api.DeviceDetail
		get(t, d.API+"/api/v1/devices/LP-1", &dev)
		return len(dev.Readings) > 0
	})

	resp, err := http.Get(d.API + "/api/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := make(chan commands.Record, 4)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		command := false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "event: command":
				command = true
			case command && strings.HasPrefix(line, "data: "):
				var r commands.Record
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &r) == nil {
					events <- r
				}
				command = false
			}
		}
		close(events)
	}()

	var rec commands.Record
	if st := post(t, d.API+"/api/v1/devices/LP-1/points/circuit_03_command", map[string]any{"value": true, "reason": "night round", "by": "eng-zhang"}, &rec); st != http.StatusOK {
		t.Fatalf("write answered %d", st)
	}
	select {
	case got, ok := <-events:
		if !ok {
			t.Fatal("event stream ended before the command event")
		}
		if got.ID != rec.ID || got.Result != rec.Result || got.By != "eng-zhang" || got.Reason != "night round" {
			t.Errorf("event stream carried %+v, want the record %+v", got, rec)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no command event for write %d within 10s", rec.ID)
	}
}
