# make demo   the demo estate: simulators, facilityd, a local InfluxDB (built once, cached)
# make test   every test, with the services they need (scripts/test.sh starts them); pass go
#             test arguments in ARGS, e.g. make test ARGS="-run Influx ./telemetry/..."
# make build  the binaries, into bin/
.PHONY: demo test build

demo:
	bash scripts/demo.sh $(ARGS)

test:
	bash scripts/test.sh $(ARGS)

build:
	go build -o bin/ ./cmd/...
