package daemon_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/facilityd/facilityd"

// ownConfig lists the components that own their configuration: the YAML types of package
// config stay at the edge (this package maps them), so none of these may import config, not
// even through another package. Add a component here once it owns its Config.
var ownConfig = []string{
	module + "/alarms/patrol",
	module + "/workorders",
	module + "/api",
}

// TestComponentsDoNotImportConfig walks the non-test imports of every component in ownConfig
// through the module's own packages and fails on the first path that reaches config.
func TestComponentsDoNotImportConfig(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, pkg := range ownConfig {
		t.Run(strings.TrimPrefix(pkg, module+"/"), func(t *testing.T) {
			via := map[string]string{pkg: ""} // package → the package that imported it
			queue := []string{pkg}
			for len(queue) > 0 {
				p := queue[0]
				queue = queue[1:]
				for _, imp := range packageImports(t, root, p) {
					if _, seen := via[imp]; seen || !strings.HasPrefix(imp, module+"/") {
						continue
					}
					via[imp] = p
					if imp == module+"/config" {
						t.Fatalf("%s imports config: %s", pkg, importChain(via, imp))
					}
					queue = append(queue, imp)
				}
			}
		})
	}
}

// packageImports returns the imports of the non-test Go files of package path, whatever
// their build constraints.
func packageImports(t *testing.T, root, path string) []string {
	t.Helper()
	dir := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(path, module+"/")))
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("package %s: no Go files in %s (%v)", path, dir, err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("read the imports of %s: %v", f, err)
		}
		for _, is := range af.Imports {
			imp, _ := strconv.Unquote(is.Path.Value)
			out = append(out, imp)
		}
	}
	return out
}

func importChain(via map[string]string, p string) string {
	chain := []string{p}
	for via[p] != "" {
		p = via[p]
		chain = append([]string{p}, chain...)
	}
	return strings.Join(chain, " → ")
}
