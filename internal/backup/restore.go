package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/facilityd/facilityd/config"
)

// RestoreOptions say what Restore puts back beyond the state.
type RestoreOptions struct {
	// WithConfig puts back the configuration file (at ConfigPath; a file there is kept as
	// ConfigPath.before-restore) and the TLS and token files it names (where they were; an
	// existing one must match the archive's).
	WithConfig bool
	ConfigPath string
	// Check opens a restored SQLite store (staged, not yet in place) with its own opener, so
	// that a file this facilityd cannot run on (a newer schema: sqlitex.ErrNewerSchema) is
	// refused before anything is put back. Nil checks nothing; facilityd passes OpenStores.
	Check func(ctx context.Context, key, path string) error
}

// Restore puts the archive at archive back into cfg's state (ResolveState has run): only into
// an empty state directory, every file checked against the manifest's SHA-256 and every store
// against this binary's schema before any is moved into place, directories 0700 and files
// 0600 as config.PrivateDir expects. It returns the archive's manifest.
func Restore(ctx context.Context, cfg *config.Config, archive string, opts RestoreOptions) (*Manifest, error) {
	if err := emptyTarget(cfg); err != nil {
		return nil, err
	}
	// The staging folder is inside state_dir: facilityd's user may write there (not always
	// beside it, /var/lib is root's), the files are then renamed on one file system, and a
	// refused restore, which removes it, leaves state_dir as empty as it found it.
	if err := config.PrivateDir(cfg.StateDir, "state_dir"); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	stage, err := os.MkdirTemp(cfg.StateDir, ".restore-")
	if err != nil {
		return nil, fmt.Errorf("restore: make a staging folder in state_dir %s: %w", cfg.StateDir, err)
	}
	defer os.RemoveAll(stage)
	m, err := unpack(archive, stage)
	if err != nil {
		return nil, err
	}
	if opts.Check != nil {
		for _, f := range m.Files {
			if f.Kind != KindSQLite {
				continue
			}
			if err := opts.Check(ctx, f.Key, stagedPath(stage, f.Name)); err != nil {
				return nil, fmt.Errorf("restore %s from %s: %w", f.Key, archive, err)
			}
		}
	}
	if err := place(cfg, m, stage, opts); err != nil {
		return nil, fmt.Errorf("%w (state_dir %s is partly restored: empty it before trying again)", err, cfg.StateDir)
	}
	return m, nil
}

// emptyTarget refuses a state directory that holds anything, and a store file (set outside
// state_dir on its own) that exists already: a restore never mixes two states.
func emptyTarget(cfg *config.Config) error {
	entries, err := os.ReadDir(cfg.StateDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore into state_dir %s: %w", cfg.StateDir, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("restore into state_dir %s: %w (it holds %s): restore into an empty or new folder, or move this one away",
			cfg.StateDir, ErrNotEmpty, entries[0].Name())
	}
	for _, s := range stores(cfg) {
		if _, err := os.Stat(s.path); err == nil {
			return fmt.Errorf("restore %s: %s exists: %w: move it away first", s.key, s.path, ErrNotEmpty)
		}
	}
	return nil
}

// stagedPath is where unpack put the entry name.
func stagedPath(stage, name string) string {
	return filepath.Join(stage, filepath.FromSlash(name))
}

// unpack extracts the archive into stage and checks every file against the manifest: each
// listed file present with its size and SHA-256, nothing else there, a layout this binary knows.
func unpack(archive, stage string) (*Manifest, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("restore %s: not a gzip'd archive: %w", archive, err)
	}
	sums := map[string]string{}
	var manifest []byte
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("restore %s: read the archive: %w", archive, err)
		}
		if hdr.Name == ManifestName {
			if manifest, err = io.ReadAll(io.LimitReader(tr, 16<<20)); err != nil {
				return nil, fmt.Errorf("restore %s: read the manifest: %w", archive, err)
			}
			continue
		}
		if sums[path.Clean(hdr.Name)], err = extract(tr, hdr, stage); err != nil {
			return nil, fmt.Errorf("restore %s: %w", archive, err)
		}
	}
	if manifest == nil {
		return nil, fmt.Errorf("restore %s: no %s in it: not an archive of facilityd backup", archive, ManifestName)
	}
	var m Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("restore %s: %s: %w", archive, ManifestName, err)
	}
	if m.Format > FormatVersion {
		return nil, fmt.Errorf("restore %s: archive format %d is newer than this facilityd knows (%d): restore with the facilityd that made it (%s)",
			archive, m.Format, FormatVersion, m.Facilityd)
	}
	return &m, verify(archive, &m, sums)
}

// extract writes one regular entry under stage (0600) and returns its SHA-256.
func extract(tr *tar.Reader, hdr *tar.Header, stage string) (string, error) {
	name := path.Clean(hdr.Name)
	if hdr.Typeflag != tar.TypeReg || path.IsAbs(name) || name == "." || name == ".." || strings.HasPrefix(name, "../") {
		return "", fmt.Errorf("entry %q: not a plain file inside the archive", hdr.Name)
	}
	dst := stagedPath(stage, name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), tr)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// verify compares what was extracted with the manifest.
func verify(archive string, m *Manifest, sums map[string]string) error {
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[path.Clean(f.Name)] = true
		got, ok := sums[path.Clean(f.Name)]
		switch {
		case !ok:
			return fmt.Errorf("restore %s: %s (%s) is in the manifest but not in the archive: %w", archive, f.Name, f.Key, ErrTampered)
		case got != f.SHA256:
			return fmt.Errorf("restore %s: %s (%s): SHA-256 %s, the manifest says %s: %w; take another backup",
				archive, f.Name, f.Key, got, f.SHA256, ErrTampered)
		}
	}
	for name := range sums {
		if !listed[name] {
			return fmt.Errorf("restore %s: %s is in the archive but not in its manifest: %w", archive, name, ErrTampered)
		}
	}
	return nil
}

// ArchivedConfig returns the configuration file inside archive, checked against its manifest,
// for a restore onto a machine that has no configuration yet (--with-config with no file at
// --config): the state_dir and every path come from the configuration that was backed up.
func ArchivedConfig(archive string) ([]byte, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("restore %s: not a gzip'd archive: %w", archive, err)
	}
	var manifest []byte
	files := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("restore %s: read the archive: %w", archive, err)
		}
		name := path.Clean(hdr.Name)
		if name != ManifestName && !strings.HasPrefix(name, "config/") {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 16<<20))
		if err != nil {
			return nil, fmt.Errorf("restore %s: read %s: %w", archive, name, err)
		}
		if name == ManifestName {
			manifest = b
		} else {
			files[name] = b
		}
	}
	var m Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("restore %s: %s: %w", archive, ManifestName, err)
	}
	for _, mf := range m.Files {
		if mf.Kind != KindConfig {
			continue
		}
		b, ok := files[path.Clean(mf.Name)]
		sum := sha256.Sum256(b)
		if !ok || hex.EncodeToString(sum[:]) != mf.SHA256 {
			return nil, fmt.Errorf("restore %s: %s: %w", archive, mf.Name, ErrTampered)
		}
		return b, nil
	}
	return nil, fmt.Errorf("restore %s: the backup holds no configuration file", archive)
}
