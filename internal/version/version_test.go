package version

import (
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestVersionStamped(t *testing.T) {
	tests := []struct {
		name                  string
		version, commit, date string
		wantVersion           string
		wantCommit            string
	}{
		{name: "stamped by the linker", version: "v1.2.0", commit: "abc123", date: "2026-12-02T07:00:00Z", wantVersion: "v1.2.0", wantCommit: "abc123"},
		{name: "plain go build", wantVersion: "unknown", wantCommit: "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			Version, Commit, Date = tt.version, tt.commit, tt.date
			t.Cleanup(func() { Version, Commit, Date = "", "", "" })
			i := Get()
			if i.Version != tt.wantVersion || i.GoVersion != runtime.Version() {
				t.Errorf("Get() = %+v, want version %q and go %s", i, tt.wantVersion, runtime.Version())
			}
			// A test binary has no VCS stamp, so the commit is the linker's or unknown.
			if i.Commit != tt.wantCommit {
				t.Errorf("commit = %q, want %q", i.Commit, tt.wantCommit)
			}
			if !strings.HasPrefix(i.String(), "facilityd "+tt.wantVersion+"\n") {
				t.Errorf("String() = %q, want it to start with the version", i.String())
			}
		})
	}
}

func TestVersionBuildInfoMetric(t *testing.T) {
	Version, Commit = "v1.2.0", "abc123"
	t.Cleanup(func() { Version, Commit = "", "" })
	reg := prometheus.NewRegistry()
	reg.MustRegister(Collector())
	want := `# HELP facilityd_build_info The running facilityd's release, commit and Go version; always 1.
# TYPE facilityd_build_info gauge
facilityd_build_info{commit="abc123",goversion="` + runtime.Version() + `",version="v1.2.0"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "facilityd_build_info"); err != nil {
		t.Error(err)
	}
	// A rebuilt pipeline registers a collector of its own in its new registry.
	if err := prometheus.NewRegistry().Register(Collector()); err != nil {
		t.Errorf("second registry: %v", err)
	}
}
