package main

import (
	"context"
	"encoding/json"
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
			return runDaemon(cmd.Context(), cfg, log, hooks{configPath: path})
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
	// start); the alarm engine will raise an alarm from it.
	onSpoolDrop func(points, bytes int)
	// observe sees every snapshot the pollers hand on (tests).
	observe func(*devices.Snapshot)
	// configPath is the file reloaded on SIGHUP; empty: no reload (the demo's built-in file).
	configPath string
	// onReload are told of every valid new configuration, after the pollers restarted with its
	// devices; the alarm engine will hook its rules in here.
	onReload []func(*config.Config) error
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
	// facilityd's own health is a device too, so its troubles are alarms like any other's.
	health := newGatewayHealth(gatewayDevice(cfg), nil)
	devs = append(devs, health.dev)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	latest := devices.NewLatest(devs)

	var writer *telemetry.Writer
	var spool *telemetry.Spool
	if cfg.Influx.URL != "" {
		onDrop := func(points, bytes int) {
			health.spoolDropped(points, bytes)
			if h.onSpoolDrop != nil {
				h.onSpoolDrop(points, bytes)
			}
		}
		if spool, err = openSpool(cfg, reg, log, onDrop); err != nil {
			return err
		}
		writer, err = telemetry.NewWriter(telemetry.Config{
			URL: cfg.Influx.URL, Bucket: cfg.Influx.Bucket, Org: cfg.Influx.Org, Token: cfg.Influx.Token.Reveal(),
			BatchSize: cfg.Influx.BatchSize, FlushInterval: cfg.Influx.FlushInterval,
			Timeout: cfg.Influx.Timeout, QueueSize: cfg.Influx.QueueSize, Spool: spool,
			// Half the shutdown budget for the final write; the spool takes what is left.
			FinalTimeout: min(cfg.Influx.Timeout, cfg.ShutdownTimeout/2),
		}, reg, log.With("component", "influx"))
		if err != nil {
			if spool != nil {
				spool.Close()
			}
			return fmt.Errorf("influx: %w", err)
		}
		log.Info("writing telemetry to InfluxDB", "url", cfg.Influx.URL, "bucket", cfg.Influx.Bucket)
	} else {
		log.Warn("no InfluxDB configured (influx.url or " + config.EnvName("influx.url") + "): readings are kept in the live cache only")
	}

	// The console charts from InfluxDB when there is one; the rings then only bridge an
	// InfluxDB outage, at a coarser step in an eighth of the memory.
	historyBudget := consoleHistoryBudget
	if cfg.Influx.URL != "" {
		historyBudget /= 8
	}
	history := devices.NewHistory(devs, time.Hour, historyBudget)
	// Alarms: the engine sees every snapshot; its events go to the SSE hub, to patrol alerts and
	// to work orders (both set below, before any event can flow: events start with engine.Run).
	hub := api.NewHub(256, 64)
	var patrolSvc *patrol.Service
	var orders *workorders.Manager
	toPatrol := alarms.SinkFunc(func(e alarms.Event) {
		if patrolSvc != nil {
			patrolSvc.AlarmEvent(e)
		}
	})
	toOrders := alarms.SinkFunc(func(e alarms.Event) {
		if orders != nil {
			orders.AlarmEvent(e)
		}
	})
	sinks := []alarms.Sink{toPatrol, toOrders}
	if writer != nil {
		sinks = append(sinks, alarms.SinkFunc(func(e alarms.Event) { writer.EnqueueLine(alarmLine(e), e.At) }))
	}
	engine, journal, err := startAlarms(cfg, devs, hub, log.With("component", "alarms"), sinks...)
	if err != nil {
		return err
	}
	defer journal.Close()
	reg.MustRegister(engine.Collector())

	var mq *mqttSide
	handle := func(s *devices.Snapshot) {
		if h.observe != nil {
			h.observe(s)
		}
		latest.Update(s)
		history.Record(s)
		if writer != nil {
			writer.Enqueue(s)
		}
		engine.Enqueue(s)
		mq.enqueue(s)
		orders.Observe(s)
	}
	health.handle = handle
	mq, err = startMQTT(cfg, devs, handle, reg, log)
	if err != nil {
		return err
	}
	defer mq.close()

	// Work orders: from alarms (the engine's sink above), meter plans from every snapshot;
	// equipment alarms out of service while an order is in progress; notices over MQTT and to
	// the console's event stream.
	woLinks := h.workorders
	woLinks.OOS = engine
	woLinks.Publisher = mq.client
	// Breaches, overdue follow-ups and warranty reminders reach the people named in them: on
	// the console's event stream and at QoS 1 on facility/{site}/workorders/notifications.
	woLinks.Notifier = workorders.NotifierFunc(func(ctx context.Context, n workorders.Notification) error {
		hub.Publish("workorder.notification", n)
		body, err := json.Marshal(n)
		if err != nil {
			return err
		}
		log.Info("work-order notification", "type", n.Type, "order", n.Order, "to", n.To, "message", n.Message)
		return mq.client.Publish(ctx, "facility/"+cfg.Site+"/workorders/notifications", 1, false, body)
	})
	woLinks.Sinks = append(woLinks.Sinks, workorders.SinkFunc(func(e workorders.Event) { hub.Publish("workorder", e) }))
	if writer != nil {
		woLinks.Sinks = append(woLinks.Sinks, workorders.LineSink(func(line string) { writer.EnqueueLine(line, time.Now()) }))
	}
	var runOrders func(context.Context) error
	var closeOrders func()
	orders, runOrders, closeOrders, err = openWorkOrders(ctx, cfg, log.With("component", "workorders"), woLinks)
	if err != nil {
		return err
	}
	defer closeOrders()
	modbusOpts := modbus.Options{
		BackoffMin: cfg.Modbus.BackoffMin, BackoffMax: cfg.Modbus.BackoffMax,
		Logger: log.With("component", "modbus"), Metrics: modbus.NewMetrics(reg),
	}
	poller, err := modbus.New(modbusOnly(devs), handle, modbusOpts)
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
	serveConsole(srv, latest, history, cfg, func() *workorders.Manager { return orders })

	// Patrol alerts and the night lighting check (alarms/patrol).
	if cfg.Patrol.Enabled() {
		patrolSvc, err = patrol.New(cfg, patrol.Deps{
			Latest: latest, Acker: engine, Events: hub, Publisher: mq.client, Subscriber: mq.client,
			Registerer: reg, Log: log.With("component", "patrol"),
			// A circuit the night check finds dark or failed becomes a work order.
			LightingFault: func(f patrol.LightingFault) {
				orders.CircuitFailed(f.Device, fmt.Sprintf("circuit_%02d", f.Circuit), f.At)
			},
		})
		if err != nil {
			return fmt.Errorf("patrol: %w", err)
		}
		defer patrolSvc.Close()
		srv.ServePatrol(patrolSvc)
	}
	auth, err := newAuth(cfg)
	if err != nil {
		return err
	}
	srv.UseAuth(auth)
	srv.UsePolicy(api.Policy{Hosts: cfg.HTTP.Hosts, Actors: cfg.Actors(), MaxStreams: cfg.HTTP.MaxStreams})
	if cfg.HTTP.TLSCert != "" {
		srv.UseTLS(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
	}
	rl := &reloader{path: h.configPath, log: log, latest: latest, handle: handle, opts: modbusOpts,
		hooks: append(append([]func(*config.Config) error(nil), h.onReload...), historyOnReload(history)), requests: make(chan chan error)}
	if h.configPath != "" {
		srv.Handle("POST /api/v1/reload", http.HandlerFunc(rl.serveHTTP))
	}
	api.RegisterWorkOrders(srv, orders)
	if h.routes != nil {
		h.routes(srv)
	}

	g, gctx := errgroup.WithContext(ctx)
	if patrolSvc != nil {
		g.Go(func() error { return patrolSvc.Run(gctx) })
	}
	// The writer outlives the pollers: it is stopped only once they have returned, so that
	// every reading taken is flushed (to InfluxDB, or to the spool while it is away).
	writerCtx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWriter()
	if writer != nil {
		g.Go(func() error {
			defer func() {
				writer.Close()
				if spool != nil {
					spool.Close()
				}
			}()
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
	g.Go(func() error { return runOrders(gctx) })
	g.Go(func() error {
		defer stopWriter()
		pg, pctx := errgroup.WithContext(gctx)
		pg.Go(func() error { return rl.run(pctx, poller) })
		pg.Go(func() error { return mq.listener.Run(pctx) })
		// facilityd's own health is a source of snapshots like the pollers: it stops with them,
		// before the stages they feed close.
		pg.Go(func() error { return health.Run(pctx) })
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
		scheme := "http://"
		if cfg.HTTP.TLSCert != "" {
			scheme = "https://"
		}
		return srv.ListenAndServe(gctx, cfg.HTTP.Addr, func(a net.Addr) {
			log.Info("API listening", "url", scheme+a.String(), "devices", len(devs), "auth", authMode(auth))
			if h.listening != nil {
				h.listening(a)
			}
		})
	})
	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		log.Info("stopping: pollers stop, the writer flushes", "shutdown_timeout", cfg.ShutdownTimeout)
		select {
		case err = <-done:
		case <-time.After(cfg.ShutdownTimeout):
			log.Error("shutdown_timeout passed before everything was flushed; readings not yet spooled or written are lost", "shutdown_timeout", cfg.ShutdownTimeout)
			return fmt.Errorf("shutdown took longer than shutdown_timeout %v", cfg.ShutdownTimeout)
		}
	}
	log.Info("stopped")
	return err
}

// openSpool opens the durable spool, or returns nil (with a warning) when spool.dir is unset.
func openSpool(cfg *config.Config, reg prometheus.Registerer, log *slog.Logger, onDrop func(points, bytes int)) (*telemetry.Spool, error) {
	if cfg.Spool.Dir == "" {
		log.Warn("no spool (spool.dir or " + config.EnvName("spool.dir") + "): readings taken while InfluxDB is away for more than about a minute are lost")
		return nil, nil
	}
	slog := log.With("component", "spool")
	sp, err := telemetry.OpenSpool(telemetry.SpoolConfig{
		Dir: cfg.Spool.Dir, MaxBytes: cfg.Spool.MaxBytes, SegmentBytes: cfg.Spool.SegmentBytes,
		ReplayRate: cfg.Spool.ReplayRate,
		// The spool logs and counts each drop itself; onDrop is for the alarm engine.
		OnDrop: onDrop,
	}, reg, slog)
	if err != nil {
		return nil, fmt.Errorf("spool.dir %s: %w", cfg.Spool.Dir, err)
	}
	return sp, nil
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

func authMode(a *api.Auth) string {
	if a.Open() {
		return "open (no http.tokens)"
	}
	return "role tokens"
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
