// Package version says which build of facilityd is running: the release, the commit and the
// date it was built, stamped by scripts/package.sh (and make build) with the linker's -X flag,
// so that an operator reading `facilityd version` or /metrics knows what is installed without
// asking the package manager.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Version, Commit and Date are set at link time:
//
//	go build -ldflags "-X github.com/facilityd/facilityd/internal/version.Version=v1.2.0 ..."
//
// A plain `go build` leaves them empty and Get falls back to what the Go toolchain recorded.
var (
	// Version is the release (git describe --tags --always --dirty).
	Version string
	// Commit is the full commit hash the binary was built from.
	Commit string
	// Date is when the binary was built, RFC 3339 in UTC.
	Date string
)

// Info is one build's identity, as printed by `facilityd version`.
type Info struct {
	Version   string
	Commit    string
	Date      string
	GoVersion string
}

// Get returns the running binary's build identity; a field the linker did not set is read
// from the module's build information, else "unknown", so nothing prints empty.
func Get() Info {
	info := Info{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && info.Commit == "":
				info.Commit = s.Value
			case s.Key == "vcs.time" && info.Date == "":
				info.Date = s.Value
			}
		}
	}
	for _, f := range []*string{&info.Version, &info.Commit, &info.Date} {
		if *f == "" {
			*f = "unknown"
		}
	}
	return info
}

// String is the text of `facilityd version`, one key per line.
func (i Info) String() string {
	return fmt.Sprintf("facilityd %s\ncommit: %s\nbuilt: %s\ngo: %s\n", i.Version, i.Commit, i.Date, i.GoVersion)
}

// Collector returns facilityd_build_info{version,commit,goversion} 1, the Prometheus
// convention for build identity, so a dashboard can join any series with the release that
// produced it. Each call returns a new collector, for each pipeline's own registry.
func Collector() prometheus.Collector {
	i := Get()
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "facilityd_build_info",
		Help:        "The running facilityd's release, commit and Go version; always 1.",
		ConstLabels: prometheus.Labels{"version": i.Version, "commit": i.Commit, "goversion": i.GoVersion},
	}, func() float64 { return 1 })
}
