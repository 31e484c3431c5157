package grafana

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/facilityd/facilityd/internal/testenv"
)

// minInterval is the data source's timeInterval (provisioning/datasources): Grafana never
// picks a $__interval below it.
const minInterval = 10 * time.Second

// grafanaVars is what Grafana substitutes into a query before sending it.
type grafanaVars struct {
	from, to time.Time
	values   map[string]string // variable name → regex-ready value
}

// interpolate replaces $timeFilter, $__interval and template variables as Grafana's InfluxDB
// data source does: $timeFilter is "time >= {from}ms and time <= {to}ms", $__interval the
// time range over the panel's data points, never below the data source's minimum, and a
// variable inside a regex its value with regex characters escaped (All: the allValue .*).
func (g grafanaVars) interpolate(q string) string {
	r := []string{"$timeFilter", fmt.Sprintf("time >= %dms and time <= %dms", g.from.UnixMilli(), g.to.UnixMilli()),
		"$__interval", interval(g.to.Sub(g.from))}
	for name, v := range g.values {
		r = append(r, "$"+name, v)
	}
	return strings.NewReplacer(r...).Replace(q)
}

// interval is Grafana's $__interval for a range over about 1000 data points, rounded down
// to whole seconds.
func interval(span time.Duration) string {
	iv := max(span/1000, minInterval)
	return fmt.Sprintf("%ds", int(iv/time.Second))
}

// regexValue escapes a variable's value for an InfluxQL regex, as Grafana does for =~ /^$v$/.
func regexValue(v string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(v), "/", `\/`)
}

// TestPanelQueriesReturnData writes the demo estate's history into a fresh InfluxDB 1.8
// database through facilityd's own writer and runs every template variable and every panel
// query of the committed dashboards against it, with All selected and then with one site
// selected. A query that fails or returns no series is the panel an operator would see
// empty.
func TestPanelQueriesReturnData(t *testing.T) {
	in := testenv.NewInflux(t)
	from, to := demoData(t, in.URL, in.Bucket())
	for file, d := range loadDashboards(t) {
		t.Run(strings.TrimSuffix(file, ".json"), func(t *testing.T) {
			all := grafanaVars{from: from, to: to, values: map[string]string{}}
			site := grafanaVars{from: from, to: to, values: map[string]string{}}
			for _, v := range d.Templating.List {
				all.values[v.Name] = deref(v.AllValue)
				site.values[v.Name] = deref(v.AllValue)
			}
			for _, v := range d.Templating.List {
				values := variableValues(t, in, all, v)
				if v.Name == "site" && len(values) > 0 {
					site.values["site"] = regexValue(values[0])
				}
			}
			for _, g := range []grafanaVars{all, site} {
				for _, q := range queries(t, d) {
					if q.Datasource != "influxdb" {
						continue
					}
					runPanel(t, in, g, q)
				}
			}
		})
	}
}

// variableValues runs a template variable's SHOW TAG VALUES and fails when it lists nothing:
// the dashboard's drop-down would be empty.
func variableValues(t *testing.T, in *testenv.Influx, g grafanaVars, v dashboard.VariableModel) []string {
	t.Helper()
	if v.Query == nil || v.Query.String == nil {
		t.Errorf("variable %s: no InfluxQL query", v.Name)
		return nil
	}
	q := g.interpolate(*v.Query.String)
	series, err := in.Query(q)
	if err != nil {
		t.Errorf("variable %s: %v", v.Name, err)
		return nil
	}
	var values []string
	for _, s := range series {
		for _, row := range s.Rows() {
			if s, ok := row["value"].(string); ok {
				values = append(values, s)
			}
		}
	}
	if len(values) == 0 {
		t.Errorf("variable %s lists no values: %s", v.Name, q)
	}
	return values
}

// leftVar finds a $name Grafana would have replaced ("$/" ends a regex).
var leftVar = regexp.MustCompile(`\$[A-Za-z_]`)

// runPanel runs one panel target and fails, naming the dashboard and panel, when InfluxDB
// refuses it or it returns no series.
func runPanel(t *testing.T, in *testenv.Influx, g grafanaVars, q panelQuery) {
	t.Helper()
	sent := g.interpolate(q.Query)
	if leftVar.MatchString(sent) {
		t.Errorf("%s: a variable is left after interpolation: %s", q, sent)
		return
	}
	series, err := in.Query(sent)
	if err != nil {
		t.Errorf("%s: %v", q, err)
		return
	}
	rows := 0 // rows with a value besides the time: fill(null) pads with empty ones
	for _, s := range series {
		for _, v := range s.Values {
			if slices.ContainsFunc(v[1:], func(x any) bool { return x != nil }) {
				rows++
			}
		}
	}
	if rows == 0 {
		t.Errorf("%s returns no data (site %s): %s", q, g.values["site"], sent)
	}
}
