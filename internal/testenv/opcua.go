package testenv

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// OPCUANodeModules is the node_modules folder holding node-opcua that make test installed (into
// a cache outside the checkout), for the foreign OPC UA server of devices/opcua/testdata.
func OPCUANodeModules(t testing.TB) string {
	t.Helper()
	dir := need(t, "FACILITYD_TEST_OPCUA_NODE_MODULES", "node-opcua")
	if _, err := os.Stat(filepath.Join(dir, "node-opcua")); err != nil {
		t.Fatalf("FACILITYD_TEST_OPCUA_NODE_MODULES=%s holds no node-opcua: %v", dir, err)
	}
	return dir
}

// OPCUAServer is devices/opcua/testdata/server.js on node-opcua: a server nobody here wrote,
// on a free loopback port, its PKI in a temporary folder kept across its restarts.
type OPCUAServer struct {
	t       testing.TB
	modules string
	Port    int
	PKI     string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// NewOPCUAServer prepares a server (Start runs it) and stops it when the test ends.
func NewOPCUAServer(t testing.TB) *OPCUAServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &OPCUAServer{t: t, modules: OPCUANodeModules(t), Port: port, PKI: t.TempDir()}
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's endpoint.
func (s *OPCUAServer) URL() string { return "opc.tcp://127.0.0.1:" + strconv.Itoa(s.Port) }

// serverScript is the path of devices/opcua/testdata/server.js, found from this file's.
func serverScript(t testing.TB) string {
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate internal/testenv")
	}
	return filepath.Join(filepath.Dir(here), "..", "..", "devices", "opcua", "testdata", "server.js")
}

// Start runs the server with the given OPCUA_* settings (see server.js) and waits until it
// listens.
func (s *OPCUAServer) Start(env ...string) {
	s.t.Helper()
	cmd := exec.Command("node", serverScript(s.t))
	cmd.Dir = s.PKI
	cmd.Env = append(os.Environ(), "NODE_PATH="+s.modules, "OPCUA_PORT="+strconv.Itoa(s.Port), "OPCUA_PKI="+s.PKI)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("node: %v (make test needs Node.js 18 or later)", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if sc.Text() == "ready" && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
		cmd.Wait()
		close(s.exited)
	}()
	select {
	case ok := <-ready:
		if !ok {
			<-s.exited
			s.t.Fatalf("server.js exited at start: %s", stderr.String())
		}
	case <-time.After(60 * time.Second):
		s.t.Fatalf("server.js did not start within a minute: %s", stderr.String())
	}
}

// Stop stops the server with SIGINT and waits for it.
func (s *OPCUAServer) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}
