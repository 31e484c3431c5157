package devices

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// pathStep is one step of a JSON path: a member name, an index into an array, or the first
// element of an array whose member key has the value match.
type pathStep struct {
	name  string
	index int // -1 for a member or a selection
	key   string
	match string
}

func (s pathStep) selects() bool { return s.key != "" }

// parsePath reads a JSON path of the form "data.zones[2].state" or "sensors[id=T3].value":
// member names separated by dots, each followed by any number of brackets holding an array
// index or a selection key=value (the value may be quoted, "..." or '...', to hold dots,
// brackets or spaces). It is the small subset of JSONPath that device payloads need, without
// the "$." prefix.
func parsePath(path string) ([]pathStep, error) {
	if path == "" {
		return nil, errors.New("empty")
	}
	var steps []pathStep
	i := 0
	for {
		start := i
		for i < len(path) && path[i] != '.' && path[i] != '[' && path[i] != ']' {
			i++
		}
		if i == start {
			return nil, fmt.Errorf("%q: empty member name (write e.g. data.zones[2].state)", path)
		}
		steps = append(steps, pathStep{name: path[start:i], index: -1})
		for i < len(path) && path[i] == '[' {
			if steps[len(steps)-1].selects() {
				return nil, fmt.Errorf("%q: a selection [key=value] picks an object: follow it with .member, not [...]", path)
			}
			step, next, err := parseBracket(path, i)
			if err != nil {
				return nil, err
			}
			steps = append(steps, step)
			i = next
		}
		if i == len(path) {
			return steps, nil
		}
		switch path[i] {
		case '.':
			i++
		case ']':
			return nil, fmt.Errorf("%q: ']' without '['", path)
		default:
			return nil, fmt.Errorf("%q: %q after an index (write e.g. zones[2].state)", path, path[i:])
		}
	}
}

// parseBracket reads the bracket that opens at path[i] and returns the index after it.
func parseBracket(path string, i int) (pathStep, int, error) {
	body := path[i+1:]
	eq := strings.IndexAny(body, "=]")
	if eq < 0 {
		return pathStep{}, 0, fmt.Errorf("%q: '[' without ']'", path)
	}
	if body[eq] == ']' {
		n, err := strconv.Atoi(body[:eq])
		if err != nil || n < 0 {
			return pathStep{}, 0, fmt.Errorf("%q: index %q is not a number 0 or above (or a selection like [id=T3])", path, body[:eq])
		}
		return pathStep{index: n}, i + 1 + eq + 1, nil
	}
	key := body[:eq]
	if key == "" || strings.ContainsAny(key, ".[ '\"") {
		return pathStep{}, 0, fmt.Errorf("%q: selection key %q is not a member name (write e.g. sensors[id=T3].value)", path, key)
	}
	rest := body[eq+1:]
	var match string
	var end int // index of ']' in rest
	if rest != "" && (rest[0] == '"' || rest[0] == '\'') {
		closeQ := strings.IndexByte(rest[1:], rest[0])
		if closeQ < 0 {
			return pathStep{}, 0, fmt.Errorf("%q: quote %c without its closing quote", path, rest[0])
		}
		match = rest[1 : 1+closeQ]
		end = 1 + closeQ + 1
		if end >= len(rest) || rest[end] != ']' {
			return pathStep{}, 0, fmt.Errorf("%q: ']' must follow the quoted value of [%s=...]", path, key)
		}
	} else {
		end = strings.IndexByte(rest, ']')
		if end < 0 {
			return pathStep{}, 0, fmt.Errorf("%q: '[' without ']'", path)
		}
		match = rest[:end]
		if match == "" {
			return pathStep{}, 0, fmt.Errorf("%q: [%s=] selects nothing: give the value (quoted, \"\", for an empty string)", path, key)
		}
		if strings.ContainsAny(match, "['\"") {
			return pathStep{}, 0, fmt.Errorf("%q: value %q of [%s=...] holds a bracket or quote: quote the whole value", path, match, key)
		}
	}
	return pathStep{index: -1, key: key, match: match}, i + 1 + eq + 1 + end + 1, nil
}

// ValidPath reports why a JSON path cannot be read, or nil.
func ValidPath(path string) error {
	_, err := parsePath(path)
	return err
}

// Lookup finds the value at path in a document decoded by encoding/json (maps, slices,
// strings, bools, numbers as float64 or json.Number). ok is false when a member or index is
// absent, or no array element has the selected member value.
func Lookup(doc any, path string) (v any, ok bool) {
	steps, err := parsePath(path)
	if err != nil {
		return nil, false
	}
	v = doc
	for _, s := range steps {
		switch {
		case s.selects():
			a, isArray := v.([]any)
			if !isArray {
				return nil, false
			}
			if v, ok = selectElement(a, s); !ok {
				return nil, false
			}
		case s.index < 0:
			m, isMap := v.(map[string]any)
			if !isMap {
				return nil, false
			}
			if v, ok = m[s.name]; !ok {
				return nil, false
			}
		default:
			a, isArray := v.([]any)
			if !isArray || s.index >= len(a) {
				return nil, false
			}
			v = a[s.index]
		}
	}
	return v, true
}

// selectElement is the first object of a whose member s.key has the value s.match.
func selectElement(a []any, s pathStep) (any, bool) {
	for _, e := range a {
		m, isMap := e.(map[string]any)
		if !isMap {
			continue
		}
		if member, ok := m[s.key]; ok && valueMatches(member, s.match) {
			return e, true
		}
	}
	return nil, false
}

// valueMatches compares a JSON value with the text of a selection: strings exactly, numbers by
// value (id=3 matches 3 and 3.0), booleans as true or false.
func valueMatches(v any, text string) bool {
	switch x := v.(type) {
	case string:
		return x == text
	case bool:
		return strconv.FormatBool(x) == text
	case json.Number:
		if x.String() == text {
			return true
		}
		a, err1 := x.Float64()
		b, err2 := strconv.ParseFloat(text, 64)
		return err1 == nil && err2 == nil && a == b
	case float64:
		b, err := strconv.ParseFloat(text, 64)
		return err == nil && x == b
	}
	return false
}

// SetPath puts val at path in doc, creating the objects and arrays on the way (arrays grow
// with nulls; a selection adds an object with the selected member). It is how simulators
// build the payloads a profile describes.
func SetPath(doc map[string]any, path string, val any) error {
	steps, err := parsePath(path)
	if err != nil {
		return err
	}
	var set func(cur any, i int) any
	set = func(cur any, i int) any {
		if i == len(steps) {
			return val
		}
		s := steps[i]
		switch {
		case s.selects():
			a, _ := cur.([]any)
			for k, e := range a {
				if m, isMap := e.(map[string]any); isMap && valueMatches(m[s.key], s.match) {
					a[k] = set(e, i+1)
					return a
				}
			}
			return append(a, set(map[string]any{s.key: s.match}, i+1))
		case s.index < 0:
			m, _ := cur.(map[string]any)
			if m == nil {
				m = map[string]any{}
			}
			m[s.name] = set(m[s.name], i+1)
			return m
		}
		a, _ := cur.([]any)
		for len(a) <= s.index {
			a = append(a, nil)
		}
		a[s.index] = set(a[s.index], i+1)
		return a
	}
	set(doc, 0)
	return nil
}
