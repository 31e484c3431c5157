package modem_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/modem"
	"github.com/facilityd/facilityd/simulators"
)

// socatPair joins two pseudo-terminals with socat, as a null-modem cable joins two serial
// ports, and returns their paths. Without socat the test skips, unless CI is set.
func socatPair(t *testing.T) (string, string) {
	t.Helper()
	bin, err := exec.LookPath("socat")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("socat not on PATH (apt-get install socat); CI installs it")
		}
		t.Fatalf("socat not on PATH but CI is set: install it (apt-get install socat): %v", err)
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	cmd := exec.Command(bin, "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, ea := os.Stat(a)
		_, eb := os.Stat(b)
		if ea == nil && eb == nil {
			return a, b
		}
		if time.Now().After(deadline) {
			t.Fatal("socat's pseudo-terminals did not appear")
		}
		time.Sleep(10 * time.Millisecond) // socat creates them; nothing to wait on
	}
}

// TestSerialLine: the driver opens a pseudo-terminal as it opens a serial port, with the
// simulated modem on the other end: init, a Chinese SMS out, a reply in, a check.
func TestSerialLine(t *testing.T) {
	a, b := socatPair(t)
	sim := simulators.NewModem("gsm-1")
	far, err := modem.OpenPort(b, 115200)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- sim.Serve(ctx, far) }()

	m, err := modem.Open(modem.Config{Port: a, CommandTimeout: 3 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- m.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
		far.Close()
		<-served
	}()

	if err := m.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Send(ctx, "+8613800138000", "消防报警：3号楼5层，回复1认领"); err != nil {
		t.Fatal(err)
	}
	if s := sim.Sent(); len(s) != 1 || s[0].Text != "消防报警：3号楼5层，回复1认领" {
		t.Errorf("modem sent %+v", s)
	}
	if err := sim.Deliver("+8613800138000", "1"); err != nil {
		t.Fatal(err)
	}
	select {
	case in := <-m.Received():
		if in.Text != "1" || in.From != "+8613800138000" {
			t.Errorf("received %+v", in)
		}
	case <-ctx.Done():
		t.Fatal("reply not received over the serial line")
	}
	if _, err := m.Check(ctx); err != nil {
		t.Error(err)
	}
}
