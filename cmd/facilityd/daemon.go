package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/workorders"
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
			if !loopback(cfg.HTTP.Addr) && len(cfg.HTTP.Tokens) == 0 {
				return fmt.Errorf("http.addr %s is not a loopback address and http.tokens is empty: configure role tokens (facilityd hash-token) or listen on 127.0.0.1", cfg.HTTP.Addr)
			}
			log := newLogger(cfg.Log, os.Stderr)
			for _, w := range cfg.SecurityWarnings() {
				log.Warn(w)
			}
			why := "state_dir"
			if cfg.StateDir == "" {
				cfg.StateDir, why = config.DefaultStateDir(path)
			}
			log.Info("state directory", "dir", cfg.StateDir, "why", why)
			return runDaemon(cmd.Context(), cfg, log, hooks{configPath: path, afterJournal: killAfterJournal(), afterHandled: killAfterHandled()})
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "facilityd.yaml", "configuration file")
	return cmd
}

// hooks let the demo and the tests reach into a running daemon.
type hooks struct {
	// routes adds routes to the API before it serves.
	routes func(*api.Server)
	// listening receives the API's bound address.
	listening func(net.Addr)
	// onSpoolDrop is told when the spool deletes readings unreplayed (full, or corrupt at
	// start), beside the gateway device's alarm.
	onSpoolDrop func(points, bytes int)
	// observe sees every snapshot the sources hand on (tests).
	observe func(*devices.Snapshot)
	// configPath is the file reloaded on SIGHUP; empty: no reload (the demo's built-in file).
	configPath string
	// onReload are told of every valid new configuration, after the pollers restarted with its
	// devices.
	onReload []func(*config.Config) error
	// workorders adds collaborators to the work-order manager's (tests).
	workorders workorders.Options
	// afterJournal runs after each alarm journal commit, before any consumer sees it.
	afterJournal func(alarms.Event)
	// afterHandled runs after a named consumer applied an event, before its cursor moves.
	afterHandled func(consumer string, e alarms.Event)
}

// runDaemon builds the pipeline of docs/design.md's data flow (pipeline.go) and runs it until ctx
// ends or a stage fails. cfg.StateDir must be set (run and demo choose one).
func runDaemon(ctx context.Context, cfg *config.Config, log *slog.Logger, h hooks) error {
	raiseFileLimit(log)
	d, err := build(ctx, cfg, log, h)
	if err != nil {
		return err
	}
	defer d.close()
	return d.run(ctx)
}

// run starts the stages downstream first and the sources last, waits for ctx or a failure,
// then stops the sources and lets the closes cascade: sources return → the engine's, the
// writer's and the northbound inputs close → each drains → the engine closes the journal's
// feed → every alarm consumer delivers what is journalled and returns → the patrol and work
// orders stop. One deadline (shutdown_timeout) bounds it all; past it every stage is
// cancelled, and run still waits for them all, so that no goroutine outlives the stores that
// close after it.
func (d *daemon) run(ctx context.Context) error {
	hard, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()
	services, stopServices := context.WithCancel(hard)
	defer stopServices()
	sources, stopSources := context.WithCancel(hard)
	defer stopSources()

	var g errgroup.Group
	failed := make(chan error, 1)
	stage := func(name string, run func() error) {
		g.Go(func() error {
			err := run()
			if err != nil {
				err = fmt.Errorf("%s: %w", name, err)
				select {
				case failed <- err:
				default:
				}
			}
			return err
		})
	}
	if d.writer != nil {
		stage("influx writer", func() error { return d.writer.Run(hard) })
	}
	stage("northbound telemetry", func() error { return d.mq.runTelemetry(hard) })
	consumed := make(chan struct{})
	stage("alarm consumers", func() error {
		defer close(consumed)
		return d.follow(hard)
	})
	stage("alarm engine", func() error {
		defer d.journal.CloseFeed()
		return d.engine.Run(hard)
	})
	if d.patrol != nil {
		stage("patrol", func() error { return d.patrol.Run(services) })
	}
	stage("work orders", func() error { return d.runOrders(services) })
	stage("api", func() error {
		// Event streams end when the API stops, or its shutdown would wait for them.
		defer context.AfterFunc(sources, d.hub.Close)()
		return d.srv.ServeListener(sources, d.ln, d.cfg.HTTP.Addr, d.listening)
	})
	stage("sources", func() error {
		defer d.closeInputs()
		return d.runSources(sources)
	})

	var err error
	select {
	case <-ctx.Done():
	case err = <-failed:
	}
	d.log.Info("stopping: sources stop, then each stage drains into the next", "shutdown_timeout", d.cfg.ShutdownTimeout)
	stopSources()
	var late atomic.Bool
	deadline := time.AfterFunc(d.cfg.ShutdownTimeout, func() {
		late.Store(true)
		hardStop()
	})
	defer deadline.Stop()
	go func() {
		// The patrol's dispatcher and the orders' timers run until the consumers have handed
		// them the last events.
		select {
		case <-consumed:
		case <-hard.Done():
		}
		stopServices()
	}()
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if late.Load() {
		d.log.Error("shutdown_timeout passed before everything drained; readings not yet spooled or written are lost, alarm events not yet delivered are delivered at the next start", "shutdown_timeout", d.cfg.ShutdownTimeout)
		return errors.Join(err, fmt.Errorf("shutdown took longer than shutdown_timeout %v", d.cfg.ShutdownTimeout))
	}
	d.log.Info("stopped")
	return err
}

// runSources runs the sources of snapshots until ctx ends: the Modbus pollers (under the
// reloader), the MQTT device listener and the gateway's own health.
func (d *daemon) runSources(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.reload.run(gctx, d.poller) })
	g.Go(func() error { return d.mq.listener.Run(gctx) })
	g.Go(func() error { return d.health.Run(gctx) })
	return g.Wait()
}

// closeInputs closes the inputs the sources feed, once they have all returned.
func (d *daemon) closeInputs() {
	d.engine.CloseInput()
	if d.writer != nil {
		d.writer.CloseInput()
	}
	d.mq.closeTelemetry()
}

// follow runs every consumer of the alarm journal until the feed closes and each has caught
// up, or ctx ends.
func (d *daemon) follow(ctx context.Context) error {
	var g errgroup.Group
	for _, c := range d.consumers {
		g.Go(func() error { return d.journal.Follow(ctx, c, d.log.With("component", "alarm-delivery")) })
	}
	return g.Wait()
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func loopback(addr string) bool { return config.Loopback(addr) }

// authMode says how the API is guarded, for the start-up log.
func authMode(a *api.Auth) string {
	if a.Open() {
		return "open (no http.tokens)"
	}
	return "role tokens"
}

// newAuth builds the API's token check from http.tokens.
func newAuth(cfg *config.Config) (*api.Auth, error) {
	var toks []api.Token
	for i, t := range cfg.HTTP.Tokens {
		tok, err := api.ParseToken(t.Name, t.Role, strings.ToLower(t.SHA256))
		if err != nil {
			return nil, fmt.Errorf("http.tokens[%d]: %w", i, err)
		}
		toks = append(toks, tok)
	}
	return api.NewAuth(toks, cfg.HTTP.MetricsOpen), nil
}
