package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/facilityd/facilityd/internal/daemon"
)

// TestShippedBinaryHasNoCrashHooks: facilityd built as shipped (no build tags) does not read
// the delivery tests' crash variables, so nobody can make a production gateway kill itself at
// an alarm by setting FACILITYD_TEST_KILL_AFTER_*; the tests' binary (-tags faultinject) does.
func TestShippedBinaryHasNoCrashHooks(t *testing.T) {
	tagged := facilitydBinary(t)
	shipped := filepath.Join(t.TempDir(), "facilityd")
	if out, err := exec.Command("go", "build", "-o", shipped, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct {
		name, path string
		want       bool
	}{
		{name: "shipped", path: shipped, want: false},
		{name: "tests' build", path: tagged, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{daemon.KillAfterJournalEnv, daemon.KillAfterHandledEnv} {
				if got := bytes.Contains(b, []byte(name)); got != tc.want {
					t.Errorf("%s binary holds %s: %v, want %v", tc.name, name, got, tc.want)
				}
			}
		})
	}
}
