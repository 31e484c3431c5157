package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/internal/daemon/daemontest"
)

// TestBrokerSurvivesFileDescriptorExhaustion runs `facilityd run` with its open-file limit
// lowered to 48 (soft and hard, so raising the soft limit at start cannot lift it) and holds
// 300 idle sockets to its embedded broker: accepting fails with EMFILE while they are held.
// Once they are closed, the broker must accept and sign in an account again, without a
// restart, and /healthz must say so. A broker whose accept loop ended on the first error
// would leave the port bound and never answer a CONNECT again.
func TestBrokerSurvivesFileDescriptorExhaustion(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("prlimit not on PATH (util-linux)")
		}
		t.Fatalf("prlimit not on PATH but CI is set: %v", err)
	}
	dir := t.TempDir()
	addr, brokerAddr := freeAddr(t), freeAddr(t)
	path := filepath.Join(dir, "facilityd.yaml")
	cfg := fmt.Sprintf(`site: fd-test
state_dir: %s
http: {addr: %q}
mqtt:
  embedded:
    addr: %q
    integrators: [{username: bms, sha256: %s}]
devices:
  - {id: P-1, profile: pump, zone: b1, modbus: {address: %q, unit: 1}}
`, filepath.Join(dir, "state"), addr, brokerAddr, api.HashToken("bms-password"), freeAddr(t))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prlimit, "--nofile=48:48", facilitydBinary(t), "run", "--config", path)
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("facilityd log:\n%s", log)
		}
	})
	health := func() (int, string) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}
	waitFor(t, "facilityd's API", 20*time.Second, func() bool { code, _ := health(); return code == http.StatusOK })

	// The pressure: 300 sockets that never send a CONNECT, far past what 48 descriptors hold.
	var held []net.Conn
	for range 300 {
		c, err := net.DialTimeout("tcp", brokerAddr, time.Second)
		if err != nil {
			break // the backlog is full: that is pressure enough
		}
		held = append(held, c)
	}
	time.Sleep(2 * time.Second)
	if !strings.Contains(log.String(), "accept") {
		t.Errorf("no accept error logged while %d sockets were held: the descriptors were not exhausted", len(held))
	}
	for _, c := range held {
		c.Close()
	}

	// The pressure ends: an account signs in again, and /healthz is ok.
	waitFor(t, "a CONNACK after the pressure ended", 20*time.Second, func() bool {
		conn, code := daemontest.MQTTConnect(t, brokerAddr, "bms", "bms-password", "", "", false)
		conn.Close()
		return code == 0
	})
	waitFor(t, "/healthz ok again", 20*time.Second, func() bool {
		code, body := health()
		return code == http.StatusOK && !strings.Contains(body, "not accepting")
	})
	if len(held) < 100 {
		t.Errorf("only %d sockets opened: the test put too little pressure on 48 descriptors", len(held))
	}
}
