package main

import (
	"bytes"
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

// woRig is the demo's order book behind a running API, for the `facilityd wo` tests.
type woRig struct {
	m   *workorders.Manager
	cfg *config.Config
}

// newWORig opens the demo configuration's order book in a temporary folder, adjusted first by
// adjust when it is not nil, and serves its work-order, defect and survey routes.
func newWORig(t *testing.T, opts workorders.Options, adjust func(*config.Config)) (*woRig, func(args ...string) (string, error)) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv(config.EnvName("workorders.store.path"), filepath.Join(dir, "wo.db"))
	t.Setenv(config.EnvName("patrol.store"), filepath.Join(dir, "patrol.db"))
	cfg, err := config.Load("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if adjust != nil {
		adjust(cfg)
	}
	ctx := t.Context()
	m, _, closeStore, err := daemon.OpenWorkOrders(ctx, cfg, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	srv := api.New(devices.NewLatest(nil), prometheus.NewRegistry(), nil)
	api.RegisterWorkOrders(srv, m, nil)
	api.RegisterDefects(srv, m)
	api.RegisterSurveys(srv, m)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	addr := strings.TrimPrefix(hs.URL, "http://")
	// run runs one facilityd command against the rig's API and returns what it printed.
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := rootCommand()
		cmd.SetOut(&out)
		cmd.SetArgs(append(args, "--addr", addr))
		err := cmd.ExecuteContext(ctx)
		return out.String(), err
	}
	return &woRig{m: m, cfg: cfg}, run
}
