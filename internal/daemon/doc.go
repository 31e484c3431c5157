// Package daemon is facilityd's composition root: it builds every stage of docs/design.md's data
// flow from a configuration and runs them under one runner. cmd/facilityd is only the command
// line around it (New, Run, Close).
//
//	sources (stage.go: Source)                      sources.go, mqtt.go, daemon.go
//	  Modbus pollers · MQTT devices (both under reload.go) · the gateway's health
//	  └─► handle (daemon.go): the fan-out, in stageTable's order (stages.go)
//	        ├─► observers (Observer): live cache, console rings    console.go
//	        │                          work-order meters           workorders.go
//	        │                          commands' read-back         commands.go
//	        ├─► InfluxDB writer ─► spool (ReadingConsumer)         telemetry.go
//	        ├─► northbound telemetry (ReadingConsumer)             mqtt.go
//	        └─► alarm engine (ReadingConsumer) ─► journal          alarms.go
//	              journal consumers (JournalConsumer, durable cursors):
//	              ├─► patrol alerts                                patrol.go
//	              ├─► work orders                                  workorders.go
//	              ├─► InfluxDB measurement alarm                   telemetry.go
//	              ├─► MQTT facility/{site}/alarms/{device}         mqtt.go
//	              └─► console event stream                         api.go
//	services (Service): API (api.go), patrol dispatcher (patrol.go), work-order timers
//	(workorders.go); the embedded broker and its accounts (mqtt.go, brokeraccess.go) and the
//	stores live from New to Close, outside the runner
//
// The stage contract is in stage.go, the table of stages in stages.go and the runner in
// runner.go: consumers start first and sources last; at the stop the sources are cancelled
// (the API with them), then every reading consumer's input is closed so that each drains into
// the next, the journal consumers catch up with what the engine journalled, the services stop,
// and the InfluxDB writer's client closes last. shutdown_timeout bounds it all. A reload
// (reload.go) whose file changes only the devices' transports and polling replaces the device
// sources (Modbus pollers, MQTT device listener) and keeps every other stage; any other change
// rebuilds the whole pipeline in the same process (rebuild.go): the old one stops as above, New
// builds the next, and state carries over because the stores are on disk. The API's listener
// is handed from one to the next (listener.go).
//
// The crash hooks of the delivery tests are built only with -tags faultinject
// (faultinject.go); the shipped binary has no-ops in their place (faultinject_off.go).
package daemon
