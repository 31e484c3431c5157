package devices

import (
	"embed"
	"fmt"
	"path"
	"sort"
)

//go:embed profiles/*.yaml
var builtinFS embed.FS

// builtin holds the profiles shipped in the binary, which describe the simulators.
var builtin = func() map[string]*Profile {
	entries, err := builtinFS.ReadDir("profiles")
	if err != nil {
		panic(err)
	}
	out := make(map[string]*Profile, len(entries))
	for _, e := range entries {
		data, err := builtinFS.ReadFile(path.Join("profiles", e.Name()))
		if err != nil {
			panic(err)
		}
		p, err := ParseProfile("builtin/"+e.Name(), data)
		if err != nil {
			panic(fmt.Sprintf("built-in profile is invalid: %v", err))
		}
		out[p.Name] = p
	}
	return out
}()

// Builtin returns the built-in profile of that name: pump, elevator, fire_panel or lighting.
func Builtin(name string) (*Profile, bool) {
	p, ok := builtin[name]
	return p, ok
}

// BuiltinNames lists the built-in profiles, sorted.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtin))
	for n := range builtin {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
