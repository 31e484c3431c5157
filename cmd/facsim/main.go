// Command facsim runs simulated plant (pumps, elevators, fire panels, lighting panels) as a
// process of its own: Modbus TCP devices that serve the built-in profiles, and the simulator
// control API to inject and clear faults. It is what `make demo` and integrators point
// facilityd at when there is no hardware.
//
//	facsim --pumps 2 --elevators 1 --fire-panels 1 --lighting 1 --print-devices
//
// Each device listens on a port of its own counting up from --listen, or with --shared all
// devices sit behind one port as units 1..N, like an RTU gateway.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/simulators"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "facsim:", err)
		os.Exit(1)
	}
}

// fleet is the estate the flags describe: so many devices of each kind, where they listen.
type fleet struct {
	Listen     string
	Shared     bool
	Pumps      int
	Elevators  int
	FirePanels int
	Lighting   int
	Building   string
	Zone       string
}

// simDevice is one device to simulate and the estate facts facilityd's config needs about it
// that the simulator itself does not (building and zone). A config file (--config, to come)
// produces the same list (configDevices) as fleetDevices does from flags.
type simDevice struct {
	Spec     simulators.DeviceSpec
	Building string
	Zone     string
	// Serial is the line facilityd polls the device on, if any: its peer's settings.
	Serial *devices.SerialLine
}

// fleetDevices lays a fleet out: ids pump-01, elevator-01, fire-panel-01, lighting-01 and so
// on; pumps alternate supply and drainage; ports count up from Listen, or with Shared one port
// and units 1..N. Listen with port 0 gives each device a free port (on 127.0.0.1 only) or,
// shared, one free port for all.
func fleetDevices(f fleet) ([]simDevice, error) {
	host, portText, err := net.SplitHostPort(f.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: not host:port (e.g. 127.0.0.1:1502): %v", f.Listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("--listen %q: port %q is not a number 0-65535", f.Listen, portText)
	}
	counts := []struct {
		flag  string
		n     int
		kind  devices.Kind
		label string
	}{
		{"--pumps", f.Pumps, devices.KindPump, "pump"},
		{"--elevators", f.Elevators, devices.KindElevator, "elevator"},
		{"--fire-panels", f.FirePanels, devices.KindFirePanel, "fire-panel"},
		{"--lighting", f.Lighting, devices.KindLighting, "lighting"},
	}
	total := 0
	for _, c := range counts {
		if c.n < 0 {
			return nil, fmt.Errorf("%s %d: a count cannot be negative", c.flag, c.n)
		}
		total += c.n
	}
	switch {
	case total == 0:
		return nil, errors.New("no devices: give at least one of --pumps, --elevators, --fire-panels, --lighting")
	case f.Shared && total > 247:
		return nil, fmt.Errorf("--shared: %d devices do not fit behind one address (units 1-247)", total)
	case !f.Shared && port != 0 && port+total-1 > 65535:
		return nil, fmt.Errorf("--listen %q: %d devices need ports %d-%d, past 65535; lower the port or use --shared", f.Listen, total, port, port+total-1)
	case !f.Shared && port == 0 && host != "127.0.0.1":
		return nil, fmt.Errorf("--listen %q: port 0 without --shared works on 127.0.0.1 only; give a first port (e.g. %s) or --shared",
			f.Listen, net.JoinHostPort(host, "1502"))
	}
	out := make([]simDevice, 0, total)
	for _, c := range counts {
		for i := 1; i <= c.n; i++ {
			spec := simulators.DeviceSpec{
				ID:   fmt.Sprintf("%s-%02d", c.label, i),
				Kind: c.kind,
				Unit: 1,
			}
			if c.kind == devices.KindPump {
				spec.Role = simulators.RoleSupply
				if i%2 == 0 {
					spec.Role = simulators.RoleDrainage
				}
			}
			n := len(out)
			switch {
			case f.Shared:
				spec.Address, spec.Unit = f.Listen, uint8(n+1)
			case port == 0:
				spec.Address = "" // a free loopback port of its own
			default:
				spec.Address = net.JoinHostPort(host, strconv.Itoa(port+n))
			}
			out = append(out, simDevice{Spec: spec, Building: f.Building, Zone: f.Zone})
		}
	}
	return out, nil
}

// options are facsim's flags.
type options struct {
	fleet        fleet
	control      string
	printDevices bool
	timeScale    float64
	seed         int64
	verbose      bool
	configPath   string
	serial       peers
	modems       modemPeers
}

// parseFlags reads facsim's command line.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("facsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	f := &o.fleet
	fs.StringVar(&f.Listen, "listen", "127.0.0.1:1502", "host:port of the first device; each further device gets the next port")
	fs.BoolVar(&f.Shared, "shared", false, "serve every device on the --listen port, as units 1..N behind one gateway")
	fs.IntVar(&f.Pumps, "pumps", 2, "number of pumps (odd ones supply, even ones drainage)")
	fs.IntVar(&f.Elevators, "elevators", 1, "number of elevators")
	fs.IntVar(&f.FirePanels, "fire-panels", 1, "number of fire alarm panels")
	fs.IntVar(&f.Lighting, "lighting", 1, "number of lighting panels")
	fs.StringVar(&f.Building, "building", "tower-a", "building written into --print-devices")
	fs.StringVar(&f.Zone, "zone", "zone-1", "zone written into --print-devices")
	fs.StringVar(&o.control, "control", "127.0.0.1:8081", "host:port of the control API (/sim/v1/...); empty to disable")
	fs.BoolVar(&o.printDevices, "print-devices", false, "print the devices as a facilityd config 'devices:' list, then keep running")
	fs.Float64Var(&o.timeScale, "time-scale", 1, "speed of the physics: 60 runs a simulated minute every second")
	fs.Int64Var(&o.seed, "seed", 0, "seed of the simulated noise")
	fs.BoolVar(&o.verbose, "v", false, "log every connection and write")
	fs.StringVar(&o.configPath, "config", "", "facilityd configuration: simulate every Modbus device it names, at its address and unit (the fleet flags are then ignored)")
	fs.Var(&o.serial, "serial-peer", "ID=PATH: serve device ID in RTU framing on serial port PATH, the other end of the line facilityd polls (repeat for more units or lines)")
	fs.Var(&o.modems, "modem-peer", "ID=PATH: simulate GSM modem ID answering AT commands on serial port PATH, the other end of facilityd's modem line (repeat for more)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q; facsim takes flags only (see -h)", fs.Arg(0))
	}
	return o, nil
}

// run is main without the process: flags in, devices served until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := newLog(stderr, o.verbose)
	sims, estate, err := startEstate(o, log)
	if err != nil {
		return err
	}
	defer estate.Close()
	if o.configPath != "" {
		plants, err := startChillerPlants(o.configPath, log) // opcua.go
		if err != nil {
			return err
		}
		defer plants.Close()
	}

	var ctlURL string
	var ctlLn net.Listener
	if o.control != "" {
		ctlLn, err = net.Listen("tcp", o.control)
		if err != nil {
			return fmt.Errorf("--control %s: %w", o.control, err)
		}
		ctlURL = "http://" + ctlLn.Addr().String()
		log.Info("control API listening", "url", ctlURL+"/sim/v1/devices")
	}
	if o.printDevices {
		if err := writeDevices(stdout, sims, estate, ctlURL); err != nil {
			return err
		}
	}
	log.Info("simulators running; Ctrl-C stops them", "devices", len(sims))

	g, gctx := errgroup.WithContext(ctx)
	if err := o.serial.serve(gctx, g, estate, sims, log); err != nil {
		return err
	}
	if err := o.modems.serve(gctx, g, log); err != nil {
		return err
	}
	if ctlLn != nil {
		serveControl(gctx, g, ctlLn, simulators.Guard(o.modems.handler(estate.Handler()), ctlLn.Addr().String()))
	} else {
		g.Go(func() error { <-gctx.Done(); return nil })
	}
	err = g.Wait()
	if cerr := estate.Close(); err == nil {
		err = cerr
	}
	log.Info("simulators stopped")
	return err
}

// startEstate builds the devices the configuration or the fleet flags name and starts
// serving them.
func startEstate(o *options, log *slog.Logger) ([]simDevice, *simulators.Estate, error) {
	var sims []simDevice
	var err error
	var broker string
	if o.configPath != "" {
		sims, broker, err = configDevices(o.configPath)
	} else {
		sims, err = fleetDevices(o.fleet)
	}
	if err != nil {
		return nil, nil, err
	}
	specs := make([]simulators.DeviceSpec, len(sims))
	for i, s := range sims {
		specs[i] = s.Spec
	}
	estate, err := simulators.New(specs, simulators.Options{TimeScale: o.timeScale, Seed: o.seed, Logger: log, MQTTBroker: broker})
	if err != nil {
		return nil, nil, err
	}
	if err := estate.Start(); err != nil {
		return nil, nil, err
	}
	return sims, estate, nil
}

// serveControl serves the control API on ln in g, and shuts it down when ctx ends.
func serveControl(ctx context.Context, g *errgroup.Group, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("control API: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
}

// configDevices reads a facilityd configuration and simulates its devices where facilityd
// will poll them, so that one file describes both sides.
// MQTT devices publish to the configured broker (mqtt.url, or the address of the broker
// facilityd embeds).
func configDevices(path string) ([]simDevice, string, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, "", err
	}
	devs, err := cfg.BuildDevices()
	if err != nil {
		return nil, "", err
	}
	byID := map[string]*devices.Device{}
	for _, d := range devs {
		byID[d.ID] = d
	}
	var sims []simDevice
	for _, s := range simulators.SpecsFor(devs) {
		d := byID[s.ID]
		sim := simDevice{Spec: s, Building: d.Building, Zone: d.Zone}
		if d.Modbus != nil {
			sim.Serial = d.Modbus.Serial
		}
		sims = append(sims, sim)
	}
	return sims, cfg.MQTT.BrokerURL(), nil
}

// configDevice is one entry of facilityd's config `devices:` list (config.Device's keys).
type configDevice struct {
	ID       string        `yaml:"id"`
	Kind     string        `yaml:"kind"`
	Building string        `yaml:"building"`
	Zone     string        `yaml:"zone"`
	Profile  string        `yaml:"profile"`
	Modbus   *configModbus `yaml:"modbus,omitempty"`
	MQTT     *configMQTT   `yaml:"mqtt,omitempty"`
	BACnet   *configBACnet `yaml:"bacnet,omitempty"`
	// Tags carry a pump's role, which simulators.SpecsFor reads back from a config.
	Tags map[string]string `yaml:"tags,omitempty"`
}

type configMQTT struct {
	Topic       string `yaml:"topic"`
	StatusTopic string `yaml:"status_topic,omitempty"`
}

type configBACnet struct {
	DeviceInstance uint32 `yaml:"device_instance"`
	Address        string `yaml:"address"`
}

type configModbus struct {
	Address string `yaml:"address"`
	Unit    uint8  `yaml:"unit"`
}

// writeDevices prints the running devices as a `devices:` list facilityd's config can take,
// with the addresses actually bound.
func writeDevices(w io.Writer, sims []simDevice, estate *simulators.Estate, ctlURL string) error {
	list := make([]configDevice, len(sims))
	for i, s := range sims {
		profile := string(s.Spec.Kind)
		if s.Spec.Profile != nil {
			profile = s.Spec.Profile.Name
		}
		list[i] = configDevice{
			ID: s.Spec.ID, Kind: string(s.Spec.Kind), Building: s.Building, Zone: s.Zone, Profile: profile,
		}
		switch {
		case s.Spec.BACnet != nil:
			list[i].BACnet = &configBACnet{DeviceInstance: s.Spec.BACnet.Instance, Address: estate.Addr(s.Spec.ID)}
		case s.Spec.MQTT != nil && s.Spec.Address == "":
			list[i].MQTT = &configMQTT{Topic: s.Spec.MQTT.Topic, StatusTopic: s.Spec.MQTT.StatusTopic}
		default:
			list[i].Modbus = &configModbus{Address: estate.Addr(s.Spec.ID), Unit: s.Spec.Unit}
		}
		if s.Spec.Role != "" {
			list[i].Tags = map[string]string{"role": s.Spec.Role}
		}
	}
	var b strings.Builder
	b.WriteString("# devices simulated by facsim")
	if ctlURL != "" {
		b.WriteString("; faults: POST/DELETE " + ctlURL + "/sim/v1/devices/{id}/faults/{fault}")
	}
	b.WriteString("\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(map[string][]configDevice{"devices": list}); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// newLog logs at info, or at debug with -v (every connection and write).
func newLog(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
