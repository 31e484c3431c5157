package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// runOnce runs this pipeline until ctx ends, a stage fails or a reload asks for a rebuild (a
// *rebuildRequest, returned for Run to build the next pipeline). It starts the consumers first and the
// sources last, then stops the sources and lets the closes cascade: the sources return → every
// reading consumer's input closes → each drains (the alarm engine then closes the journal's
// feed) → every journal consumer delivers what is journalled and returns → the services stop.
// The API stops with the sources. One deadline (shutdown_timeout) bounds it all; past it every
// stage is cancelled, and Run still waits for them all, so that no goroutine outlives the
// stores that Close closes after it; the InfluxDB writer's client closes last of all.
func (d *Daemon) runOnce(ctx context.Context) error {
	hard, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()
	services, stopServices := context.WithCancel(hard)
	defer stopServices()
	sources, stopSources := context.WithCancel(hard)
	defer stopSources()

	r := newRunner()
	p := d.stages
	for _, c := range p.readers {
		r.start(c.name, func() error { return c.v.Run(hard) })
	}
	consumed := make(chan struct{})
	r.start("alarm consumers", func() error {
		defer close(consumed)
		return d.follow(hard, p.journal)
	})
	for _, s := range p.services {
		sctx := services
		if s.stopsWithSources {
			sctx = sources
		}
		r.start(s.name, func() error { return s.v.Run(sctx) })
	}
	r.start("sources", func() error {
		defer p.closeInputs()
		return runSources(sources, p.sources)
	})

	var err error
	select {
	case <-ctx.Done():
	case err = <-r.failed:
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
		// The patrol's dispatcher and the orders' timers run until the journal consumers have
		// handed them the last events.
		select {
		case <-consumed:
		case <-hard.Done():
		}
		stopServices()
	}()
	if werr := r.g.Wait(); err == nil {
		err = werr
	}
	if late.Load() {
		d.log.Error("shutdown_timeout passed before everything drained; readings not yet spooled or written are lost, alarm events not yet delivered are delivered at the next start", "shutdown_timeout", d.cfg.ShutdownTimeout)
		return errors.Join(err, fmt.Errorf("shutdown took longer than shutdown_timeout %v", d.cfg.ShutdownTimeout))
	}
	d.log.Info("stopped")
	return err
}

// runner runs the stages' goroutines; the first stage to fail starts the shutdown.
type runner struct {
	g      errgroup.Group
	failed chan error
}

func newRunner() *runner { return &runner{failed: make(chan error, 1)} }

// start runs one stage; its error is named after it ("alarm engine: ...").
func (r *runner) start(name string, run func() error) {
	r.g.Go(func() error {
		err := run()
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
			select {
			case r.failed <- err:
			default:
			}
		}
		return err
	})
}

// runSources runs every source until ctx ends; one failing stops the others.
func runSources(ctx context.Context, sources []named[Source]) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range sources {
		g.Go(func() error { return s.v.Run(gctx) })
	}
	return g.Wait()
}

// follow runs every journal consumer until the feed closes and each has caught up, or ctx
// ends.
func (d *Daemon) follow(ctx context.Context, consumers []JournalConsumer) error {
	var g errgroup.Group
	for _, c := range consumers {
		g.Go(func() error { return d.journal.Follow(ctx, c, d.log.With("component", "alarm-delivery")) })
	}
	return g.Wait()
}
