package devices

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONPaths(t *testing.T) {
	t.Parallel()
	var doc any
	if err := json.Unmarshal([]byte(`{"pressure": 3.2, "data": {"zones": [{"state": 0}, {"state": 1}, {"state": 2}]}, "m": [[1, 2], [3, 4]]}`), &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       any
		ok         bool
	}{
		{name: "member", path: "pressure", want: 3.2, ok: true},
		{name: "nested index", path: "data.zones[2].state", want: 2.0, ok: true},
		{name: "index of index", path: "m[1][0]", want: 3.0, ok: true},
		{name: "index past the end", path: "data.zones[3].state"},
		{name: "member absent", path: "data.flow"},
		{name: "index into an object", path: "data[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Lookup(doc, tt.path)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tt.path, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSetPathRoundTrip(t *testing.T) {
	t.Parallel()
	doc := map[string]any{}
	for _, p := range []string{"circuits[1].on", "circuits[0].on", "schedule.on", "ts"} {
		if err := SetPath(doc, p, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"circuits[1].on", "circuits[0].on", "schedule.on", "ts"} {
		if v, ok := Lookup(doc, p); !ok || v != p {
			t.Errorf("after SetPath, Lookup(%q) = %v, %v", p, v, ok)
		}
	}
}

func TestBadPaths(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, path, want string }{
		{"empty level", "data..x", "empty member name"},
		{"unclosed", "zones[2", "'[' without ']'"},
		{"not a number", "zones[x]", `index "x" is not a number`},
		{"junk after index", "zones[2]x", `"x" after an index`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidPath(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ValidPath(%q) = %v, want it to say %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestJSONPointProblems(t *testing.T) {
	t.Parallel()
	_, err := ParseProfile("t", []byte("name: x\npoints:\n"+
		"  - {name: a, type: float64}\n"+
		"  - {name: b, path: p.q, table: holding, type: uint16}\n"+
		"  - {name: c, path: c, type: bit}\n"+
		"  - {name: d, path: d, type: enum}\n"+
		"  - {name: e, path: 'e[', type: bool}\n"+
		"  - {name: f, path: f, type: float32, scale: 0.1}\n"))
	if err == nil {
		t.Fatal("profile with bad JSON points parsed")
	}
	for _, want := range []string{
		`point "a": table, address, path: missing: a point needs a Modbus location (table, address, type), a JSON path (path, type) or a topic of its own (topic, type)`,
		`point "b": table: a point with a JSON path or topic has no Modbus table; give one or the other`,
		`point "c": type: bit is a bit of a Modbus register; a JSON point uses bool`,
		`point "d": enum: an enum point needs labels for its codes`,
		`point "e": path: "e[": '[' without ']'`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), `point "f"`) {
		t.Errorf("a scaled float JSON point was refused: %v", err)
	}
}
