package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
)

// A reload whose file changes more than the devices rebuilds the pipeline, the way Telegraf's
// agent reloads by building a new agent: the running pipeline stops the normal way (sources
// first, each stage drains into the next, the journal consumers catch up, the stores close),
// New builds one from the new configuration and it runs, in the same process. State survives
// because it is on disk: the alarm journal and its consumers' cursors, the patrol store and
// its outbox, the order book, the command journal, the spool, the MQTT session store.
//
// Whatever can be checked without the stores is checked before the stop (checkRebuild), so
// that a file that would fail leaves the running pipeline alone; a New that fails after the
// stop (a store that will not open) builds the previous configuration again.

// generation is what one pipeline hands the next at a rebuild.
type generation struct {
	// listener is the API's socket: the running one when http.addr did not change, or one
	// bound before the stop for the new address; nil: New binds http.addr.
	listener *net.TCPListener
	// loaded is the configuration file as loaded for this pipeline, to tell at the next
	// reload what changed (reload_keys.go); nil: loaded from Options.ConfigPath.
	loaded *config.Config
	// latest and history are the live cache and the console's rings, kept across a rebuild
	// (in memory: devices that remain keep their state, as at a reload's fast path).
	latest  *devices.Latest
	history *devices.History
}

// rebuildRequest is a valid new configuration, checked, for which the running pipeline stops.
// It is the error the device sources return (reload.go), so that the runner stops the
// pipeline the normal way; Run builds the next one.
type rebuildRequest struct {
	cfg    *config.Config // readied (Options.Prepare) and checked
	loaded *config.Config // as loaded from the file
	keys   []string       // what changed, by key (never values)
	// ln is the API's socket bound for a new http.addr; nil: the running one is handed over.
	ln *net.TCPListener
	// done is told the outcome once the next pipeline is built (POST /api/v1/reload waits
	// there); nil for SIGHUP.
	done  chan error
	since time.Time
}

func (r *rebuildRequest) Error() string {
	return "configuration reload: the pipeline stops to be rebuilt"
}

// errRebuildFailed is what POST /api/v1/reload answers when the new pipeline could not be
// built after the old one had stopped: the previous configuration runs again.
var errRebuildFailed = errors.New("the new configuration failed after the pipeline stopped; the previous configuration runs again")

// Run runs the pipeline until ctx ends or a stage fails, and rebuilds it at each reload that
// asks for it (rebuild.go).
func (d *Daemon) Run(ctx context.Context) error {
	// SIGHUP is registered once for the whole of Run: between two pipelines a SIGHUP waits in
	// hup instead of ending the process (its default action).
	hup := make(chan os.Signal, 1)
	if d.h.ConfigPath != "" {
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	cur := d
	for {
		d.live = cur
		if cur.reload != nil {
			cur.reload.hup = hup
		}
		err := cur.runOnce(ctx)
		var req *rebuildRequest
		if !errors.As(err, &req) {
			return err
		}
		if ctx.Err() != nil {
			// Stopping anyway: the file is read again at the next start.
			req.answer(errors.New("facilityd is stopping; the new configuration applies at the next start"))
			req.release()
			return nil
		}
		next, err := d.rebuild(cur, req)
		if err != nil {
			return err
		}
		cur = next
	}
}

// rebuild closes cur's stores and builds the pipeline of req, or cur's configuration again if
// that fails; an error only when neither can be built.
func (d *Daemon) rebuild(cur *Daemon, req *rebuildRequest) (*Daemon, error) {
	held := cur.apiLn
	cur.Close()
	gen := generation{listener: req.ln, loaded: req.loaded, latest: cur.latest, history: cur.history}
	if gen.listener == nil && held != nil {
		gen.listener = held.TCPListener
	}
	next, err := newDaemon(req.cfg, cur.h, gen)
	if err == nil {
		if req.ln != nil && held != nil {
			held.TCPListener.Close() // http.addr changed: the old address is let go of
		}
		d.log.Info("configuration reloaded: the pipeline was rebuilt with its state", "changed", req.keys,
			"took", time.Since(req.since).Round(time.Millisecond), "http", httpOutcome(req))
		req.answer(nil)
		return next, nil
	}
	req.release()
	gen = generation{loaded: cur.reload.loaded, latest: cur.latest, history: cur.history}
	if held != nil {
		gen.listener = held.TCPListener
	}
	back, berr := newDaemon(cur.cfg, cur.h, gen)
	if berr != nil {
		d.log.Error("configuration reload failed after the pipeline stopped, and the previous configuration failed to start again; facilityd stops",
			"changed", req.keys, "error", err.Error(), "previous", berr.Error())
		if held != nil {
			held.TCPListener.Close()
		}
		err = fmt.Errorf("new configuration: %w; previous configuration: %w", err, berr)
		req.answer(err)
		return nil, err
	}
	d.log.Error("configuration reload failed after the pipeline stopped; the previous configuration runs again",
		"changed", req.keys, "error", err.Error(), "took", time.Since(req.since).Round(time.Millisecond))
	req.answer(fmt.Errorf("%w: %w", errRebuildFailed, err))
	return back, nil
}

// httpOutcome says what became of the API's address, for the log.
func httpOutcome(req *rebuildRequest) string {
	if req.ln != nil {
		return "listening on the new http.addr " + req.ln.Addr().String()
	}
	return "the listener was handed over: no connection refused during the swap"
}

// answer tells POST /api/v1/reload the outcome, if it asked.
func (r *rebuildRequest) answer(err error) {
	if r.done != nil {
		r.done <- err
	}
}

// release closes the socket bound for a new http.addr that will not be used.
func (r *rebuildRequest) release() {
	if r.ln != nil {
		r.ln.Close()
		r.ln = nil
	}
}

// checkRebuild readies and checks next for a rebuild, while the running pipeline goes on: all
// that a New of it would refuse short of opening the stores, and a new http.addr bound now
// (a port taken refuses the reload; nothing has stopped). Once it passes the API's socket is
// kept for the next pipeline.
func (d *Daemon) checkRebuild(next *config.Config) (*rebuildRequest, error) {
	loaded := *next
	cfg := next
	if d.h.Prepare != nil {
		if err := d.h.Prepare(cfg); err != nil {
			return nil, err
		}
	}
	if err := cfg.ResolveState(); err != nil {
		return nil, err
	}
	var problems []error
	for _, check := range rebuildChecks {
		if err := check(cfg); err != nil {
			problems = append(problems, err)
		}
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	if cfg.MQTT.URL == "" && cfg.MQTT.Embedded.Addr != d.cfg.MQTT.Embedded.Addr {
		if err := probeAddr(cfg.MQTT.Embedded.Addr); err != nil {
			return nil, fmt.Errorf("mqtt.embedded.addr %s: %w", cfg.MQTT.Embedded.Addr, err)
		}
	}
	req := &rebuildRequest{cfg: cfg, loaded: &loaded, since: time.Now()}
	if cfg.HTTP.Addr != d.cfg.HTTP.Addr || d.apiLn == nil {
		ln, err := net.Listen("tcp", cfg.HTTP.Addr)
		if err != nil {
			return nil, fmt.Errorf("http.addr %s: %w", cfg.HTTP.Addr, err)
		}
		req.ln = ln.(*net.TCPListener)
	}
	d.apiLn.keep()
	return req, nil
}

// rebuildChecks are what New would refuse in a configuration, checked without its stores.
var rebuildChecks = []func(*config.Config) error{
	func(c *config.Config) error {
		for _, dir := range c.PrivateDirs() {
			if err := config.PrivateDir(dir[1], dir[0]); err != nil {
				return err
			}
		}
		return nil
	},
	CheckAlarmRules,
	func(c *config.Config) error { _, err := newAuth(c); return err },
	func(c *config.Config) error {
		if c.HTTP.TLSCert == "" {
			return nil
		}
		if _, err := tls.LoadX509KeyPair(c.HTTP.TLSCert, c.HTTP.TLSKey); err != nil {
			return fmt.Errorf("http.tls_cert, http.tls_key: %w", err)
		}
		return nil
	},
	func(c *config.Config) error { _, err := mqttTLS(c.MQTT.TLS); return err },
	func(c *config.Config) error {
		if c.MQTT.URL != "" {
			return nil
		}
		devs, err := c.BuildDevices()
		if err != nil {
			return err
		}
		_, err = brokerAccess(c, devs)
		return err
	},
	func(c *config.Config) error {
		if !c.Patrol.Enabled() {
			return nil
		}
		pc, err := PatrolConfig(c)
		if err != nil {
			return fmt.Errorf("patrol: %w", err)
		}
		if err := pc.Validate(); err != nil {
			return fmt.Errorf("patrol: %w", err)
		}
		if _, err := patrol.NewRoster(pc); err != nil {
			return fmt.Errorf("patrol: %w", err)
		}
		return nil
	},
}

// probeAddr says whether addr can be bound now.
func probeAddr(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return ln.Close()
}
