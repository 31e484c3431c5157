package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/workorders"
)

// reportCommand is `facilityd report`: the monthly work-order report, read straight from the
// order book (no daemon needed), as Markdown, CSV and an HTML page with charts.
func reportCommand() *cobra.Command {
	var path, month, out string
	cmd := &cobra.Command{
		Use:   "report --month YYYY-MM [--out DIR] [--config FILE]",
		Short: "Write the monthly work-order report (Markdown, CSV, HTML)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path)
			if err != nil {
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
			rep, err := workorders.BuildReport(cmd.Context(), st, cfg.Site, month, loc, time.Now(), workorders.ReportOptionsFor(cfg.WorkOrders))
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
	cmd.Flags().StringVar(&month, "month", "", "month to report, YYYY-MM (default: last month)")
	cmd.Flags().StringVar(&out, "out", ".", "folder to write the report into")
	return cmd
}
