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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/modbus"
	"github.com/facilityd/facilityd/telemetry"
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

	history := devices.NewHistory(devs, time.Hour, consoleHistoryBudget)
	// Alarms: the engine sees every snapshot; its events go to the SSE hub and to patrol alerts
	// (set below, before any event can flow: events start with engine.Run).
	hub := api.NewHub(256, 64)
	var patrolSvc *patrol.Service
	toPatrol := alarms.SinkFunc(func(e alarms.Event) {
		if patrolSvc != nil {
			patrolSvc.AlarmEvent(e)
		}
	})
	engine, journal, err := startAlarms(cfg, devs, hub, log.With("component", "alarms"), toPatrol)
	if err != nil {
		return err
	}
	defer journal.Close()
	reg.MustRegister(engine.Collector())

	var mq *mqttSide
	handle := func(s *devices.Snapshot) {
		latest.Update(s)
		history.Record(s)
		if writer != nil {
			writer.Enqueue(s)
		}
		engine.Enqueue(s)
		mq.enqueue(s)
	}
	mq, err = startMQTT(cfg, devs, handle, reg, log)
	if err != nil {
		return err
	}
	defer mq.close()
	var modbusDevs []*devices.Device
	for _, d := range devs {
		if d.Modbus != nil {
			modbusDevs = append(modbusDevs, d)
		}
	}
	poller, err := modbus.New(modbusDevs, handle, modbus.Options{
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
	srv.ServeAlarms(engine)
	srv.ServeEvents(hub)
	serveConsole(srv, latest, history, cfg)

	// Patrol alerts and the night lighting check (alarms/patrol).
	if cfg.Patrol.Enabled() {
		patrolSvc, err = patrol.New(cfg, patrol.Deps{
			Latest: latest, Acker: engine, Events: hub, Publisher: mq.client, Subscriber: mq.client,
			Registerer: reg, Log: log.With("component", "patrol"),
		})
		if err != nil {
			return fmt.Errorf("patrol: %w", err)
		}
		defer patrolSvc.Close()
		srv.Handle("/api/v1/patrol/", api.PatrolHandler(patrolSvc))
	}
	if h.routes != nil {
		h.routes(srv)
	}

	g, gctx := errgroup.WithContext(ctx)
	if patrolSvc != nil {
		g.Go(func() error { return patrolSvc.Run(gctx) })
	}
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
	// Northbound telemetry, like the writer, drains what the pollers read before it stops.
	nbCtx, stopNorthbound := context.WithCancel(context.WithoutCancel(ctx))
	defer stopNorthbound()
	nbDone := make(chan struct{})
	g.Go(func() error {
		defer close(nbDone)
		return mq.runTelemetry(nbCtx)
	})
	g.Go(func() error {
		defer stopWriter()
		pg, pctx := errgroup.WithContext(gctx)
		pg.Go(func() error { return poller.Run(pctx) })
		pg.Go(func() error { return mq.listener.Run(pctx) })
		err := pg.Wait()
		if mq.telemetry != nil {
			mq.telemetry.Close()
			<-nbDone
		}
		return err
	})
	g.Go(func() error {
		defer hub.Close() // event streams end, so that the API can shut down
		return engine.Run(gctx)
	})
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
