package grafana

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// kindBoard starts the dashboard of one device kind, with the site, building, zone and
// device variables listing only devices of that kind.
func kindBoard(measurement, title, description string) *dashboard.DashboardBuilder {
	return tagVariables(board(title, description), `"`+measurement+`"`, deviceTags...)
}

// overview is the estate at a glance: which devices answer, failed polls, alarms raised and
// work orders opened.
func overview() *dashboard.DashboardBuilder {
	alarmWhere := `"site" =~ /^$site$/ AND "zone" =~ /^$zone$/`
	return tagVariables(board("facilityd: estate overview",
		"Every device of the estate: polls, alarms and work orders. Pick a site, building and zone."),
		allDevices, "site", "building", "zone").
		WithPanel(single("Alarms raised", "short", "Alarm activations in the time range (measurement alarm, event raised).",
			influxQL("A", "", `SELECT count("id") FROM "alarm" WHERE $timeFilter AND "event" = 'raised' AND `+alarmWhere))).
		WithPanel(single("Life-safety alarms raised", "short", "Fire alarms and elevator entrapments raised in the time range.",
			influxQL("A", "", `SELECT count("id") FROM "alarm" WHERE $timeFilter AND "event" = 'raised' AND "class" = 'life_safety' AND `+alarmWhere))).
		WithPanel(single("Work orders opened", "short", "Orders created in the time range (measurement workorder).",
			influxQL("A", "", `SELECT count("id") FROM "workorder" WHERE $timeFilter AND "event" = 'created' AND `+alarmWhere))).
		WithPanel(single("Polls failed", "short", "Polls without an answer in the time range (comm_ok false), every kind.",
			influxQL("A", "", `SELECT count("comm_ok") FROM `+allDevices+` WHERE $timeFilter AND "comm_ok" = false AND `+tagFilter("site", "building", "zone")))).
		WithPanel(graph("Failed polls by device", "short", "A device that keeps failing is offline: see its communication-loss alarm.",
			influxQL("A", "$tag_device", `SELECT count("comm_ok") FROM `+allDevices+` WHERE $timeFilter AND "comm_ok" = false AND `+tagFilter("site", "building", "zone")+` GROUP BY time($__interval), "device" fill(0)`))).
		WithPanel(graph("Alarms raised by priority", "short", "Activations per interval, by priority.",
			influxQL("A", "$tag_priority", `SELECT count("id") FROM "alarm" WHERE $timeFilter AND "event" = 'raised' AND `+alarmWhere+` GROUP BY time($__interval), "priority" fill(0)`))).
		WithPanel(grid("Devices: last poll", "The last poll of each device in the time range: comm_ok false means it did not answer.",
			influxTable("A", `SELECT last("comm_ok") AS "comm_ok" FROM `+allDevices+` WHERE $timeFilter AND `+tagFilter("site", "building", "zone")+` GROUP BY "site", "building", "zone", "device"`)))
}

// pumps are the secondary water supply and drainage pumps.
func pumps() *dashboard.DashboardBuilder {
	return kindBoard("pump", "facilityd: pumps", "Secondary water supply and drainage pumps: pressure, flow, running hours.").
		WithPanel(graph("Outlet pressure", "pressurebar", "Mean outlet pressure per device.",
			influxQL("A", "$tag_device", series("pump", `mean("pressure")`)))).
		WithPanel(graph("Flow", "m3/h", "Mean flow per device (secondary water supply).",
			influxQL("A", "$tag_device", series("pump", `mean("flow")`)))).
		WithPanel(graph("Running hours", "h", "Running-hours meter; meter-driven maintenance plans count on it.",
			influxQL("A", "$tag_device", series("pump", `last("running_hours")`)))).
		WithPanel(states("Running", "Whether each pump runs.",
			influxQL("A", "$tag_device", series("pump", `last("running")`)))).
		WithPanel(graph("Pit level", "lengthm", "Sump pit level of drainage pumps.",
			influxQL("A", "$tag_device", series("pump", `mean("pit_level")`)))).
		WithPanel(graph("Motor current", "amp", "Mean motor current per device.",
			influxQL("A", "$tag_device", series("pump", `mean("motor_current")`)))).
		WithPanel(grid("Pumps now", "Last values in the time range.",
			influxTable("A", latest("pump", `last("running") AS "running", last("fault") AS "fault", last("pressure") AS "pressure", last("flow") AS "flow", last("running_hours") AS "running_hours", last("starts") AS "starts"`))))
}

// elevators are the lifts: trips, faults and whether each is in service.
func elevators() *dashboard.DashboardBuilder {
	return kindBoard("elevator", "facilityd: elevators", "Lifts: trips, fault codes, in service.").
		WithPanel(graph("Trips per interval", "short", "Trips counted per interval (difference of the trip counter).",
			influxQL("A", "$tag_device", `SELECT non_negative_difference(last("trips")) FROM "elevator" WHERE $timeFilter AND `+tagFilter(deviceTags...)+` GROUP BY time($__interval), "device" fill(null)`))).
		WithPanel(graph("Fault code", "short", "Highest fault code per interval: 0 is no fault.",
			influxQL("A", "$tag_device", series("elevator", `max("fault_code")`)))).
		WithPanel(states("In service", "false: the lift is out of service (fire recall, inspection, fault).",
			influxQL("A", "$tag_device", series("elevator", `last("in_service")`)))).
		WithPanel(graph("Floor", "short", "Car position.",
			influxQL("A", "$tag_device", series("elevator", `last("floor")`)))).
		WithPanel(grid("Elevators now", "Last values in the time range.",
			influxTable("A", latest("elevator", `last("in_service") AS "in_service", last("fault_code") AS "fault_code", last("trips") AS "trips", last("floor") AS "floor", last("load") AS "load"`))))
}

// firePanels are the fire alarm panels and their zones (NFPA 72: alarm, supervisory, trouble).
func firePanels() *dashboard.DashboardBuilder {
	return kindBoard("fire_panel", "facilityd: fire panels", "Fire alarm panels: zones, general alarm, supervisory and trouble signals.").
		WithPanel(graph("Zones in alarm", "short", "Zones in alarm per panel.",
			influxQL("A", "$tag_device", series("fire_panel", `max("zones_in_alarm")`)))).
		WithPanel(states("General signals", "Alarm takes precedence over supervisory, supervisory over trouble (NFPA 72).",
			influxQL("A", "$tag_device alarm", series("fire_panel", `last("general_alarm")`)),
			influxQL("B", "$tag_device supervisory", series("fire_panel", `last("general_supervisory")`)),
			influxQL("C", "$tag_device trouble", series("fire_panel", `last("general_trouble")`)))).
		WithPanel(graph("Battery voltage", "volt", "Standby battery voltage.",
			influxQL("A", "$tag_device", series("fire_panel", `mean("battery_voltage")`)))).
		WithPanel(grid("Zones now", "Each zone's last state code (0 normal; see the panel profile's labels).",
			influxTable("A", latest("fire_panel", `last(/^zone_[0-9]+$/)`))))
}

// lighting is the public lighting circuits and the night check.
func lighting() *dashboard.DashboardBuilder {
	return kindBoard("lighting", "facilityd: lighting", "Public lighting: power, circuits, and the night check (commanded on, on, lamp failed).").
		WithPanel(graph("Power", "kwatt", "Mean power per lighting panel.",
			influxQL("A", "$tag_device", series("lighting", `mean("power")`)))).
		WithPanel(states("Dark", "The photocell: after dusk circuits are expected on.",
			influxQL("A", "$tag_device", series("lighting", `last("dark")`)))).
		WithPanel(grid("Night check: circuits commanded on", "A circuit commanded on that is not on, or that reports a failed lamp, goes on the patrol's checklist.",
			influxTable("A", latest("lighting", `last(/^circuit_[0-9]+_command$/)`)))).
		WithPanel(grid("Night check: circuits on", "Compare with the circuits commanded on.",
			influxTable("A", latest("lighting", `last(/^circuit_[0-9]+_on$/)`)))).
		WithPanel(grid("Night check: lamp failures", "true: the circuit reports a failed lamp.",
			influxTable("A", latest("lighting", `last(/^circuit_[0-9]+_lamp_fail$/)`)))).
		WithPanel(graph("Energy", "kwatth", "Energy meter per panel.",
			influxQL("A", "$tag_device", series("lighting", `last("energy")`))))
}
