package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/sqlitex"
)

// Options are what Create records beyond the state itself.
type Options struct {
	// Version is the facilityd that takes the backup, for the manifest.
	Version string
	// Now is the clock of the manifest's time; nil is time.Now.
	Now func() time.Time
}

// Create writes to out a gzip'd tar archive (mode 0600) of cfg's state, taken while facilityd
// may be running and writing it; configPath is the configuration file, copied with the files
// it names. cfg must have had ResolveState. The archive is written beside out and renamed
// over it only once complete, so a failed backup never leaves a half archive under its name.
func Create(ctx context.Context, cfg *config.Config, configPath, out string, opts Options) (*Manifest, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	work, err := os.MkdirTemp("", "facilityd-backup-")
	if err != nil {
		return nil, fmt.Errorf("backup: make a working folder: %w", err)
	}
	defer os.RemoveAll(work)
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", out, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("backup %s: %w", out, err)
	}
	w := newWriter(tmp)
	m := &Manifest{Format: FormatVersion, Facilityd: opts.Version, Created: now().UTC(), StateDir: cfg.StateDir}
	err = collect(ctx, w, m, cfg, configPath, work)
	if err == nil {
		err = w.manifest(m)
	}
	if cerr := w.close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, fmt.Errorf("backup %s: %w", out, err)
	}
	return m, nil
}

// collect adds every part of the state to w, in the order that keeps the parts in agreement:
// the stores, the alarm journal first (stores lists it first): the journal holds its
// consumers' cursors, so the patrol store and the order book, copied after it, hold at least
// what their cursors say was handled, and a restored consumer never skips an event; then the
// spool's segments before its cursor, then the MQTT session store.
func collect(ctx context.Context, w *writer, m *Manifest, cfg *config.Config, configPath, work string) error {
	for _, s := range stores(cfg) {
		if err := addStore(ctx, w, m, s, work); err != nil {
			return err
		}
	}
	if cfg.WorkOrders.Store.Driver == "postgres" {
		m.NotCopied = append(m.NotCopied, PostgresNote)
	}
	if err := addSpool(w, m, cfg.Spool.Dir); err != nil {
		return err
	}
	if err := addMQTT(w, m, cfg.MQTT.StoreDir); err != nil {
		return err
	}
	if configPath != "" {
		f := File{Name: "config/" + filepath.Base(configPath), Kind: KindConfig, Key: "--config", Source: configPath,
			Consistent: "the file as read at the backup's time"}
		if err := w.addFile(m, f, configPath); err != nil {
			return err
		}
	}
	for _, nf := range namedFiles(cfg) {
		f := File{Name: "files/" + nf[0] + "/" + filepath.Base(nf[1]), Kind: KindFile, Key: nf[0], Source: nf[1],
			Consistent: "the file as read at the backup's time"}
		if err := w.addFile(m, f, nf[1]); err != nil {
			return err
		}
	}
	return nil
}

// addStore copies one SQLite store with VACUUM INTO from a read-only connection of its own.
// In WAL mode the daemon goes on writing meanwhile; the copy is one read transaction, so it
// holds exactly the transactions committed when it began (SQLite, "VACUUM INTO": the copy is
// a transactionally consistent snapshot). A store whose file does not exist yet is skipped.
func addStore(ctx context.Context, w *writer, m *Manifest, s store, work string) error {
	if _, err := os.Stat(s.path); errors.Is(err, fs.ErrNotExist) {
		m.NotCopied = append(m.NotCopied, fmt.Sprintf("%s: %s does not exist yet", s.key, s.path))
		return nil
	}
	copyPath := filepath.Join(work, s.key+".db")
	version, err := vacuumInto(ctx, s, copyPath)
	if err != nil {
		return fmt.Errorf("backup %s %s: %w", s.key, s.path, err)
	}
	f := File{Name: "stores/" + s.key + ".db", Kind: KindSQLite, Key: s.key, Source: s.path, Schema: &version,
		Consistent: "one SQLite transaction: every change committed when its copy began"}
	return w.addFile(m, f, copyPath)
}

// vacuumInto copies s to dst and returns the copy's schema version.
func vacuumInto(ctx context.Context, s store, dst string) (int, error) {
	db, err := sql.Open("sqlite", "file:"+s.path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO '`+strings.ReplaceAll(dst, "'", "''")+`'`); err != nil {
		return 0, fmt.Errorf("copy with VACUUM INTO: %w", err)
	}
	cp, err := sql.Open("sqlite", "file:"+dst+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer cp.Close()
	v, err := sqlitex.Version(ctx, cp, s.table)
	if err != nil {
		return 0, fmt.Errorf("read the schema version of the copy: %w", err)
	}
	return v, nil
}

// addSpool copies the spool's closed segments and then its cursor. The spool appends only to
// its highest-numbered segment (telemetry/spool.go: the last one is the one appended to), so
// that one is left out: at most one segment of readings, spool.segment_bytes, is not in the
// backup. The cursor is copied after the segments: it then names a segment no earlier than
// any copied, and its next id is above them all, so the restored spool never reuses an id. A
// segment deleted while copying (replayed, or dropped for space) is left out, as the spool
// would have.
func addSpool(w *writer, m *Manifest, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backup spool.dir %s: %w", dir, err)
	}
	var segs []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".seg") {
			segs = append(segs, e.Name())
		}
	}
	sort.Strings(segs) // fixed-width hex ids: the name order is the id order
	if len(segs) > 0 {
		segs = segs[:len(segs)-1]
	}
	for _, name := range append(segs, "cursor") {
		f := File{Name: "spool/" + name, Kind: KindSpool, Key: "spool.dir", Source: filepath.Join(dir, name),
			Consistent: "a closed segment, never written again"}
		if name == "cursor" {
			f.Consistent = "read after the segments: names none earlier than those copied"
		}
		if err := w.addFile(m, f, f.Source); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// addMQTT copies the MQTT session store: one file per QoS 1 message in flight. Each file is
// copied as read; a message written at that moment may be torn, and the client's store drops
// a file it cannot decode (northbound/store.go), as it would after a crash.
func addMQTT(w *writer, m *Manifest, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backup mqtt.store_dir %s: %w", dir, err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		f := File{Name: "mqtt/" + e.Name(), Kind: KindMQTT, Key: "mqtt.store_dir", Source: filepath.Join(dir, e.Name()),
			Consistent: "the message file as read; each is written whole by the client"}
		if err := w.addFile(m, f, f.Source); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// writer is the archive being written.
type writer struct {
	gz *gzip.Writer
	tw *tar.Writer
}

func newWriter(out io.Writer) *writer {
	gz := gzip.NewWriter(out)
	return &writer{gz: gz, tw: tar.NewWriter(gz)}
}

// addFile puts the file at path into the archive as f.Name and records it, with its size and
// SHA-256, in m. A file missing is returned as fs.ErrNotExist, for callers that may skip it.
func (w *writer) addFile(m *Manifest, f File, path string) error {
	src, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return fmt.Errorf("backup %s %s: %w", f.Key, path, err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return fmt.Errorf("backup %s %s: %w", f.Key, path, err)
	}
	// The size when opened is the size copied: a file appended to meanwhile is copied as it
	// was, never with a header that disagrees with its bytes.
	f.Size = fi.Size()
	hdr := &tar.Header{Name: f.Name, Mode: 0o600, Size: f.Size, ModTime: fi.ModTime(), Typeflag: tar.TypeReg}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("backup %s %s: %w", f.Key, path, err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(w.tw, h), src, f.Size); err != nil {
		return fmt.Errorf("backup %s %s: %w", f.Key, path, err)
	}
	f.SHA256 = hex.EncodeToString(h.Sum(nil))
	m.Files = append(m.Files, f)
	return nil
}

// entry writes one file entry, mode 0600.
func (w *writer) entry(name string, data []byte) error {
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: time.Now(), Typeflag: tar.TypeReg}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := w.tw.Write(data)
	return err
}

// manifest writes m as the archive's last entry.
func (w *writer) manifest(m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return w.entry(ManifestName, append(b, '\n'))
}

func (w *writer) close() error {
	err := w.tw.Close()
	if gerr := w.gz.Close(); err == nil {
		err = gerr
	}
	return err
}
