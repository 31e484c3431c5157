package opcua

import (
	"embed"
	"fmt"
	"path"
)

//go:embed profiles/*.yaml
var builtinFS embed.FS

// builtin holds the OPC UA profiles shipped in the binary, which describe the simulators'
// servers (the demo's chiller plant), as devices/profiles does the Modbus simulators'.
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
		p, err := ParseProfile("builtin/opcua/"+e.Name(), data)
		if err != nil {
			panic(fmt.Sprintf("built-in OPC UA profile is invalid: %v", err))
		}
		out[p.Name] = p
	}
	return out
}()

// Builtins returns a fresh map of the built-in OPC UA profiles by name: chiller_plant. A
// profile of the same name in profiles.dir/opcua replaces one.
func Builtins() map[string]*Profile {
	out := make(map[string]*Profile, len(builtin))
	for n, p := range builtin {
		out[n] = p
	}
	return out
}
