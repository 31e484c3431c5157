package daemon

import (
	"context"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/northbound"
)

// buildSteps build the components, downstream first, so that nothing is handed a component
// that does not exist yet: the alarm engine needs the journal before the work orders need the
// engine (out of service), the patrol needs the commands (lighting switch-on), the sources need
// nothing but the fan-out, and the API serves them all. Each step is in the file of its
// concern.
var buildSteps = []func(*Daemon, context.Context) error{
	(*Daemon).buildTelemetry, // telemetry.go
	(*Daemon).buildMQTT,      // mqtt.go
	(*Daemon).buildAlarms,    // alarms.go
	(*Daemon).buildOrders,    // workorders.go
	(*Daemon).buildCommands,  // commands.go
	(*Daemon).buildPatrol,    // patrol.go
	(*Daemon).buildSources,   // sources.go
	(*Daemon).buildBACnet,    // bacnet.go
	(*Daemon).buildOPCUA,     // opcua.go
	(*Daemon).buildAPI,       // api.go
}

// stage is one entry of stageTable: a name (in errors: "alarm engine: ...") and how the built
// daemon takes part, as exactly one of the kinds of stage.go. Each func returns nil when this
// configuration has no such stage (no InfluxDB, no patrol, northbound telemetry off).
type stage struct {
	name    string
	observe func(*Daemon) Observer
	reading func(*Daemon) ReadingConsumer
	journal func(*Daemon) *JournalConsumer
	service func(*Daemon) Service
	source  func(*Daemon) Source
	// stopsWithSources: a service that stops when the sources do, not after the journal
	// consumers: the API takes no new request (an ack, a write) while the pipeline drains.
	stopsWithSources bool
}

// stageTable is the pipeline. Adding a stage is one entry here (and the build step that makes
// its component): the fan-out hands every snapshot to each observer and reading consumer in
// this order, and the runner starts, drains and stops each by its kind. The journal consumers
// are registered in this order, before the engine journals anything in this run.
var stageTable = []stage{
	{name: "test observer", observe: func(d *Daemon) Observer { return d.h.Observe }},
	{name: "live cache", observe: func(d *Daemon) Observer { return d.latest.Update }},
	{name: "history rings", observe: func(d *Daemon) Observer { return d.history.Record }},
	{name: "influx writer", reading: func(d *Daemon) ReadingConsumer {
		if d.writer == nil {
			return nil
		}
		return writerStage{d.writer}
	}},
	{name: "alarm engine", reading: func(d *Daemon) ReadingConsumer { return engineStage{d.engine, d.journal} }},
	{name: "northbound telemetry", reading: func(d *Daemon) ReadingConsumer {
		if d.mq.telemetry == nil {
			return nil
		}
		return telemetryStage{d.mq.telemetry}
	}},
	{name: "work-order meters", observe: func(d *Daemon) Observer { return d.orders.Observe }},
	{name: "command read-back", observe: func(d *Daemon) Observer { return d.commands.Observe }},

	{name: "event stream", journal: func(d *Daemon) *JournalConsumer { return ptr(d.hub.AlarmConsumer()) }},
	{name: "work orders", journal: func(d *Daemon) *JournalConsumer { return ptr(d.orders.Consumer()) }},
	{name: "northbound alarms", journal: func(d *Daemon) *JournalConsumer {
		return ptr(northbound.AlarmConsumer(d.mq.client, d.cfg.Site))
	}},
	{name: "patrol", journal: func(d *Daemon) *JournalConsumer {
		if d.patrol == nil {
			return nil
		}
		return ptr(d.patrol.Consumer())
	}},
	{name: "influx alarm", journal: func(d *Daemon) *JournalConsumer {
		if d.writer == nil {
			return nil
		}
		return ptr(d.writer.AlarmConsumer())
	}},

	{name: "patrol", service: func(d *Daemon) Service {
		if d.patrol == nil {
			return nil
		}
		return d.patrol
	}},
	{name: "work orders", service: func(d *Daemon) Service { return RunFunc(d.runOrders) }},
	{name: "command records", service: func(d *Daemon) Service { return d.commands }},
	{name: "api", service: func(d *Daemon) Service { return RunFunc(d.serveAPI) }, stopsWithSources: true},

	// The Modbus pollers and the MQTT device listener, which a reload replaces (reload.go).
	{name: "devices", source: func(d *Daemon) Source {
		return RunFunc(func(ctx context.Context) error {
			return d.reload.run(ctx, deviceSources{poller: d.poller, listener: d.mq.listener})
		})
	}},
	{name: "bacnet devices", source: (*Daemon).bacnetSource},
	{name: "opcua devices", source: (*Daemon).opcuaSource},
	{name: "gateway health", source: func(d *Daemon) Source { return d.health }},
}

func ptr[T any](v T) *T { return &v }

// named is a stage of the pipeline with the name its errors carry.
type named[T any] struct {
	name string
	v    T
	// stopsWithSources: see stage.
	stopsWithSources bool
}

// pipeline is stageTable for one built daemon, by kind: what the runner runs.
type pipeline struct {
	fanout   []Observer
	readers  []named[ReadingConsumer]
	journal  []JournalConsumer
	services []named[Service]
	sources  []named[Source]
}

// assemble sorts the built daemon's stages by kind and registers the journal consumers'
// cursors, so that none of them misses an event journalled in this run.
func assemble(d *Daemon) (*pipeline, error) {
	p := &pipeline{}
	for _, s := range stageTable {
		switch {
		case s.observe != nil:
			if o := s.observe(d); o != nil {
				p.fanout = append(p.fanout, o)
			}
		case s.reading != nil:
			if r := s.reading(d); r != nil {
				p.fanout = append(p.fanout, r.Enqueue)
				p.readers = append(p.readers, named[ReadingConsumer]{name: s.name, v: r})
			}
		case s.journal != nil:
			if c := s.journal(d); c != nil {
				p.journal = append(p.journal, d.withAfterHandled(*c))
			}
		case s.service != nil:
			if v := s.service(d); v != nil {
				p.services = append(p.services, named[Service]{name: s.name, v: v, stopsWithSources: s.stopsWithSources})
			}
		case s.source != nil:
			if v := s.source(d); v != nil {
				p.sources = append(p.sources, named[Source]{name: s.name, v: v})
			}
		}
	}
	var names []string
	for _, c := range p.journal {
		names = append(names, c.Name)
	}
	return p, d.journal.Register(names...)
}

// withAfterHandled wraps a named consumer's Handle with Options.AfterHandled, which runs after
// the event is applied and before the journal moves the consumer's cursor.
func (d *Daemon) withAfterHandled(c JournalConsumer) JournalConsumer {
	after := d.h.AfterHandled
	if after == nil || c.Name == "" {
		return c
	}
	handle := c.Handle
	c.Handle = func(ctx context.Context, e alarms.Event) error {
		err := handle(ctx, e)
		if err == nil {
			after(c.Name, e)
		}
		return err
	}
	return c
}

// closeInputs closes every reading consumer's input, once all the sources have returned: each
// drains what it holds and returns.
func (p *pipeline) closeInputs() {
	for _, r := range p.readers {
		r.v.CloseInput()
	}
}
