// Command gen writes facilityd's Grafana dashboards as JSON files, one per dashboard, into
// the folder Grafana's file provider reads (deploy/grafana/dashboards).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/facilityd/facilityd/deploy/grafana"
)

func main() {
	out := flag.String("out", "deploy/grafana/dashboards", "folder to write the dashboards into")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	ds, err := grafana.Dashboards()
	if err != nil {
		return err
	}
	for _, d := range ds {
		b, err := d.JSON()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, d.File), b, 0o644); err != nil {
			return fmt.Errorf("write dashboard (is -out a folder?): %w", err)
		}
	}
	return nil
}
