// Package deploy holds what an operator installs: the Debian package's files (deploy/debian,
// the systemd unit in deploy/systemd, the installed configuration facilityd.yaml; built by
// scripts/package.sh), and beside facilityd to watch it, Grafana provisioning
// (deploy/grafana) and Prometheus scrape and alerting rules (deploy/prometheus).
// It has no code of its own; its tests check the Prometheus files with promtool and that
// every metric they name is one facilityd registers, so a renamed metric fails a test rather
// than an alert going silent in production; and they build, install, upgrade, run and purge the
// package and score the unit with systemd-analyze (docs/operations.md, "Installing on Debian").
package deploy
