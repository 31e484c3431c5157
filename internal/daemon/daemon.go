package daemon

import (
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/bacnet"
	"github.com/facilityd/facilityd/devices/commands"
	"github.com/facilityd/facilityd/devices/gateway"
	"github.com/facilityd/facilityd/devices/modbus"
	"github.com/facilityd/facilityd/devices/opcua"
	"github.com/facilityd/facilityd/telemetry"
	"github.com/facilityd/facilityd/workorders"
)

// Options are what the command line, the demo and the tests hand a daemon beside its
// configuration: they reach into a running daemon without it knowing who asks.
type Options struct {
	// Logger receives every component's log; nil: discarded.
	Logger *slog.Logger
	// Routes adds routes to the API before it serves (the demo's, the tests').
	Routes func(*api.Server)
	// Listening receives the API's bound address once it serves.
	Listening func(net.Addr)
	// OnSpoolDrop is told when the spool deletes readings unreplayed (full, or corrupt at
	// start), beside the gateway device's alarm.
	OnSpoolDrop func(points, bytes int)
	// Observe sees every snapshot the sources hand on (tests).
	Observe func(*devices.Snapshot)
	// ConfigPath is the file reloaded on SIGHUP and POST /api/v1/reload; empty: no reload (the
	// demo's built-in file).
	ConfigPath string
	// OnReload are told of every valid new configuration, after the pollers restarted with its
	// devices (a reload that changes only devices; a rebuilt pipeline reads the new
	// configuration from the start).
	OnReload []func(*config.Config) error
	// Prepare readies each configuration file loaded at a reload the way the command line
	// readied the first one (the default state directory, its refusals), before it is checked;
	// nil: taken as loaded.
	Prepare func(*config.Config) error
	// WorkOrders adds collaborators to the work-order manager's (tests).
	WorkOrders workorders.Options
	// AfterJournal runs after each alarm journal commit, before any consumer sees it (the
	// crash tests' KillAfterJournal).
	AfterJournal func(alarms.Event)
	// AfterHandled runs after a named journal consumer applied an event, before its cursor
	// moves (the crash tests' KillAfterHandled).
	AfterHandled func(consumer string, e alarms.Event)
}

// Daemon is facilityd's pipeline (docs/design.md, Data flow; the package doc draws it): New builds
// every stage of the table in stages.go, Run runs them under the one runner of runner.go, Close
// closes the stores once Run has returned.
type Daemon struct {
	cfg *config.Config
	log *slog.Logger
	h   Options
	reg *prometheus.Registry

	devs    []*devices.Device
	latest  *devices.Latest
	history *devices.History
	hub     *api.Hub

	writer    *telemetry.Writer // nil without InfluxDB
	mq        *mqttSide
	journal   *alarms.Journal
	engine    *alarms.Engine
	orders    *workorders.Manager
	runOrders func(context.Context) error
	patrol    *patrol.Service // nil with no patrol configured

	health   *gateway.Health
	poller   *modbus.Poller
	bacnet   *bacnet.Source // bacnet.go
	opcua    *opcua.Driver  // opcua.go; nil without OPC UA devices
	commands *commands.Service
	reload   *reloader
	srv      *api.Server
	ln       net.Listener

	// stages are the stages of stageTable that this configuration has; fanout is their
	// observers and reading consumers, loaded by handle (a source may emit before New returns).
	stages  *pipeline
	fanout  atomic.Pointer[[]Observer]
	closers []func() // run in reverse by Close

	// gen is what a rebuild hands this pipeline from the one before (rebuild.go); apiLn is the
	// API's listener, which a rebuild hands on; live is the pipeline running now, on the
	// Daemon that New returned (itself until the first rebuild).
	gen   generation
	apiLn *apiListener
	live  *Daemon
}

// New opens every store and builds every stage of cfg; on error what was opened is closed.
// cfg.StateDir must be set (run and demo choose one).
func New(cfg *config.Config, opts Options) (*Daemon, error) {
	return newDaemon(cfg, opts, generation{})
}

// newDaemon is New for one generation of the pipeline: the first, or one a reload rebuilds
// with the listener and the loaded file of the one before.
func newDaemon(cfg *config.Config, opts Options, gen generation) (d *Daemon, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	raiseFileLimit(opts.Logger)
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
	d = &Daemon{cfg: cfg, log: opts.Logger, h: opts, reg: prometheus.NewRegistry(), hub: api.NewHub(256, 64), gen: gen}
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// facilityd's own health is a device too, so its troubles are alarms like any other's.
	d.devs = append(devs, gateway.Device(cfg.Site))
	d.health = gateway.NewHealth(d.devs[len(d.devs)-1], d.handle, nil)
	d.latest, d.history = gen.latest, gen.history
	if d.latest == nil {
		d.latest = devices.NewLatest(d.devs)
		d.history = devices.NewHistory(d.devs, time.Hour, historyBudget(cfg))
	} else {
		// A rebuilt pipeline keeps the live cache and the console's rings, as the reload's
		// fast path does: devices that remain keep their state.
		d.latest.SetDevices(d.devs)
		d.history.SetDevices(d.devs)
	}
	defer func() {
		if err != nil {
			d.Close() // an inherited listener stays open: it is the caller's (apiListener)
			d = nil
		}
	}()
	// Opening a store (PostgreSQL for the order book) is not bounded here: the config's own
	// timeouts bound it, and a daemon that is being built has no caller to cancel it yet.
	ctx := context.Background()
	for _, step := range buildSteps {
		if err := step(d, ctx); err != nil {
			return d, err
		}
	}
	if d.stages, err = assemble(d); err != nil {
		return d, err
	}
	d.fanout.Store(&d.stages.fanout)
	d.apiLn.own()
	return d, nil
}

// Close closes what New opened, newest first, and the pipeline a reload rebuilt in its place.
// Run has returned: nothing uses them now.
func (d *Daemon) Close() {
	if d.live != nil && d.live != d {
		d.live.Close()
	}
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
	d.closers = nil
}

// handle is the fan-out every source hands its snapshots to: each observer and each reading
// consumer's Enqueue, in stageTable's order. None of them blocks.
func (d *Daemon) handle(s *devices.Snapshot) {
	fanout := d.fanout.Load()
	if fanout == nil {
		return // still building: no stage is there to take it
	}
	for _, f := range *fanout {
		f(s)
	}
}

// listening logs the API's address once it serves, and tells the hook.
func (d *Daemon) listening(a net.Addr) {
	scheme := "http://"
	if d.cfg.HTTP.TLSCert != "" {
		scheme = "https://"
	}
	d.log.Info("API listening", "url", scheme+a.String(), "devices", len(d.devs))
	if d.h.Listening != nil {
		d.h.Listening(a)
	}
}
