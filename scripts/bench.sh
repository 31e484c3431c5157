#!/usr/bin/env bash
# bench.sh: the reproducible load benchmark behind `make bench`. Builds facilityd, starts a
# private InfluxDB 1.8 on a free loopback port with its data in a temporary folder, runs
# cmd/facbench against it, and stops InfluxDB. Arguments go to facbench; by default it runs
# 500 x 30, 2,000 x 50 and 5,000 x 20 registers at 1 s, each followed by the bare poller against
# the same simulators for the ratio of CPU per point.
#
#   scripts/bench.sh [facbench flags]        e.g. --sweep 100,500,1000,2000,5000
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/influxd.sh
source "$root/scripts/influxd.sh"

mkdir -p bin
go build -o bin/ ./cmd/facilityd ./cmd/facbench
influxd_build >/dev/null
data=$(mktemp -d "${TMPDIR:-/tmp}/facilityd-bench.XXXXXX")
trap 'influxd_stop "$data"; rm -rf "$data"' EXIT
influxd_start "$data" "" bench >/dev/null
bin/facbench --facilityd bin/facilityd --influx-url "$INFLUXD_URL" --influx-db bench "$@"
