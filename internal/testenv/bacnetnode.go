package testenv

import (
	"bufio"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testutil"
)

// BACnetNode is devices/bacnet/testdata/device.js, a BACnet/IP device on @bacnet-js/client (a
// stack this repository did not write), running under node on a free loopback port.
type BACnetNode struct {
	Addr netip.AddrPort
	// Lines is what the device prints: "ready", then "cov-ack TYPE:INSTANCE" for each
	// confirmed notification a subscriber acknowledged.
	Lines *testutil.Recorder[string]
}

// NewBACnetNode starts the node device (instance 3001: analog-input:5, analog-value:1 with a
// priority array, binary-value:1) until the test ends. It needs node and the module make test
// installs (FACILITYD_TEST_BACNET_NODE).
func NewBACnetNode(t testing.TB) *BACnetNode {
	t.Helper()
	modules := need(t, "FACILITYD_TEST_BACNET_NODE", "@bacnet-js/client")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("FACILITYD_TEST_BACNET_NODE is set but node is missing: %v", err)
	}
	_, here, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(here), "..", "..", "devices", "bacnet", "testdata", "device.js")
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	pc.Close()
	cmd := exec.Command(node, script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "FACILITYD_BACNET_DEVICE_PORT="+strconv.Itoa(int(addr.Port())))
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	d := &BACnetNode{Addr: addr, Lines: &testutil.Recorder[string]{}}
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			d.Lines.Add(sc.Text())
		}
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	if first := d.Lines.WaitFor(t, 1)[0]; first != "ready" {
		t.Fatalf("device.js said %q, want ready", first)
	}
	return d
}
