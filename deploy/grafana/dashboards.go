package grafana

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Dashboard is one generated dashboard and the file it is provisioned from.
type Dashboard struct {
	File      string // base name in dashboards/, e.g. facilityd-pumps.json
	Dashboard dashboard.Dashboard
}

// Dashboards builds every dashboard; an error names the dashboard the SDK refused.
func Dashboards() ([]Dashboard, error) {
	builders := []struct {
		uid string
		b   *dashboard.DashboardBuilder
	}{
		{"facilityd-overview", overview()},
		{"facilityd-pumps", pumps()},
		{"facilityd-elevators", elevators()},
		{"facilityd-fire-panels", firePanels()},
		{"facilityd-lighting", lighting()},
		{"facilityd-alarms", alarmsBoard()},
		{"facilityd-workorders", workOrders()},
		{"facilityd-gateway", gatewayBoard()},
	}
	out := make([]Dashboard, 0, len(builders))
	for _, d := range builders {
		built, err := d.b.Uid(d.uid).Build()
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", d.uid, err)
		}
		out = append(out, Dashboard{File: d.uid + ".json", Dashboard: built})
	}
	return out, nil
}

// JSON renders a dashboard as the file Grafana's file provider loads: indented, with a
// trailing newline so the committed file diffs cleanly.
func (d Dashboard) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(d.Dashboard, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", d.File, err)
	}
	return append(b, '\n'), nil
}

// board starts a dashboard with what every facilityd dashboard shares: the last 6 hours,
// refreshed every minute, tagged facilityd, linked to the others.
func board(title, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Description(description).
		Tags([]string{"facilityd"}).
		Editable().
		Timezone("browser").
		Time("now-6h", "now").
		Refresh("1m").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("facilityd").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"facilityd"}).
			AsDropdown(true).
			IncludeVars(true).
			KeepTime(true))
}

// allDevices is the InfluxQL source of every device kind's measurement (docs/design.md,
// Telemetry: measurement = device kind).
const allDevices = `/^(pump|elevator|fire_panel|lighting|generic)$/`

// tagVariables adds one variable per tag key, each listing the tag's values (InfluxQL SHOW
// TAG VALUES) in from, narrowed by the variables before it: site, then building, and so on.
// Each is multi-valued with All matching everything, so panels filter with =~ /^$key$/.
func tagVariables(b *dashboard.DashboardBuilder, from string, keys ...string) *dashboard.DashboardBuilder {
	for i, key := range keys {
		q := fmt.Sprintf(`SHOW TAG VALUES FROM %s WITH KEY = "%s"`, from, key)
		if i > 0 {
			q += " WHERE " + tagFilter(keys[:i]...)
		}
		b = b.WithVariable(dashboard.NewQueryVariableBuilder(key).
			Label(strings.ToUpper(key[:1]) + key[1:]).
			Datasource(influxRef()).
			Query(dashboard.StringOrMap{String: &q}).
			Definition(q).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Sort(dashboard.VariableSortAlphabeticalAsc).
			Multi(true).
			IncludeAll(true).
			AllValue(".*"))
	}
	return b
}

// tagFilter is the InfluxQL condition that keeps the series the variables of keys select.
func tagFilter(keys ...string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf(`"%s" =~ /^$%s$/`, k, k)
	}
	return strings.Join(parts, " AND ")
}

// deviceTags are the tags every device line carries.
var deviceTags = []string{"site", "building", "zone", "device"}

// series is a time-series InfluxQL query of a device kind: sel over the dashboard's time
// range and variables, one series per device, in Grafana's interval.
func series(measurement, sel string, where ...string) string {
	return fmt.Sprintf(`SELECT %s FROM "%s" WHERE $timeFilter AND %s GROUP BY time($__interval), "device" fill(null)`,
		sel, measurement, strings.Join(append([]string{tagFilter(deviceTags...)}, where...), " AND "))
}

// latest is the last value of sel per device over the time range, for tables and stats.
func latest(measurement, sel string) string {
	return fmt.Sprintf(`SELECT %s FROM "%s" WHERE $timeFilter AND %s GROUP BY "device"`,
		sel, measurement, tagFilter(deviceTags...))
}

type targets = []cog.Builder[variants.Dataquery]

func graph(title, unit, description string, ts ...cog.Builder[variants.Dataquery]) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().Title(title).Description(description).Unit(unit).
		Datasource(ts0Ref(ts)).Targets(targets(ts)).Height(8).Span(12).
		FillOpacity(10).ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).
			DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderNone))
}

func single(title, unit, description string, ts ...cog.Builder[variants.Dataquery]) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Title(title).Description(description).Unit(unit).
		Datasource(ts0Ref(ts)).Targets(targets(ts)).Height(4).Span(6)
}

func grid(title, description string, ts ...cog.Builder[variants.Dataquery]) *table.PanelBuilder {
	return table.NewPanelBuilder().Title(title).Description(description).
		Datasource(ts0Ref(ts)).Targets(targets(ts)).Height(8).Span(24).
		// The SDK's strict reader wants the footer's reducer list even when the footer is hidden.
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"}))
}

func states(title, description string, ts ...cog.Builder[variants.Dataquery]) *statetimeline.PanelBuilder {
	return statetimeline.NewPanelBuilder().Title(title).Description(description).
		Datasource(ts0Ref(ts)).Targets(targets(ts)).Height(8).Span(12)
}

// ts0Ref is the data source of a panel: that of its first target.
func ts0Ref(ts []cog.Builder[variants.Dataquery]) common.DataSourceRef {
	if len(ts) > 0 {
		if _, ok := ts[0].(influx); !ok {
			return prometheusRef()
		}
	}
	return influxRef()
}
