package main

import (
	"fmt"
	"github.com/facilityd/facilityd/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
)

// TestSerialPumpThroughSocat: a pump simulated by `facsim --serial-peer` on one end of a socat
// pseudo-terminal pair is online and read by `facilityd run` on the other end, as it would be
// on an RS-485 line through a USB adapter.
func TestSerialPumpThroughSocat(t *testing.T) {
	a, b := testenv.SerialPair(t)
	dir := t.TempDir()

	addr := freeAddr(t)
	path := filepath.Join(dir, "facilityd.yaml")
	cfg := fmt.Sprintf(`site: serial-test
state_dir: %s
http: {addr: %q}
mqtt: {embedded: {addr: %q}}
devices:
  - id: P-7
    profile: pump
    building: plant-room
    zone: b1
    interval: 500ms
    timeout: 300ms
    modbus: {serial: {device: %q, baud: 9600, parity: none, stop_bits: 1}, unit: 7}
`, filepath.Join(dir, "state"), addr, freeAddr(t), a)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	facsim := filepath.Join(filepath.Dir(facilitydBinary(t)), "facsim")
	if out, err := exec.Command("go", "build", "-o", facsim, "../facsim").CombinedOutput(); err != nil {
		t.Fatalf("go build facsim: %v\n%s", err, out)
	}
	sim := exec.Command(facsim, "--config", path, "--serial-peer", "P-7="+b, "--control", "")
	simLog := &syncBuffer{}
	sim.Stdout, sim.Stderr = simLog, simLog
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sim.Process.Kill()
		sim.Wait()
		if t.Failed() {
			t.Logf("facsim log:\n%s", simLog)
		}
	})
	c := startChild(t, path, addr, "FACILITYD_INFLUX_URL=")
	var d api.DeviceDetail
	waitFor(t, "P-7 online over the serial line", 20*time.Second, func() bool {
		get(t, c.api+"/api/v1/devices/P-7", &d)
		return d.Comm.String() == "online" && len(d.Readings) > 0 && d.Readings[0].Value != nil
	})
	for _, r := range d.Readings {
		if r.Point == "running" && r.Value != true {
			t.Errorf("P-7 running = %v, want true (a supply pump runs)", r.Value)
		}
		if r.Point == "pressure" && r.Value.(float64) < 1 {
			t.Errorf("P-7 pressure = %v bar, want the booster's", r.Value)
		}
	}
}
