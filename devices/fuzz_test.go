package devices

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseProfile: any bytes give a profile or an error, never a panic; a profile that parses
// validates again and keeps its points.
func FuzzParseProfile(f *testing.F) {
	files, _ := filepath.Glob("profiles/*.yaml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("name: x\npoints:\n  - {name: a, table: holding, address: 65535, type: float64}\n"))
	f.Add([]byte("name: x\npoints:\n  - {name: s, table: holding, address: 0, type: string, length: 200}\n"))
	f.Add([]byte("name: x\ntime_path: Time\ntime_unit: ms\ntime_zone: Asia/Shanghai\npoints:\n" +
		"  - {name: relay, topic: POWER, type: bool, true: [ON], false: [OFF]}\n" +
		"  - {name: t3, path: \"sensors[id=T3].value\", type: float64}\n" +
		"  - {name: mode, path: mode, type: enum, enum: {0: idle, 1: run}, map: {RUN: 1}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile("fuzz.yaml", data)
		if err != nil {
			return
		}
		n := len(p.Points)
		if err := p.Validate(); err != nil {
			t.Fatalf("a parsed profile no longer validates: %v", err)
		}
		for i := range p.Points {
			pt := &p.Points[i]
			if _, j, ok := p.Point(pt.Name); !ok || j != i {
				t.Fatalf("point %q not found at %d", pt.Name, i)
			}
			if pt.IsMQTT() || pt.IsBACnet() {
				continue // a JSON path, a topic or a BACnet object has no register span
			}
			if pt.End() > 0x10000 || pt.Width() < 1 {
				t.Fatalf("point %q spans %d..%d", pt.Name, pt.Address, pt.End())
			}
		}
		if len(p.Points) != n {
			t.Fatal("Validate changed the points")
		}
	})
}

// FuzzJSONPath: any path and document give a value or not, never a panic; a path that
// parses, once set with SetPath in an empty document, reads back with Lookup.
func FuzzJSONPath(f *testing.F) {
	f.Add("data.zones[2].state", `{"data": {"zones": [0, 1, {"state": 2}]}}`)
	f.Add("sensors[id=T3].value", `{"sensors": [{"id": "T1"}, {"id": "T3", "value": 19.5}]}`)
	f.Add(`inputs[name="leak.B1"].active`, `{"inputs": [{"name": "leak.B1", "active": true}]}`)
	f.Add("a[id=7].b[1]", `{"a": [{"id": 7.0, "b": [0, 1]}]}`)
	f.Add("m[1][0]", `{"m": [[1, 2], [3, 4]]}`)
	f.Fuzz(func(t *testing.T, path, doc string) {
		var v any
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.UseNumber()
		if dec.Decode(&v) == nil {
			Lookup(v, path)
		}
		steps, err := parsePath(path)
		if err != nil {
			if _, ok := Lookup(map[string]any{}, path); ok {
				t.Fatalf("Lookup found a value at invalid path %q", path)
			}
			return
		}
		for i, s := range steps {
			// A path that ends on a selection replaces the selected object; one that then sets
			// the selection's own key changes it: neither can be read back by the selection.
			if s.selects() && (i == len(steps)-1 || steps[i+1].name == s.key) {
				return
			}
		}
		for _, s := range steps {
			if s.index > 1000 {
				return // SetPath would grow a huge array of nulls
			}
		}
		built := map[string]any{}
		if err := SetPath(built, path, "here"); err != nil {
			t.Fatalf("SetPath(%q): %v after the path parsed", path, err)
		}
		if got, ok := Lookup(built, path); !ok || got != "here" {
			t.Fatalf("Lookup(%q) after SetPath = %v, %v", path, got, ok)
		}
	})
}
