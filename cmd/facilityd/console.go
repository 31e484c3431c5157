package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
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

// serveConsole adds the web console, the history route its charts read, the session route its
// sign-in reads and the monthly report its work-order board shows, to the API. orders returns
// the work-order manager once it exists (it is built after the routes are added).
func serveConsole(srv *api.Server, latest *devices.Latest, history *devices.History, cfg *config.Config, orders func() *workorders.Manager) {
	var influx *api.InfluxSource
	if cfg.Influx.URL != "" {
		influx = &api.InfluxSource{URL: cfg.Influx.URL, Bucket: cfg.Influx.Bucket, Token: cfg.Influx.Token.Reveal()}
	}
	srv.Handle("GET /api/v1/devices/{id}/history", api.HistoryHandler(latest, history, influx))
	srv.Handle("GET /api/v1/session", srv.SessionHandler())
	srv.Handle("GET /api/v1/workorders/report", reportHandler(cfg, orders))
	console.Register(srv)
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

var monthRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// reportHandler serves GET /api/v1/workorders/report?month=YYYY-MM[&format=html]: the monthly
// report `facilityd report` writes, as JSON (default) or its self-contained HTML page.
func reportHandler(cfg *config.Config, orders func() *workorders.Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(status int, msg string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
		}
		m := orders()
		if m == nil {
			fail(http.StatusServiceUnavailable, "work orders are not running")
			return
		}
		month := r.URL.Query().Get("month")
		if month == "" {
			month = time.Now().Format("2006-01")
		}
		if !monthRE.MatchString(month) {
			fail(http.StatusBadRequest, "month="+month+": want YYYY-MM, e.g. "+time.Now().Format("2006-01"))
			return
		}
		loc, err := time.LoadLocation(cfg.WorkOrders.Calendar.Timezone)
		if err != nil {
			fail(http.StatusInternalServerError, "workorders.calendar.timezone: "+err.Error())
			return
		}
		rep, err := workorders.BuildReport(r.Context(), m.Store(), cfg.Site, month, loc, time.Now(), m.ReportOptions())
		if err != nil {
			fail(http.StatusInternalServerError, "report "+month+": "+err.Error())
			return
		}
		switch r.URL.Query().Get("format") {
		case "", "json":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(rep)
		case "html":
			var b bytes.Buffer
			if err := rep.WriteHTML(&b); err != nil {
				fail(http.StatusInternalServerError, err.Error())
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="workorders-`+month+`.html"`)
			_, _ = w.Write(b.Bytes())
		default:
			fail(http.StatusBadRequest, "format="+r.URL.Query().Get("format")+": json or html")
		}
	})
}
