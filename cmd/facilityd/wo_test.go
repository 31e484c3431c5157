package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/workorders"
)

// TestWorkOrderCLI raises and moves an order with `facilityd wo` against a running API, then
// writes the month's report from the same order book with `facilityd report`.
func TestWorkOrderCLI(t *testing.T) {
	dir := t.TempDir()
	demo, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "facilityd.yaml")
	store := filepath.Join(dir, "wo.db")
	os.WriteFile(cfgPath, demo, 0o644)
	t.Setenv(config.EnvName("workorders.store.path"), store)
	t.Setenv(config.EnvName("patrol.store"), filepath.Join(dir, "patrol.db"))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, _, closeStore, err := daemon.OpenWorkOrders(ctx, cfg, slog.New(slog.DiscardHandler), workorders.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	srv := api.New(devices.NewLatest(nil), prometheus.NewRegistry(), nil)
	api.RegisterWorkOrders(srv, m, nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	addr := strings.TrimPrefix(hs.URL, "http://")

	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := rootCommand()
		cmd.SetOut(&out)
		cmd.SetArgs(args)
		err := cmd.ExecuteContext(ctx)
		return out.String(), err
	}
	out, err := run("wo", "raise", "--addr", addr, "--title", "Tap leaks in 3-1802", "--by", "cs-liu", "--zone", "north")
	if err != nil || !strings.Contains(out, "WO-1") || !strings.Contains(out, "household_repair") {
		t.Fatalf("raise: %v\n%s", err, out)
	}
	if _, err = run("wo", "assign", "WO-1", "--addr", addr, "--by", "engineering-supervisor", "--to", "tech-south-1"); err == nil || !strings.Contains(err.Error(), "give the reason for the override") {
		t.Fatalf("assign across teams without a reason: %v", err)
	}
	if _, err = run("wo", "assign", "WO-1", "--addr", addr, "--by", "engineering-supervisor", "--to", "tech-north-2"); err != nil {
		t.Fatalf("assign: %v", err)
	}
	if out, err = run("wo", "accept", "WO-1", "--addr", addr, "--by", "tech-north-2"); err != nil || out != "WO-1 is accepted\n" {
		t.Fatalf("accept: %v %q", err, out)
	}
	if _, err = run("wo", "arrive", "WO-1", "--addr", addr, "--by", "tech-north-2"); err != nil || mustGet(t, m, "WO-1").ArrivedAt.IsZero() {
		t.Fatalf("arrive: %v", err)
	}
	if _, err = run("wo", "resolve", "WO-1", "--addr", addr, "--by", "tech-chen"); err == nil || !strings.Contains(err.Error(), "409 Conflict: order WO-1 is accepted; resolve needs in_progress") {
		t.Fatalf("resolve before start: %v", err)
	}
	for _, a := range []string{"start", "resolve"} {
		if _, err := run("wo", a, "WO-1", "--addr", addr, "--by", "tech-chen"); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	if out, err = run("wo", "follow-up", "WO-1", "--addr", addr, "--by", "cs-liu", "--points", "yes,no,no", "--note", "still drips"); err != nil || out != "WO-1 is accepted\n" {
		t.Fatalf("unsatisfied follow-up: %v %q", err, out)
	}
	if out, err = run("wo", "list", "--addr", addr, "--state", "accepted"); err != nil || !strings.Contains(out, "WO-1") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err = run("wo", "show", "WO-1", "--addr", addr); err != nil || !strings.Contains(out, "still drips") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	created := mustGet(t, m, "WO-1").CreatedAt
	month := created.In(m.Policy().Calendar.Location()).Format("2006-01")
	// The patrol's records of the month go into the report's patrol section.
	ps, err := patrol.OpenStore(cfg.Patrol.Store)
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.Commit(0, patrol.Alert{ID: "A1", Seq: 1, Priority: alarms.PriorityHigh, CreatedAt: created, SentAt: created, ClaimedAt: created.Add(90 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	ps.Close()
	if out, err = run("report", "--config", cfgPath, "--month", month, "--out", filepath.Join(dir, "out")); err != nil || !strings.Contains(out, "1 orders") {
		t.Fatalf("report: %v\n%s", err, out)
	}
	for _, ext := range []string{".md", ".csv", ".html"} {
		b, err := os.ReadFile(filepath.Join(dir, "out", "workorders-"+month+ext))
		if err != nil || !strings.Contains(string(b), "household_repair") || !strings.Contains(string(b), "tech-north-2") {
			t.Fatalf("report%s: %v", ext, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "out", "workorders-"+month+".md"))
	if !strings.Contains(string(md), "| time to claim, median | 1m30s |") {
		t.Fatalf("no patrol section in the report:\n%s", md)
	}
	year := month[:4]
	if out, err = run("report", "--config", cfgPath, "--month", year, "--out", filepath.Join(dir, "out")); err != nil || !strings.Contains(out, "1 orders in "+year) {
		t.Fatalf("yearly report: %v\n%s", err, out)
	}
}

func mustGet(t *testing.T, m *workorders.Manager, id string) *workorders.Order {
	t.Helper()
	o, err := m.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestWorkOrderCLIVerifyAndPermit: on the demo, a pump trip repaired through `facilityd wo`
// waits for the supervisor's `wo verify`, which closes it (anyone else is refused); the sump
// pit's test run starts only after `wo permit` records a passing gas test.
func TestWorkOrderCLIVerifyAndPermit(t *testing.T) {
	rig, run := newWORig(t, workorders.Options{}, nil)
	m, ctx := rig.m, t.Context()

	trip, err := m.HandleAlarm(ctx, alarms.Event{Type: alarms.EventRaised, At: time.Now(),
		Alarm: alarms.Alarm{ID: "P-1/pump_trip", Device: "P-1", Kind: "pump", Zone: "north", Rule: "pump_trip", Class: alarms.ClassEquipment, Priority: alarms.PriorityHigh}})
	if err != nil || trip == nil {
		t.Fatalf("pump trip: %v %v", trip, err)
	}
	for _, a := range []string{"accept", "start", "resolve"} {
		if _, err := run("wo", a, trip.ID, "--by", "tech-north-1"); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	if out, err := run("wo", "show", trip.ID); err != nil || !strings.Contains(out, "awaits the supervisor's verify") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if _, err := run("wo", "verify", trip.ID, "--by", "tech-north-1"); err == nil || !strings.Contains(err.Error(), "is not its supervisor (engineering-supervisor)") {
		t.Fatalf("verify by the technician: %v", err)
	}
	if out, err := run("wo", "verify", trip.ID, "--by", "engineering-supervisor", "--note", "pressure steady"); err != nil || out != trip.ID+" is closed\n" {
		t.Fatalf("verify: %v %q", err, out)
	}
	if got := mustGet(t, m, trip.ID); got.FollowUpDue.IsZero() != true || got.History[len(got.History)-1].Note != "pressure steady" {
		t.Fatalf("verified order: follow-up due %v, history %+v", got.FollowUpDue, got.History)
	}

	job, err := m.Schedule(ctx, workorders.ScheduleRequest{Plan: "drainage-pump-test", Device: "P-2", At: time.Now().Add(time.Hour), By: "eng"})
	if err != nil || !job.ConfinedSpace {
		t.Fatalf("sump-pit job %+v: %v", job, err)
	}
	run("wo", "accept", job.ID, "--by", "tech-north-1")
	if _, err := run("wo", "start", job.ID, "--by", "tech-north-1"); err == nil || !strings.Contains(err.Error(), "needs a permit first") {
		t.Fatalf("start without a permit: %v", err)
	}
	if _, err := run("wo", "permit", job.ID, "--by", "engineering-supervisor", "--attendant", "tech-north-2", "--o2", "20.9", "--lel", "0"); err == nil || !strings.Contains(err.Error(), "required flag") {
		t.Fatalf("permit without the H2S and CO readings: %v", err)
	}
	if _, err := run("wo", "permit", job.ID, "--by", "engineering-supervisor", "--attendant", "tech-north-2", "--o2", "20.9", "--lel", "0", "--h2s", "12", "--co", "1"); err != nil {
		t.Fatalf("permit: %v", err)
	}
	if _, err := run("wo", "start", job.ID, "--by", "tech-north-1"); err == nil || !strings.Contains(err.Error(), "H2S 12 mg/m³ is over 10 mg/m³") {
		t.Fatalf("start on a failed gas test: %v", err)
	}
	run("wo", "permit", job.ID, "--by", "engineering-supervisor", "--attendant", "tech-north-2", "--o2", "20.9", "--lel", "0", "--h2s", "0.5", "--co", "1")
	if out, err := run("wo", "start", job.ID, "--by", "tech-north-1"); err != nil || out != job.ID+" is in_progress\n" {
		t.Fatalf("start under the permit: %v %q", err, out)
	}
	if p := mustGet(t, m, job.ID).Permit; p.IssuedBy != "engineering-supervisor" || p.Attendant != "tech-north-2" {
		t.Fatalf("permit %+v", p)
	}
}
