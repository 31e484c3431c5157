package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResolveState: every store lands in the state directory unless set on its own, and the
// spool is on by default wherever InfluxDB is configured.
func TestResolveState(t *testing.T) {
	t.Parallel()
	cfg := Default()
	cfg.StateDir = "/srv/fd"
	cfg.Patrol.Store = "/data/patrol.db"
	cfg.Influx.URL = "http://127.0.0.1:8086"
	if err := cfg.ResolveState(); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{"spool": cfg.Spool.Dir, "journal": cfg.Alarms.Journal, "patrol": cfg.Patrol.Store,
		"orders": cfg.WorkOrders.Store.Path, "mqtt": cfg.MQTT.StoreDir, "commands": cfg.Commands.Store}
	want := map[string]string{"spool": "/srv/fd/spool", "journal": "/srv/fd/alarms.db", "patrol": "/data/patrol.db",
		"orders": "/srv/fd/workorders.db", "mqtt": "/srv/fd/mqtt", "commands": "/srv/fd/commands.db"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s at %q, want %q", k, got[k], w)
		}
	}
	if !cfg.SpoolOn() || len(cfg.DeliveryWarnings()) != 0 {
		t.Errorf("spool on %v, warnings %q: want the spool on by default, unwarned", cfg.SpoolOn(), cfg.DeliveryWarnings())
	}
	cfg.Spool.Enabled = false
	if w := cfg.DeliveryWarnings(); cfg.SpoolOn() || len(w) != 1 || !strings.Contains(w[0], "spool.enabled is false") {
		t.Errorf("spool.enabled false: on %v, warnings %q", cfg.SpoolOn(), w)
	}
	var dirs []string
	for _, d := range cfg.PrivateDirs() {
		dirs = append(dirs, d[0]+"="+d[1])
	}
	if got := strings.Join(dirs, " "); got != "state_dir=/srv/fd mqtt.store_dir=/srv/fd/mqtt patrol.store=/data" {
		t.Errorf("private dirs %s", got)
	}
	empty := Default()
	if err := empty.ResolveState(); err == nil || !strings.Contains(err.Error(), "state_dir") {
		t.Errorf("no state_dir: %v, want an error naming state_dir", err)
	}
}

// TestPrivateDir: a state folder others may write, or that another user owns, is refused
// with the fix in the message; a new one is made 0700.
func TestPrivateDir(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	fresh := filepath.Join(base, "fresh")
	if err := PrivateDir(fresh, "state_dir"); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o700 {
		t.Errorf("a new state folder has mode %v, want 0700", fi.Mode().Perm())
	}
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := PrivateDir(open, "mqtt.store_dir"); err == nil || !strings.Contains(err.Error(), "mqtt.store_dir") || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("a folder others may write: %v, want refused naming mqtt.store_dir and chmod 700", err)
	}
	if os.Geteuid() != 0 {
		return // only root can give a folder to another user; CI runs as root
	}
	theirs := filepath.Join(base, "theirs")
	if err := os.Mkdir(theirs, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := PrivateDir(theirs, "state_dir"); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("a folder another user owns: %v, want refused naming its owner", err)
	}
}
