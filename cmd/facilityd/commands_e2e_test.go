package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices/commands"
)

// TestWriteToThePlant: an engineer switches LP-1's circuit 3 through the API; the answer is
// the read-back, the next read shows it, the simulator holds it and the journal records who,
// why, before and after. Points not writable, fire panels, bad values and a device that
// refuses are each answered as the README says.
func TestWriteToThePlant(t *testing.T) {
	cfg, estate := modbusEstate(t, nil)
	cfg.HTTP.Operators = append(cfg.HTTP.Operators, "eng-zhang", "eng-li", "eng-wu") // open mode: known names act
	d := startDaemon(t, cfg)
	waitFor(t, "LP-1 read", 10*time.Second, func() bool {
		var dd api.DeviceDetail
		get(t, d.API+"/api/v1/devices/LP-1", &dd)
		return dd.Comm.String() == "online" && len(dd.Readings) > 0 && dd.Readings[0].Value != nil
	})
	before, _ := pointValue(t, d.API, "LP-1", "circuit_03_command").(bool)

	checkWritable(t, d.API)

	var rec commands.Record
	url := d.API + "/api/v1/devices/LP-1/points/circuit_03_command"
	if st := post(t, url, map[string]any{"value": !before, "reason": "night round", "by": "eng-zhang"}, &rec); st != http.StatusOK {
		t.Fatalf("write: %d %+v", st, rec)
	}
	if rec.Result != commands.ResultConfirmed || rec.ReadBack != !before || rec.Old != before || rec.By != "eng-zhang" {
		t.Errorf("record %+v: want confirmed, read back %v, old %v, by eng-zhang", rec, !before, before)
	}
	if got := pointValue(t, d.API, "LP-1", "circuit_03_command"); got != !before {
		t.Errorf("the next read shows circuit_03_command = %v, want %v", got, !before)
	}
	if v, _ := estate.Value("LP-1", "circuit_03_command"); (v.Number != 0) != !before {
		t.Errorf("the simulator's circuit 3 command is %v, want %v", v.Number, !before)
	}
	var onTime commands.Record
	if st := post(t, d.API+"/api/v1/devices/LP-1/points/on_time", map[string]any{"value": 1075, "reason": "earlier dusk", "by": "eng-zhang"}, &onTime); st != http.StatusOK || onTime.Result != commands.ResultConfirmed {
		t.Errorf("on_time 1075: %d %+v", st, onTime)
	}

	for _, tt := range []struct {
		name, device, point string
		value               any
		want                int
	}{
		{"unknown point", "LP-1", "circuit_99_command", true, http.StatusNotFound},
		{"unknown device", "LP-9", "circuit_01_command", true, http.StatusNotFound},
		{"not writable", "LP-1", "circuit_03_on", true, http.StatusConflict},
		{"fire panel", "FP-1", "zone_01", 0, http.StatusForbidden},
		{"out of range", "LP-1", "on_time", 1440, http.StatusUnprocessableEntity},
		{"wrong type", "LP-1", "circuit_03_command", "bright", http.StatusUnprocessableEntity},
		{"no reason", "LP-1", "circuit_03_command", true, http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]any{"value": tt.value, "reason": "test", "by": "eng-zhang"}
			if tt.name == "no reason" {
				delete(body, "reason")
			}
			var e struct{ Error string }
			if st := post(t, d.API+"/api/v1/devices/"+tt.device+"/points/"+tt.point, body, &e); st != tt.want {
				t.Errorf("status %d (%s), want %d", st, e.Error, tt.want)
			} else if e.Error == "" {
				t.Error("no error message")
			}
		})
	}

	// A device that refuses: the record says failed with the Modbus exception.
	if err := estate.Inject("P-1", "exception", map[string]string{"code": "4"}); err != nil {
		t.Fatal(err)
	}
	var failed commands.Record
	if st := post(t, d.API+"/api/v1/devices/P-1/points/fault_reset", map[string]any{"value": true, "reason": "reset trip", "by": "eng-li"}, &failed); st != http.StatusBadGateway ||
		failed.Result != commands.ResultFailed || failed.Exception != 4 {
		t.Errorf("write refused by the device: %d %+v, want 502 failed with exception 4", st, failed)
	}

	var journal struct{ Commands []commands.Record }
	get(t, d.API+"/api/v1/commands?device=LP-1", &journal)
	if len(journal.Commands) != 2 || journal.Commands[1].Point != "circuit_03_command" || journal.Commands[1].Reason != "night round" ||
		journal.Commands[1].Result != commands.ResultConfirmed || journal.Commands[1].Old != before {
		t.Errorf("journal of LP-1: %+v", journal.Commands)
	}

	// The CLI: facilityd set LP-1 circuit_05_command on --reason ...
	cli := setCommand()
	var out bytes.Buffer
	cli.SetOut(&out)
	cli.SetErr(&out)
	cli.SetArgs([]string{"LP-1", "circuit_05_command", "on", "--reason", "patrol asked", "--by", "eng-wu", "--addr", strings.TrimPrefix(d.API, "http://")})
	if err := cli.Execute(); err != nil || !strings.Contains(out.String(), "confirmed") {
		t.Errorf("facilityd set: %v\n%s", err, out.String())
	}
	if got := pointValue(t, d.API, "LP-1", "circuit_05_command"); got != true {
		t.Errorf("after facilityd set, circuit_05_command = %v", got)
	}
}

// TestMQTTWriteToThePlant: a write to the MQTT lighting controller LC-1 is published on its
// command topic, taken by the controller, and confirmed by the payload it publishes next.
func TestMQTTWriteToThePlant(t *testing.T) {
	cfg, estate := demoEstate(t, nil)
	cfg.HTTP.Operators = append(cfg.HTTP.Operators, "eng-zhang")
	d := startDaemon(t, cfg)
	waitFor(t, "LC-1 read over MQTT", 10*time.Second, func() bool {
		var dd api.DeviceDetail
		get(t, d.API+"/api/v1/devices/LC-1", &dd)
		return dd.Comm.String() == "online" && len(dd.Readings) > 0 && dd.Readings[0].Value != nil
	})
	before, _ := pointValue(t, d.API, "LC-1", "circuit_03_command").(bool)

	var rec commands.Record
	url := d.API + "/api/v1/devices/LC-1/points/circuit_03_command"
	if st := post(t, url, map[string]any{"value": !before, "reason": "car park level 2 dark", "by": "eng-zhang"}, &rec); st != http.StatusOK {
		t.Fatalf("write: %d %+v", st, rec)
	}
	if rec.Result != commands.ResultConfirmed || rec.ReadBack != !before || rec.Old != before {
		t.Errorf("record %+v: want confirmed, read back %v, old %v", rec, !before, before)
	}
	if v, _ := estate.Value("LC-1", "circuit_03_command"); (v.Number != 0) != !before {
		t.Errorf("the controller's circuit 3 command is %v, want %v", v.Number, !before)
	}
	if got := pointValue(t, d.API, "LC-1", "circuit_03_command"); got != !before {
		t.Errorf("the next read shows circuit_03_command = %v, want %v", got, !before)
	}
	var journal struct{ Commands []commands.Record }
	get(t, d.API+"/api/v1/commands?device=LC-1", &journal)
	if len(journal.Commands) != 1 || journal.Commands[0].Result != commands.ResultConfirmed || journal.Commands[0].Reason != "car park level 2 dark" {
		t.Errorf("journal of LC-1: %+v", journal.Commands)
	}
}

// TestWriteWithRoleTokens: where tokens are configured, a patrol token may not write (403
// naming the role needed), an engineer's write is journalled in the token's name, and a body
// naming someone else is refused.
func TestWriteWithRoleTokens(t *testing.T) {
	cfg, _ := modbusEstate(t, nil)
	cfg.HTTP.Tokens = []config.Token{
		{Name: "g1", Role: "patrol", SHA256: api.HashToken("guard-token-0001")},
		{Name: "eng-wu", Role: "engineer", SHA256: api.HashToken("engineer-token-01")},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	write := func(token string, body map[string]any, out any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, d.API+"/api/v1/devices/LP-1/points/circuit_06_command", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s: %v", resp.Status, err)
		}
		return resp.StatusCode
	}
	var refused struct{ Error string }
	if st := write("guard-token-0001", map[string]any{"value": true, "reason": "dark path", "by": "g1"}, &refused); st != http.StatusForbidden || !strings.Contains(refused.Error, "needs role engineer") {
		t.Errorf("patrol token: %d %q, want 403 saying the write needs role engineer", st, refused.Error)
	}
	if st := write("engineer-token-01", map[string]any{"value": true, "reason": "dark path", "by": "admin"}, &refused); st != http.StatusForbidden || !strings.Contains(refused.Error, `may not name "admin"`) {
		t.Errorf("engineer token naming someone else: %d %q, want 403", st, refused.Error)
	}
	var rec commands.Record
	if st := write("engineer-token-01", map[string]any{"value": true, "reason": "dark path"}, &rec); st != http.StatusOK || rec.By != "eng-wu" {
		t.Errorf("engineer token: %d, by %q; want 200 by eng-wu (the token's name)", st, rec.By)
	}
	req, _ := http.NewRequest(http.MethodGet, d.API+"/api/v1/commands?device=LP-1", nil)
	req.Header.Set("Authorization", "Bearer engineer-token-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var journal struct{ Commands []commands.Record }
	if err := json.NewDecoder(resp.Body).Decode(&journal); err != nil {
		t.Fatal(err)
	}
	if len(journal.Commands) != 1 || journal.Commands[0].By != "eng-wu" || journal.Commands[0].Point != "circuit_06_command" {
		t.Errorf("journal: %+v, want one write by eng-wu (the patrol's refused write not journalled)", journal.Commands)
	}
}

// checkWritable: the device page learns what it may offer controls for: LP-1's circuit
// commands (switches) and schedule (numbers within a day), not its read-only points; nothing
// of a fire panel.
func checkWritable(t *testing.T, base string) {
	t.Helper()
	var lp, fp api.DeviceDetail
	get(t, base+"/api/v1/devices/LP-1", &lp)
	get(t, base+"/api/v1/devices/FP-1", &fp)
	writable := map[string]commands.Writable{}
	for _, w := range lp.Writable {
		writable[w.Point] = w
	}
	if c3, on := writable["circuit_03_command"], writable["on_time"]; len(writable) != 26 || c3.Type != "bool" ||
		on.Type != "number" || !on.Integer || on.Min == nil || *on.Min != 0 || on.Max == nil || *on.Max != 1439 {
		t.Errorf("LP-1 writable: %+v; want 24 circuit switches and on/off times 0-1439", lp.Writable)
	}
	if len(fp.Writable) != 0 {
		t.Errorf("FP-1 offers writes: %+v", fp.Writable)
	}
}
