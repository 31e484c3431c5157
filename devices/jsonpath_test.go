package devices

import (
	"encoding/json"
	"reflect"
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

func TestJSONPathSelection(t *testing.T) {
	t.Parallel()
	// A multi-sensor gateway's payload, decoded the way the MQTT driver decodes (json.Number).
	dec := json.NewDecoder(strings.NewReader(`{"sensors": [
		{"id": "T1", "value": 21.5}, {"id": "T3", "value": 19.0, "meta": {"room": "B1.02"}},
		{"id": 7, "value": 3}, {"id": "T3", "value": "second T3"}, "junk", {"name": "x.y[1]", "value": 5}
	], "ok": [{"on": true, "n": 1}]}`))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       any
		ok         bool
	}{
		{name: "by string id", path: "sensors[id=T1].value", want: json.Number("21.5"), ok: true},
		{name: "first match wins", path: "sensors[id=T3].value", want: json.Number("19.0"), ok: true},
		{name: "deeper after a selection", path: "sensors[id=T3].meta.room", want: "B1.02", ok: true},
		{name: "by number id", path: "sensors[id=7].value", want: json.Number("3"), ok: true},
		{name: "number id written as a float", path: "sensors[id=7.0].value", want: json.Number("3"), ok: true},
		{name: "quoted value with dots and brackets", path: `sensors[name="x.y[1]"].value`, want: json.Number("5"), ok: true},
		{name: "single quotes", path: `sensors[name='x.y[1]'].value`, want: json.Number("5"), ok: true},
		{name: "by bool", path: "ok[on=true].n", want: json.Number("1"), ok: true},
		{name: "then an index", path: "sensors[id=T1]", want: map[string]any{"id": "T1", "value": json.Number("21.5")}, ok: true},
		{name: "no such id", path: "sensors[id=T9].value"},
		{name: "string id is not matched by case", path: "sensors[id=t1].value"},
		{name: "selection on an object", path: "sensors[0][id=T1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Lookup(doc, tt.path)
			if ok != tt.ok || (ok && !reflect.DeepEqual(got, tt.want)) {
				t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tt.path, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSetPathRoundTrip(t *testing.T) {
	t.Parallel()
	doc := map[string]any{}
	paths := []string{"circuits[1].on", "circuits[0].on", "schedule.on", "ts", "sensors[id=T3].value", "sensors[id=T1].value", "sensors[id=T3].unit"}
	for _, p := range paths {
		if err := SetPath(doc, p, p); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(doc["sensors"].([]any)); n != 2 {
		t.Errorf("two selections of T3 made %d sensors, want T3 and T1", n)
	}
	for _, p := range paths {
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
		{"empty selection key", "sensors[=T3].value", `selection key "" is not a member name`},
		{"empty selection value", "sensors[id=].value", `[id=] selects nothing`},
		{"unclosed quote", `sensors[id="T3].value`, "without its closing quote"},
		{"junk after a quoted value", `sensors[id="T3"x].value`, "']' must follow the quoted value"},
		{"stray bracket", "sensors]", "']' without '['"},
		{"index after a selection", "sensors[id=T3][0]", "a selection [key=value] picks an object"},
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
		`point "a": table, address, path: missing: a point needs a Modbus location (table, address, type), a JSON path (path, type), a topic of its own (topic, type) or a BACnet object (object)`,
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
