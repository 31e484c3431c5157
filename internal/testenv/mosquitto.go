package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Mosquitto is a mosquitto broker of the test's own, on a free loopback port, with
// persistence in a temporary folder, so that a test can stop and restart it and find its
// persistent sessions and queued messages again, as after a real broker restart.
type Mosquitto struct {
	// Addr is host:port; URL is the same as paho takes it (tcp://...).
	Addr, URL string
	Port      string
	t         testing.TB
	bin, conf string
	cmd       *exec.Cmd
	exited    chan struct{}
}

// NewMosquitto starts a mosquitto (the binary in FACILITYD_TEST_MOSQUITTO, which make test
// sets) and stops it when the test ends.
func NewMosquitto(t testing.TB) *Mosquitto {
	t.Helper()
	bin := need(t, "FACILITYD_TEST_MOSQUITTO", "mosquitto")
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "mosquitto.conf")
	data := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\n"+
		"autosave_interval 1\nlog_dest stderr\nlog_type error\nlog_type warning\n", port, dir)
	if os.Geteuid() == 0 {
		// As root mosquitto would switch to user mosquitto, who cannot write the test's folder.
		data += "user root\n"
	}
	if err := os.WriteFile(conf, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &Mosquitto{Addr: addr, URL: "tcp://" + addr, Port: port, t: t, bin: bin, conf: conf}
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// Start starts the broker (again) and waits until it accepts connections.
func (m *Mosquitto) Start() {
	m.t.Helper()
	if m.cmd != nil {
		m.t.Fatal("mosquitto already running")
	}
	cmd := exec.Command(m.bin, "-c", m.conf)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if line := sc.Text(); strings.TrimSpace(line) != "" {
				fmt.Fprintln(os.Stderr, "mosquitto:", line)
			}
		}
		cmd.Wait()
		close(m.exited)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", m.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-m.exited:
			m.cmd = nil
			m.t.Fatalf("mosquitto exited at start (port %s taken?)", m.Port)
		default:
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mosquitto did not listen on %s: %v", m.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the broker with SIGTERM, so that it saves its persistence file, and waits.
func (m *Mosquitto) Stop() {
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Kill()
		<-m.exited
	}
	m.cmd = nil
}

// MosquittoTool is the path of a mosquitto command-line client (mosquitto_sub, mosquitto_pub),
// or skips (fails in CI) without it.
func MosquittoTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found: make test installs mosquitto-clients", name)
	}
	t.Skipf("needs %s (apt-get install mosquitto-clients)", name)
	return ""
}
