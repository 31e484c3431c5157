package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/backup"
	"github.com/facilityd/facilityd/internal/version"
)

// backupCommand is `facilityd backup`: a consistent copy of every store of a configuration,
// taken while facilityd runs (it reads, never stops polling), as one archive.
func backupCommand() *cobra.Command {
	var path, out string
	cmd := &cobra.Command{
		Use:   "backup --config FILE --out FILE.tar.gz",
		Short: "Copy every store, the spool, the MQTT session store and the configuration while facilityd runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := stateConfig(path)
			if err != nil {
				return err
			}
			m, err := backup.Create(cmd.Context(), cfg, path, out, backup.Options{Version: buildVersion()})
			if err != nil {
				return err
			}
			var size int64
			for _, f := range m.Files {
				size += f.Size
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d files, %d bytes, of state_dir %s\n", out, len(m.Files), size, m.StateDir)
			for _, n := range m.NotCopied {
				fmt.Fprintln(cmd.OutOrStdout(), "not copied:", n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "facilityd.yaml", "configuration file of the facilityd to back up")
	cmd.Flags().StringVar(&out, "out", "", "archive to write (gzip'd tar, mode 0600)")
	cmd.MarkFlagRequired("out")
	return cmd
}

// restoreCommand is `facilityd restore`: an archive of `facilityd backup` put back into an
// empty state directory, checked against its manifest and this binary's schemas first.
func restoreCommand() *cobra.Command {
	var path string
	var withConfig bool
	cmd := &cobra.Command{
		Use:   "restore --config FILE [--with-config] ARCHIVE",
		Short: "Put a backup back into an empty state directory (facilityd stopped)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := configFromArchive(path, args[0], withConfig); err != nil {
				return err
			}
			cfg, err := stateConfig(path)
			if err != nil {
				return err
			}
			m, err := backup.Restore(cmd.Context(), cfg, args[0], backup.RestoreOptions{
				WithConfig: withConfig, ConfigPath: path, Check: backup.CheckStore,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %d files into state_dir %s from the backup of %s (facilityd %s)\n",
				len(m.Files), cfg.StateDir, m.Created.Format("2006-01-02 15:04:05Z"), m.Facilityd)
			for _, n := range m.NotCopied {
				fmt.Fprintln(cmd.OutOrStdout(), "not in the backup:", n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "facilityd.yaml", "configuration file whose state_dir is restored into")
	cmd.Flags().BoolVar(&withConfig, "with-config", false, "put back the configuration file and the TLS and token files it names too; with no file at --config, the archived one is written there first")
	return cmd
}

// configFromArchive writes the archive's configuration to path when --with-config is given
// and path does not exist: on a new machine the backup itself says where the state goes.
func configFromArchive(path, archive string, withConfig bool) error {
	if _, err := os.Stat(path); !withConfig || !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	b, err := backup.ArchivedConfig(archive)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	return nil
}

// stateConfig loads the configuration at path with its state paths resolved as `facilityd
// run` resolves them.
func stateConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if cfg.StateDir == "" {
		cfg.StateDir, _ = config.DefaultStateDir(path)
	}
	if err := cfg.ResolveState(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// buildVersion is this binary's release and commit, for the manifest.
func buildVersion() string {
	i := version.Get()
	if i.Commit == "" {
		return i.Version
	}
	return i.Version + " " + i.Commit
}
