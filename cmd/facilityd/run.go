package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/daemon"
)

func runCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "run --config FILE",
		Short: "Poll the configured devices, write readings to InfluxDB and serve the API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			if err := refuseOpenAPI(cfg); err != nil {
				return err
			}
			log := newLogger(cfg.Log, os.Stderr)
			for _, w := range cfg.SecurityWarnings() {
				log.Warn(w)
			}
			stateDir, why := cfg.StateDir, "state_dir"
			if stateDir == "" {
				stateDir, why = config.DefaultStateDir(path)
			}
			log.Info("state directory", "dir", stateDir, "why", why)
			// A reloaded file is readied as this one was: the same refusal, the same default
			// state directory (so the rebuilt pipeline opens the same stores).
			prepare := func(c *config.Config) error {
				if err := refuseOpenAPI(c); err != nil {
					return err
				}
				if c.StateDir == "" {
					c.StateDir = stateDir
				}
				return nil
			}
			if err := prepare(cfg); err != nil {
				return err
			}
			opts, stopNotify := withSystemd(cmd.Context(), cfg, log, daemon.Options{ConfigPath: path, Prepare: prepare, AfterJournal: daemon.KillAfterJournal(), AfterHandled: daemon.KillAfterHandled()})
			defer stopNotify()
			return runDaemon(cmd.Context(), cfg, log, opts)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "facilityd.yaml", "configuration file")
	return cmd
}

// runDaemon builds the pipeline of docs/design.md's data flow (internal/daemon) and runs it until
// ctx ends or a stage fails. cfg.StateDir must be set (run and demo choose one).
func runDaemon(ctx context.Context, cfg *config.Config, log *slog.Logger, opts daemon.Options) error {
	opts.Logger = log
	d, err := daemon.New(cfg, opts)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Run(ctx)
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if f, ok := w.(*os.File); ok && c.Format != "json" && journalStream(f) {
		opts.ReplaceAttr = dropTime // the journal stamps every line itself
	}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// dropTime removes the record's time from the text log written to the journal.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func loopback(addr string) bool { return config.Loopback(addr) }

// refuseOpenAPI refuses an API open to the network: a non-loopback http.addr needs role tokens.
func refuseOpenAPI(cfg *config.Config) error {
	if !loopback(cfg.HTTP.Addr) && len(cfg.HTTP.Tokens) == 0 {
		return fmt.Errorf("http.addr %s is not a loopback address and http.tokens is empty: configure role tokens (facilityd hash-token) or listen on 127.0.0.1", cfg.HTTP.Addr)
	}
	return nil
}
