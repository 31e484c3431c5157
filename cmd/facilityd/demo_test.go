package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDemoExitsWhenItsPortIsTaken: `facilityd demo` with its API port in use stops at once with
// an error naming the address, rather than serving half a demo until Ctrl-C.
func TestDemoExitsWhenItsPortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(facilitydBinary(t), "demo")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(),
		"FACILITYD_HTTP_ADDR="+ln.Addr().String(),
		"FACILITYD_DEMO_SIM_ADDR="+freeAddr(t),
		"FACILITYD_MQTT_EMBEDDED_ADDR="+freeAddr(t),
		"FACILITYD_INFLUX_URL=")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("facilityd demo still runs 20 s after failing to bind its API port:\n%s", out.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Errorf("exit %v, want a non-zero status", err)
	}
	if !strings.Contains(out.String(), "http.addr "+ln.Addr().String()) || !strings.Contains(out.String(), "address already in use") {
		t.Errorf("the error does not name the address in use:\n%s", out.String())
	}
}
