package daemon

import (
	"context"
	"fmt"
	"net/http"
	_ "net/http/pprof" // served only when http.pprof is set
	"strings"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/version"
)

// buildAPI registers every route and binds the API's address, so that a port in use fails the
// start at once.
func (d *Daemon) buildAPI(context.Context) error {
	cfg := d.cfg
	auth, err := newAuth(cfg)
	if err != nil {
		return err
	}
	d.srv = api.New(d.latest, d.reg, d.log.With("component", "api"))
	d.reg.MustRegister(version.Collector())
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
	if d.h.ConfigPath != "" {
		d.srv.Handle("POST /api/v1/reload", http.HandlerFunc(d.reload.serveHTTP))
	}
	api.RegisterWorkOrders(d.srv, d.orders, &api.RepairReadings{Latest: d.latest, Rings: d.history})
	api.RegisterDefects(d.srv, d.orders)
	api.RegisterSurveys(d.srv, d.orders)
	api.RegisterCommands(d.srv, d.commands)
	if d.h.Routes != nil {
		d.h.Routes(d.srv)
	}
	d.srv.UseAuth(auth)
	d.srv.UsePolicy(api.Policy{Hosts: cfg.HTTP.Hosts, Actors: cfg.Actors(), MaxStreams: cfg.HTTP.MaxStreams})
	if cfg.HTTP.TLSCert != "" {
		d.srv.UseTLS(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
	}
	ln, err := d.listen(cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http.addr %s: %w", cfg.HTTP.Addr, err)
	}
	d.ln = ln
	d.closers = append(d.closers, func() { ln.Close() })
	d.log.Info("API bound", "addr", ln.Addr().String(), "auth", authMode(auth))
	return nil
}

// serveAPI serves the API on the listener buildAPI bound until ctx ends. The console's event
// streams end when the API stops, or its shutdown would wait for them.
func (d *Daemon) serveAPI(ctx context.Context) error {
	defer context.AfterFunc(ctx, d.hub.Close)()
	return d.srv.ServeListener(ctx, d.ln, d.cfg.HTTP.Addr, d.listening)
}

// authMode says how the API is guarded, for the start-up log.
func authMode(a *api.Auth) string {
	if a.Open() {
		return "open (no http.tokens)"
	}
	return "role tokens"
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
