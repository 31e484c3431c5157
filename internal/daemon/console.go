package daemon

import (
	"fmt"
	"time"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/console"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/workorders"
)

// consoleHistoryBudget bounds the memory of the rings the console charts the last hour from
// when there is no InfluxDB: 32 MiB holds an hour at one-second polls for about 580 points, and
// beyond that each ring keeps fewer, evenly spaced samples of the same hour.
const consoleHistoryBudget = 32 << 20

// historyBudget is the console rings' memory for cfg. The console charts from InfluxDB when
// there is one; the rings then only bridge an InfluxDB outage, at a coarser step in an eighth of
// the memory.
func historyBudget(cfg *config.Config) int {
	if cfg.Influx.URL != "" {
		return consoleHistoryBudget / 8
	}
	return consoleHistoryBudget
}

// serveConsole adds the web console, the history route its charts read, the session route its
// sign-in reads and the monthly report its work-order board shows, to the API.
func serveConsole(srv *api.Server, latest *devices.Latest, history *devices.History, cfg *config.Config, orders *workorders.Manager) error {
	loc, err := time.LoadLocation(cfg.WorkOrders.Calendar.Timezone)
	if err != nil {
		return fmt.Errorf("workorders.calendar.timezone: %w", err)
	}
	var influx *api.InfluxSource
	if cfg.Influx.URL != "" {
		influx = &api.InfluxSource{URL: cfg.Influx.URL, Bucket: cfg.Influx.Bucket, Token: cfg.Influx.Token.Reveal()}
	}
	srv.Handle("GET /api/v1/devices/{id}/history", api.HistoryHandler(latest, history, influx))
	srv.Handle("GET /api/v1/session", srv.SessionHandler())
	srv.Handle("GET /api/v1/workorders/report", api.ReportHandler(cfg.Site, loc, orders.Store(), orders.ReportOptions()))
	console.Register(srv)
	return nil
}

// historyOnReload points the console's rings at a reloaded configuration's devices.
func historyOnReload(h *devices.History) func(*config.Config) error {
	return func(c *config.Config) error {
		devs, err := c.BuildDevices()
		if err != nil {
			return nil // the reload itself reports the configuration's problems
		}
		h.SetDevices(devs)
		return nil
	}
}
