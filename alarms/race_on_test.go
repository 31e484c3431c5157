//go:build race

package alarms

// raceEnabled is set under -race, whose instrumentation of the pure-Go SQLite makes the
// year-long journal test take minutes.
const raceEnabled = true
