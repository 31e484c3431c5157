package devices

import (
	"os"
	"path/filepath"
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
			if pt.IsJSON() {
				continue // a JSON path has no register span
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
