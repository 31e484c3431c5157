package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/gateway"
	"github.com/facilityd/facilityd/devices/modbus"
	mqttdev "github.com/facilityd/facilityd/devices/mqtt"
)

// reloader runs the device sources (the Modbus pollers and the MQTT device listener) and
// reloads the configuration file when asked (SIGHUP or POST /api/v1/reload): the new file is
// loaded and validated while the running sources go on; an invalid one is refused with every
// problem logged and the running configuration kept.
//
// A valid file that changes only the devices' transports and polling (reload_keys.go) takes the
// fast path: the sources stop (the poll under way finishes), the live cache is pointed at the
// new device set (devices that remain keep their state) and new sources start. The InfluxDB
// writer and its queue, the alarm journal, the stores and every journal consumer's cursor are
// untouched, so no reading already taken is lost and no event is delivered twice.
//
// A valid file that changes anything else (alarm rules, the patrol roster, the work-order
// tables, http, the broker's accounts, a device added) is checked further (checkRebuild) and
// then the device sources return a *rebuildRequest: the runner stops the whole pipeline the
// normal way and Run builds the next from the file (rebuild.go).
type reloader struct {
	path     string
	log      *slog.Logger
	latest   *devices.Latest
	handle   devices.Handler
	opts     modbus.Options
	mqtt     *mqttSide
	hooks    []func(*config.Config) error
	requests chan chan reloadAnswer
	// gone is closed once run has returned: a request then finds no one to answer it.
	gone chan struct{}
	// rebuild checks a file that changes more than the devices (checkRebuild).
	rebuild func(*config.Config) (*rebuildRequest, error)
	// hup is SIGHUP, registered by Run for the life of the process.
	hup chan os.Signal
	// wait bounds how long POST /api/v1/reload waits for a rebuild: the drain, then New.
	wait time.Duration
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

// reloadAnswer is what POST /api/v1/reload is told: the outcome, or (rebuilt not nil) that
// the pipeline stops to be rebuilt and the outcome comes on rebuilt.
type reloadAnswer struct {
	err     error
	rebuilt chan error
}

// run runs cur until ctx ends, replacing it on each reload that is valid and changes only the
// devices; one that changes more ends run with a *rebuildRequest.
func (r *reloader) run(ctx context.Context, cur deviceSources) error {
	defer close(r.gone)
	if r.hup == nil {
		r.hup = make(chan os.Signal, 1) // never signalled: Run registers SIGHUP
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
		if next.rebuild != nil {
			return r.stopForRebuild(next)
		}
		cur = r.swap(next)
	}
}

// stopForRebuild tells the API's caller that the pipeline is being rebuilt and hands the
// request to the runner, which stops the pipeline: Run builds the next one.
func (r *reloader) stopForRebuild(next *prepared) error {
	req := next.rebuild
	r.log.Info("configuration changes more than the devices: the pipeline stops and is rebuilt with its state", "changed", req.keys)
	if next.reply != nil {
		req.done = make(chan error, 1)
		next.reply <- reloadAnswer{rebuilt: req.done}
	}
	return req
}

// await waits for a valid reload (a prepared next set of sources), answering every refused one
// while the running sources go on; nil once ctx ends or a source returns.
func (r *reloader) await(ctx context.Context, done chan error) *prepared {
	for {
		var reply chan reloadAnswer
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
				reply <- reloadAnswer{err: err}
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
	r.loaded = next.cfg
	if next.reply != nil {
		next.reply <- reloadAnswer{err: err}
	}
	return next.sources
}

// prepared is a valid new configuration and the sources built for it, not yet running; or,
// with rebuild set, one that the pipeline is rebuilt for.
type prepared struct {
	cfg     *config.Config
	devs    []*devices.Device
	sources deviceSources
	rebuild *rebuildRequest
	reply   chan reloadAnswer // POST /api/v1/reload waits here; nil for SIGHUP
}

// prepare loads and validates the file and builds its sources, or checks it for a rebuild
// when it changes more than the devices; nothing runs yet.
func (r *reloader) prepare() (*prepared, error) {
	if r.path == "" {
		return nil, errNoReloadPath
	}
	cfg, err := config.Load(r.path)
	if err != nil {
		return nil, err
	}
	if keys := rebuildKeys(r.loaded, cfg); len(keys) > 0 {
		req, err := r.rebuild(cfg)
		if err != nil {
			return nil, err
		}
		req.keys = keys
		return &prepared{cfg: cfg, rebuild: req}, nil
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

// serveHTTP is POST /api/v1/reload: the same as SIGHUP, answering with the outcome. When the
// pipeline is rebuilt, the answer comes once the new one is built; the connection is taken
// from the server (hijacked) so that the old API's shutdown does not wait for it (rebuild.go).
func (r *reloader) serveHTTP(w http.ResponseWriter, req *http.Request) {
	reply := make(chan reloadAnswer, 1)
	select {
	case r.requests <- reply:
	case <-r.gone:
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		writeJSONError(w, "facilityd is stopping or being rebuilt; ask again")
		return
	case <-req.Context().Done():
		return
	}
	ans := <-reply
	if ans.rebuilt != nil {
		answerRebuild(w, ans.rebuilt, r.wait, r.log)
		return
	}
	writeReloadAnswer(w, ans.err, "reloaded")
}

// writeReloadAnswer writes the outcome of a reload: 200, or 422 with the problems.
func writeReloadAnswer(w http.ResponseWriter, err error, status string) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write(reloadError(err))
		return
	}
	b, _ := json.Marshal(map[string]string{"status": status})
	w.Write(append(b, '\n'))
}

// reloadError is the JSON body of a reload that did not apply: refused with the running
// configuration kept, or failed after a rebuild's stop with the previous one running again.
func reloadError(err error) []byte {
	msg := "reload refused, the running configuration stays: " + err.Error()
	if errors.Is(err, errRebuildFailed) {
		msg = "reload failed: " + err.Error()
	}
	b, _ := json.Marshal(map[string]string{"error": msg})
	return append(b, '\n')
}

func writeJSONError(w http.ResponseWriter, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Write(append(b, '\n'))
}
