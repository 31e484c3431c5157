#!/usr/bin/env bash
# fuzz.sh: run every fuzz target of the module for FUZZTIME each (default 30s), one after the
# other (go test -fuzz takes one target at a time). A failing input is written under the
# package's testdata/fuzz/, where every later `make test` replays it as a regular test: keep
# it as a seed once the bug is fixed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
fuzztime=${FUZZTIME:-30s}
status=0
while IFS= read -r pkg; do
	dir=${pkg#github.com/facilityd/facilityd}
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		printf 'fuzz.sh: %s %s for %s\n' ".$dir" "$target" "$fuzztime" >&2
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" || status=1
	done
done < <(go list ./...)
exit "$status"
