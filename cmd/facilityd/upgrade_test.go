package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/internal/daemon/daemontest"
	"github.com/facilityd/facilityd/internal/sqlitex"
)

// previousRelease is the newest commit before the stores recorded schema versions
// (internal/sqlitex): the release whose state this one must open and bring forward. Named by
// hash so that a rebased branch name cannot move it.
const previousRelease = "5eb800068ab72d301021bb786e2dc020510501f7"

// upgradeBuildLimit bounds building the previous release (about a minute on a quiet machine).
const upgradeBuildLimit = 5 * time.Minute

// previousBinary builds facilityd of previousRelease into a temporary folder. The tree comes
// from git archive, which reads the history and writes nothing into the repository (a
// worktree would add to .git/worktrees, shared with every checkout). Without that history (a
// shallow clone) the test is skipped, saying so: the history is the clone's, not a service the
// test command could provide. The stores' own migration tests (internal/sqlitex,
// TestJournalSchema, TestStoreSchema) still cover files of the previous schema.
func previousBinary(t *testing.T) (bin, tree string) {
	t.Helper()
	if err := exec.Command("git", "cat-file", "-e", previousRelease+"^{commit}").Run(); err != nil {
		t.Skip("the previous release " + previousRelease[:12] + " is not in this clone's git history (shallow clone?): fetch it to test upgrades")
	}
	dir := t.TempDir()
	tree = filepath.Join(dir, "src")
	if err := os.Mkdir(tree, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), upgradeBuildLimit)
	defer cancel()
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("git rev-parse --show-toplevel: %v", err)
	}
	tarFile := filepath.Join(dir, "src.tar")
	for _, c := range [][]string{
		// From the top: in a sub-folder git archive takes that folder only.
		{"git", "-C", strings.TrimSpace(string(top)), "archive", "-o", tarFile, previousRelease},
		{"tar", "-xf", tarFile, "-C", tree},
	} {
		if out, err := exec.CommandContext(ctx, c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
	bin = filepath.Join(dir, "facilityd-previous")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/facilityd")
	build.Dir = tree
	build.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOPROXY=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the previous release %s (limit %v): %v\n%s", previousRelease[:12], upgradeBuildLimit, err, out)
	}
	return bin, tree
}

// demoConfig is the demo estate of tree with every simulator on a free loopback port.
func demoConfig(t *testing.T, tree string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tree, "examples", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	moved := map[string]string{}
	b = regexp.MustCompile(`127\.0\.0\.1:150\d\d`).ReplaceAllFunc(b, func(a []byte) []byte {
		if _, ok := moved[string(a)]; !ok {
			moved[string(a)] = daemontest.FreeAddr(t)
		}
		return []byte(moved[string(a)])
	})
	path := filepath.Join(t.TempDir(), "demo.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// demoProcess is `facilityd demo` of bin, on its own ports, with its state in stateDir.
type demoProcess struct {
	cmd      *exec.Cmd
	api, sim string
	log      *syncBuffer
}

func startDemo(t *testing.T, bin, configPath, stateDir string) *demoProcess {
	t.Helper()
	d := &demoProcess{api: daemontest.FreeAddr(t), sim: daemontest.FreeAddr(t), log: &syncBuffer{}}
	d.cmd = exec.Command(bin, "demo", "--config", configPath)
	d.cmd.Dir = t.TempDir()
	d.cmd.Env = append(os.Environ(), "FACILITYD_STATE_DIR="+stateDir, "FACILITYD_HTTP_ADDR="+d.api,
		"FACILITYD_DEMO_SIM_ADDR="+d.sim, "FACILITYD_MQTT_EMBEDDED_ADDR="+daemontest.FreeAddr(t))
	d.api, d.sim = "http://"+d.api, "http://"+d.sim
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			d.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(bin), d.log)
		}
	})
	daemontest.WaitFor(t, filepath.Base(bin)+" serving its API", 30*time.Second, func() bool {
		resp, err := http.Get(d.api + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return d
}

// stop ends the process with SIGTERM, as systemd does, and waits for a clean exit.
func (d *demoProcess) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("facilityd stopped with %v\n%s", err, d.log)
		}
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		t.Fatalf("facilityd did not stop within 30s of SIGTERM\n%s", d.log)
	}
}

func (d *demoProcess) post(t *testing.T, url, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
}

// TestUpgradeFromPreviousRelease runs the previous release's facilityd on the demo estate
// until faults have written every store, then this build on the same state_dir: it opens
// every store, records their schema versions and keeps the alarms, orders, patrol alerts and
// plant writes.
func TestUpgradeFromPreviousRelease(t *testing.T) {
	prev, tree := previousBinary(t)
	cur := facilitydBinary(t)
	configPath := demoConfig(t, tree)
	stateDir := filepath.Join(t.TempDir(), "state")

	old := startDemo(t, prev, configPath, stateDir)
	old.post(t, old.sim+"/sim/v1/devices/P-2/faults/vfd_fault?code=4", "")
	old.post(t, old.sim+"/sim/v1/devices/L1-1/faults/entrapment", "")
	old.post(t, old.api+"/api/v1/devices/LP-1/points/circuit_03_command", `{"value": true, "reason": "upgrade test", "by": "tech-chen"}`)
	var before api.OrderList
	var alarmsBefore struct{ Alarms []struct{ ID string } }
	daemontest.WaitFor(t, "the previous release's orders and alarms", 60*time.Second, func() bool {
		daemontest.Get(t, old.api+"/api/v1/workorders", &before)
		daemontest.Get(t, old.api+"/api/v1/alarms", &alarmsBefore)
		return len(before.Orders) >= 2 && len(alarmsBefore.Alarms) >= 2
	})
	var alertsBefore struct{ Alerts []struct{ ID string } }
	daemontest.Get(t, old.api+"/api/v1/patrol/alerts", &alertsBefore)
	old.stop(t)
	// The order book numbered its steps before the other stores did; they had none.
	for _, name := range []string{"alarms.db", "patrol.db", "commands.db"} {
		if v := schemaVersion(t, filepath.Join(stateDir, name)); v != 0 {
			t.Fatalf("%s of the previous release records schema %d: previousRelease is not the release before schema versions", name, v)
		}
	}
	woBefore := schemaVersion(t, filepath.Join(stateDir, "workorders.db"))

	now := startDemo(t, cur, configPath, stateDir)
	var after api.OrderList
	daemontest.Get(t, now.api+"/api/v1/workorders", &after)
	have := map[string]bool{}
	for _, o := range after.Orders {
		have[o.ID] = true
	}
	for _, o := range before.Orders {
		if !have[o.ID] {
			t.Errorf("order %s (%s) of the previous release is gone after the upgrade", o.ID, o.Title)
		}
	}
	var alarmsAfter struct{ Alarms []struct{ ID string } }
	daemontest.Get(t, now.api+"/api/v1/alarms", &alarmsAfter)
	haveAlarm := map[string]bool{}
	for _, a := range alarmsAfter.Alarms {
		haveAlarm[a.ID] = true
	}
	for _, a := range alarmsBefore.Alarms {
		if !haveAlarm[a.ID] {
			t.Errorf("alarm %s of the previous release is gone after the upgrade", a.ID)
		}
	}
	var alertsAfter struct{ Alerts []struct{ ID string } }
	daemontest.Get(t, now.api+"/api/v1/patrol/alerts", &alertsAfter)
	if len(alertsAfter.Alerts) < len(alertsBefore.Alerts) {
		t.Errorf("%d patrol alerts after the upgrade, %d before", len(alertsAfter.Alerts), len(alertsBefore.Alerts))
	}
	var cmds struct{ Commands []struct{ Reason string } }
	daemontest.Get(t, now.api+"/api/v1/commands", &cmds)
	if len(cmds.Commands) == 0 || cmds.Commands[len(cmds.Commands)-1].Reason != "upgrade test" {
		t.Errorf("the previous release's plant write is not in the command journal: %+v", cmds.Commands)
	}
	now.stop(t)
	for _, name := range []string{"alarms.db", "patrol.db", "workorders.db", "commands.db"} {
		path := filepath.Join(stateDir, name)
		if v := schemaVersion(t, path); v < 1 || name == "workorders.db" && v < woBefore {
			t.Errorf("%s: schema %d after this build ran on it, want it brought forward", name, v)
		}
	}
	// The upgraded state backs up and restores with this build's commands.
	archive := filepath.Join(t.TempDir(), "upgraded.tar.gz")
	cli(t, cur, stateDir, "backup", "--config", configPath, "--out", archive)
	restored := filepath.Join(t.TempDir(), "restored")
	if out := cli(t, cur, restored, "restore", "--config", configPath, archive); !strings.Contains(out, "into state_dir "+restored) {
		t.Errorf("restore said %q", out)
	}
	for _, name := range []string{"alarms.db", "patrol.db", "workorders.db", "commands.db"} {
		if v := schemaVersion(t, filepath.Join(restored, name)); v < 1 {
			t.Errorf("restored %s: schema %d", name, v)
		}
	}
	c := exec.Command(cur, "restore", "--config", configPath, archive)
	c.Env = append(os.Environ(), "FACILITYD_STATE_DIR="+restored)
	if out, err := c.CombinedOutput(); err == nil || !strings.Contains(string(out), restored+": state directory is not empty") {
		t.Errorf("a second restore into %s: %v %q, want the refusal naming it", restored, err, out)
	}
}

// cli runs bin with args and state_dir set to stateDir (the demo file names none) and returns
// what it printed; a non-zero exit fails the test.
func cli(t *testing.T, bin, stateDir string, args ...string) string {
	t.Helper()
	c := exec.Command(bin, args...)
	c.Env = append(os.Environ(), "FACILITYD_STATE_DIR="+stateDir)
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("facilityd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// schemaVersion is the schema version recorded in the SQLite file at path (0: none).
func schemaVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	table := sqlitex.DefaultTable
	if strings.HasSuffix(path, "workorders.db") {
		table = "workorder_schema"
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if n == 0 {
		return 0
	}
	v, err := sqlitex.Version(context.Background(), db, table)
	if err != nil {
		t.Fatal(fmt.Errorf("%s: %w", path, err))
	}
	return v
}
