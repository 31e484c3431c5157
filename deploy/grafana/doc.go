// Package grafana builds facilityd's Grafana dashboards as code with the Grafana Foundation
// SDK, so each one is checked against the SDK's dashboard types, and writes them as the JSON
// files Grafana's file provider loads (dashboards/*.json). The committed JSON must equal what
// the generator writes; the tests fail on drift and run every panel's InfluxQL against a real
// InfluxDB holding the demo estate's data.
//
// Regenerate the JSON after a change with go generate ./deploy/grafana.
package grafana

//go:generate go run ./gen -out dashboards
