package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/config"
)

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
			if err := checkAlarmRules(cfg); err != nil {
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
			if cfg.Influx.URL == "" {
				fmt.Fprintf(out, "warning: no influx.url: readings will not be written to InfluxDB (set it or %s)\n", config.EnvName("influx.url"))
			}
			for _, w := range cfg.SecurityWarnings() {
				fmt.Fprintf(out, "warning: %s\n", w)
			}
			if cfg.Influx.URL != "" && cfg.Spool.Dir == "" {
				fmt.Fprintf(out, "warning: no spool.dir: readings taken while InfluxDB is away for more than about a minute are lost\n")
			}
			if print {
				b, err := yaml.Marshal(cfg)
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
