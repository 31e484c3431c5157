package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices/gateway"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/telemetry"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// facilitydBinary builds the daemon once per test run.
func facilitydBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "facilityd-bin")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "facilityd")
		// The tests build with the crash hooks (faultinject.go); the shipped binary has none.
		out, err := exec.Command("go", "build", "-tags", "faultinject", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// child is facilityd run as a process of its own.
type child struct {
	cmd *exec.Cmd
	api string
	log *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startChild runs `facilityd run --config path` and waits until its API answers.
func startChild(t *testing.T, path, addr string, env ...string) *child {
	t.Helper()
	c := &child{api: "http://" + addr, log: &syncBuffer{}}
	c.cmd = exec.Command(facilitydBinary(t), "run", "--config", path)
	c.cmd.Dir = t.TempDir() // state files with relative paths land here, not in the source tree
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("facilityd log:\n%s", c.log)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(c.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("facilityd did not serve its API: %v\n%s", err, c.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *child) signal(t *testing.T, s os.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(s); err != nil {
		t.Fatal(err)
	}
}

func (c *child) wait(t *testing.T) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("facilityd did not exit")
		return nil
	}
}

func deviceIDs(t *testing.T, apiURL, token string) []string {
	t.Helper()
	var ids []string
	for _, d := range deviceList(t, apiURL, token) {
		ids = append(ids, d.ID)
	}
	return ids
}

func deviceList(t *testing.T, apiURL, token string) []api.DeviceSummary {
	t.Helper()
	req, _ := http.NewRequest("GET", apiURL+"/api/v1/devices", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Devices []api.DeviceSummary }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	// The configured devices: facilityd's own gateway device is always there and never polled.
	out := list.Devices[:0]
	for _, d := range list.Devices {
		if d.ID != gateway.ID {
			out = append(out, d)
		}
	}
	return out
}

// TestChildReloadAndSecrets runs the built binary: a broken config on SIGHUP keeps the old
// devices and the log names the problem; a valid one adds a device; SIGTERM stops it cleanly;
// neither the InfluxDB token nor the API token ever appears in the log.
func TestChildReloadAndSecrets(t *testing.T) {
	cfg, _ := modbusEstate(t, nil)
	all := cfg.Devices
	cfg.Devices = all[:3]
	addr := freeAddr(t)
	cfg.HTTP.Addr = addr
	const apiToken = "s3cret-api-token-0123456789"
	const influxToken = "s3cret-influx-token-ABCDEF"
	cfg.HTTP.Tokens = []config.Token{{Name: "ops", Role: "admin", SHA256: api.HashToken(apiToken)}}
	cfg.Influx.URL = "http://" + freeAddr(t) // nobody there
	cfg.Influx.Token = ""
	tokenFile := filepath.Join(t.TempDir(), "influx-token")
	os.WriteFile(tokenFile, []byte(influxToken+"\n"), 0o600)
	cfg.Influx.TokenFile = tokenFile
	cfg.Spool.Dir = t.TempDir()
	cfg.Log.Level = "debug"
	path := filepath.Join(t.TempDir(), "facilityd.yaml")
	writeConfig(t, path, cfg)

	c := startChild(t, path, addr)
	ids3 := []string{all[0].ID, all[1].ID, all[2].ID}
	sort.Strings(ids3)
	want := fmt.Sprint(ids3)
	if got := fmt.Sprint(deviceIDs(t, c.api, apiToken)); got != want {
		t.Fatalf("devices %s, want %s", got, want)
	}

	// Broken: a device with an unknown profile.
	broken := *cfg
	broken.Devices = append(append([]config.Device(nil), all[:3]...), all[3])
	broken.Devices[3].Profile = "no-such-profile"
	writeConfig(t, path, &broken)
	c.signal(t, syscall.SIGHUP)
	waitFor(t, "the log to name the refused reload", 10*time.Second, func() bool {
		return strings.Contains(c.log.String(), "configuration reload refused") && strings.Contains(c.log.String(), "no-such-profile")
	})
	if got := fmt.Sprint(deviceIDs(t, c.api, apiToken)); got != want {
		t.Errorf("after a broken reload devices are %s, want the old %s", got, want)
	}

	// Valid: one more device. The devices that remain keep their live state.
	waitFor(t, "every device polled a few times", 10*time.Second, func() bool {
		for _, d := range deviceList(t, c.api, apiToken) {
			if d.Polls < 3 {
				return false
			}
		}
		return true
	})
	polls := map[string]uint64{}
	for _, d := range deviceList(t, c.api, apiToken) {
		polls[d.ID] = d.Polls
	}
	good := *cfg
	good.Devices = all[:4]
	writeConfig(t, path, &good)
	c.signal(t, syscall.SIGHUP)
	want4 := []string{all[0].ID, all[1].ID, all[2].ID, all[3].ID}
	waitFor(t, "the new device at the API", 10*time.Second, func() bool {
		ids := deviceIDs(t, c.api, apiToken)
		return len(ids) == 4
	})
	got := deviceIDs(t, c.api, apiToken)
	for _, id := range want4 {
		if !strings.Contains(fmt.Sprint(got), id) {
			t.Errorf("device %s missing after reload: %v", id, got)
		}
	}
	for _, d := range deviceList(t, c.api, apiToken) {
		if before, kept := polls[d.ID]; kept && (d.Polls < before || before == 0) {
			t.Errorf("device %s: %d polls after the reload, %d before: its live state was lost", d.ID, d.Polls, before)
		}
	}

	c.signal(t, syscall.SIGTERM)
	if err := c.wait(t); err != nil {
		t.Errorf("facilityd exited with %v after SIGTERM", err)
	}
	log := c.log.String()
	for _, secret := range []string{apiToken, influxToken} {
		if strings.Contains(log, secret) {
			t.Errorf("the log contains a secret %q", secret)
		}
	}
	if !strings.Contains(log, "stopped") {
		t.Errorf("no clean stop in the log")
	}
}

// TestChildKill9DuringOutage: facilityd spools while InfluxDB is away, is killed with SIGKILL,
// restarts on the same spool and replays when InfluxDB is back: every reading fsync'd before
// the kill is in InfluxDB with the same values, and nothing garbled is.
func TestChildKill9DuringOutage(t *testing.T) {
	influx := testenv.StartInfluxd(t, "kill9")
	cfg, _ := modbusEstate(t, nil)
	addr := freeAddr(t)
	cfg.HTTP.Addr = addr
	cfg.Influx.URL = influx.URL
	cfg.Influx.Bucket = "kill9/autogen"
	cfg.Influx.FlushInterval = 100 * time.Millisecond
	cfg.Influx.Timeout = 2 * time.Second
	spoolDir := t.TempDir()
	cfg.Spool.Dir = spoolDir
	path := filepath.Join(t.TempDir(), "facilityd.yaml")
	writeConfig(t, path, cfg)

	c := startChild(t, path, addr)
	time.Sleep(time.Second)
	influx.Stop()
	time.Sleep(4 * time.Second)
	c.signal(t, syscall.SIGKILL)
	c.wait(t)

	// What the spool holds durably at the moment of the kill.
	snap := filepath.Join(t.TempDir(), "spool-copy")
	copyDir(t, spoolDir, snap)
	sp, err := telemetry.OpenSpool(telemetry.SpoolConfig{Dir: snap}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var durable []testenv.Line
	for {
		r, ok, err := sp.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		lines, err := testenv.ParseLines(string(r.Lines))
		if err != nil {
			t.Fatalf("spool holds garbage: %v", err)
		}
		durable = append(durable, lines...)
		sp.Commit()
	}
	sp.Close()
	if len(durable) < 100 {
		t.Fatalf("only %d readings spooled during a 4 s outage of 11 devices polled 5 times a second", len(durable))
	}

	c2 := startChild(t, path, addr)
	time.Sleep(time.Second)
	influx.Start()
	waitFor(t, "the spool replayed into InfluxDB", 60*time.Second, func() bool {
		return scrape(t, c2.api, "facilityd_spool_points") == 0
	})
	c2.signal(t, syscall.SIGTERM)
	if err := c2.wait(t); err != nil {
		t.Errorf("facilityd exited with %v", err)
	}

	for _, l := range durable {
		series, err := influx.Query(fmt.Sprintf(`SELECT * FROM %q WHERE device = '%s' AND time = %d`, l.Measurement, l.Tags["device"], l.Time))
		if err != nil {
			t.Fatal(err)
		}
		if len(series) != 1 || len(series[0].Values) != 1 {
			t.Errorf("%s at %d: spooled before the kill, not in InfluxDB", l.Tags["device"], l.Time)
			continue
		}
		row := series[0].Rows()[0]
		for k, v := range l.Fields {
			got := row[k]
			if n, ok := got.(json.Number); ok {
				if f, ok := v.(float64); ok {
					gf, _ := n.Float64()
					got, v = gf, f
				} else if i, ok := v.(int64); ok {
					gi, _ := n.Int64()
					got, v = gi, i
				}
			}
			if got != v {
				t.Errorf("%s at %d: %s = %v in InfluxDB, %v spooled", l.Tags["device"], l.Time, k, got, v)
			}
		}
	}
	// Nothing garbled: every row InfluxDB holds has its comm_ok.
	series, err := influx.Query(`SELECT count(*) FROM pump WHERE comm_ok != true AND comm_ok != false`)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 0 {
		t.Errorf("rows without a valid comm_ok: %+v", series)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o750); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

// TestChildSecondSignalExitsAtOnce: with InfluxDB hung (it accepts and never answers) and no
// spool, the graceful stop waits on the final write; a second SIGTERM ends it at once.
func TestChildSecondSignalExitsAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	cfg, _ := modbusEstate(t, nil)
	addr := freeAddr(t)
	cfg.HTTP.Addr = addr
	cfg.Influx.URL = "http://" + ln.Addr().String()
	cfg.Influx.Timeout = 20 * time.Second
	cfg.ShutdownTimeout = 60 * time.Second
	path := filepath.Join(t.TempDir(), "facilityd.yaml")
	writeConfig(t, path, cfg)

	c := startChild(t, path, addr)
	time.Sleep(1500 * time.Millisecond) // a batch is now stuck in a write
	c.signal(t, syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	c.signal(t, syscall.SIGTERM)
	err = c.wait(t)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Errorf("exit %v after a second SIGTERM, want status 130", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v to exit after the second signal", d)
	}
	if !strings.Contains(c.log.String(), "exiting now") {
		t.Errorf("the log does not say it exits at once:\n%s", c.log)
	}
}
