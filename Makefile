# make demo   the demo estate: simulators, facilityd, a local InfluxDB (built once, cached)
# make test   every test, with the services they need (scripts/test.sh starts them); pass go
#             test arguments in ARGS, e.g. make test ARGS="-run Influx ./telemetry/..."
# make bench  the load benchmark (scripts/bench.sh, cmd/facbench); flags in ARGS, e.g.
#             make bench ARGS="--sweep 100,500,1000,2000,5000"; figures also in bench.json
# make build  the binaries, into bin/
# make fuzz   every fuzz target for FUZZTIME each (default 30s); failures land in testdata/fuzz
# make package  the Debian package dist/facilityd_<version>_<arch>.deb (scripts/package.sh);
#             VERSION=1.2.0 or GOARCH=arm64 to choose (docs/operations.md, "Installing")
.PHONY: demo test bench fuzz build package

demo:
	bash scripts/demo.sh $(ARGS)

test:
	bash scripts/test.sh $(ARGS)

bench:
	bash scripts/bench.sh $(ARGS)
fuzz:
	FUZZTIME=$(or $(FUZZTIME),30s) bash scripts/fuzz.sh

# The release and commit `facilityd version` and facilityd_build_info report (internal/version).
VERSION_PKG := github.com/facilityd/facilityd/internal/version
LDFLAGS := -X $(VERSION_PKG).Version=$(shell git describe --tags --always --dirty) -X $(VERSION_PKG).Commit=$(shell git rev-parse HEAD)

build:
	go build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

package:
	bash scripts/package.sh
