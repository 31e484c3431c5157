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

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/gateway"
	"github.com/facilityd/facilityd/devices/modbus"
)

// reloader runs the pollers and replaces them when the configuration file changes (SIGHUP or
// POST /api/v1/reload): the new file is loaded and validated; an invalid one is refused with
// every problem logged and the running configuration kept; a valid one stops the pollers (the
// poll under way finishes), points the live cache at the new device set (devices that remain
// keep their state) and starts new pollers. The InfluxDB writer and its queue are untouched, so
// no reading already taken is lost. Modbus devices change at once; MQTT devices, alarm rules
// and other keys take effect at the next restart.
type reloader struct {
	path     string
	log      *slog.Logger
	latest   *devices.Latest
	handle   devices.Handler
	opts     modbus.Options
	hooks    []func(*config.Config) error
	requests chan chan error
	// current is the pollers running now, for writes (commands.go).
	current atomic.Pointer[modbus.Poller]
}

var errNoReloadPath = errors.New("no configuration file to reload (facilityd demo with the built-in estate)")

// run polls with p until ctx ends, restarting the pollers on each reload.
func (r *reloader) run(ctx context.Context, p *modbus.Poller) error {
	hup := make(chan os.Signal, 1)
	if r.path != "" {
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	for {
		r.current.Store(p)
		pctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.Run(pctx)
		}()
		var reply chan error
		select {
		case <-ctx.Done():
			stop()
			<-done
			return nil
		case <-hup:
		case reply = <-r.requests:
		}
		r.log.Info("reloading configuration", "file", r.path)
		next, err := r.prepare()
		if err != nil {
			r.log.Error("configuration reload refused; the running configuration stays", "file", r.path, "error", err.Error())
			stop()
			<-done
			// p.Run returned: start it again below with the same devices.
			if reply != nil {
				reply <- err
			}
			continue
		}
		stop()
		<-done
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
		p = next.poller
		var hookErrs []error
		for _, h := range r.hooks {
			hookErrs = append(hookErrs, h(next.cfg))
		}
		err = errors.Join(hookErrs...)
		if err != nil {
			r.log.Error("configuration reloaded, but a component refused part of it", "error", err.Error())
		} else {
			r.log.Info("configuration reloaded", "devices", len(next.devs))
		}
		if reply != nil {
			reply <- err
		}
	}
}

type prepared struct {
	cfg    *config.Config
	devs   []*devices.Device
	poller *modbus.Poller
}

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
	return &prepared{cfg: cfg, devs: devs, poller: p}, nil
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
