package opcua

import "github.com/facilityd/facilityd/devices"

// link is what the driver knows of a device's connection between sessions: how many attempts
// in a row have failed. Like the alarm lifecycle (alarms/lifecycle.go), it changes only by
// step, a pure function the tests drive without a server.
type link struct {
	failures int
}

// linkEvent is what happened to a device's connection.
type linkEvent uint8

// The events: a session opened, or an attempt (or the session) failed.
const (
	linkOpened linkEvent = iota
	linkFailed
)

// Announcements a step asks the driver to log: each once per outage.
const (
	announceNone = ""
	// announceOffline: the device has just become offline (its comm_loss alarm).
	announceOffline = "offline"
	// announceBack: a session opened after the device was offline.
	announceBack = "back online"
)

// step is the link after ev, the device's communication status then, and what to announce.
// Failures count as failed polls count for Modbus: retrying below offlineAfter in a row,
// offline from it.
func step(l link, ev linkEvent, offlineAfter int) (link, devices.Comm, string) {
	switch ev {
	case linkOpened:
		announce := announceNone
		if l.failures >= offlineAfter {
			announce = announceBack
		}
		return link{}, devices.CommOnline, announce
	default:
		l.failures++
		if l.failures < offlineAfter {
			return l, devices.CommRetrying, announceNone
		}
		announce := announceNone
		if l.failures == offlineAfter {
			announce = announceOffline
		}
		return l, devices.CommOffline, announce
	}
}
