package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/workorders"
)

// reportCommand is `facilityd report`: the monthly (or quarterly, or yearly) work-order
// report, read straight from the order book and the patrol's records (no daemon needed), as
// Markdown, CSV and an HTML page with charts.
func reportCommand() *cobra.Command {
	var path, month, out string
	cmd := &cobra.Command{
		Use:   "report --month YYYY-MM|YYYY-Qn|YYYY [--out DIR] [--config FILE]",
		Short: "Write the monthly (quarterly, yearly: with the surveys) work-order and patrol report (Markdown, CSV, HTML)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			if cfg.StateDir == "" {
				cfg.StateDir, _ = config.DefaultStateDir(path)
			}
			if err := cfg.ResolveState(); err != nil {
				return err
			}
			if month == "" {
				month = time.Now().AddDate(0, -1, 0).Format("2006-01")
			}
			src := cfg.WorkOrders.Store.Path
			if cfg.WorkOrders.Store.Driver == "postgres" {
				src = cfg.WorkOrders.Store.DSN.Reveal()
			}
			st, err := workorders.OpenStore(cmd.Context(), cfg.WorkOrders.Store.Driver, src)
			if err != nil {
				return err
			}
			defer st.Close()
			loc, err := time.LoadLocation(cfg.WorkOrders.Calendar.Timezone)
			if err != nil {
				return fmt.Errorf("workorders.calendar.timezone: %w", err)
			}
			opts, err := daemon.WorkOrderReportOptions(cfg)
			if err != nil {
				return err
			}
			if opts.Patrol, err = patrolSummary(cfg, month, loc); err != nil {
				return err
			}
			rep, err := workorders.BuildReport(cmd.Context(), st, cfg.Site, month, loc, time.Now(), opts)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			base := filepath.Join(out, "workorders-"+month)
			for ext, write := range map[string]func(*bytes.Buffer) error{
				".md":   func(b *bytes.Buffer) error { return rep.WriteMarkdown(b) },
				".csv":  func(b *bytes.Buffer) error { return rep.WriteCSV(b) },
				".html": func(b *bytes.Buffer) error { return rep.WriteHTML(b) },
			} {
				var b bytes.Buffer
				if err := write(&b); err != nil {
					return err
				}
				if err := os.WriteFile(base+ext, b.Bytes(), 0o644); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d orders in %s: wrote %s.md, .csv and .html\n", rep.Orders, month, base)
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "facilityd.yaml", "configuration file (for the order store)")
	cmd.Flags().StringVar(&month, "month", "", "period to report: a month YYYY-MM, a quarter YYYY-Qn or a year YYYY (default: last month)")
	cmd.Flags().StringVar(&out, "out", ".", "folder to write the report into")
	return cmd
}

// patrolSummary reads the patrol's records of the period, or nil when the site has no patrol
// or its store does not exist yet.
func patrolSummary(cfg *config.Config, period string, loc *time.Location) (*patrol.Summary, error) {
	if !cfg.Patrol.Enabled() {
		return nil, nil
	}
	if _, err := os.Stat(cfg.Patrol.Store); err != nil {
		return nil, nil
	}
	from, to, err := workorders.ParsePeriod(period, loc)
	if err != nil {
		return nil, err
	}
	ps, err := patrol.OpenStore(cfg.Patrol.Store)
	if err != nil {
		return nil, err
	}
	defer ps.Close()
	sum, err := ps.Summary(from, to)
	if err != nil {
		return nil, fmt.Errorf("patrol.store %s: %w", cfg.Patrol.Store, err)
	}
	return &sum, nil
}
