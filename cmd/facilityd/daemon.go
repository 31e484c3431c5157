package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only when http.pprof is set
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/modbus"
	"github.com/facilityd/facilityd/telemetry"
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
			if !loopback(cfg.HTTP.Addr) {
				return fmt.Errorf("http.addr %s is not a loopback address: the API has no role tokens to guard it yet, so facilityd serves it on loopback only (use 127.0.0.1:PORT behind a reverse proxy that authenticates)", cfg.HTTP.Addr)
			}
			log := newLogger(cfg.Log, os.Stderr)
			return runDaemon(cmd.Context(), cfg, log, hooks{})
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
	// workorders are the work-order manager's collaborators (alarm engine OOS hook,
	// notifier, MQTT publisher, event sinks); nil ones are left out.
	workorders workorders.Options
}

// runDaemon wires the pipeline of DESIGN.md's data flow and runs it until ctx ends: the pollers
// stop first, then the InfluxDB writer drains and flushes what they read.
func runDaemon(ctx context.Context, cfg *config.Config, log *slog.Logger, h hooks) error {
	devs, err := cfg.BuildDevices()
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	latest := devices.NewLatest(devs)

	var writer *telemetry.Writer
	if cfg.Influx.URL != "" {
		writer, err = telemetry.NewWriter(telemetry.Config{
			URL: cfg.Influx.URL, Bucket: cfg.Influx.Bucket, Org: cfg.Influx.Org, Token: cfg.Influx.Token.Reveal(),
			BatchSize: cfg.Influx.BatchSize, FlushInterval: cfg.Influx.FlushInterval,
			Timeout: cfg.Influx.Timeout, QueueSize: cfg.Influx.QueueSize,
		}, reg, log.With("component", "influx"))
		if err != nil {
			return fmt.Errorf("influx: %w", err)
		}
		log.Info("writing telemetry to InfluxDB", "url", cfg.Influx.URL, "bucket", cfg.Influx.Bucket)
	} else {
		log.Warn("no InfluxDB configured (influx.url or " + config.EnvName("influx.url") + "): readings are kept in the live cache only")
	}

	orders, runOrders, closeOrders, err := openWorkOrders(ctx, cfg, log.With("component", "workorders"), h.workorders)
	if err != nil {
		return err
	}
	defer closeOrders()

	handle := func(s *devices.Snapshot) {
		latest.Update(s)
		if writer != nil {
			writer.Enqueue(s)
		}
		orders.Observe(s)
	}
	poller, err := modbus.New(devs, handle, modbus.Options{
		BackoffMin: cfg.Modbus.BackoffMin, BackoffMax: cfg.Modbus.BackoffMax,
		Logger: log.With("component", "modbus"), Metrics: modbus.NewMetrics(reg),
	})
	if err != nil {
		return err
	}
	srv := api.New(latest, reg, log.With("component", "api"))
	if cfg.HTTP.Pprof {
		srv.Handle("/debug/pprof/", http.DefaultServeMux)
		log.Info("Go profiler served at /debug/pprof/ (http.pprof)")
	}
	api.RegisterWorkOrders(srv, orders)
	if h.routes != nil {
		h.routes(srv)
	}

	g, gctx := errgroup.WithContext(ctx)
	// The writer outlives the pollers: it is stopped only once they have returned, so that
	// every reading taken is flushed.
	writerCtx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWriter()
	if writer != nil {
		g.Go(func() error {
			defer writer.Close()
			return writer.Run(writerCtx)
		})
	}
	g.Go(func() error {
		defer stopWriter()
		return poller.Run(gctx)
	})
	g.Go(func() error { return runOrders(gctx) })
	g.Go(func() error {
		return srv.ListenAndServe(gctx, cfg.HTTP.Addr, func(a net.Addr) {
			log.Info("API listening", "url", "http://"+a.String(), "devices", len(devs))
			if h.listening != nil {
				h.listening(a)
			}
		})
	})
	err = g.Wait()
	log.Info("stopped")
	return err
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

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
