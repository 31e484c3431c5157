package grafana

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// alarmTags are the tags of measurement alarm a dashboard filters on (telemetry.AlarmLine).
var alarmTags = []string{"site", "zone", "device"}

// alarmsBoard is the alarm journal as InfluxDB holds it: one point per transition.
func alarmsBoard() *dashboard.DashboardBuilder {
	f := tagFilter(alarmTags...)
	return tagVariables(board("facilityd: alarms", "Alarm transitions (ISA-18.2 states) from measurement alarm."),
		`"alarm"`, alarmTags...).
		WithPanel(single("Raised", "short", "Activations in the time range.",
			influxQL("A", "", `SELECT count("id") FROM "alarm" WHERE $timeFilter AND "event" = 'raised' AND `+f))).
		WithPanel(single("Life safety", "short", "Fire alarms and entrapments raised in the time range.",
			influxQL("A", "", `SELECT count("id") FROM "alarm" WHERE $timeFilter AND "event" = 'raised' AND "class" = 'life_safety' AND `+f))).
		WithPanel(single("Acknowledged", "short", "Acknowledgements in the time range.",
			influxQL("A", "", `SELECT count("id") FROM "alarm" WHERE $timeFilter AND "event" = 'acked' AND `+f))).
		WithPanel(single("Still active", "short", "Transitions in the time range whose alarm was active after them, by last state.",
			influxQL("A", "", `SELECT count("id") FROM "alarm" WHERE $timeFilter AND "active" = true AND `+f))).
		WithPanel(graph("Raised by priority", "short", "Activations per interval, by priority.",
			influxQL("A", "$tag_priority", `SELECT count("id") FROM "alarm" WHERE $timeFilter AND "event" = 'raised' AND `+f+` GROUP BY time($__interval), "priority" fill(0)`))).
		WithPanel(graph("Raised by class", "short", "Activations per interval, by class (life_safety, equipment, supervisory, trouble, communication).",
			influxQL("A", "$tag_class", `SELECT count("id") FROM "alarm" WHERE $timeFilter AND "event" = 'raised' AND `+f+` GROUP BY time($__interval), "class" fill(0)`))).
		WithPanel(grid("Raised by rule", "Which rules raise most: candidates for tuning (EEMUA 191).",
			influxTable("A", `SELECT count("id") AS "raised" FROM "alarm" WHERE $timeFilter AND "event" = 'raised' AND `+f+` GROUP BY "device", "rule", "priority"`))).
		WithPanel(grid("Transitions", "Every transition, newest first: who acted and why.",
			influxTable("A", `SELECT "device", "rule", "priority", "state", "event", "message", "by", "reason" FROM "alarm" WHERE $timeFilter AND `+f+` ORDER BY time DESC LIMIT 200`)))
}

// orderTags are the tags of measurement workorder a dashboard filters on
// (workorders.LineProtocol).
var orderTags = []string{"site", "zone", "team", "category"}

// workOrders is the order book's events: opened, deadlines kept, rework.
func workOrders() *dashboard.DashboardBuilder {
	f := tagFilter(orderTags...)
	resolved := `SELECT count("id") FROM "workorder" WHERE $timeFilter AND "event" = 'transition' AND "state" = 'resolved' AND `
	return tagVariables(board("facilityd: work orders", "Work-order events from measurement workorder: opened, on time, rework."),
		`"workorder"`, orderTags...).
		WithPanel(single("Opened", "short", "Orders created in the time range.",
			influxQL("A", "", `SELECT count("id") FROM "workorder" WHERE $timeFilter AND "event" = 'created' AND `+f))).
		WithPanel(single("Resolved on time", "short", "Resolved within the time-limit table's completion time.",
			influxQL("A", "", resolved+`"complete_breached" = false AND `+f))).
		WithPanel(single("Resolved late", "short", "Resolved after the completion time: the supervisor follows these up.",
			influxQL("A", "", resolved+`"complete_breached" = true AND `+f))).
		WithPanel(single("Rework", "short", "Orders opened again for a fault repaired within the rework window (返修).",
			influxQL("A", "", `SELECT count("id") FROM "workorder" WHERE $timeFilter AND "event" = 'created' AND "rework" = true AND `+f))).
		WithPanel(graph("Opened by category", "short", "Orders created per interval, by category.",
			influxQL("A", "$tag_category", `SELECT count("id") FROM "workorder" WHERE $timeFilter AND "event" = 'created' AND `+f+` GROUP BY time($__interval), "category" fill(0)`))).
		WithPanel(graph("Deadline breaches", "short", "Accept or complete deadlines missed per interval, by team.",
			influxQL("A", "$tag_team", `SELECT count("id") FROM "workorder" WHERE $timeFilter AND "event" = 'breach' AND `+f+` GROUP BY time($__interval), "team" fill(0)`))).
		WithPanel(single("Mean time to accept", "m", "From creation to acceptance.",
			influxQL("A", "", `SELECT mean("accept_minutes") FROM "workorder" WHERE $timeFilter AND "event" = 'transition' AND "state" = 'accepted' AND `+f))).
		WithPanel(single("Mean time to repair", "m", "From creation to resolution.",
			influxQL("A", "", `SELECT mean("repair_minutes") FROM "workorder" WHERE $timeFilter AND "event" = 'transition' AND "state" = 'resolved' AND `+f))).
		WithPanel(grid("Events", "Every order event, newest first.",
			influxTable("A", `SELECT "id", "event", "device", "state", "rework", "accept_breached", "complete_breached" FROM "workorder" WHERE $timeFilter AND `+f+` ORDER BY time DESC LIMIT 200`)))
}

// prom is a PromQL range target of the Prometheus data source.
func prom(refID, legend, expr string) cog.Builder[variants.Dataquery] {
	return prometheus.NewDataqueryBuilder().RefId(refID).Datasource(prometheusRef()).
		Expr(expr).LegendFormat(legend).Range()
}

// gatewayBoard is facilityd itself: its health device in InfluxDB (device facilityd, measurement
// generic, see devices/gateway) and its Prometheus metrics.
func gatewayBoard() *dashboard.DashboardBuilder {
	health := `SELECT %s FROM "generic" WHERE $timeFilter AND "device" = 'facilityd' AND "site" =~ /^$site$/ GROUP BY time($__interval) fill(previous)`
	return tagVariables(board("facilityd: gateway", "facilityd's own health: its gateway device in InfluxDB and its Prometheus metrics."),
		`"generic"`, "site").
		WithPanel(states("Gateway health", "true: the spool dropped readings, the embedded broker refuses connections, or a channel to the guards' phones failed. Each is also an alarm of device facilityd.",
			influxQL("A", "spool dropped", fmt.Sprintf(health, `last("spool_dropped")`)),
			influxQL("B", "broker not accepting", fmt.Sprintf(health, `last("broker_not_accepting")`)),
			influxQL("C", "alarm channel failed", fmt.Sprintf(health, `last("alarm_channel_failed")`)))).
		WithPanel(graph("Spool write failure", "short", "0 ok, 1 permission denied, 2 disk full, 3 I/O error, 4 corrupt records skipped (spool.dir).",
			influxQL("A", "cause", fmt.Sprintf(health, `last("spool_write_failed")`)))).
		WithPanel(graph("Up", "short", "1 while Prometheus scrapes facilityd.",
			prom("A", "{{instance}}", `up{job="facilityd"}`))).
		WithPanel(graph("InfluxDB writes", "short", "Points written and write errors per second; errors rising: InfluxDB is unreachable.",
			prom("A", "written/s", `rate(facilityd_influx_points_written_total[5m])`),
			prom("B", "errors/s", `rate(facilityd_influx_write_errors_total[5m])`))).
		WithPanel(graph("Writer queue and spool", "short", "Snapshots queued for the writer and points waiting in the spool for replay.",
			prom("A", "queue", `facilityd_influx_queue_length`),
			prom("B", "spooled points", `facilityd_spool_points`))).
		WithPanel(graph("Spool replay lag", "s", "Age of the oldest reading in the spool.",
			prom("A", "lag", `facilityd_spool_replay_lag_seconds`))).
		WithPanel(graph("Devices offline", "short", "Modbus and MQTT devices offline.",
			prom("A", "modbus", `sum(facilityd_modbus_device_offline)`),
			prom("B", "mqtt", `sum(facilityd_mqtt_device_offline)`))).
		WithPanel(graph("Modbus poll time p95", "s", "95th percentile of a device poll, by kind.",
			prom("A", "{{kind}}", `histogram_quantile(0.95, sum by (le, kind) (rate(facilityd_modbus_poll_duration_seconds_bucket[5m])))`))).
		WithPanel(graph("Embedded broker accepting", "short", "0: the broker cannot accept connections (out of file descriptors).",
			prom("A", "accepting", `facilityd_broker_accepting`))).
		WithPanel(graph("Patrol messages", "short", "Messages to guards per channel and result, per hour; failed: given up.",
			prom("A", "{{channel}} {{result}}", `sum by (channel, result) (increase(facilityd_patrol_messages_total[1h]))`),
			prom("B", "self-test {{channel}} {{result}}", `sum by (channel, result) (increase(facilityd_patrol_self_tests_total[1d]))`)))
}
