package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/internal/testenv"
)

// TestHelperDaemon is not a test: TestGatewayLastWill runs the test binary with it to get a
// facilityd process it can kill.
func TestHelperDaemon(t *testing.T) {
	path := os.Getenv("FACILITYD_HELPER_CONFIG")
	if path == "" {
		t.Skip("helper process for TestGatewayLastWill")
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.StateDir = filepath.Dir(path)
	cfg.WorkOrders.Store.Path = filepath.Join(filepath.Dir(path), "workorders.db")
	runDaemon(context.Background(), cfg, slog.New(slog.DiscardHandler), daemon.Options{})
}

// TestGatewayLastWill: mosquitto_sub sees the retained "online" of a running facilityd, and the
// last will "offline", retained, once the process dies without a word (SIGKILL).
func TestGatewayLastWill(t *testing.T) {
	broker := testenv.NewMosquitto(t)
	sub := testenv.MosquittoTool(t, "mosquitto_sub")
	dir := t.TempDir()
	path := filepath.Join(dir, "facilityd.yaml")
	yaml := fmt.Sprintf(`site: t-will
mqtt: {url: %q, store_dir: %q}
http: {addr: "127.0.0.1:0"}
devices:
  - id: LC-1
    profile: lighting_mqtt
    mqtt: {topic: "t/lighting/LC-1/state"}
`, broker.URL, dir)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperDaemon$")
	cmd.Env = append(os.Environ(), "FACILITYD_HELPER_CONFIG="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	status := func() string {
		out, _ := exec.Command(sub, "-h", "127.0.0.1", "-p", broker.Port, "-t", "facility/t-will/gateway/status", "-C", "1", "-W", "2").Output()
		return strings.TrimSpace(string(out))
	}
	waitFor(t, "the retained gateway status online", 30*time.Second, func() bool { return status() == "online" })
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitFor(t, "the last will: gateway status offline, retained", 30*time.Second, func() bool { return status() == "offline" })
}
