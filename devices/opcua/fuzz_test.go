package opcua

import (
	"testing"
)

// FuzzParseProfile: any bytes give a profile or an error, never a panic; an accepted profile's
// every point has an address that parses again and a common profile of the same points.
func FuzzParseProfile(f *testing.F) {
	f.Add([]byte("name: chiller\nnamespace: urn:plant\npoints:\n  - {name: t, node: /Objects/Plant/T, type: float64, deadband: 0.1}\n"))
	f.Add([]byte("name: c\npoints: [{name: a, node: 'nsu=urn:x;i=1', type: enum, enum: {1: run}}]\n"))
	f.Add([]byte("name: c\npoints: [{name: a, node: 'ns=2;s=A.B', type: bool, writable: true}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile("fuzz", data)
		if err != nil {
			return
		}
		for _, pt := range p.Points {
			if _, err := ParseAddress(pt.Node); err != nil {
				t.Fatalf("accepted point %q has node %q that does not parse: %v", pt.Name, pt.Node, err)
			}
		}
		if dp := p.DeviceProfile(); len(dp.Points) != len(p.Points) {
			t.Fatalf("common profile has %d points, want %d", len(dp.Points), len(p.Points))
		}
	})
}

// FuzzParseAddress: any text is a node id, a browse path, or an error, never a panic.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"ns=2;s=Chiller1.SupplyTemp", "ns=2;i=1001", "nsu=urn:x;g=5dd4d6c0-7a5a-4d6c-a6b1-3b1b6e0a3c5f", "/Objects/Plant", "b=AAA="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		if _, err := ParseAddress(a.String()); err != nil {
			t.Fatalf("%q parsed, its String %q does not: %v", s, a.String(), err)
		}
	})
}
