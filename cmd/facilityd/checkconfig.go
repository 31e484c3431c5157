package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/telemetry"
)

// printable is cfg as check-config --print shows it: secrets are hidden by their types, and the
// userinfo of a URL (http://user:password@host) is redacted, since a password may sit there.
func printable(cfg *config.Config) *config.Config {
	c := *cfg
	c.Influx.URL = telemetry.RedactURL(c.Influx.URL)
	c.MQTT.URL = telemetry.RedactURL(c.MQTT.URL)
	return &c
}

func checkConfigCommand() *cobra.Command {
	var print bool
	cmd := &cobra.Command{
		Use:   "check-config FILE",
		Short: "Check a configuration and print every problem in it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(args[0])
			if err != nil {
				return err
			}
			if err := daemon.CheckAlarmRules(cfg); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if err := daemon.CheckWorkOrders(cfg); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			out := cmd.OutOrStdout()
			kinds := map[string]int{}
			for _, d := range cfg.Devices {
				kinds[d.Kind]++
			}
			var parts []string
			for k, n := range kinds {
				parts = append(parts, fmt.Sprintf("%d %s", n, k))
			}
			sort.Strings(parts)
			fmt.Fprintf(out, "%s: OK, site %s, %d devices (%s)\n", args[0], cfg.Site, len(cfg.Devices), strings.Join(parts, ", "))
			for _, w := range append(cfg.DeliveryWarnings(), cfg.SecurityWarnings()...) {
				fmt.Fprintf(out, "warning: %s\n", w)
			}
			if print {
				b, err := yaml.Marshal(printable(cfg))
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "---\n%s", b)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&print, "print", false, "print the effective configuration (defaults and environment applied, secrets hidden)")
	return cmd
}
