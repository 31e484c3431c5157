#!/usr/bin/env bash
# influxd.sh: a private InfluxDB OSS 1.8 on loopback, for the tests and the demo.
#
#   scripts/influxd.sh build                        ensure the cached binary; print its path
#   scripts/influxd.sh start DATADIR [PORT] [DB]    start it, create DB; print its URL
#   scripts/influxd.sh stop DATADIR                 stop it: TERM, then KILL
#
# start listens on 127.0.0.1:PORT, or on a free port when PORT is empty or omitted, keeps all
# its files and its log (DATADIR/influxd.log) under DATADIR, writes DATADIR/influxd.pid and
# DATADIR/influxd.url, and creates the database DB (default: $INFLUXD_DB or "facility").
# It is configured only through INFLUXDB_* environment variables (-config /dev/null), so no
# influxdb.conf of the machine leaks in.
#
# Sourced (`source scripts/influxd.sh`), it defines influxd_build, influxd_start and
# influxd_stop instead; influxd_start then exports INFLUXD_URL, INFLUXD_PORT, INFLUXD_DB and
# INFLUXD_PID.
#
# Environment: FACILITYD_CACHE (default ~/.cache/facilityd) holds bin/influxd-1.8.10, built
# once with `go install` (about two minutes); INFLUXD_START_TIMEOUT (s, default 60) and
# INFLUXD_STOP_TIMEOUT (s, default 10).

INFLUXD_VERSION=1.8.10

_influxd_log() { printf 'influxd.sh: %s\n' "$*" >&2; }

# influxd_bin prints where the cached binary lives.
influxd_bin() {
	printf '%s/bin/influxd-%s\n' "${FACILITYD_CACHE:-$HOME/.cache/facilityd}" "$INFLUXD_VERSION"
}

# influxd_build ensures the cached binary exists, building it if missing, and prints its path.
influxd_build() {
	local bin tmp
	bin=$(influxd_bin)
	if [[ -x $bin ]]; then
		printf '%s\n' "$bin"
		return 0
	fi
	if ! command -v go >/dev/null 2>&1; then
		_influxd_log "go is not on PATH: it is needed to build InfluxDB $INFLUXD_VERSION"
		return 1
	fi
	mkdir -p "${bin%/*}" || return 1
	tmp=$(mktemp -d) || return 1
	_influxd_log "building InfluxDB $INFLUXD_VERSION into $bin (once; about two minutes)"
	# Outside any module, so the repository's go.mod plays no part.
	if ! (cd "$tmp" && GOBIN="$tmp/bin" GOFLAGS=-buildvcs=false \
		go install "github.com/influxdata/influxdb/cmd/influxd@v$INFLUXD_VERSION" >&2); then
		rm -rf "$tmp"
		_influxd_log "building InfluxDB $INFLUXD_VERSION failed"
		return 1
	fi
	# Copy next to the target, then rename: a parallel run never sees half a binary.
	if ! mv "$tmp/bin/influxd" "$bin.$$" || ! mv -f "$bin.$$" "$bin"; then
		rm -rf "$tmp" "$bin.$$"
		return 1
	fi
	rm -rf "$tmp"
	printf '%s\n' "$bin"
}

# _influxd_free_ports prints N distinct free TCP ports on 127.0.0.1, one a line.
_influxd_free_ports() {
	local n=$1
	if command -v python3 >/dev/null 2>&1; then
		python3 - "$n" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
    s.close()
EOF
	else
		local root
		root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || return 1
		(cd "$root" && go run ./scripts/freeport "$n")
	fi
}

# _influxd_http METHOD PATH [FORM_BODY] makes one HTTP/1.0 request to INFLUXD_PORT with
# bash's /dev/tcp (no curl needed) and prints the status code.
_influxd_http() {
	local method=$1 path=$2 body=${3:-} status_line fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$_influxd_port" 2>/dev/null || return 1
	if [[ -n $body ]]; then
		printf '%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s' \
			"$method" "$path" "${#body}" "$body" >&"$fd"
	else
		printf '%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$method" "$path" >&"$fd"
	fi
	IFS=' ' read -r -t 10 _ status_line _ <&"$fd"
	exec {fd}>&-
	printf '%s\n' "$status_line"
}

# _influxd_alive PID reports whether PID runs (a zombie does not).
_influxd_alive() {
	local stat
	[[ -r /proc/$1/stat ]] || return 1
	stat=$(<"/proc/$1/stat") || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# _influxd_is_ours PID reports whether PID is an influxd (guards against a reused PID).
_influxd_is_ours() {
	_influxd_alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "influxd"
}

# influxd_start DATADIR [PORT] [DB]: see the top of this file.
influxd_start() {
	local dir=${1:?influxd_start: DATADIR missing} port=${2:-} db=${3:-${INFLUXD_DB:-facility}}
	local bin http_port rpc_port pid attempt ports deadline status
	if [[ ! $db =~ ^[A-Za-z0-9_.-]+$ ]]; then
		_influxd_log "database name $db: use letters, digits, _ . - only"
		return 1
	fi
	if [[ -n $port && ! $port =~ ^[0-9]+$ ]]; then
		_influxd_log "port $port is not a number"
		return 1
	fi
	mkdir -p "$dir" || return 1
	dir=$(cd "$dir" && pwd) || return 1
	if [[ -f $dir/influxd.pid ]] && _influxd_is_ours "$(<"$dir/influxd.pid")"; then
		_influxd_log "already running in $dir (pid $(<"$dir/influxd.pid")): stop it first"
		return 1
	fi
	bin=$(influxd_build) || return 1

	# A free port may be taken between picking and binding it: then pick again.
	for attempt in 1 2 3; do
		if [[ -n $port ]]; then
			http_port=$port
			rpc_port=$(_influxd_free_ports 1) || return 1
		else
			ports=$(_influxd_free_ports 2) || return 1
			http_port=${ports%%$'\n'*}
			rpc_port=${ports##*$'\n'}
		fi
		_influxd_port=$http_port
		# setsid: its own session, so a Ctrl-C meant for facilityd (make demo) does not stop
		# InfluxDB before facilityd has flushed; influxd_stop stops it afterwards.
		setsid env -u INFLUXDB_CONFIG_PATH \
			INFLUXDB_HTTP_BIND_ADDRESS="127.0.0.1:$http_port" \
			INFLUXDB_BIND_ADDRESS="127.0.0.1:$rpc_port" \
			INFLUXDB_META_DIR="$dir/meta" \
			INFLUXDB_DATA_DIR="$dir/data" \
			INFLUXDB_DATA_WAL_DIR="$dir/wal" \
			INFLUXDB_HTTP_FLUX_ENABLED=true \
			INFLUXDB_REPORTING_DISABLED=true \
			INFLUXDB_HTTP_LOG_ENABLED=false \
			INFLUXDB_DATA_QUERY_LOG_ENABLED=false \
			INFLUXDB_MONITOR_STORE_ENABLED=false \
			"$bin" run -config /dev/null </dev/null >>"$dir/influxd.log" 2>&1 &
		pid=$!
		printf '%s\n' "$pid" >"$dir/influxd.pid"

		deadline=$((SECONDS + ${INFLUXD_START_TIMEOUT:-60}))
		status=
		while ((SECONDS < deadline)); do
			if ! _influxd_alive "$pid"; then
				break
			fi
			status=$(_influxd_http GET /ping 2>/dev/null) || status=
			[[ $status == 204 ]] && break
			sleep 0.2
		done
		if [[ $status == 204 ]]; then
			break
		fi
		if _influxd_alive "$pid"; then
			_influxd_log "no answer on 127.0.0.1:$http_port/ping within ${INFLUXD_START_TIMEOUT:-60}s; see $dir/influxd.log"
			influxd_stop "$dir"
			return 1
		fi
		rm -f "$dir/influxd.pid"
		if [[ -z $port ]] && grep -q "address already in use" "$dir/influxd.log" && ((attempt < 3)); then
			_influxd_log "port taken before influxd bound it; trying others"
			continue
		fi
		_influxd_log "influxd exited at start; last lines of $dir/influxd.log:"
		tail -n 20 "$dir/influxd.log" >&2
		return 1
	done

	status=$(_influxd_http POST /query "q=CREATE%20DATABASE%20%22$db%22") || status=
	if [[ $status != 200 ]]; then
		_influxd_log "CREATE DATABASE $db answered ${status:-nothing}; see $dir/influxd.log"
		influxd_stop "$dir"
		return 1
	fi
	printf 'http://127.0.0.1:%s\n' "$http_port" >"$dir/influxd.url"
	export INFLUXD_URL="http://127.0.0.1:$http_port" INFLUXD_PORT=$http_port INFLUXD_DB=$db INFLUXD_PID=$pid
	_influxd_log "InfluxDB $INFLUXD_VERSION on $INFLUXD_URL (pid $pid, database $db, data in $dir)"
}

# influxd_stop DATADIR stops the influxd started in DATADIR, if it runs.
influxd_stop() {
	local dir=${1:?influxd_stop: DATADIR missing} pid deadline
	[[ -f $dir/influxd.pid ]] || return 0
	pid=$(<"$dir/influxd.pid")
	if [[ $pid =~ ^[0-9]+$ ]] && _influxd_is_ours "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		deadline=$((SECONDS + ${INFLUXD_STOP_TIMEOUT:-10}))
		while _influxd_alive "$pid" && ((SECONDS < deadline)); do
			sleep 0.1
		done
		if _influxd_alive "$pid"; then
			_influxd_log "pid $pid ignored TERM; killing it"
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	rm -f "$dir/influxd.pid" "$dir/influxd.url"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	case ${1:-} in
	build)
		influxd_build
		;;
	start)
		shift
		influxd_start "$@"
		printf '%s\n' "$INFLUXD_URL"
		;;
	stop)
		shift
		influxd_stop "$@"
		;;
	*)
		sed -n '2,8p' "$0" >&2
		exit 2
		;;
	esac
fi
