package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only when http.pprof is set
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/commands"
	"github.com/facilityd/facilityd/devices/gateway"
	"github.com/facilityd/facilityd/devices/modbus"
	"github.com/facilityd/facilityd/northbound"
	"github.com/facilityd/facilityd/telemetry"
	"github.com/facilityd/facilityd/workorders"
)

// daemon is facilityd's pipeline (docs/design.md, Data flow):
//
//	sources: Modbus pollers, MQTT devices, the gateway's health
//	  └─► handle ─┬─► live cache, console rings
//	              ├─► InfluxDB writer ─► spool (fsync'd while InfluxDB is away)
//	              ├─► northbound telemetry (MQTT)
//	              ├─► commands: read-back of writes (journal, InfluxDB command, event stream)
//	              └─► alarm engine ─► journal ─┬─► patrol alerts
//	                                           ├─► work orders
//	                                           ├─► InfluxDB measurement alarm
//	                                           ├─► MQTT facility/{site}/alarms/{device}
//	                                           └─► console event stream
//
// build makes the stages downstream first, so that nothing is handed a stage that does not
// exist yet; run (daemon.go) starts and stops them.
type daemon struct {
	cfg *config.Config
	log *slog.Logger
	h   hooks
	reg *prometheus.Registry

	devs    []*devices.Device
	latest  *devices.Latest
	history *devices.History
	hub     *api.Hub

	writer    *telemetry.Writer // nil without InfluxDB
	mq        *mqttSide
	journal   *alarms.Journal
	engine    *alarms.Engine
	consumers []alarms.Consumer
	orders    *workorders.Manager
	runOrders func(context.Context) error
	patrol    *patrol.Service // nil with no patrol configured

	health   *gateway.Health
	poller   *modbus.Poller
	commands *commands.Service
	reload   *reloader
	srv      *api.Server
	ln       net.Listener

	closers []func() // run in reverse by close
}

// build opens every store and builds every stage; on error what was opened is closed.
func build(ctx context.Context, cfg *config.Config, log *slog.Logger, h hooks) (d *daemon, err error) {
	if err := cfg.ResolveState(); err != nil {
		return nil, err
	}
	for _, dir := range cfg.PrivateDirs() {
		if err := config.PrivateDir(dir[1], dir[0]); err != nil {
			return nil, err
		}
	}
	devs, err := cfg.BuildDevices()
	if err != nil {
		return nil, err
	}
	d = &daemon{cfg: cfg, log: log, h: h, reg: prometheus.NewRegistry(), hub: api.NewHub(256, 64)}
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// facilityd's own health is a device too, so its troubles are alarms like any other's.
	d.devs = append(devs, gateway.Device(cfg.Site))
	d.health = gateway.NewHealth(d.devs[len(d.devs)-1], d.handle, nil)
	d.latest = devices.NewLatest(d.devs)
	// The console charts from InfluxDB when there is one; the rings then only bridge an
	// InfluxDB outage, at a coarser step in an eighth of the memory.
	budget := consoleHistoryBudget
	if cfg.Influx.URL != "" {
		budget /= 8
	}
	d.history = devices.NewHistory(d.devs, time.Hour, budget)
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	for _, step := range []func(context.Context) error{
		d.buildTelemetry, d.buildMQTT, d.buildAlarms, d.buildOrders, d.buildCommands, d.buildPatrol, d.buildConsumers, d.buildSources, d.buildAPI,
	} {
		if err := step(ctx); err != nil {
			return d, err
		}
	}
	return d, nil
}

// close closes what build opened, newest first. run has returned: nothing uses them now.
func (d *daemon) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
	d.closers = nil
}

// handle is the fan-out every source hands its snapshots to; it never blocks.
func (d *daemon) handle(s *devices.Snapshot) {
	if d.h.observe != nil {
		d.h.observe(s)
	}
	d.latest.Update(s)
	d.history.Record(s)
	if d.writer != nil {
		d.writer.Enqueue(s)
	}
	d.engine.Enqueue(s)
	d.mq.enqueue(s)
	d.orders.Observe(s)
	if d.commands != nil {
		d.commands.Observe(s)
	}
}

// buildTelemetry opens the spool (on by default wherever InfluxDB is configured) and the
// InfluxDB writer.
func (d *daemon) buildTelemetry(context.Context) error {
	cfg := d.cfg
	if cfg.Influx.URL == "" {
		d.log.Warn("no InfluxDB configured (influx.url or " + config.EnvName("influx.url") + "): readings are kept in the live cache only")
		return nil
	}
	var spool *telemetry.Spool
	if cfg.SpoolOn() {
		var err error
		spool, err = telemetry.OpenSpool(telemetry.SpoolConfig{
			Dir: cfg.Spool.Dir, MaxBytes: cfg.Spool.MaxBytes, SegmentBytes: cfg.Spool.SegmentBytes,
			ReplayRate: cfg.Spool.ReplayRate,
			// The spool logs and counts each drop itself; the gateway device makes it an alarm.
			OnDrop: func(points, bytes int) {
				d.health.SpoolDropped(points, bytes)
				if d.h.onSpoolDrop != nil {
					d.h.onSpoolDrop(points, bytes)
				}
			},
			// A write that fails (permissions, disk full, I/O) or corrupt records at start:
			// the gateway's spool_write_failed alarm names the cause.
			OnFault: func(f telemetry.SpoolFault) {
				d.health.SpoolFaulted(gateway.SpoolCauseOf(f.Err, f.Corrupt))
			},
		}, d.reg, d.log.With("component", "spool"))
		if err != nil {
			return fmt.Errorf("spool.dir %s: %w", cfg.Spool.Dir, err)
		}
		d.closers = append(d.closers, func() { spool.Close() })
		d.log.Info("spool on: readings InfluxDB cannot take now are kept on disk", "dir", cfg.Spool.Dir, "max_bytes", cfg.Spool.MaxBytes)
	} else {
		d.log.Warn("spool.enabled is false: readings taken while InfluxDB is away for more than about a minute are lost")
	}
	w, err := telemetry.NewWriter(telemetry.Config{
		URL: cfg.Influx.URL, Bucket: cfg.Influx.Bucket, Org: cfg.Influx.Org, Token: cfg.Influx.Token.Reveal(),
		BatchSize: cfg.Influx.BatchSize, FlushInterval: cfg.Influx.FlushInterval,
		Timeout: cfg.Influx.Timeout, QueueSize: cfg.Influx.QueueSize, Spool: spool,
		// Half the shutdown budget for the final write; the spool takes what is left.
		FinalTimeout: min(cfg.Influx.Timeout, cfg.ShutdownTimeout/2),
	}, d.reg, d.log.With("component", "influx"))
	if err != nil {
		return fmt.Errorf("influx: %w", err)
	}
	d.writer = w
	d.closers = append(d.closers, w.Close)
	d.log.Info("writing telemetry to InfluxDB", "url", telemetry.RedactURL(cfg.Influx.URL), "bucket", cfg.Influx.Bucket)
	return nil
}

// buildMQTT starts the embedded broker (or connects to mqtt.url), the northbound telemetry
// and the MQTT device listener.
func (d *daemon) buildMQTT(context.Context) error {
	mq, err := startMQTT(d.cfg, d.devs, d.handle, d.reg, d.log)
	if err != nil {
		return err
	}
	d.mq = mq
	d.closers = append(d.closers, mq.close)
	if mq.broker != nil {
		d.health.WatchBroker(mq.broker.Accepting)
	}
	return nil
}

// buildAlarms opens the journal and the engine; raised alarms are logged at warn.
func (d *daemon) buildAlarms(context.Context) error {
	ac, err := alarmsConfig(d.cfg)
	if err != nil {
		return err
	}
	j, err := alarms.OpenJournal(d.cfg.Alarms.Journal)
	if err != nil {
		return err
	}
	j.AfterCommit = d.h.afterJournal
	d.journal = j
	d.closers = append(d.closers, func() { j.Close() })
	alog := d.log.With("component", "alarms")
	logged := alarms.SinkFunc(func(e alarms.Event) {
		switch {
		case e.Type == alarms.EventRaised || e.Type == alarms.EventFlood:
			alog.Warn("alarm "+string(e.Type), "id", e.Alarm.ID, "priority", e.Alarm.Priority, "class", e.Alarm.Class,
				"message", e.Alarm.Message, "notify", e.Notify, "seq", e.Seq)
		default:
			alog.Info("alarm "+string(e.Type), "id", e.Alarm.ID, "state", e.Alarm.State, "by", e.By, "reason", e.Reason, "seq", e.Seq)
		}
	})
	if d.engine, err = alarms.New(ac, d.devs, j, time.Now, logged); err != nil {
		return err
	}
	d.reg.MustRegister(d.engine.Collector())
	alog.Info("alarm journal", "path", d.cfg.Alarms.Journal)
	return nil
}

// buildOrders opens the order book and the work-order manager: equipment alarms out of
// service while an order is in progress; notices over MQTT and to the console's event stream.
func (d *daemon) buildOrders(ctx context.Context) error {
	links := d.h.workorders
	links.OOS = d.engine
	links.Publisher = d.mq.client
	links.Notifier = workorders.NotifierFunc(d.notifyOrder)
	links.Sinks = append(links.Sinks, workorders.SinkFunc(func(e workorders.Event) { d.hub.Publish("workorder", e) }))
	if d.writer != nil {
		links.Sinks = append(links.Sinks, workorders.LineSink(func(line string) { d.writer.EnqueueLine(line, time.Now()) }))
	}
	orders, run, closeStore, err := openWorkOrders(ctx, d.cfg, d.log.With("component", "workorders"), links)
	if err != nil {
		return err
	}
	d.orders, d.runOrders = orders, run
	d.closers = append(d.closers, closeStore)
	return nil
}

// notifyOrder tells the people named in a breach, an overdue follow-up or a warranty
// reminder: on the console's event stream and at QoS 1 on facility/{site}/workorders/notifications.
func (d *daemon) notifyOrder(ctx context.Context, n workorders.Notification) error {
	d.hub.Publish("workorder.notification", n)
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	d.log.Info("work-order notification", "type", n.Type, "order", n.Order, "to", n.To, "message", n.Message)
	return d.mq.client.Publish(ctx, "facility/"+d.cfg.Site+"/workorders/notifications", 1, false, body)
}

// buildPatrol builds the patrol alerts and the night lighting check, when configured.
func (d *daemon) buildPatrol(context.Context) error {
	if !d.cfg.Patrol.Enabled() {
		return nil
	}
	svc, err := patrol.New(d.cfg, patrol.Deps{
		Latest: d.latest, Acker: d.engine, Events: d.hub, Publisher: d.mq.client, Subscriber: d.mq.client,
		Registerer: d.reg, Log: d.log.With("component", "patrol"),
		// With patrol.lighting.switch_on, dark circuits are switched on at dusk as writes by "system".
		Switcher: d.commands,
		// A circuit the night check finds dark or failed becomes a work order.
		LightingFault: func(f patrol.LightingFault) {
			d.orders.CircuitFailed(f.Device, fmt.Sprintf("circuit_%02d", f.Circuit), f.At)
		},
		// A phone channel that fails its self-test, or gives a message up, is the gateway's alarm.
		ChannelHealth: d.health.ChannelHealth,
	})
	if err != nil {
		return fmt.Errorf("patrol: %w", err)
	}
	d.patrol = svc
	d.closers = append(d.closers, func() { svc.Close() })
	return nil
}

// buildConsumers lists the readers of the alarm journal and registers their cursors before
// the engine journals anything in this run.
func (d *daemon) buildConsumers(context.Context) error {
	d.consumers = []alarms.Consumer{d.hub.AlarmConsumer(), d.orders.Consumer(), northbound.AlarmConsumer(d.mq.client, d.cfg.Site)}
	if d.patrol != nil {
		d.consumers = append(d.consumers, d.patrol.Consumer())
	}
	if d.writer != nil {
		d.consumers = append(d.consumers, d.writer.AlarmConsumer())
	}
	var names []string
	for i, c := range d.consumers {
		names = append(names, c.Name)
		if after := d.h.afterHandled; after != nil && c.Name != "" {
			handle := c.Handle
			d.consumers[i].Handle = func(ctx context.Context, e alarms.Event) error {
				err := handle(ctx, e)
				if err == nil {
					after(c.Name, e)
				}
				return err
			}
		}
	}
	return d.journal.Register(names...)
}

// buildSources builds the Modbus pollers under the reloader; the MQTT listener and the
// gateway's health were built with their stages.
func (d *daemon) buildSources(context.Context) error {
	opts := modbus.Options{
		BackoffMin: d.cfg.Modbus.BackoffMin, BackoffMax: d.cfg.Modbus.BackoffMax,
		Logger: d.log.With("component", "modbus"), Metrics: modbus.NewMetrics(d.reg),
	}
	p, err := modbus.New(modbusOnly(d.devs), d.handle, opts)
	if err != nil {
		return err
	}
	d.poller = p
	d.reload = &reloader{path: d.h.configPath, log: d.log, latest: d.latest, handle: d.handle, opts: opts,
		hooks: append(append([]func(*config.Config) error(nil), d.h.onReload...), historyOnReload(d.history)), requests: make(chan chan error)}
	return nil
}

// buildAPI registers every route and binds the API's address, so that a port in use fails the
// start at once.
func (d *daemon) buildAPI(context.Context) error {
	cfg := d.cfg
	auth, err := newAuth(cfg)
	if err != nil {
		return err
	}
	d.srv = api.New(d.latest, d.reg, d.log.With("component", "api"))
	if d.mq != nil && d.mq.broker != nil {
		d.srv.UseBroker(d.mq.broker.Accepting)
	}
	if cfg.HTTP.Pprof {
		d.srv.Handle("/debug/pprof/", http.DefaultServeMux)
		d.log.Info("Go profiler served at /debug/pprof/ (http.pprof)")
	}
	d.srv.ServeAlarms(d.engine)
	d.srv.ServeEvents(d.hub)
	if err := serveConsole(d.srv, d.latest, d.history, cfg, d.orders); err != nil {
		return err
	}
	if d.patrol != nil {
		d.srv.ServePatrol(d.patrol)
	}
	if d.h.configPath != "" {
		d.srv.Handle("POST /api/v1/reload", http.HandlerFunc(d.reload.serveHTTP))
	}
	api.RegisterWorkOrders(d.srv, d.orders)
	api.RegisterCommands(d.srv, d.commands)
	if d.h.routes != nil {
		d.h.routes(d.srv)
	}
	d.srv.UseAuth(auth)
	d.srv.UsePolicy(api.Policy{Hosts: cfg.HTTP.Hosts, Actors: cfg.Actors(), MaxStreams: cfg.HTTP.MaxStreams})
	if cfg.HTTP.TLSCert != "" {
		d.srv.UseTLS(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http.addr %s: %w", cfg.HTTP.Addr, err)
	}
	d.ln = ln
	d.closers = append(d.closers, func() { ln.Close() })
	d.log.Info("API bound", "addr", ln.Addr().String(), "auth", authMode(auth))
	return nil
}

// listening logs the API's address once it serves, and tells the hook.
func (d *daemon) listening(a net.Addr) {
	scheme := "http://"
	if d.cfg.HTTP.TLSCert != "" {
		scheme = "https://"
	}
	d.log.Info("API listening", "url", scheme+a.String(), "devices", len(d.devs))
	if d.h.listening != nil {
		d.h.listening(a)
	}
}
