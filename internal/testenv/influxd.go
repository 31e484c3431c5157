package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Influxd is an InfluxDB of the test's own, on a free loopback port with its data in a temporary
// folder, that the test can stop and start again (same port, same data) to play an outage.
type Influxd struct {
	Influx
	t    testing.TB
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

// StartInfluxd starts a private influxd from the binary make test caches
// (FACILITYD_TEST_INFLUXD), creates database db, and stops it when the test ends.
func StartInfluxd(t testing.TB, db string) *Influxd {
	t.Helper()
	bin := need(t, "FACILITYD_TEST_INFLUXD", "the influxd binary")
	in := &Influxd{t: t, bin: bin, dir: t.TempDir(), port: freePort(t)}
	in.URL = fmt.Sprintf("http://127.0.0.1:%d", in.port)
	in.DB = db
	t.Cleanup(in.Stop)
	in.Start()
	if _, err := in.Query("CREATE DATABASE " + db); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return in
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs influxd (again) and waits until it answers /ping.
func (in *Influxd) Start() {
	in.t.Helper()
	if in.cmd != nil {
		return
	}
	logf, err := os.OpenFile(filepath.Join(in.dir, "influxd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		in.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(in.bin, "run", "-config", "/dev/null")
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "INFLUXDB_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		fmt.Sprintf("INFLUXDB_HTTP_BIND_ADDRESS=127.0.0.1:%d", in.port),
		fmt.Sprintf("INFLUXDB_BIND_ADDRESS=127.0.0.1:%d", freePort(in.t)),
		"INFLUXDB_META_DIR="+filepath.Join(in.dir, "meta"),
		"INFLUXDB_DATA_DIR="+filepath.Join(in.dir, "data"),
		"INFLUXDB_DATA_WAL_DIR="+filepath.Join(in.dir, "wal"),
		"INFLUXDB_REPORTING_DISABLED=true",
		"INFLUXDB_HTTP_LOG_ENABLED=false",
		"INFLUXDB_DATA_QUERY_LOG_ENABLED=false",
		"INFLUXDB_MONITOR_STORE_ENABLED=false",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		in.t.Fatalf("start influxd: %v", err)
	}
	in.cmd = cmd
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, in.URL+"/ping", nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(in.dir, "influxd.log"))
			in.t.Fatalf("influxd did not answer /ping within 60s: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop terminates influxd and waits for it (SIGTERM, then SIGKILL after 10 s).
func (in *Influxd) Stop() {
	if in.cmd == nil {
		return
	}
	cmd := in.cmd
	in.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
