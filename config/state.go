package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// SystemStateDir is where `facilityd run` keeps its state when state_dir is not set and the
// folder is writable (the Filesystem Hierarchy Standard's place for a daemon's state).
const SystemStateDir = "/var/lib/facilityd"

// DefaultStateDir is the state directory for `facilityd run` when state_dir is not set:
// /var/lib/facilityd when it can be created and written, else ./state beside the
// configuration file. why says which, for the start-up log.
func DefaultStateDir(configPath string) (dir, why string) {
	if err := os.MkdirAll(SystemStateDir, 0o700); err == nil && writable(SystemStateDir) {
		return SystemStateDir, "state_dir not set: " + SystemStateDir + " is writable"
	}
	dir = filepath.Join(filepath.Dir(configPath), "state")
	return dir, "state_dir not set and " + SystemStateDir + " not writable: beside the configuration"
}

func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".facilityd-probe-*")
	if err != nil {
		return false
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return true
}

// ResolveState fills every state path left unset from state_dir: the spool (state_dir/spool),
// the alarm journal (alarms.db), the patrol store (patrol.db), the SQLite order book
// (workorders.db), the MQTT session store (mqtt/) and the command journal (commands.db). A relative state_dir is taken from the
// working directory. Each path set on its own is kept.
func (c *Config) ResolveState() error {
	if c.StateDir == "" {
		return errors.New("state_dir: not set (the folder for the spool, journals and stores, e.g. " + SystemStateDir + ")")
	}
	in := func(name string) string { return filepath.Join(c.StateDir, name) }
	if c.Spool.Dir == "" {
		c.Spool.Dir = in("spool")
	}
	if c.Alarms.Journal == "" {
		c.Alarms.Journal = in("alarms.db")
	}
	if c.Patrol.Store == "" {
		c.Patrol.Store = in("patrol.db")
	}
	if c.WorkOrders.Store.Driver == "sqlite" && c.WorkOrders.Store.Path == "" {
		c.WorkOrders.Store.Path = in("workorders.db")
	}
	if c.MQTT.StoreDir == "" {
		c.MQTT.StoreDir = in("mqtt")
	}
	if c.Commands.Store == "" {
		c.Commands.Store = in("commands.db")
	}
	return nil
}

// SpoolOn reports whether readings go through the durable spool: whenever InfluxDB is
// configured, unless spool.enabled is false.
func (c *Config) SpoolOn() bool { return c.Influx.URL != "" && c.Spool.Enabled }

// DeliveryWarnings lists what check-config and run warn about in how readings are kept.
func (c *Config) DeliveryWarnings() []string {
	var w []string
	if c.Influx.URL == "" {
		w = append(w, fmt.Sprintf("no influx.url: readings are not written to InfluxDB, only kept in the live cache (set it or %s)", EnvName("influx.url")))
	} else if !c.Spool.Enabled {
		w = append(w, "spool.enabled is false: readings taken while InfluxDB is away for more than about a minute are lost")
	}
	return w
}

// PrivateDirs lists, by the key that sets each, the folders that hold facilityd's state once
// ResolveState has run: the state directory, the MQTT session store, the spool, and the
// folders of the SQLite journals and stores. Each must be facilityd's alone (PrivateDir).
func (c *Config) PrivateDirs() [][2]string {
	dirs := [][2]string{{"state_dir", c.StateDir}, {"mqtt.store_dir", c.MQTT.StoreDir}}
	if c.SpoolOn() {
		dirs = append(dirs, [2]string{"spool.dir", c.Spool.Dir})
	}
	files := [][2]string{{"alarms.journal", c.Alarms.Journal}, {"patrol.store", c.Patrol.Store}, {"commands.store", c.Commands.Store}}
	if c.WorkOrders.Store.Driver == "sqlite" {
		files = append(files, [2]string{"workorders.store.path", c.WorkOrders.Store.Path})
	}
	for _, f := range files {
		if f[1] != "" {
			dirs = append(dirs, [2]string{f[0], filepath.Dir(f[1])})
		}
	}
	seen := map[string]bool{}
	out := dirs[:0]
	for _, d := range dirs {
		if clean := filepath.Clean(d[1]); !seen[clean] {
			seen[clean] = true
			out = append(out, d)
		}
	}
	return out
}

// PrivateDir creates dir (mode 0700) if missing and refuses one that another user owns or
// that others may write: a state folder somebody else controls could feed facilityd planted
// files (an MQTT message published with the gateway's credentials, a forged journal).
func PrivateDir(dir, key string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%s %s: %w", key, dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s %s: %w", key, dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s %s: not a folder", key, dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s %s: owned by uid %d, not by facilityd's uid %d: remove it or give it to facilityd (chown)", key, dir, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s %s: others may write it (mode %v): chmod 700 it", key, dir, fi.Mode().Perm())
	}
	return nil
}
