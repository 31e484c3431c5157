package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"golang.org/x/sync/errgroup"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/gateway"
	"github.com/facilityd/facilityd/devices/modbus"
	mqttdev "github.com/facilityd/facilityd/devices/mqtt"
)

// reloader runs the device sources (the Modbus pollers and the MQTT device listener) and
// replaces them when the configuration file changes (SIGHUP or POST /api/v1/reload): the new
// file is loaded and validated while the running sources go on; an invalid one is refused with
// every problem logged and the running configuration kept; a valid one stops the sources (the
// poll under way finishes), points the live cache at the new device set (devices that remain
// keep their state) and starts new sources: Modbus and MQTT devices change at once. The
// InfluxDB writer and its queue, the alarm journal, the stores and every journal consumer's
// cursor are untouched, so no reading already taken is lost and no event is delivered twice.
// Alarm rules, the patrol roster, the work-order tables and other keys take effect at the next
// restart.
type reloader struct {
	path     string
	log      *slog.Logger
	latest   *devices.Latest
	handle   devices.Handler
	opts     modbus.Options
	mqtt     *mqttSide
	hooks    []func(*config.Config) error
	requests chan chan error
	hup      chan os.Signal
	// loaded is the configuration file as last loaded (at the start, then at each reload), to
	// tell which edits a reload does not apply (reload_keys.go).
	loaded *config.Config
	// current is the pollers running now, for writes (commands.go).
	current atomic.Pointer[modbus.Poller]
}

var errNoReloadPath = errors.New("no configuration file to reload (facilityd demo with the built-in estate)")

// deviceSources are the sources a reload replaces.
type deviceSources struct {
	poller   *modbus.Poller
	listener *mqttdev.Listener
}

// run runs both until ctx ends; the listener's failure to subscribe ends both.
func (s deviceSources) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.poller.Run(gctx) })
	g.Go(func() error { return s.listener.Run(gctx) })
	return g.Wait()
}

// run runs cur until ctx ends, replacing it on each reload that is valid.
func (r *reloader) run(ctx context.Context, cur deviceSources) error {
	r.hup = make(chan os.Signal, 1)
	if r.path != "" {
		signal.Notify(r.hup, syscall.SIGHUP)
		defer signal.Stop(r.hup)
	}
	for {
		r.current.Store(cur.poller)
		sctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- cur.run(sctx) }()
		next := r.await(ctx, done)
		stop()
		if next == nil {
			// ctx ended, or a source failed: the daemon stops.
			return <-done
		}
		<-done
		cur = r.swap(next)
	}
}

// await waits for a valid reload (a prepared next set of sources), answering every refused one
// while the running sources go on; nil once ctx ends or a source returns.
func (r *reloader) await(ctx context.Context, done chan error) *prepared {
	for {
		var reply chan error
		select {
		case <-ctx.Done():
			return nil
		case err := <-done:
			done <- err // run reads it again
			return nil
		case <-r.hup:
		case reply = <-r.requests:
		}
		r.log.Info("reloading configuration", "file", r.path)
		next, err := r.prepare()
		if err != nil {
			r.log.Error("configuration reload refused; the running configuration stays", "file", r.path, "error", err.Error())
			if reply != nil {
				reply <- err
			}
			continue
		}
		next.reply = reply
		return next
	}
}

// swap points the live cache and the hooks at a valid new configuration and returns its
// sources, once the old ones have returned.
func (r *reloader) swap(next *prepared) deviceSources {
	kept := map[string]bool{}
	for _, d := range next.devs {
		kept[d.ID] = true
	}
	for _, st := range r.latest.List() {
		if !kept[st.Device.ID] {
			r.opts.Metrics.Forget(st.Device.ID)
		}
	}
	r.latest.SetDevices(next.devs)
	// The old listener's topics go nowhere until the new one subscribes those it keeps.
	r.mqtt.topics.reset()
	var hookErrs []error
	for _, h := range r.hooks {
		hookErrs = append(hookErrs, h(next.cfg))
	}
	err := errors.Join(hookErrs...)
	if err != nil {
		r.log.Error("configuration reloaded, but a component refused part of it", "error", err.Error())
	} else {
		r.log.Info("configuration reloaded", "devices", len(next.devs))
	}
	if keys := restartKeys(r.loaded, next.cfg); len(keys) > 0 {
		r.log.Warn("these keys changed and take effect at the next restart", "keys", keys)
	}
	r.loaded = next.cfg
	if next.reply != nil {
		next.reply <- err
	}
	return next.sources
}

// prepared is a valid new configuration and the sources built for it, not yet running.
type prepared struct {
	cfg     *config.Config
	devs    []*devices.Device
	sources deviceSources
	reply   chan error // POST /api/v1/reload waits here; nil for SIGHUP
}

// prepare loads and validates the file and builds its sources; nothing runs yet.
func (r *reloader) prepare() (*prepared, error) {
	if r.path == "" {
		return nil, errNoReloadPath
	}
	cfg, err := config.Load(r.path)
	if err != nil {
		return nil, err
	}
	devs, err := cfg.BuildDevices()
	if err != nil {
		return nil, err
	}
	devs = append(devs, gateway.Device(cfg.Site))
	opts := r.opts
	opts.BackoffMin, opts.BackoffMax = cfg.Modbus.BackoffMin, cfg.Modbus.BackoffMax
	p, err := modbus.New(modbusOnly(devs), r.handle, opts)
	if err != nil {
		return nil, err
	}
	l, err := r.mqtt.newListener(devs, r.handle)
	if err != nil {
		return nil, err
	}
	return &prepared{cfg: cfg, devs: devs, sources: deviceSources{poller: p, listener: l}}, nil
}

// serveHTTP is POST /api/v1/reload: the same as SIGHUP, answering with the outcome.
func (r *reloader) serveHTTP(w http.ResponseWriter, req *http.Request) {
	reply := make(chan error, 1)
	select {
	case r.requests <- reply:
	case <-req.Context().Done():
		return
	}
	if err := <-reply; err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		writeJSONError(w, "reload refused, the running configuration stays: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte("{\"status\": \"reloaded\"}\n"))
}

func writeJSONError(w http.ResponseWriter, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Write(append(b, '\n'))
}
