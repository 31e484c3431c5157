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

SERVICES=(influxdb mosquitto postgres bacnet_node)

log() { printf 'test.sh: %s\n' "$*" >&2; }

# ensure_tools installs the command-line tools tests shell out to (CI runs as root on Debian).
ensure_tools() {
	local missing=()
	command -v mbpoll >/dev/null 2>&1 || missing+=(mbpoll)
	# The serial-line tests join two pseudo-terminals with socat.
	command -v socat >/dev/null 2>&1 || missing+=(socat)
	# deploy/ checks the Prometheus rules with promtool.
	command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
	# deploy/ verifies and scores the systemd unit with systemd-analyze, and installs the
	# package with dpkg and adduser.
	command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
	command -v adduser >/dev/null 2>&1 || missing+=(adduser)
	[[ -x /usr/sbin/mosquitto ]] || command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto)
	command -v mosquitto_sub >/dev/null 2>&1 || missing+=(mosquitto-clients)
	pg_bin >/dev/null 2>&1 || missing+=(postgresql)
	# The console's browser test drives Debian's chromium through chromedriver.
	[[ -x /usr/bin/chromium ]] || missing+=(chromium)
	[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
	# devices/bacnet's tests run a BACnet device of another stack under node (start_bacnet_node).
	command -v node >/dev/null 2>&1 || missing+=(nodejs)
	command -v npm >/dev/null 2>&1 || missing+=(npm)
	# A Chinese font, so the console's zh-CN run measures (and shows) real glyphs.
	fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
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

# --- OPC UA: node-opcua for the foreign server devices/opcua/testdata/server.js, installed once
# into a cache outside the checkout at the versions devices/opcua/testdata/package-lock.json
# pins (reinstalled only when it changes); the tests start (and restart) servers of their own
# on free ports. ---
start_opcua() {
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		log "node and npm not found (apt-get install nodejs npm: Node 18 or later)"
		return 1
	fi
	local src=$root/devices/opcua/testdata
	local dir=${XDG_CACHE_HOME:-$HOME/.cache}/facilityd/npm/opcua
	mkdir -p "$dir"
	if ! cmp -s "$src/package-lock.json" "$dir/package-lock.json" || [[ ! -d $dir/node_modules/node-opcua ]]; then
		log "installing node-opcua into $dir"
		cp "$src/package.json" "$src/package-lock.json" "$dir/"
		(cd "$dir" && npm ci --no-audit --no-fund --omit=dev --loglevel=error >/dev/null) ||
			{ log "npm ci of node-opcua failed (is the npm registry reachable?)"; return 1; }
	fi
	export FACILITYD_TEST_OPCUA_NODE_MODULES=$dir/node_modules
}
stop_opcua() { :; }
SERVICES+=(opcua)

# --- PostgreSQL: a private cluster on a free loopback port, data and socket in the temp dir ---
pg_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[[ -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return 0; }
	done
	return 1
}
# as_pg runs a command as the postgres user when root (initdb and pg_ctl refuse root), from
# the temp dir, since postgres may not be allowed into the checkout.
as_pg() {
	if ((EUID == 0)); then (cd "$workdir" && runuser -u postgres -- "$@"); else "$@"; fi
}
free_port() { _influxd_free_ports 1; }
start_postgres() {
	local bin dir port
	bin=$(pg_bin) || { log "PostgreSQL is not installed (apt-get install postgresql)"; return 1; }
	dir=$workdir/postgres
	mkdir -p "$dir"
	((EUID == 0)) && chown postgres: "$workdir" "$dir"
	port=$(free_port)
	as_pg "$bin/initdb" -D "$dir/data" -U facilityd --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; return 1; }
	as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=100" start >/dev/null ||
		{ cat "$dir/server.log" >&2; return 1; }
	export FACILITYD_TEST_POSTGRES_DSN="postgres://facilityd@127.0.0.1:$port/postgres?sslmode=disable"
	log "PostgreSQL on 127.0.0.1:$port"
}
stop_postgres() {
	local bin
	bin=$(pg_bin) || return 0
	[[ -d $workdir/postgres/data ]] && as_pg "$bin/pg_ctl" -D "$workdir/postgres/data" -m fast -w stop >/dev/null 2>&1
	return 0
}

# --- @bacnet-js/client: the BACnet device of another stack that devices/bacnet's tests start
# (devices/bacnet/testdata/device.js), installed at the version its package-lock.json pins into
# a cache outside the checkout, so that no node_modules lands in the repository; reinstalled
# only when the lock changes. ---
start_bacnet_node() {
	local src=$root/devices/bacnet/testdata/node
	local dir=${XDG_CACHE_HOME:-$HOME/.cache}/facilityd/npm/bacnet
	mkdir -p "$dir"
	if ! cmp -s "$src/package-lock.json" "$dir/package-lock.json" || [[ ! -d $dir/node_modules/@bacnet-js/client ]]; then
		cp "$src/package.json" "$src/package-lock.json" "$dir/"
		log "installing @bacnet-js/client into $dir"
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
			{ log "npm ci of @bacnet-js/client failed (is the npm registry reachable?)"; return 1; }
	fi
	export FACILITYD_TEST_BACNET_NODE=$dir/node_modules
}
stop_bacnet_node() { :; }

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
export FACILITYD_TEST_CHROMIUM=/usr/bin/chromium FACILITYD_TEST_CHROMEDRIVER=/usr/bin/chromedriver
# Screenshots and other test output are kept here (ignored by git).
export FACILITYD_TEST_ARTIFACTS=${FACILITYD_TEST_ARTIFACTS:-$root/test-output}
log "test output (screenshots) in $FACILITYD_TEST_ARTIFACTS"
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
