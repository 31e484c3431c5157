package main

import (
	"context"
	"fmt"
	"github.com/facilityd/facilityd/internal/testenv"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/modem"
	"github.com/facilityd/facilityd/internal/robotfake"
	"github.com/facilityd/facilityd/simulators"
)

// modemLine joins facilityd to a simulated alarm dialer through a socat pseudo-terminal pair,
// as a USB modem's serial port would: it returns facilityd's end and the modem.
func modemLine(t *testing.T) (string, *simulators.Modem) {
	t.Helper()
	a, b := testenv.SerialPair(t)
	port, err := modem.OpenPort(b, 115200)
	if err != nil {
		t.Fatal(err)
	}
	sim := simulators.NewModem("alarm-dialer")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sim.Serve(ctx, port) }()
	t.Cleanup(func() { cancel(); port.Close(); <-done })
	return a, sim
}

// mobileOf is the test roster's number of a guard.
func mobileOf(cfg *config.Config, id string) string {
	for _, g := range cfg.Patrol.Guards {
		if g.ID == id {
			return g.Mobile
		}
	}
	return ""
}

// smsTo lists the texts the modem sent to a number.
func smsTo(sim *simulators.Modem, number string) []string {
	var out []string
	for _, m := range sim.Sent() {
		if m.To == number {
			out = append(out, m.Text)
		}
	}
	return out
}

// TestPhonesEndToEnd runs `facilityd run` on the demo estate with a WeCom robot (a local fake of
// its API) and an alarm dialer (the simulated modem on a pseudo-terminal): an entrapment reaches
// the zone's guards on the robot and by SMS; unclaimed, the supervisor gets the escalation SMS
// and then a call; facilityd killed -9 in the middle sends nothing twice; a guard's SMS reply
// claims it, every ladder stops and the others are told; twelve fire zones are one summary on
// the robot; a SIM pulled out fails the self-test and raises the gateway's alarm.
func TestPhonesEndToEnd(t *testing.T) {
	tty, sim := modemLine(t)
	wecom := robotfake.NewWeCom(t)
	cfg, estate := demoEstateOn(t, nil, "")
	addr := freeAddr(t)
	cfg.HTTP.Addr = addr
	for i := range cfg.Patrol.Guards {
		cfg.Patrol.Guards[i].Mobile = fmt.Sprintf("+86139000000%02d", i)
	}
	// The robot's URL is a secret, never written out: it comes from the environment, as a
	// site would give it.
	env := "FACILITYD_PATROL_PHONES_WECOM_URL=" + wecom.URL()
	cfg.Patrol.Phones.SMS.Modem.Port = tty
	cfg.Patrol.Phones.Call = config.PatrolCall{Enabled: true, Ring: 5 * time.Second}
	cfg.Patrol.Phones.LinkBase = "http://" + addr
	// The default ladder climbs at 60 s; 4 s keeps the test short and the rungs in order.
	cfg.Patrol.Escalation.LifeSafety = config.PatrolTiming{Escalate: 4 * time.Second}
	path := filepath.Join(t.TempDir(), "facilityd.yaml")
	writeConfig(t, path, cfg)
	c := startChild(t, path, addr, env)
	waitFor(t, "elevator L1-1 online and the modem ready", 20*time.Second, func() bool {
		var d struct{ Comm devices.Comm }
		get(t, c.api+"/api/v1/devices/L1-1", &d)
		return d.Comm == devices.CommOnline && strings.Contains(c.log.String(), "patrol modem ready")
	})

	if err := estate.Inject("L1-1", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	var alert patrol.Alert
	waitFor(t, "the patrol alert of the entrapment", 10*time.Second, func() bool {
		for _, a := range alertsFor(t, c.api, "L1-1/entrapment") {
			alert = a
			return true
		}
		return false
	})
	sup := alert.Supervisor
	guards := slices.DeleteFunc(slices.Clone(alert.Recipients), func(id string) bool { return id == sup })
	if len(guards) == 0 || sup == "" || alert.Fallback == "" {
		t.Fatalf("alert %s reaches %v, supervisor %q, fallback %q", alert.ID, alert.Recipients, sup, alert.Fallback)
	}
	waitFor(t, "the alert on the robot, mentioning the guards", 10*time.Second, func() bool {
		for _, m := range wecom.Messages() {
			if strings.Contains(m.Text, alert.ID) && slices.Contains(m.Mentions, mobileOf(cfg, guards[0])) && m.AtAll {
				return true
			}
		}
		return false
	})
	waitFor(t, "the alert by SMS to every guard of the zone", 10*time.Second, func() bool {
		for _, g := range alert.Recipients {
			if len(smsTo(sim, mobileOf(cfg, g))) == 0 {
				return false
			}
		}
		return true
	})
	// Nobody claims: the escalation SMS to the supervisor at 4 s. facilityd is killed -9 just
	// then, and started again.
	waitFor(t, "the escalation SMS to the supervisor", 15*time.Second, func() bool { return len(smsTo(sim, mobileOf(cfg, sup))) >= 2 })
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
	before := len(sim.Sent())
	c = startChild(t, path, addr, env)
	waitFor(t, "the call to the supervisor", 20*time.Second, func() bool {
		for _, call := range sim.Calls() {
			if call.To == mobileOf(cfg, sup) {
				return true
			}
		}
		return false
	})

	// A guard of the zone replies "1": the alert is that guard's, and everyone told hears it.
	claimer := guards[0]
	if err := sim.Deliver(mobileOf(cfg, claimer), "1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the claim by SMS reply", 15*time.Second, func() bool {
		a := alertsFor(t, c.api, "L1-1/entrapment")
		return len(a) > 0 && a[0].Owner == claimer
	})
	waitFor(t, "the claim told to the supervisor by SMS", 10*time.Second, func() bool {
		for _, text := range smsTo(sim, mobileOf(cfg, sup)) {
			if strings.Contains(text, "claimed it") || strings.Contains(text, "认领") && !strings.Contains(text, "回复 1") {
				return true
			}
		}
		return false
	})
	// The ladder stops: no call to the fallback at 8 s, however long we wait past it.
	time.Sleep(6 * time.Second)
	for _, call := range sim.Calls() {
		if call.To == mobileOf(cfg, alert.Fallback) {
			t.Errorf("the fallback was called after the claim")
		}
	}
	// Nothing was sent twice, across the kill.
	seen := map[string]int{}
	for _, m := range sim.Sent() {
		seen[m.To+"\x00"+m.Text]++
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("sent %d times: %q", n, k)
		}
	}
	if calls := sim.Calls(); len(calls) != 1 {
		t.Errorf("%d calls, want the supervisor's one: %+v", len(calls), calls)
	}
	t.Logf("%d SMS before the kill, %d in all", before, len(sim.Sent()))

	// Twelve fire zones at once: one summary (or two: the first may leave alone) on the robot,
	// naming every zone, and the robot never refuses a message for its rate.
	n := len(wecom.Messages())
	for z := 1; z <= 12; z++ {
		if err := estate.Inject("FP-1", "zone_alarm", map[string]string{"zone": fmt.Sprint(z)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every fire zone's alert named on the robot", 20*time.Second, func() bool {
		var text strings.Builder
		for _, m := range wecom.Messages()[n:] {
			text.WriteString(m.Text)
		}
		named := map[string]bool{}
		for z := 1; z <= 12; z++ {
			for _, a := range alertsFor(t, c.api, fmt.Sprintf("FP-1/fire_zone_alarm/%02d", z)) {
				if strings.Contains(text.String(), a.ID+" ") || strings.Contains(text.String(), a.ID+"\n") {
					named[fmt.Sprint(z)] = true
				}
			}
		}
		return len(named) == 12
	})
	if got := len(wecom.Messages()) - n; got > 4 {
		t.Errorf("%d robot messages for twelve fire zones, want a summary", got)
	}
	if r := wecom.Refusals(); len(r) != 0 {
		t.Errorf("the robot refused %d messages: %+v", len(r), r)
	}

	// The SIM is pulled: the self-test fails and the gateway raises its alarm.
	sim.SetSIM(false)
	resp, err := http.Post(c.api+"/api/v1/patrol/self-test", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, "the gateway's alarm_channel_failed alarm", 30*time.Second, func() bool {
		var list struct{ Alarms []alarms.Alarm }
		get(t, c.api+"/api/v1/alarms", &list)
		for _, a := range list.Alarms {
			if a.Device == "facilityd" && a.Rule == "alarm_channel_failed" && a.Active {
				return true
			}
		}
		return false
	})
}
