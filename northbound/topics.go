// Package northbound is facilityd's MQTT side towards the people and systems that listen:
// the gateway's MQTT session (Client: publish and subscribe over one persistent session that
// survives broker restarts), the telemetry published for every poll, the retained gateway
// status with its last will, the topics later stages publish alarms, patrol alerts and notices
// to, and the broker facilityd embeds when none is configured.
//
// Topics, all under facility/{site}/:
//
//	telemetry/{device}   a device's snapshot by exception (see Telemetry), JSON (see Payload), QoS 0
//	gateway/telemetry/request  a subscriber's request for the latest snapshots (payload: a device id, or empty for all)
//	gateway/status       "online" / "offline", QoS 1, retained; "offline" is also the last will
//	alarms/{device}      alarm transitions
//	patrol/{zone}        alerts for the patrol's handsets (QoS 1)
//	notices              planned outages and other notices to residents
package northbound

import "strings"

// Root is the first level of every topic facilityd publishes.
const Root = "facility"

// level makes a name safe as one topic level: '/', '+' and '#' (level separator and
// wildcards, MQTT 3.1.1 section 4.7) and NUL become '_'; an empty name becomes "_".
func level(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '/', '+', '#', 0:
			return '_'
		}
		return r
	}, s)
}

// TelemetryTopic is where a device's readings are published.
func TelemetryTopic(site, device string) string {
	return Root + "/" + level(site) + "/telemetry/" + level(device)
}

// TelemetryRequestTopic is where a subscriber asks for every device's latest snapshot (an empty
// payload) or one device's (its id), published at once whatever changed.
func TelemetryRequestTopic(site string) string {
	return Root + "/" + level(site) + "/gateway/telemetry/request"
}

// GatewayStatusTopic carries the gateway's retained "online" or "offline".
func GatewayStatusTopic(site string) string { return Root + "/" + level(site) + "/gateway/status" }

// AlarmTopic is where a device's alarm transitions are published.
func AlarmTopic(site, device string) string {
	return Root + "/" + level(site) + "/alarms/" + level(device)
}

// PatrolTopic is where the patrol of a zone hears its alerts.
func PatrolTopic(site, zone string) string {
	return Root + "/" + level(site) + "/patrol/" + level(zone)
}

// NoticesTopic is where notices to residents (planned water or power outages) go.
func NoticesTopic(site string) string { return Root + "/" + level(site) + "/notices" }

// Gateway status payloads.
const (
	StatusOnline  = "online"
	StatusOffline = "offline"
)
