package backup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/facilityd/facilityd/config"
)

// place moves the staged files to where cfg keeps them. Folders are made with
// config.PrivateDir (0700, facilityd's own), files are 0600.
func place(cfg *config.Config, m *Manifest, stage string, opts RestoreOptions) error {
	for _, d := range cfg.PrivateDirs() {
		if err := config.PrivateDir(d[1], d[0]); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	for _, f := range m.Files {
		dst, err := destination(cfg, f, opts)
		if err != nil {
			return err
		}
		if dst == "" {
			continue
		}
		src := stagedPath(stage, f.Name)
		if f.Kind == KindConfig || f.Kind == KindFile {
			err = placeConfigFile(f, src, dst)
		} else {
			err = moveFile(src, dst)
		}
		if err != nil {
			return fmt.Errorf("restore %s to %s: %w", f.Key, dst, err)
		}
	}
	return nil
}

// destination is where f goes under cfg, or "" when it is not to be put back.
func destination(cfg *config.Config, f File, opts RestoreOptions) (string, error) {
	base := filepath.Base(filepath.FromSlash(f.Name))
	switch f.Kind {
	case KindSQLite:
		p := storePath(cfg, f.Key)
		if p == "" {
			return "", fmt.Errorf("restore %s: the archive has this store but the configuration has no place for it (workorders.store.driver is %q): restore with workorders.store.driver sqlite",
				f.Key, cfg.WorkOrders.Store.Driver)
		}
		return p, nil
	case KindSpool:
		return filepath.Join(cfg.Spool.Dir, base), nil
	case KindMQTT:
		return filepath.Join(cfg.MQTT.StoreDir, base), nil
	case KindConfig:
		if !opts.WithConfig || opts.ConfigPath == "" {
			return "", nil
		}
		return opts.ConfigPath, nil
	case KindFile:
		if !opts.WithConfig {
			return "", nil
		}
		return f.Source, nil
	}
	return "", fmt.Errorf("restore %s: kind %q is not one this facilityd knows: restore with the facilityd that made the archive", f.Name, f.Kind)
}

// placeConfigFile puts the configuration or a file it names back. A configuration already
// there is kept beside it as .before-restore; a certificate or key already there must be the
// archived one, since a daemon may be using it.
func placeConfigFile(f File, src, dst string) error {
	if f.Kind == KindConfig {
		if same, err := sameFile(src, dst); err != nil || same {
			return err
		}
		if _, err := os.Stat(dst); err == nil {
			if err := os.Rename(dst, dst+".before-restore"); err != nil {
				return err
			}
		}
		return moveFile(src, dst)
	}
	have, err := os.ReadFile(dst)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		return moveFile(src, dst)
	}
	if err != nil {
		return err
	}
	want, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if !bytes.Equal(have, want) {
		return fmt.Errorf("%s exists and differs from the archived file: move it away to restore it, or restore without --with-config", dst)
	}
	return nil
}

// moveFile moves src to dst (mode 0600), copying when they are on different file systems,
// and fsyncs the file so that a restored state survives a power cut before the first start.
func moveFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("%s exists: %w", dst, ErrNotEmpty)
	}
	if err := os.Rename(src, dst); err != nil {
		if err := copyFile(src, dst); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(dst, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	return f.Sync()
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// sameFile reports whether dst exists with src's bytes.
func sameFile(src, dst string) (bool, error) {
	have, err := os.ReadFile(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	want, err := os.ReadFile(src)
	if err != nil {
		return false, err
	}
	return bytes.Equal(have, want), nil
}
