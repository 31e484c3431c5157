package main

import (
	"context"
	"encoding/json"
	"github.com/facilityd/facilityd/internal/testenv"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/modem"
)

// TestModemPeer runs `facsim --modem-peer gsm-1=PTY` on one end of a socat pseudo-terminal
// pair, drives the modem from the other end as facilityd does, and checks both through the
// control API: the SMS sent shows there, and a reply posted there arrives.
func TestModemPeer(t *testing.T) {
	a, b := testenv.SerialPair(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--shared", "--pumps", "1", "--elevators", "0",
			"--fire-panels", "0", "--lighting", "0", "--control", "127.0.0.1:0", "--modem-peer", "gsm-1=" + b}, &stdout, &stderr)
	}()
	urlRE := regexp.MustCompile(`url=(http://[0-9.:]+)/sim/v1/devices`)
	var base string
	waitUntil(t, "the control API", func() bool {
		m := urlRE.FindStringSubmatch(stderr.String())
		if m != nil {
			base = m[1]
		}
		return m != nil && strings.Contains(stderr.String(), "modem simulator serving")
	})

	m, err := modem.Open(modem.Config{Port: a, CommandTimeout: 3 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- m.Run(runCtx) }()
	if err := m.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Send(ctx, "+8613800138000", "水泵故障 P-1"); err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Sent []struct{ To, Text string }
	}
	getJSON(t, base+"/sim/v1/modems/gsm-1/sent", &sent)
	if len(sent.Sent) != 1 || sent.Sent[0].Text != "水泵故障 P-1" || sent.Sent[0].To != "+8613800138000" {
		t.Errorf("control API shows %+v", sent)
	}
	resp, err := http.Post(base+"/sim/v1/modems/gsm-1/incoming", "application/json", strings.NewReader(`{"from":"+8613800138000","text":"1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case in := <-m.Received():
		if in.Text != "1" {
			t.Errorf("received %+v", in)
		}
	case <-ctx.Done():
		t.Fatal("reply posted to the control API never arrived")
	}
	// The estate's own routes still answer beside the modem's.
	var devs map[string]any
	getJSON(t, base+"/sim/v1/devices", &devs)

	stop()
	if err := <-ran; err != nil {
		t.Errorf("driver Run: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("facsim: %v", err)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready in 10s", what)
		}
		time.Sleep(20 * time.Millisecond) // another process is starting; nothing to step
	}
}
