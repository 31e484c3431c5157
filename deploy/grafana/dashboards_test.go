package grafana

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"gopkg.in/yaml.v3"
)

// TestDashboardsMatchGenerator fails when a committed dashboard differs from what the
// generator writes, or when a file is left over: Grafana would load the stale one.
func TestDashboardsMatchGenerator(t *testing.T) {
	ds, err := Dashboards()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, d := range ds {
		want[d.File] = true
		got, err := os.ReadFile(filepath.Join("dashboards", d.File))
		if err != nil {
			t.Errorf("%s: %v (run go generate ./deploy/grafana)", d.File, err)
			continue
		}
		gen, err := d.JSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, gen) {
			t.Errorf("dashboards/%s differs from the generator: run go generate ./deploy/grafana and commit", d.File)
		}
	}
	files, _ := filepath.Glob("dashboards/*.json")
	for _, f := range files {
		if !want[filepath.Base(f)] {
			t.Errorf("%s is not written by the generator: remove it or add it to Dashboards", f)
		}
	}
}

// loadDashboards reads the committed JSON into the SDK's dashboard type, strictly, as the
// test of what Grafana will be given.
func loadDashboards(t *testing.T) map[string]dashboard.Dashboard {
	t.Helper()
	plugins.RegisterDefaultPlugins()
	files, err := filepath.Glob("dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	out := map[string]dashboard.Dashboard{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard.Dashboard
		if err := strictDashboard(&d, raw); err != nil {
			t.Fatalf("%s is not a dashboard the SDK accepts: %v", f, err)
		}
		out[filepath.Base(f)] = d
	}
	return out
}

// strictDashboard reads raw into d after checking it strictly (no unknown field, no required
// one missing). The SDK's strict reader returns an empty cog.BuildErrors as a non-nil error
// from a panel it accepts, and then leaves the panel out, so the panels are read again by
// the lenient reader.
func strictDashboard(d *dashboard.Dashboard, raw []byte) error {
	var strict dashboard.Dashboard
	err := strict.UnmarshalJSONStrict(raw)
	var be cog.BuildErrors
	if err != nil && !(errors.As(err, &be) && len(be) == 0) {
		return err
	}
	return json.Unmarshal(raw, d)
}

// panelQuery is one target of one panel, or a template variable's query.
type panelQuery struct {
	Dashboard, Panel, RefID string
	Datasource              string // influxdb or prometheus
	Query                   string
	Table                   bool
}

func (q panelQuery) String() string {
	return q.Dashboard + ": panel " + `"` + q.Panel + `" ` + q.RefID
}

// queries lists every panel target of the committed dashboards, read back from their JSON.
func queries(t *testing.T, d dashboard.Dashboard) []panelQuery {
	t.Helper()
	var out []panelQuery
	for _, p := range d.Panels {
		if p.Panel == nil {
			continue
		}
		for _, target := range p.Panel.Targets {
			raw, err := json.Marshal(target)
			if err != nil {
				t.Fatal(err)
			}
			var q struct {
				RefID        string `json:"refId"`
				Query        string `json:"query"`
				Expr         string `json:"expr"`
				ResultFormat string `json:"resultFormat"`
				Datasource   struct {
					Type string `json:"type"`
				} `json:"datasource"`
			}
			if err := json.Unmarshal(raw, &q); err != nil {
				t.Fatal(err)
			}
			pq := panelQuery{Dashboard: deref(d.Uid), Panel: deref(p.Panel.Title), RefID: q.RefID,
				Datasource: q.Datasource.Type, Query: q.Query, Table: q.ResultFormat == "table"}
			if q.Datasource.Type == "prometheus" {
				pq.Query = q.Expr
			}
			out = append(out, pq)
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestDashboardsShape checks what an operator would notice in Grafana: every panel has a
// query on a provisioned data source, every variable the queries use is defined, uids are
// unique and match the file names.
func TestDashboardsShape(t *testing.T) {
	uids := provisionedUIDs(t)
	for file, d := range loadDashboards(t) {
		if deref(d.Uid)+".json" != file {
			t.Errorf("%s: uid %q, want the file's name", file, deref(d.Uid))
		}
		vars := []string{}
		for _, v := range d.Templating.List {
			vars = append(vars, v.Name)
		}
		qs := queries(t, d)
		if len(qs) == 0 {
			t.Errorf("%s: no panel queries", file)
		}
		for _, q := range qs {
			if q.Query == "" {
				t.Errorf("%s: empty query", q)
			}
			if !slices.Contains(uids, dsUID(q.Datasource)) {
				t.Errorf("%s: data source %q is not provisioned", q, q.Datasource)
			}
			for _, name := range varsIn(q.Query) {
				if !slices.Contains(vars, name) {
					t.Errorf("%s: uses $%s, which the dashboard does not define (has %v)", q, name, vars)
				}
			}
		}
	}
}

func dsUID(typ string) string {
	if typ == "prometheus" {
		return PrometheusUID
	}
	return InfluxUID
}

// varsIn lists the $names of a query that are template variables, not Grafana's own.
func varsIn(q string) []string {
	var out []string
	for i := 0; i < len(q); i++ {
		if q[i] != '$' {
			continue
		}
		j := i + 1
		for j < len(q) && (q[j] == '_' || q[j] >= 'a' && q[j] <= 'z' || q[j] >= 'A' && q[j] <= 'Z' || q[j] >= '0' && q[j] <= '9') {
			j++
		}
		name := q[i+1 : j]
		if name != "" && name != "timeFilter" && !strings.HasPrefix(name, "__") {
			out = append(out, name)
		}
	}
	return out
}

// provisionedUIDs reads the data source uids the provisioning file declares.
func provisionedUIDs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("provisioning/datasources/facilityd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			UID      string         `yaml:"uid"`
			Type     string         `yaml:"type"`
			URL      string         `yaml:"url"`
			JSONData map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("datasources: %v", err)
	}
	var uids []string
	for _, d := range f.Datasources {
		uids = append(uids, d.UID)
		if d.Type == "influxdb" && (d.JSONData["dbName"] != "facility" || d.JSONData["version"] != "InfluxQL") {
			t.Errorf("InfluxDB data source: jsonData %v, want InfluxQL on database facility", d.JSONData)
		}
	}
	return uids
}

// TestDashboardProvider checks the file provider points where the README tells operators to
// copy the dashboards.
func TestDashboardProvider(t *testing.T) {
	raw, err := os.ReadFile("provisioning/dashboards/facilityd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Providers []struct {
			Type    string            `yaml:"type"`
			Options map[string]string `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Providers) != 1 || f.Providers[0].Type != "file" || f.Providers[0].Options["path"] == "" {
		t.Fatalf("providers = %+v, want one file provider with a path", f.Providers)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if p := f.Providers[0].Options["path"]; !bytes.Contains(readme, []byte(p)) {
		t.Errorf("deploy/README.md does not name the provider's path %s", p)
	}
}
