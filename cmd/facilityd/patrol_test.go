package main

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/daemon"
)

// The daemon serves the patrol routes, runs tonight's lighting check against the live cache of
// the simulated estate, and the CLI talks to it.
func TestDaemonPatrol(t *testing.T) {
	cfg, _ := demoEstate(t, nil)
	withPatrol(t, cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)

	var cl struct {
		Checklists []struct {
			Date string `json:"date"`
			Site string `json:"site"`
		} `json:"checklists"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(cl.Checklists) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond) // polling a real daemon, not waiting for a timer
		get(t, d.API+"/api/v1/patrol/checklist", &cl)
	}
	if len(cl.Checklists) != 1 || cl.Checklists[0].Date != time.Now().UTC().Format(time.DateOnly) {
		t.Fatalf("checklists %+v, want today's", cl.Checklists)
	}

	addr := strings.TrimPrefix(d.API, "http://")
	var out bytes.Buffer
	root := rootCommand()
	root.SetOut(&out)
	root.SetArgs([]string{"patrol", "--addr", addr})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ID") || !strings.Contains(out.String(), "MESSAGE") {
		t.Errorf("facilityd patrol printed %q", out.String())
	}
	root = rootCommand()
	root.SetArgs([]string{"claim", "A999999", "--by", "g1", "--addr", addr})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), `no such alert "A999999"`) {
		t.Errorf("claim of no alert: err = %v", err)
	}
}

func TestClaimCommand(t *testing.T) {
	cfg := config.Default()
	cfg.Devices = nil
	withPatrol(t, &cfg)
	cfg.Patrol.Guards = append(cfg.Patrol.Guards, config.PatrolGuard{ID: "g2", Handset: "H2"})
	pc, err := daemon.PatrolConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := patrol.New(pc, patrol.Deps{Channels: []patrol.Channel{}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if err := svc.Handle(alarms.Event{Seq: 1, Type: alarms.EventRaised, Notify: true, Alarm: alarms.Alarm{
		ID: "EL-1/entrapment", Site: "estate", Zone: "north", Priority: alarms.PriorityCritical, Class: alarms.ClassLifeSafety,
		Message: "Elevator EL-1: passenger trapped"}}); err != nil {
		t.Fatal(err)
	}
	srv := api.New(devices.NewLatest(nil), nil, nil)
	srv.ServePatrol(svc)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")

	tests := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"g1 claims", []string{"claim", "A1", "--by", "g1"}, "A1 claimed by g1", ""},
		{"g2 is refused, told who owns it", []string{"claim", "A1", "--by", "g2"}, "", "already claimed by g1"},
		{"--by is required", []string{"claim", "A1"}, "", "--by GUARD is required"},
		{"the list shows the owner", []string{"patrol"}, "passenger trapped", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			root := rootCommand()
			root.SetOut(&out)
			root.SetArgs(append(tt.args, "--addr", addr))
			err := root.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output %q lacks %q", out.String(), tt.wantOut)
			}
		})
	}
}
