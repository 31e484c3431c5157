// Package deploy holds what an operator installs beside facilityd to watch it: Grafana
// provisioning (deploy/grafana) and Prometheus scrape and alerting rules (deploy/prometheus).
// It has no code of its own; its tests check the Prometheus files with promtool and that
// every metric they name is one facilityd registers, so a renamed metric fails a test rather
// than an alert going silent in production.
package deploy
