package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const unitPath = "systemd/facilityd.service"

// systemdAnalyze finds systemd-analyze, skipping on a developer's machine without it and
// failing in CI, where scripts/test.sh installs it (Debian package systemd).
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("systemd-analyze not on PATH (apt-get install systemd); CI installs it")
		}
		t.Fatalf("systemd-analyze not on PATH but CI is set: install it (apt-get install systemd): %v", err)
	}
	return p
}

// unitSettings reads a unit file into its [Service] keys, each with every value it is given.
func unitSettings(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		case section == "Service":
			k, v, _ := strings.Cut(line, "=")
			keys[k] = append(keys[k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestUnitSettings checks the settings operations relies on: how systemd learns that
// facilityd is up and alive, who it runs as, what it may touch.
func TestUnitSettings(t *testing.T) {
	keys := unitSettings(t, unitPath)
	tests := []struct{ key, want string }{
		{"Type", "notify"},
		{"ExecStart", "/usr/bin/facilityd run --config /etc/facilityd/facilityd.yaml"},
		{"ExecReload", "/bin/kill -HUP $MAINPID"},
		{"Restart", "on-failure"},
		{"WatchdogSec", "30s"},
		{"User", "facilityd"},
		{"Group", "facilityd"},
		{"SupplementaryGroups", "dialout"},
		{"NoNewPrivileges", "yes"},
		{"ProtectSystem", "strict"},
		{"ReadWritePaths", "/var/lib/facilityd"},
		{"StateDirectory", "facilityd"},
		{"StateDirectoryMode", "0700"},
		{"PrivateTmp", "yes"},
		{"ProtectHome", "yes"},
		{"ProtectKernelTunables", "yes"},
		{"ProtectControlGroups", "yes"},
		{"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
		{"LimitNOFILE", "65536"},
		{"CapabilityBoundingSet", ""},
		{"SystemCallFilter", "@system-service"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, ok := keys[tt.key]
			if !ok {
				t.Fatalf("%s is not set in %s", tt.key, unitPath)
			}
			if got[0] != tt.want {
				t.Errorf("%s=%s, want %s=%s", tt.key, got[0], tt.key, tt.want)
			}
		})
	}
}

// TestUnitVerify runs systemd-analyze verify on the unit, with ExecStart's program replaced
// by an executable present on this machine (the package test verifies the installed unit).
func TestUnitVerify(t *testing.T) {
	sa := systemdAnalyze(t)
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "facilityd.service")
	unit = []byte(strings.ReplaceAll(string(unit), "/usr/bin/facilityd", self))
	if err := os.WriteFile(copyPath, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sa, "verify", copyPath).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for facilityd\.service: ([0-9.]+)`)

// maxExposure is the exposure systemd-analyze security may give the unit: OK (below 4.0) is
// not enough; anything above what the hardening reaches now is a setting lost.
const maxExposure = 2.0

// TestUnitSecurity scores the unit offline and checks the score docs/operations.md gives is
// the one systemd-analyze prints, so the documentation stays true when the unit changes.
func TestUnitSecurity(t *testing.T) {
	sa := systemdAnalyze(t)
	out, err := exec.Command(sa, "security", "--offline=true", unitPath).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security --offline=true: %v\n%s", err, out)
	}
	m := exposureRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure in:\n%s", out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	if score > maxExposure {
		t.Errorf("exposure %.1f, want at most %.1f: a hardening setting was lost\n%s", score, maxExposure, out)
	}
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	want := "exposure level " + string(m[1])
	if !strings.Contains(string(doc), want) {
		t.Errorf("docs/operations.md does not say %q: update it to what systemd-analyze security prints", want)
	}
}
