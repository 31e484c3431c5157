package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/examples"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/simulators"
	"github.com/facilityd/facilityd/telemetry"
)

func demoCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the demo estate's simulators in-process, poll them and serve the API",
		Long: "Starts simulators for every device of the demo estate (or of --config) at the addresses\n" +
			"the configuration names, serves their control API on demo.sim_addr, and runs facilityd\n" +
			"against them. Set FACILITYD_INFLUX_URL to write the readings to InfluxDB.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, data := "demo.yaml (built in)", examples.Demo
			if path != "" {
				var err error
				if data, err = os.ReadFile(path); err != nil {
					return err
				}
				name = path
			}
			cfg, err := config.Parse(name, data)
			if err != nil {
				return err
			}
			if cfg.StateDir == "" {
				// The demo keeps its state in .demo/ of the working directory, so a restarted
				// demo remembers its alarms, acks, alerts and orders, and replays its spool;
				// `facilityd report` finds its orders there (FACILITYD_STATE_DIR=.demo).
				cfg.StateDir = ".demo"
			}
			log := newLogger(cfg.Log, os.Stderr)
			log.Info("state directory", "dir", cfg.StateDir)
			devs, err := cfg.BuildDevices()
			if err != nil {
				return err
			}
			estate, err := simulators.New(simulators.SpecsFor(devs), simulators.Options{
				Logger: log.With("component", "simulators"), MQTTBroker: daemon.SimulatorBrokerURL(cfg),
			})
			if err != nil {
				return err
			}
			if err := estate.Start(); err != nil {
				return fmt.Errorf("start simulators: %w", err)
			}
			defer estate.Close()
			plants, err := simulators.StartChillerPlants(chillerPlantEndpoints(cfg), log.With("component", "simulators"))
			if err != nil {
				return fmt.Errorf("start simulators: %w", err)
			}
			defer plants.Close()

			if !loopback(cfg.HTTP.Addr) {
				return fmt.Errorf("http.addr %s: the demo serves its open API on loopback only", cfg.HTTP.Addr)
			}
			// The simulators' control API and the daemon stand or fall together: either one
			// failing (a port in use) stops the other and the demo exits with the error.
			g, ctx := errgroup.WithContext(cmd.Context())
			g.Go(func() error {
				err := api.Serve(ctx, cfg.Demo.SimAddr, simulators.Guard(estate.Handler(), cfg.Demo.SimAddr), func(a net.Addr) {
					log.Info("simulator control API listening", "url", "http://"+a.String()+"/sim/v1/devices")
				})
				if err != nil {
					return fmt.Errorf("simulator control API (demo.sim_addr %s): %w", cfg.Demo.SimAddr, err)
				}
				return nil
			})
			g.Go(func() error {
				err := runDaemon(ctx, cfg, log, daemon.Options{Listening: func(net.Addr) { printBanner(os.Stderr, cfg) }})
				if err == nil && cmd.Context().Err() == nil {
					err = errors.New("facilityd stopped") // the simulators' API failed; its error wins
				}
				return err
			})
			return g.Wait()
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "estate to simulate and poll (default: the built-in demo estate)")
	return cmd
}

// chillerPlantEndpoints are the endpoints of the OPC UA devices that read a chiller plant,
// which the demo serves with simulators.
func chillerPlantEndpoints(cfg *config.Config) []string {
	var eps []string
	for _, d := range cfg.Devices {
		if d.OPCUA != nil && d.Profile == simulators.ChillerPlantProfile {
			eps = append(eps, d.OPCUA.Endpoint)
		}
	}
	return eps
}

// apiAccess is the banner's line on who may use the API: open only when no token is configured.
func apiAccess(cfg *config.Config) string {
	if n := len(cfg.HTTP.Tokens); n > 0 {
		return fmt.Sprintf("The API needs a role token (%d in http.tokens; send Authorization: Bearer TOKEN) and listens on loopback only.", n)
	}
	return "The API runs OPEN (no role tokens) and listens on loopback only."
}

func printBanner(w io.Writer, cfg *config.Config) {
	api, sim := "http://"+cfg.HTTP.Addr, "http://"+cfg.Demo.SimAddr
	influx := "not configured: readings stay in the live cache (make demo starts one)"
	if cfg.Influx.URL != "" {
		influx = telemetry.RedactURL(cfg.Influx.URL) + ", bucket " + cfg.Influx.Bucket
	}
	broker := telemetry.RedactURL(cfg.MQTT.BrokerURL())
	if cfg.MQTT.URL == "" {
		broker += " (embedded)"
	}
	mqttHost, mqttPort := "127.0.0.1", "1883"
	if u, err := url.Parse(cfg.MQTT.BrokerURL()); err == nil && u.Port() != "" {
		mqttHost, mqttPort = u.Hostname(), u.Port()
	}
	fmt.Fprintf(w, `
facilityd demo: %d simulated devices at site %s
  %s
  Console    %s/          (patrol view on a phone: %s/#/patrol)
  API        %s/api/v1/devices   %s/api/v1/devices/P-2
  Metrics    %s/metrics
  Simulators %s/sim/v1/devices
  InfluxDB   %s
  MQTT       %s
             mosquitto_sub -h %s -p %s -t 'facility/#' -v
  Try a fault:  curl -X POST -H 'Content-Type: application/json' '%s/sim/v1/devices/P-2/faults/pit_high'
                curl -X POST -H 'Content-Type: application/json' '%s/sim/v1/devices/L1-1/faults/entrapment'
                curl -X POST -H 'Content-Type: application/json' '%s/sim/v1/devices/FP-1/faults/zone_alarm?zone=3'
  Ctrl-C stops everything and flushes what was read.

`, len(cfg.Devices), cfg.Site, apiAccess(cfg), api, api, api, api, api, sim, influx, broker, mqttHost, mqttPort, sim, sim, sim)
}
