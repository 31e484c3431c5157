package opcua

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
)

// nodeServer is testdata/server.js on node-opcua: a server nobody here wrote, on a free
// loopback port, its PKI in a temporary folder kept across its restarts.
type nodeServer struct {
	t       *testing.T
	modules string
	port    int
	pki     string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// URL is the server's endpoint.
func (s *nodeServer) URL() string { return "opc.tcp://127.0.0.1:" + strconv.Itoa(s.port) }

func newNodeServer(t *testing.T) *nodeServer {
	t.Helper()
	s := &nodeServer{t: t, modules: testenv.OPCUANodeModules(t), port: freePort(t), pki: t.TempDir()}
	t.Cleanup(s.stop)
	return s
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs the server with the given OPCUA_* settings and waits until it listens.
func (s *nodeServer) start(env ...string) {
	s.t.Helper()
	script, err := filepath.Abs("testdata/server.js")
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command("node", script)
	cmd.Dir = s.pki
	cmd.Env = append(os.Environ(), "NODE_PATH="+s.modules, "OPCUA_PORT="+strconv.Itoa(s.port), "OPCUA_PKI="+s.pki)
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

// stop stops the server with SIGTERM and waits for it.
func (s *nodeServer) stop() {
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
