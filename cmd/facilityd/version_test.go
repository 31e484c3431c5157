package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/internal/version"
)

func TestVersionCommand(t *testing.T) {
	version.Version, version.Commit, version.Date = "1.2.0", "abc123", "2026-12-02T07:00:00Z"
	t.Cleanup(func() { version.Version, version.Commit, version.Date = "", "", "" })
	root := rootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"facilityd 1.2.0\n", "commit: abc123\n", "built: 2026-12-02T07:00:00Z\n", "go: " + runtime.Version() + "\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("facilityd version printed %q, want it to hold %q", out.String(), want)
		}
	}
}
