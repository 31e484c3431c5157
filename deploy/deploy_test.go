package deploy

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// promtool finds promtool, skipping on a developer's machine without it and failing in CI,
// where scripts/test.sh installs it (Debian package prometheus).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("promtool not on PATH (apt-get install prometheus); CI installs it")
		}
		t.Fatalf("promtool not on PATH but CI is set: install it (apt-get install prometheus): %v", err)
	}
	return p
}

func run(t *testing.T, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

// TestPrometheusRules checks the alerting rules and runs their unit tests: every alert fires
// when it should and stays quiet when it should.
func TestPrometheusRules(t *testing.T) {
	pt := promtool(t)
	run(t, "prometheus", pt, "check", "rules", "facilityd-rules.yml")
	run(t, "prometheus", pt, "test", "rules", "facilityd-rules.test.yml")
}

// TestPrometheusConfig checks the scrape example as Prometheus would load it, with its token
// file present (promtool refuses a credentials_file that does not exist).
func TestPrometheusConfig(t *testing.T) {
	pt := promtool(t)
	dir := t.TempDir()
	cfg, err := os.ReadFile("prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	const tokenPath = "/etc/prometheus/facilityd.token"
	if !bytes.Contains(cfg, []byte("credentials_file: "+tokenPath)) {
		t.Fatalf("prometheus.yml does not read the bearer token from %s", tokenPath)
	}
	token := filepath.Join(dir, "facilityd.token")
	cfg = bytes.ReplaceAll(cfg, []byte(tokenPath), []byte(token))
	rules, err := os.ReadFile("prometheus/facilityd-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"prometheus.yml": cfg, "facilityd-rules.yml": rules, "facilityd.token": []byte("t0ken")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run(t, dir, pt, "check", "config", "prometheus.yml")
}

// ruleFile is the part of a Prometheus rule file the tests read.
type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// TestRulesSayWhatToDo checks every alert has a for:, a severity a router understands, and a
// summary and description, so the person paged knows what broke and what to do.
func TestRulesSayWhatToDo(t *testing.T) {
	raw, err := os.ReadFile("prometheus/facilityd-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile("prometheus/facilityd-rules.test.yml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			n++
			if r.For == "" {
				t.Errorf("%s: no for:", r.Alert)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: needs a summary and a description", r.Alert)
			}
			if !bytes.Contains(tests, []byte("alertname: "+r.Alert+"\n")) {
				t.Errorf("%s has no unit test in facilityd-rules.test.yml", r.Alert)
			}
		}
	}
	if n == 0 {
		t.Fatal("no rules")
	}
}

// metricName finds metric names in PromQL: facilityd's own and Prometheus's up.
var metricName = regexp.MustCompile(`\b(facilityd_[a-z0-9_]+|up)\b`)

// registration finds where facilityd's sources name a metric they register: an Opts Name, a
// NewDesc, or the spool's gauge and counter helpers.
var registration = regexp.MustCompile(`(?:Name:\s*|NewDesc\(\s*|\b(?:gauge|counter)\(\s*)"(facilityd_[a-z0-9_]+)"`)

// registered scans the module's non-test Go sources for the metric names facilityd registers.
func registered(t *testing.T) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range registration.FindAllSubmatch(src, -1) {
			names = append(names, string(m[1]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 20 {
		t.Fatalf("found only %d registered metrics: the scan is broken", len(names))
	}
	return names
}

// exists reports whether name is a series Prometheus scrapes from facilityd: a registered
// metric, a histogram's _bucket, _sum or _count, or up.
func exists(registered []string, name string) bool {
	if name == "up" || slices.Contains(registered, name) {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(registered, base) {
			return true
		}
	}
	return false
}

// TestRulesUseRegisteredMetrics fails when an alert or a Grafana panel names a metric
// facilityd does not register (renamed or removed): that alert would never fire.
func TestRulesUseRegisteredMetrics(t *testing.T) {
	reg := registered(t)
	raw, err := os.ReadFile("prometheus/facilityd-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			for _, name := range metricName.FindAllString(r.Expr, -1) {
				if !exists(reg, name) {
					t.Errorf("alert %s: facilityd registers no metric %s", r.Alert, name)
				}
			}
		}
	}
	for _, e := range dashboardExprs(t) {
		for _, name := range metricName.FindAllString(e[1], -1) {
			if !exists(reg, name) {
				t.Errorf("dashboard %s: facilityd registers no metric %s", e[0], name)
			}
		}
	}
}

// dashboardExprs returns the PromQL of every Prometheus target in the Grafana dashboards, as
// (file, expr) pairs.
func dashboardExprs(t *testing.T) [][2]string {
	t.Helper()
	files, err := filepath.Glob("grafana/dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	var out [][2]string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels []struct {
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				if tg.Expr != "" {
					out = append(out, [2]string{filepath.Base(f), tg.Expr})
				}
			}
		}
	}
	return out
}
