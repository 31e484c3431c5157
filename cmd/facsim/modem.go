package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/facilityd/facilityd/internal/modem"
	"github.com/facilityd/facilityd/simulators"
)

// modemPeers is the repeatable --modem-peer ID=PATH flag: simulated GSM modems, each
// answering AT commands on a serial port (one end of a socat pseudo-terminal pair, whose
// other end facilityd opens as its modem).
type modemPeers struct {
	order  []string
	paths  map[string]string
	modems map[string]*simulators.Modem
}

func (p *modemPeers) String() string { return "" }

func (p *modemPeers) Set(s string) error {
	id, path, ok := strings.Cut(s, "=")
	if !ok || id == "" || path == "" || strings.Contains(id, "/") {
		return fmt.Errorf("--modem-peer %q: want ID=PATH, e.g. gsm-1=/dev/pts/5", s)
	}
	if p.modems == nil {
		p.paths, p.modems = map[string]string{}, map[string]*simulators.Modem{}
	}
	if _, dup := p.modems[id]; dup {
		return fmt.Errorf("--modem-peer %q: modem %s given twice; give each an id of its own", s, id)
	}
	p.order = append(p.order, id)
	p.paths[id] = path
	p.modems[id] = simulators.NewModem(id)
	return nil
}

// serve opens each modem's port (115200 8N1) and answers on it until ctx ends.
func (p *modemPeers) serve(ctx context.Context, g *errgroup.Group, log *slog.Logger) error {
	for _, id := range p.order {
		path, sim := p.paths[id], p.modems[id]
		port, err := modem.OpenPort(path, 115200)
		if err != nil {
			return fmt.Errorf("--modem-peer %s=%s: %w", id, path, err)
		}
		g.Go(func() error {
			err := sim.Serve(ctx, port)
			port.Close()
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("--modem-peer %s=%s: %w", id, path, err)
			}
			return nil
		})
		log.Info("modem simulator serving AT commands on a serial line", "modem", id, "port", path,
			"control", "/sim/v1/modems/"+id)
	}
	return nil
}

// handler serves the modems' control API (/sim/v1/modems/...) beside the estate's.
func (p *modemPeers) handler(estate http.Handler) http.Handler {
	if len(p.order) == 0 {
		return estate
	}
	mux := http.NewServeMux()
	mux.Handle("/", estate)
	mux.HandleFunc("GET /sim/v1/modems", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"modems\": [")
		for i, id := range p.order {
			if i > 0 {
				fmt.Fprint(w, ", ")
			}
			fmt.Fprintf(w, "%q", id)
		}
		fmt.Fprintln(w, "]}")
	})
	for _, id := range p.order {
		h := p.modems[id].Handler()
		mux.Handle("/sim/v1/modems/"+id, h)
		mux.Handle("/sim/v1/modems/"+id+"/", h)
	}
	return mux
}
