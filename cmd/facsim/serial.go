package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/modbus"
	"github.com/facilityd/facilityd/simulators"
)

// peers is the repeatable --serial-peer ID=PATH flag: devices served in RTU framing on a
// serial port (one end of a line whose other end facilityd polls), by path.
type peers struct {
	order []string
	ids   map[string][]string
}

func (p *peers) String() string { return "" }

func (p *peers) Set(s string) error {
	id, path, err := simulators.ParsePeer(s)
	if err != nil {
		return err
	}
	if p.ids == nil {
		p.ids = map[string][]string{}
	}
	if _, ok := p.ids[path]; !ok {
		p.order = append(p.order, path)
	}
	p.ids[path] = append(p.ids[path], id)
	return nil
}

// serve opens each port with the line settings facilityd's configuration gives the devices
// on it (19200 8E1 when it gives none) and answers their units until ctx ends.
func (p *peers) serve(ctx context.Context, g *errgroup.Group, estate *simulators.Estate, sims []simDevice, log *slog.Logger) error {
	lines := map[string]*devices.SerialLine{}
	for _, s := range sims {
		lines[s.Spec.ID] = s.Serial
	}
	for _, path := range p.order {
		line := devices.SerialLine{Baud: 19200, DataBits: 8, Parity: "E", StopBits: 1}
		for _, id := range p.ids[path] {
			if l := lines[id]; l != nil {
				line = *l
			}
		}
		line.Device = path
		port, err := modbus.OpenSerial(line)
		if err != nil {
			return fmt.Errorf("--serial-peer %s: %w", path, err)
		}
		closed := make(chan struct{})
		ids := p.ids[path]
		g.Go(func() error {
			defer port.Close()
			if err := estate.ServeRTU(port, closed, ids...); err != nil && ctx.Err() == nil {
				return fmt.Errorf("--serial-peer %s: %w", path, err)
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			close(closed)
			return nil
		})
		log.Info("serving RTU on a serial line", "port", path, "devices", strings.Join(ids, ","), "baud", line.Baud, "format", fmt.Sprintf("%d%s%d", line.DataBits, line.Parity, line.StopBits))
	}
	return nil
}
