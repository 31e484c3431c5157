//go:build !race

package alarms

const raceEnabled = false
