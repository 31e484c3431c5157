# make demo   the demo estate: simulators, facilityd, a local InfluxDB (built once, cached)
# make test   every test, with the services they need (scripts/test.sh starts them); pass go
#             test arguments in ARGS, e.g. make test ARGS="-run Influx ./telemetry/..."
# make fuzz   every fuzz target for FUZZTIME each (default 30s); failures land in testdata/fuzz
# make build  the binaries, into bin/
.PHONY: demo test fuzz build

demo:
	bash scripts/demo.sh $(ARGS)

test:
	bash scripts/test.sh $(ARGS)

fuzz:
	FUZZTIME=$(or $(FUZZTIME),30s) bash scripts/fuzz.sh

build:
	go build -o bin/ ./cmd/...
