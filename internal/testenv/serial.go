package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// SerialPair joins two pseudo-terminals with socat, as a null-modem cable joins two serial
// ports (an RS-485 adapter, a USB modem), and returns their paths; socat stops when the test
// ends. make test installs socat: without it the test skips, unless CI is set.
func SerialPair(t testing.TB) (string, string) {
	t.Helper()
	bin, err := exec.LookPath("socat")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("socat not on PATH (apt-get install socat); CI installs it")
		}
		t.Fatalf("socat not on PATH but CI is set: install it (apt-get install socat): %v", err)
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "ttyA"), filepath.Join(dir, "ttyB")
	cmd := exec.Command(bin, "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, ea := os.Stat(a)
		_, eb := os.Stat(b)
		if ea == nil && eb == nil {
			return a, b
		}
		if time.Now().After(deadline) {
			t.Fatalf("socat's pseudo-terminals %s and %s did not appear in 10s", a, b)
		}
	}
}
