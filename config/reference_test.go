package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestReferenceIsUpToDate regenerates docs/config-reference.md and fails when the committed
// file differs, so the reference a site reads always matches the keys and defaults it runs.
func TestReferenceIsUpToDate(t *testing.T) {
	var got bytes.Buffer
	if err := Reference(&got, "."); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", ReferencePath)
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v: run `go test ./config -run Reference -update`", ReferencePath, err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("%s is out of date: run `go test ./config -run Reference -update`\n%s",
			ReferencePath, firstDifference(string(want), got.String()))
	}
}

// firstDifference names the first line that differs, so the failure says what drifted.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n  file:      %s\n  generated: %s", i+1, a, b)
		}
	}
	return ""
}

// TestReferenceRows checks the rows a reader relies on: the default a site gets, the
// variable that overrides it, and what the key is, for each kind of key.
func TestReferenceRows(t *testing.T) {
	var out bytes.Buffer
	if err := Reference(&out, "."); err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		cells := strings.Split(line, " | ")
		if len(cells) == 5 && strings.HasPrefix(cells[0], "| `") {
			rows[strings.Trim(cells[0], "| `")] = cells[1:]
		}
	}
	tests := []struct {
		name, key, typ, def, env, doc string
	}{
		{"a top-level string", "site", "string", "`estate`", "`FACILITYD_SITE`", "names the estate"},
		{"a nested duration, short", "influx.flush_interval", "duration", "`1s`", "`FACILITYD_INFLUX_FLUSH_INTERVAL`", ""},
		{"an empty secret", "influx.token", "secret", "", "`FACILITYD_INFLUX_TOKEN`", "user:password"},
		{"a secret three levels down", "patrol.phones.dingtalk.secret", "secret", "", "`FACILITYD_PATROL_PHONES_DINGTALK_SECRET`", "加签"},
		{"a size in bytes", "spool.max_bytes", "integer", "`1073741824` (1 GiB)", "`FACILITYD_SPOOL_MAX_BYTES`", "oldest segment"},
		{"a list of strings", "commands.deny_kinds", "list of strings", "`[fire_panel]`", "", "Fire panels are refused"},
		{"a list of objects", "http.tokens[]", "list of objects", "", "", "guard the API by role"},
		{"a key inside a list: no variable", "http.tokens[].sha256", "string", "", "", "SHA-256"},
		{"a comment shared with the field before", "http.tls_key", "string", "", "`FACILITYD_HTTP_TLS_KEY`", "`tls_cert` and `tls_key`"},
		{"a pointer's fields: file only", "devices[].modbus.serial.baud", "integer", "", "", ""},
		{"hours without trailing zeros", "alarms.shelve_max", "duration", "`8h`", "`FACILITYD_ALARMS_SHELVE_MAX`", "one-shot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := rows[tt.key]
			if !ok {
				t.Fatalf("no row for %s", tt.key)
			}
			if r[0] != tt.typ || r[1] != tt.def || r[2] != tt.env {
				t.Errorf("%s: type %q default %q env %q; want %q %q %q", tt.key, r[0], r[1], r[2], tt.typ, tt.def, tt.env)
			}
			if !strings.Contains(r[3], tt.doc) {
				t.Errorf("%s: says %q; want it to mention %q", tt.key, r[3], tt.doc)
			}
		})
	}
}

// TestReferenceDefaults covers how defaults are written, secrets above all.
func TestReferenceDefaults(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"a set secret is hidden", Secret("s3cret"), "`<hidden>`"},
		{"an unset secret is empty", Secret(""), ""},
		{"minutes", 30 * time.Minute, "`30m`"},
		{"milliseconds", 500 * time.Millisecond, "`500ms`"},
		{"an hour and a half", 90 * time.Minute, "`1h30m`"},
		{"zero", time.Duration(0), "`0s`"},
		{"MiB", int64(16 << 20), "`16777216` (16 MiB)"},
		{"a plain number", 5000, "`5000`"},
		{"a float", 0.005, "`0.005`"},
		{"an empty string", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scalarDefault(reflect.ValueOf(tt.v)); got != tt.want {
				t.Errorf("default of %#v = %q, want %q", tt.v, got, tt.want)
			}
		})
	}
}

// TestReferenceNeedsTheSource says what to pass when the package's files are not found.
func TestReferenceNeedsTheSource(t *testing.T) {
	err := Reference(&bytes.Buffer{}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "pass the config package's folder") {
		t.Fatalf("Reference of an empty folder: %v", err)
	}
}
