#!/usr/bin/env bash
# demo.sh: the demo on a fresh machine. Builds facilityd, builds (once, cached) and starts a
# local InfluxDB 1.8 with its data under .demo/influxdb, and runs `facilityd demo` against it:
# simulators of the demo estate, polled, written to InfluxDB, served on the API.
#
#   scripts/demo.sh [facilityd demo flags]
#
# Environment: FACILITYD_INFLUX_PORT (default 8086) for InfluxDB's port. Ctrl-C stops
# facilityd, which flushes what it read, and then InfluxDB.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/influxd.sh
source "$root/scripts/influxd.sh"

data="$root/.demo/influxdb"
mkdir -p "$data" "$root/bin"

echo "demo.sh: building facilityd" >&2
go build -o "$root/bin/" ./cmd/facilityd ./cmd/facsim

influxd_build >/dev/null
if [[ -f $data/influxd.pid ]]; then
	influxd_stop "$data" || true
fi
port=${FACILITYD_INFLUX_PORT:-8086}
influxd_start "$data" "$port" facility >/dev/null
trap 'influxd_stop "$data"' EXIT

cat >&2 <<MSG

demo.sh: InfluxDB $INFLUXD_URL (database facility, data in .demo/influxdb, log .demo/influxdb/influxd.log)
  Query it:  curl -G '$INFLUXD_URL/query' --data-urlencode db=facility \\
               --data-urlencode 'q=SELECT last(pressure), last(running) FROM pump GROUP BY device'
MSG

export FACILITYD_INFLUX_URL=$INFLUXD_URL
export FACILITYD_INFLUX_BUCKET=facility/autogen
# The demo's state (the spool, where readings taken while InfluxDB is away wait, the journals
# and stores) is in .demo/, its default state_dir.
# Not exec: the trap stops InfluxDB once facilityd has flushed and exited.
status=0
"$root/bin/facilityd" demo "$@" || status=$?
exit "$status"
