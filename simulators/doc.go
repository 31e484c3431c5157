// Package simulators stands in for the estate's plant: pumps, elevators, fire alarm panels
// and lighting panels that answer Modbus TCP exactly as the built-in profiles in
// devices/profiles describe, with values that move as on site and faults that can be injected
// and cleared while facilityd polls them. CI and the demo run the whole chain against them.
//
// An Estate is a set of simulated devices. Devices that share an address share one listener
// and are told apart by their unit identifier, as behind an RTU gateway. Every read advances
// a device's model to the injected clock's now, so tests step time instead of sleeping.
//
// The Modbus TCP server is written here rather than taken from a library (such as
// simonvetter/modbus) because the protocol faults need the socket itself: replies held back
// on one connection, connections reset with RST, a unit that reads a request and never
// answers while its neighbours on the same connection do. Framing (mbap.go), request handling
// (pdu.go) and the socket (modbus_server.go) are kept apart so each can be tested alone.
//
// The control API (control.go) lists devices and injects and clears faults over HTTP;
// cmd/facsim runs an estate as a process of its own.
package simulators
