package main

import (
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/console"
	"github.com/facilityd/facilityd/devices"
)

// consoleHistoryBudget bounds the memory of the rings the console charts the last hour from
// when there is no InfluxDB: 32 MiB holds an hour at one-second polls for about 580 points, and
// beyond that each ring keeps fewer, evenly spaced samples of the same hour.
const consoleHistoryBudget = 32 << 20

// serveConsole adds the web console, the history route its charts read and the session route
// its sign-in reads, to the API.
func serveConsole(srv *api.Server, latest *devices.Latest, history *devices.History, cfg *config.Config) {
	var influx *api.InfluxSource
	if cfg.Influx.URL != "" {
		influx = &api.InfluxSource{URL: cfg.Influx.URL, Bucket: cfg.Influx.Bucket, Token: cfg.Influx.Token.Reveal()}
	}
	srv.Handle("GET /api/v1/devices/{id}/history", api.HistoryHandler(latest, history, influx))
	srv.Handle("GET /api/v1/session", srv.SessionHandler())
	console.Register(srv)
}
