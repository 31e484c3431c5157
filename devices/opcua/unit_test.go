package opcua

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopcua/opcua/ua"

	"github.com/facilityd/facilityd/devices"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		path     []string
		err      string
	}{
		{name: "string id", in: "ns=2;s=Chiller1.SupplyTemp"},
		{name: "numeric id", in: "ns=2;i=1001"},
		{name: "namespace by uri", in: "nsu=urn:plant;i=1001"},
		{name: "browse path", in: "/Objects/Plant/Chiller1/SupplyTemp", path: []string{"Plant", "Chiller1", "SupplyTemp"}},
		{name: "empty", in: "", err: "missing"},
		{name: "path outside objects", in: "/Types/Plant", err: "starts at /Objects"},
		{name: "only objects", in: "/Objects", err: "names no node"},
		{name: "empty name", in: "/Objects//SupplyTemp", err: "empty name"},
		{name: "not a node id", in: "Chiller1.SupplyTemp", err: "ns=2;s=NAME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAddress(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseAddress(%q) = %v, want an error with %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(a.Path, "/") != strings.Join(tc.path, "/") || a.String() != tc.in {
				t.Errorf("ParseAddress(%q) = %+v", tc.in, a)
			}
		})
	}
}

func TestResolveNamespaceByURI(t *testing.T) {
	t.Parallel()
	a, _ := ParseAddress("nsu=urn:plant;i=1001")
	for _, order := range [][]string{
		{"http://opcfoundation.org/UA/", "urn:server", "urn:plant"},
		{"http://opcfoundation.org/UA/", "urn:server", "urn:other", "urn:plant"},
	} {
		n, err := resolveID(a, order)
		if err != nil || int(n.Namespace()) != len(order)-1 || n.IntID() != 1001 {
			t.Errorf("namespaces %q: %v, %v; want ns=%d;i=1001", order, n, err, len(order)-1)
		}
	}
	if _, err := resolveID(a, []string{"http://opcfoundation.org/UA/"}); err == nil || !strings.Contains(err.Error(), "urn:plant") {
		t.Errorf("a server without the namespace: %v, want it named", err)
	}
}

func TestProfileValidate(t *testing.T) {
	t.Parallel()
	good := `name: chiller
namespace: urn:plant
points:
  - {name: supply_temp, node: /Objects/Plant/Chiller1/SupplyTemp, type: float64, unit: °C, deadband: 0.1, sampling: 500ms}
  - {name: setpoint, node: ns=2;s=Setpoint, type: float64, writable: true, min: 4, max: 12}
`
	p, err := ParseProfile("good.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != devices.KindGeneric || p.Points[0].Scale != 1 {
		t.Errorf("defaults not applied: kind %q scale %v", p.Kind, p.Points[0].Scale)
	}
	dp := p.DeviceProfile()
	if len(dp.Points) != 2 || dp.Points[1].Name != "setpoint" || !dp.Points[1].Writable || dp.Points[0].Unit != "°C" {
		t.Errorf("device profile %+v", dp.Points)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key", "name: x\npoints: [{name: a, node: ns=2;i=1, type: float64, table: holding}]\n", "table"},
		{"path without namespace", "name: x\npoints: [{name: a, node: /Objects/A, type: float64}]\n", "namespace"},
		{"bad type", "name: x\npoints: [{name: a, node: ns=2;i=1, type: bit}]\n", "type"},
		{"deadband on bool", "name: x\npoints: [{name: a, node: ns=2;i=1, type: bool, deadband: 1}]\n", "deadband"},
		{"limits not writable", "name: x\npoints: [{name: a, node: ns=2;i=1, type: float64, max: 3}]\n", "min, max"},
		{"duplicate", "name: x\npoints: [{name: a, node: ns=2;i=1, type: float64}, {name: a, node: ns=2;i=2, type: float64}]\n", "used again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProfile("bad.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestSelectEndpoint(t *testing.T) {
	t.Parallel()
	anon := []*ua.UserTokenPolicy{{TokenType: ua.UserTokenTypeAnonymous}}
	both := []*ua.UserTokenPolicy{{TokenType: ua.UserTokenTypeAnonymous}, {TokenType: ua.UserTokenTypeUserName}}
	eps := []*ua.EndpointDescription{
		{SecurityPolicyURI: ua.SecurityPolicyURINone, SecurityMode: ua.MessageSecurityModeNone, UserIdentityTokens: anon},
		{SecurityPolicyURI: ua.SecurityPolicyURIBasic256Sha256, SecurityMode: ua.MessageSecurityModeSign, SecurityLevel: 2, UserIdentityTokens: both},
		{SecurityPolicyURI: ua.SecurityPolicyURIBasic256Sha256, SecurityMode: ua.MessageSecurityModeSignAndEncrypt, SecurityLevel: 3, UserIdentityTokens: both},
	}
	for _, tc := range []struct {
		name string
		c    Connection
		want *ua.EndpointDescription
		err  string
	}{
		{"none", Connection{Policy: "None", Mode: "None"}, eps[0], ""},
		{"sign", Connection{Policy: "Basic256Sha256", Mode: "Sign", Auth: AuthUsername}, eps[1], ""},
		{"encrypt", Connection{Policy: "Basic256Sha256", Mode: "SignAndEncrypt"}, eps[2], ""},
		{"not offered", Connection{Policy: "Aes256_Sha256_RsaPss", Mode: "SignAndEncrypt"}, nil, "offers None/None, Basic256Sha256/Sign, Basic256Sha256/SignAndEncrypt"},
		{"identity refused", Connection{Policy: "None", Mode: "None", Auth: AuthUsername}, nil, "does not accept auth username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c.withDefaults()
			got, err := selectEndpoint(eps, c)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("%v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v", got, err)
			}
		})
	}
}

func TestConnectionValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		c    Connection
		want string
	}{
		{"not opc.tcp", Connection{Endpoint: "http://x"}, "endpoint"},
		{"policy", Connection{Endpoint: "opc.tcp://x:4840", Policy: "Basic128Rsa15"}, "security_policy"},
		{"none with sign", Connection{Endpoint: "opc.tcp://x:4840", Policy: "None", Mode: "Sign"}, "does not go with"},
		{"username without name", Connection{Endpoint: "opc.tcp://x:4840", Auth: AuthUsername}, "username"},
		{"cert without key", Connection{Endpoint: "opc.tcp://x:4840", Auth: AuthCertificate, CertFile: "a.der"}, "key_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want an error naming %q", err, tc.want)
			}
		})
	}
	if err := (Connection{Endpoint: "opc.tcp://x:4840", Policy: "Aes128_Sha256_RsaOaep"}).Validate(); err != nil {
		t.Errorf("a secure policy alone (mode SignAndEncrypt by default): %v", err)
	}
	if s := (Connection{Endpoint: "opc.tcp://x", Auth: AuthUsername, Username: "u", Password: "hunter2"}).LogValue().String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "opc.tcp://x") {
		t.Errorf("logged connection shows the password: %s", s)
	}
}

func TestQualityFromStatus(t *testing.T) {
	t.Parallel()
	pt := &Point{Name: "t", Type: devices.TypeFloat64, Scale: 2, Offset: 1}
	for _, tc := range []struct {
		status ua.StatusCode
		want   devices.Quality
	}{
		{ua.StatusOK, devices.QualityGood},
		{ua.StatusUncertain, devices.QualityUncertain},
		{ua.StatusUncertainSensorNotAccurate, devices.QualityUncertain},
		{ua.StatusBadNodeIDUnknown, devices.QualityBad},
	} {
		v, _ := decode(pt, &ua.DataValue{Status: tc.status, Value: ua.MustVariant(3.0)})
		if v.Quality != tc.want {
			t.Errorf("status %s: quality %v, want %v", tc.status, v.Quality, tc.want)
		}
		if tc.want != devices.QualityBad && v.Number != 7 {
			t.Errorf("status %s: 3 scaled by 2 offset 1 = %v, want 7", tc.status, v.Number)
		}
	}
	if v, err := decode(pt, &ua.DataValue{Value: ua.MustVariant("text")}); err == nil || v.Quality != devices.QualityBad {
		t.Errorf("a string for a float point: %+v %v, want bad", v, err)
	}
}

func TestEncodeKeepsNodeType(t *testing.T) {
	t.Parallel()
	pt := &Point{Name: "sp", Type: devices.TypeFloat64, Scale: 0.1, Offset: 0}
	v, err := encode(pt, devices.Value{Number: 7.5}, ua.MustVariant(int16(0)))
	if err != nil || v.Value() != int16(75) {
		t.Errorf("7.5 at scale 0.1 to an Int16 node: %v (%T), %v; want int16 75", v.Value(), v.Value(), err)
	}
	if _, err := encode(pt, devices.Value{Number: 5000}, ua.MustVariant(int16(0))); err == nil {
		t.Error("50000 written to an Int16 node")
	}
	v, _ = encode(pt, devices.Value{Number: 7.5}, ua.MustVariant(float32(0)))
	if _, ok := v.Value().(float32); !ok {
		t.Errorf("to a Float node: %T, want float32", v.Value())
	}
}

func TestLinkSteps(t *testing.T) {
	t.Parallel()
	// offline_after 3: two failures retry, the third is offline (announced once), a session
	// after that is announced back; a session after a short blip is not.
	type want struct {
		comm     devices.Comm
		announce string
	}
	for _, tc := range []struct {
		name   string
		events []linkEvent
		want   []want
	}{
		{"blip", []linkEvent{linkFailed, linkOpened}, []want{{devices.CommRetrying, ""}, {devices.CommOnline, ""}}},
		{"outage", []linkEvent{linkFailed, linkFailed, linkFailed, linkFailed, linkOpened, linkFailed},
			[]want{{devices.CommRetrying, ""}, {devices.CommRetrying, ""}, {devices.CommOffline, announceOffline},
				{devices.CommOffline, ""}, {devices.CommOnline, announceBack}, {devices.CommRetrying, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l link
			for i, ev := range tc.events {
				var comm devices.Comm
				var announce string
				l, comm, announce = step(l, ev, 3)
				if comm != tc.want[i].comm || announce != tc.want[i].announce {
					t.Errorf("event %d: %v %q, want %v %q", i, comm, announce, tc.want[i].comm, tc.want[i].announce)
				}
			}
		})
	}
}

func TestPKIFirstStartAndTrust(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := OpenPKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(p.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.URIs) != 1 || cert.URIs[0].String() != p.AppURI || p.Key.N.BitLen() != 2048 {
		t.Errorf("certificate URIs %v, key %d bits: want the application URI and RSA 2048", cert.URIs, p.Key.N.BitLen())
	}
	fi, err := os.Stat(filepath.Join(dir, "opcua", "own", "key.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	again, err := OpenPKI(dir)
	if err != nil || string(again.Cert) != string(p.Cert) {
		t.Fatalf("second start made another certificate (%v): servers would have to trust it again", err)
	}
	server := []byte("a server certificate")
	ok, first, err := p.Trusted(server)
	if ok || !first || err != nil {
		t.Fatalf("unknown certificate: trusted %v first %v err %v", ok, first, err)
	}
	if _, first, _ := p.Trusted(server); first {
		t.Error("the same refusal reported as first twice")
	}
	if _, err := p.Trust("not hex"); err == nil {
		t.Error("a malformed thumbprint was accepted")
	}
	if _, err := p.Trust(strings.Repeat("0", 40)); err == nil || !strings.Contains(err.Error(), "connect first") {
		t.Errorf("trusting an unknown thumbprint: %v", err)
	}
	tp := Thumbprint(server)
	if _, err := again.Trust(strings.ToLower(tp)); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := p.Trusted(server); !ok {
		t.Error("trusted certificate still refused")
	}
}
