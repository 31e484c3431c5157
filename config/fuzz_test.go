package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: any bytes give a configuration or an error, never a panic; an accepted one has
// every device complete and its secrets hidden when printed.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	seeds = append(seeds, "../examples/demo.yaml")
	for _, name := range seeds {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("devices:\n  - {id: a, profile: pump, modbus: {address: '127.0.0.1:1', unit: 1}}\nhttp:\n  tokens: [{name: x, role: admin, sha256: '00'}]\n"))
	f.Add([]byte("spool: {dir: /tmp/x, max_bytes: 1, segment_bytes: 0}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		for i, d := range cfg.Devices {
			if d.ID == "" || d.Interval <= 0 || d.Timeout <= 0 || d.Timeout >= d.Interval || d.Site == "" {
				t.Fatalf("devices[%d] accepted incomplete: %+v", i, d)
			}
		}
		if tok := cfg.Influx.Token.Reveal(); len(tok) > 3 && strings.Contains(cfg.Influx.Token.String(), tok) {
			t.Fatal("the InfluxDB token shows when printed")
		}
	})
}
