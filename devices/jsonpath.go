package devices

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// pathStep is one step of a JSON path: a member name, or an index into an array.
type pathStep struct {
	name  string
	index int // -1 for a member
}

// parsePath reads a JSON path of the form "data.zones[2].state": member names separated by
// dots, each followed by any number of [N] array indices. It is the small subset of JSONPath
// that device payloads need, without the "$." prefix.
func parsePath(path string) ([]pathStep, error) {
	if path == "" {
		return nil, errors.New("empty")
	}
	var steps []pathStep
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name == "" {
			return nil, fmt.Errorf("%q: empty member name (write e.g. data.zones[2].state)", path)
		}
		steps = append(steps, pathStep{name: name, index: -1})
		if rest == "" && !strings.Contains(part, "[") {
			continue
		}
		rest = "[" + rest
		for rest != "" {
			if rest[0] != '[' {
				return nil, fmt.Errorf("%q: %q after an index (write e.g. zones[2].state)", path, rest)
			}
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("%q: '[' without ']'", path)
			}
			n, err := strconv.Atoi(rest[1:end])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%q: index %q is not a number 0 or above", path, rest[1:end])
			}
			steps = append(steps, pathStep{index: n})
			rest = rest[end+1:]
		}
	}
	return steps, nil
}

// ValidPath reports why a JSON path cannot be read, or nil.
func ValidPath(path string) error {
	_, err := parsePath(path)
	return err
}

// Lookup finds the value at path in a document decoded by encoding/json (maps, slices,
// strings, bools, numbers). ok is false when a member or index is absent.
func Lookup(doc any, path string) (v any, ok bool) {
	steps, err := parsePath(path)
	if err != nil {
		return nil, false
	}
	v = doc
	for _, s := range steps {
		if s.index < 0 {
			m, isMap := v.(map[string]any)
			if !isMap {
				return nil, false
			}
			if v, ok = m[s.name]; !ok {
				return nil, false
			}
			continue
		}
		a, isArray := v.([]any)
		if !isArray || s.index >= len(a) {
			return nil, false
		}
		v = a[s.index]
	}
	return v, true
}

// SetPath puts val at path in doc, creating the objects and arrays on the way (arrays grow
// with nulls). It is how simulators build the payloads a profile describes.
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
		if s.index < 0 {
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
