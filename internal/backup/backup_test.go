package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/sqlitex"
)

// state is a configuration whose every store is under a fresh state_dir, each store created
// by its own opener and holding one row of a table of the test's, a spool with two closed
// segments and the one being written, an MQTT message and a configuration file.
func state(t testing.TB) (cfg *config.Config, configPath string) {
	t.Helper()
	c := config.Default()
	c.StateDir = filepath.Join(t.TempDir(), "state")
	c.Influx.URL = "http://127.0.0.1:1"
	if err := c.ResolveState(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, s := range stores(&c) {
		if err := CheckStore(ctx, s.key, s.path); err != nil {
			t.Fatal(err)
		}
		exec(t, s.path, `CREATE TABLE probe (v TEXT); INSERT INTO probe VALUES ('`+s.key+`')`)
	}
	write(t, filepath.Join(c.Spool.Dir, "0000000000000001.seg"), "closed one")
	write(t, filepath.Join(c.Spool.Dir, "0000000000000002.seg"), "closed two")
	write(t, filepath.Join(c.Spool.Dir, "0000000000000003.seg"), "being written")
	write(t, filepath.Join(c.Spool.Dir, "cursor"), "FDC2 cursor")
	write(t, filepath.Join(c.MQTT.StoreDir, "o.7.msg"), "in flight")
	configPath = filepath.Join(t.TempDir(), "facilityd.yaml")
	write(t, configPath, "state_dir: "+c.StateDir+"\n")
	return &c, configPath
}

func write(t testing.TB, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func exec(t testing.TB, path, q string) {
	t.Helper()
	db, err := sqlitex.Open(path, sqlitex.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

func probe(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRow(`SELECT v FROM probe`).Scan(&v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// elsewhere is cfg with its state_dir moved to a new, empty folder.
func elsewhere(t *testing.T, cfg *config.Config) *config.Config {
	t.Helper()
	c := config.Default()
	c.StateDir = filepath.Join(t.TempDir(), "restored")
	c.Influx.URL = cfg.Influx.URL
	if err := c.ResolveState(); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	cfg, configPath := state(t)
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	now := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	m, err := Create(context.Background(), cfg, configPath, out, Options{Version: "test", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive mode: %v %v, want 0600", fi.Mode(), err)
	}
	if !m.Created.Equal(now) || m.Facilityd != "test" {
		t.Errorf("manifest says %v by %q", m.Created, m.Facilityd)
	}
	for _, f := range m.Files {
		if f.Kind == KindSQLite && (f.Schema == nil || *f.Schema < 1) {
			t.Errorf("%s: schema %v, want the store's version", f.Key, f.Schema)
		}
		if f.Name == "spool/0000000000000003.seg" {
			t.Error("the segment being written (the highest) is in the backup")
		}
	}

	to := elsewhere(t, cfg)
	if _, err := Restore(context.Background(), to, out, RestoreOptions{Check: CheckStore, ConfigPath: configPath}); err != nil {
		t.Fatal(err)
	}
	for _, s := range stores(to) {
		if got := probe(t, s.path); got != s.key {
			t.Errorf("%s: restored row %q", s.key, got)
		}
	}
	for name, want := range map[string]string{
		filepath.Join(to.Spool.Dir, "0000000000000001.seg"): "closed one",
		filepath.Join(to.Spool.Dir, "0000000000000002.seg"): "closed two",
		filepath.Join(to.Spool.Dir, "cursor"):               "FDC2 cursor",
		filepath.Join(to.MQTT.StoreDir, "o.7.msg"):          "in flight",
	} {
		b, err := os.ReadFile(name)
		if err != nil || string(b) != want {
			t.Errorf("%s: %q %v, want %q", name, b, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(to.Spool.Dir, "0000000000000003.seg")); err == nil {
		t.Error("the segment being written was restored")
	}
	checkModes(t, to.StateDir)
}

// checkModes walks dir: folders 0700, files 0600, as config.PrivateDir expects.
func checkModes(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
}

func TestRestoreConfigOnlyWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		name       string
		withConfig bool
	}{{"without --with-config", false}, {"with --with-config", true}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, configPath := state(t)
			out := filepath.Join(t.TempDir(), "b.tar.gz")
			if _, err := Create(context.Background(), cfg, configPath, out, Options{}); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(t.TempDir(), "facilityd.yaml")
			write(t, target, "mine\n")
			if _, err := Restore(context.Background(), elsewhere(t, cfg), out, RestoreOptions{WithConfig: tc.withConfig, ConfigPath: target}); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(target)
			restored := strings.HasPrefix(string(b), "state_dir:")
			if restored != tc.withConfig {
				t.Errorf("configuration after restore: %q", b)
			}
			if _, err := os.Stat(target + ".before-restore"); (err == nil) != tc.withConfig {
				t.Errorf("the replaced configuration kept: %v", err == nil)
			}
		})
	}
}

func TestRestoreRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		// spoil changes the state or the archive before the restore into to.
		spoil func(t *testing.T, cfg, to *config.Config, archive string)
		want  error
		text  string
	}{
		{
			name: "a state_dir that holds something",
			spoil: func(t *testing.T, _, to *config.Config, _ string) {
				write(t, filepath.Join(to.StateDir, "alarms.db"), "x")
			},
			want: ErrNotEmpty, text: "restored",
		},
		{
			name:  "a file whose hash disagrees with the manifest",
			spoil: func(t *testing.T, _, _ *config.Config, archive string) { tamper(t, archive, "mqtt/o.7.msg") },
			want:  ErrTampered, text: "mqtt/o.7.msg",
		},
		{
			name:  "a file the manifest does not list",
			spoil: func(t *testing.T, _, _ *config.Config, archive string) { addEntry(t, archive, "stores/planted.db") },
			want:  ErrTampered, text: "planted",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, configPath := state(t)
			out := filepath.Join(t.TempDir(), "b.tar.gz")
			if _, err := Create(context.Background(), cfg, configPath, out, Options{}); err != nil {
				t.Fatal(err)
			}
			to := elsewhere(t, cfg)
			tc.spoil(t, cfg, to, out)
			_, err := Restore(context.Background(), to, out, RestoreOptions{Check: CheckStore})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("restore: %v, want %v naming %q", err, tc.want, tc.text)
			}
			if _, err := os.Stat(to.Alarms.Journal); tc.want != ErrNotEmpty && err == nil {
				t.Error("a refused restore put the alarm journal in place")
			}
		})
	}
}

func TestRestoreRefusesNewerSchema(t *testing.T) {
	cfg, configPath := state(t)
	// A facilityd of a later release has moved the patrol store past this binary's steps.
	exec(t, cfg.Patrol.Store, `INSERT INTO schema_version (version) VALUES (999)`)
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	m, err := Create(context.Background(), cfg, configPath, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		if f.Key == "patrol.store" && *f.Schema != 999 {
			t.Errorf("manifest schema of patrol.store: %d, want 999", *f.Schema)
		}
	}
	to := elsewhere(t, cfg)
	_, err = Restore(context.Background(), to, out, RestoreOptions{Check: CheckStore})
	if !errors.Is(err, sqlitex.ErrNewerSchema) || !strings.Contains(err.Error(), "patrol.store") {
		t.Fatalf("restore: %v, want the newer-schema refusal naming patrol.store", err)
	}
	if entries, _ := os.ReadDir(to.StateDir); len(entries) > 0 {
		t.Errorf("a refused restore left %s in state_dir", entries[0].Name())
	}
}

func TestBackupNamesPostgresOrderBook(t *testing.T) {
	cfg, configPath := state(t)
	cfg.WorkOrders.Store.Driver = "postgres"
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	m, err := Create(context.Background(), cfg, configPath, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.NotCopied) != 1 || !strings.Contains(m.NotCopied[0], "pg_dump") {
		t.Errorf("not copied: %q, want the pg_dump note", m.NotCopied)
	}
	for _, f := range m.Files {
		if f.Key == "workorders.store.path" {
			t.Error("an order book on PostgreSQL has a SQLite file in the backup")
		}
	}
}

func TestBackupNamesTheStoreThatFails(t *testing.T) {
	cfg, configPath := state(t)
	write(t, cfg.Commands.Store, "not a database at all, just text that is long enough to be a header of some sort....................................................")
	os.Remove(cfg.Commands.Store + "-wal")
	os.Remove(cfg.Commands.Store + "-shm")
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	_, err := Create(context.Background(), cfg, configPath, out, Options{})
	if err == nil || !strings.Contains(err.Error(), "commands.store "+cfg.Commands.Store) {
		t.Fatalf("backup: %v, want an error naming commands.store and its file", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed backup left an archive under its name")
	}
}

// rewrite copies the archive entry by entry through edit, which may change an entry's bytes.
func rewrite(t *testing.T, archive string, edit func(name string, data []byte) []byte, extra map[string][]byte) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	gw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gw)
	put := func(name string, data []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		put(hdr.Name, edit(hdr.Name, data))
	}
	for name, data := range extra {
		put(name, data)
	}
	f.Close()
	tw.Close()
	gw.Close()
	if err := os.WriteFile(archive, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func tamper(t *testing.T, archive, entry string) {
	rewrite(t, archive, func(name string, data []byte) []byte {
		if name == entry {
			data = append([]byte(nil), data...)
			data[0] ^= 0x20
		}
		return data
	}, nil)
}

func addEntry(t *testing.T, archive, entry string) {
	rewrite(t, archive, func(_ string, data []byte) []byte { return data }, map[string][]byte{entry: []byte("planted")})
}

func TestRestoreWithConfigPutsBackNamedFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		// before changes the CA file between the backup and the restore.
		before func(t *testing.T, ca string)
		refuse bool
	}{
		{"missing: written back", func(t *testing.T, ca string) { os.Remove(ca) }, false},
		{"the same: kept", func(*testing.T, string) {}, false},
		{"different: refused", func(t *testing.T, ca string) { write(t, ca, "another CA") }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, configPath := state(t)
			cfg.MQTT.TLS.CAFile = filepath.Join(t.TempDir(), "tls", "ca.pem")
			write(t, cfg.MQTT.TLS.CAFile, "the broker's CA")
			out := filepath.Join(t.TempDir(), "b.tar.gz")
			if _, err := Create(context.Background(), cfg, configPath, out, Options{}); err != nil {
				t.Fatal(err)
			}
			tc.before(t, cfg.MQTT.TLS.CAFile)
			_, err := Restore(context.Background(), elsewhere(t, cfg), out, RestoreOptions{WithConfig: true, ConfigPath: configPath})
			if tc.refuse {
				if err == nil || !strings.Contains(err.Error(), "mqtt.tls.ca_file") || !strings.Contains(err.Error(), cfg.MQTT.TLS.CAFile) {
					t.Fatalf("restore: %v, want a refusal naming mqtt.tls.ca_file and its file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(cfg.MQTT.TLS.CAFile)
			if err != nil || string(b) != "the broker's CA" {
				t.Errorf("CA file after restore: %q %v", b, err)
			}
		})
	}
}
