package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// facilityd runs the command line in-process with args and returns what it printed.
func facilityd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := rootCommand()
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestBackupCommandTellsWhatItDidNotCopy: with the order book on PostgreSQL, `facilityd
// backup` says the order book is not in the archive and how to back it up; `facilityd restore`
// then puts the rest into an empty state_dir and refuses one that holds something, naming it;
// on a new machine --with-config takes the configuration from the backup too.
func TestBackupCommandTellsWhatItDidNotCopy(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	configPath := filepath.Join(dir, "facilityd.yaml")
	cfg := "state_dir: " + state + "\n" +
		"workorders:\n  store:\n    driver: postgres\n    dsn: postgres://wo@127.0.0.1:1/orders\n" +
		"devices:\n  - {id: P-1, profile: pump, building: B1, zone: north, modbus: {address: \"127.0.0.1:1\", unit: 1}}\n"
	if err := os.WriteFile(configPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(state, "mqtt"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "mqtt", "o.1.msg"), []byte("in flight"), 0o600); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "b.tar.gz")
	out, err := facilityd(t, "backup", "--config", configPath, "--out", archive)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if !strings.Contains(out, "not copied: workorders.store is on PostgreSQL: not copied, back it up with pg_dump") {
		t.Errorf("backup said:\n%s\nwant the pg_dump note", out)
	}

	// Restore into the state_dir it was taken from: refused, naming the folder.
	out, err = facilityd(t, "restore", "--config", configPath, archive)
	if err == nil || !strings.Contains(err.Error(), "state_dir "+state) || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into the live state_dir: %v\n%s", err, out)
	}
	os.RemoveAll(state)
	out, err = facilityd(t, "restore", "--config", configPath, archive)
	if err != nil {
		t.Fatalf("restore into an empty state_dir: %v\n%s", err, out)
	}
	if !strings.Contains(out, "not in the backup: workorders.store is on PostgreSQL") {
		t.Errorf("restore said:\n%s\nwant the order book named as not in the backup", out)
	}
	if b, err := os.ReadFile(filepath.Join(state, "mqtt", "o.1.msg")); err != nil || string(b) != "in flight" {
		t.Errorf("restored MQTT session file: %q %v", b, err)
	}

	// A new machine: no configuration and no state. --with-config takes both from the backup.
	os.RemoveAll(state)
	fresh := filepath.Join(dir, "etc", "facilityd.yaml")
	if out, err = facilityd(t, "restore", "--config", fresh, "--with-config", archive); err != nil {
		t.Fatalf("restore --with-config on a new machine: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(fresh); err != nil || string(b) != cfg {
		t.Errorf("configuration written from the backup: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(state, "mqtt", "o.1.msg")); err != nil {
		t.Errorf("state not restored on the new machine: %v", err)
	}
	if _, err := os.Stat(fresh + ".before-restore"); err == nil {
		t.Error("the configuration taken from the backup was kept aside as if it had been replaced")
	}
}
