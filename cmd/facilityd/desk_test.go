package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/workorders"
)

// TestDefectsAndSurveysCLI files a handover defect, logs a contact and lists it for the repair office with
// `facilityd wo defect`, then runs the year-end survey and reads the year's satisfaction with
// `facilityd wo survey`, against a running API on the demo's configuration.
func TestDefectsAndSurveysCLI(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(config.EnvName("workorders.store.path"), filepath.Join(dir, "wo.db"))
	t.Setenv(config.EnvName("patrol.store"), filepath.Join(dir, "patrol.db"))
	cfg, err := config.Load("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		cfg.WorkOrders.Homes = append(cfg.WorkOrders.Homes, config.Home{Home: fmt.Sprintf("3-1-%d802", i), Zone: "north"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, _, closeStore, err := daemon.OpenWorkOrders(ctx, cfg, slog.New(slog.DiscardHandler), workorders.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	srv := api.New(devices.NewLatest(nil), prometheus.NewRegistry(), nil)
	api.RegisterDefects(srv, m)
	api.RegisterSurveys(srv, m)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	addr := strings.TrimPrefix(hs.URL, "http://")
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := rootCommand()
		cmd.SetOut(&out)
		cmd.SetArgs(append(args, "--addr", addr))
		err := cmd.ExecuteContext(ctx)
		return out.String(), err
	}
	out, err := run("wo", "defect", "add", "--home", "3-1-1802", "--title", "bathroom tiles cracked", "--by", "cs-liu")
	if err != nil || !strings.HasPrefix(out, "DF-1\t3-1-1802\tcs-liu\topen") {
		t.Fatalf("defect add: %v %q", err, out)
	}
	if out, err = run("wo", "defect", "log", "DF-1", "--by", "cs-liu", "--note", "the repair office comes Friday", "--status", "repair_office"); err != nil || !strings.Contains(out, "repair_office") {
		t.Fatalf("defect log: %v %q", err, out)
	}
	if _, err = run("wo", "defect", "log", "DF-1", "--by", "north-butler", "--note", "called"); err == nil || !strings.Contains(err.Error(), "owned by cs-liu") {
		t.Fatalf("another person's entry: %v", err)
	}
	if out, err = run("wo", "defect", "meeting"); err != nil || !strings.Contains(out, "DF-1") || !strings.Contains(out, "the repair office comes Friday") {
		t.Fatalf("meeting list: %v\n%s", err, out)
	}
	if out, err = run("wo", "survey", "start", "--kind", "satisfaction", "--year", "2026", "--by", "cs-liu"); err != nil || !strings.HasPrefix(out, "2026-satisfaction\n") {
		t.Fatalf("survey start: %v %q", err, out)
	}
	for _, h := range []string{"3-1-1802", "3-1-2802", "3-1-3802"} {
		if _, err := run("wo", "survey", "answer", "2026-satisfaction", "--home", h, "--satisfied", "yes", "--by", "cs-liu"); err != nil {
			t.Fatalf("answer of %s: %v", h, err)
		}
	}
	if out, err = run("wo", "survey", "summary", "2026"); err != nil || !strings.Contains(out, "3/3 (100.0%); target 80%: qualifies") {
		t.Fatalf("survey summary: %v\n%s", err, out)
	}
}
