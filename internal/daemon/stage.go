package daemon

import (
	"context"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/northbound"
	"github.com/facilityd/facilityd/telemetry"
)

// The stage contract (docs/design.md, "The stage contract"). Every stage of the pipeline is one of
// these kinds, and the runner (runner.go) knows nothing else about it: it starts the consumers
// first and the sources last, and stops the sources first so that each stage drains into the
// next. Components whose verbs differ take part through the small adapters below; the
// component packages stay as they are.

// Source emits snapshots until ctx ends. A source is built with the fan-out handler
// ((*Daemon).handle) as its devices.Handler, so Run is all the runner needs: the Modbus
// pollers, the MQTT device listener, the gateway's own health.
type Source interface {
	Run(ctx context.Context) error
}

// ReadingConsumer is a stage with a bounded input of snapshots: Enqueue never blocks (a full
// queue drops and counts), CloseInput ends the input once every source has returned, and Run
// drains what is queued and returns once the input is closed and empty. The InfluxDB writer,
// northbound telemetry and the alarm engine are reading consumers.
type ReadingConsumer interface {
	Enqueue(*devices.Snapshot)
	CloseInput()
	Run(ctx context.Context) error
}

// Observer sees every snapshot in the fan-out, on the source's goroutine; it must not block.
// It has no input to close and nothing to run: the live cache, the console's history rings,
// the work orders' meter plans, the commands' read-back.
type Observer func(*devices.Snapshot)

// JournalConsumer follows the alarm journal with a durable cursor under its name (see
// alarms.Consumer): patrol, work orders, northbound alarms, InfluxDB measurement alarm and the
// console's event stream. It catches up after the alarm engine has closed the journal's feed.
type JournalConsumer = alarms.Consumer

// Service runs until its context ends: the API, the patrol's dispatcher, the work orders'
// timers.
type Service interface {
	Run(ctx context.Context) error
}

// RunFunc adapts a function to Source and Service.
type RunFunc func(ctx context.Context) error

// Run calls f.
func (f RunFunc) Run(ctx context.Context) error { return f(ctx) }

// writerStage is the InfluxDB writer as a reading consumer: its Enqueue also says whether the
// snapshot was taken, which the fan-out has no use for (the writer counts its drops).
type writerStage struct{ w *telemetry.Writer }

func (s writerStage) Enqueue(snap *devices.Snapshot) { s.w.Enqueue(snap) }
func (s writerStage) CloseInput()                    { s.w.CloseInput() }
func (s writerStage) Run(ctx context.Context) error  { return s.w.Run(ctx) }

// telemetryStage is northbound telemetry as a reading consumer: its Close ends its input.
type telemetryStage struct{ t *northbound.Telemetry }

func (s telemetryStage) Enqueue(snap *devices.Snapshot) { s.t.Enqueue(snap) }
func (s telemetryStage) CloseInput()                    { s.t.Close() }
func (s telemetryStage) Run(ctx context.Context) error  { return s.t.Run(ctx) }

// engineStage is the alarm engine as a reading consumer. The engine feeds the journal, so once
// it has drained its input nothing more is journalled in this run: closing the journal's feed
// then lets every journal consumer catch up and return.
type engineStage struct {
	e *alarms.Engine
	j *alarms.Journal
}

func (s engineStage) Enqueue(snap *devices.Snapshot) { s.e.Enqueue(snap) }
func (s engineStage) CloseInput()                    { s.e.CloseInput() }
func (s engineStage) Run(ctx context.Context) error {
	defer s.j.CloseFeed()
	return s.e.Run(ctx)
}
