#!/usr/bin/env bash
# test.sh: start every service the tests need, run the whole test suite with the race detector,
# stop the services, and exit with go test's status.
#
#   scripts/test.sh [go test flags] [packages]      (packages default to ./...)
#   e.g. scripts/test.sh -run 'Influx|Line' ./telemetry/...
#
# Each service has a start_NAME and a stop_NAME function below and is listed in SERVICES;
# start_NAME exports the FACILITYD_TEST_* variables its tests read. Services keep their data in
# one temporary folder, removed on exit. To add one (mosquitto, postgresql), write its two
# functions and add its name to SERVICES.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/influxd.sh
source "$root/scripts/influxd.sh"

SERVICES=(influxdb mosquitto)

log() { printf 'test.sh: %s\n' "$*" >&2; }

# ensure_tools installs the command-line tools tests shell out to (CI runs as root on Debian).
ensure_tools() {
	local missing=()
	command -v mbpoll >/dev/null 2>&1 || missing+=(mbpoll)
	[[ -x /usr/sbin/mosquitto ]] || command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto)
	command -v mosquitto_sub >/dev/null 2>&1 || missing+=(mosquitto-clients)
	((${#missing[@]} == 0)) && return 0
	local sudo=()
	if ((EUID != 0)); then
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			sudo=(sudo -n)
		else
			log "missing ${missing[*]} and not root: install them (apt-get install ${missing[*]})"
			return 1
		fi
	fi
	log "installing ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# --- InfluxDB 1.8 (scripts/influxd.sh) ---
start_influxdb() {
	influxd_start "$workdir/influxdb" "" facility_test
	export FACILITYD_TEST_INFLUX_URL=$INFLUXD_URL FACILITYD_TEST_INFLUX_DB=$INFLUXD_DB
	# Tests that play an InfluxDB outage start (and stop) their own from the same binary.
	FACILITYD_TEST_INFLUXD=$(influxd_bin)
	export FACILITYD_TEST_INFLUXD
}
stop_influxdb() { influxd_stop "$workdir/influxdb"; }

# --- mosquitto: tests start brokers of their own (internal/testenv.NewMosquitto) on free
# ports, so that they can stop and restart them; this only finds the binary. ---
start_mosquitto() {
	local bin
	bin=$(command -v mosquitto || true)
	[[ -z $bin && -x /usr/sbin/mosquitto ]] && bin=/usr/sbin/mosquitto
	if [[ -z $bin ]]; then
		log "mosquitto not found (apt-get install mosquitto)"
		return 1
	fi
	export FACILITYD_TEST_MOSQUITTO=$bin
}
stop_mosquitto() { :; }

started=()
cleanup() {
	local status=$? i
	set +e
	for ((i = ${#started[@]} - 1; i >= 0; i--)); do
		"stop_${started[i]}"
	done
	rm -rf "$workdir"
	exit "$status"
}

workdir=$(mktemp -d "${TMPDIR:-/tmp}/facilityd-test.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_tools
for svc in "${SERVICES[@]}"; do
	"start_$svc"
	started+=("$svc")
done

# Packages default to ./... unless the arguments name some.
args=("$@")
has_pkgs=false
for a in "${args[@]}"; do
	case $a in ./* | ../* | all | std | github.com/*) has_pkgs=true ;; esac
done
$has_pkgs || args+=(./...)

log "go test -race -count=1 ${args[*]}"
status=0
go test -race -count=1 "${args[@]}" || status=$?
exit "$status"
