package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOPCUADeviceValidate(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "opcua"), 0o755)
	os.WriteFile(filepath.Join(dir, "opcua", "chiller.yaml"), []byte(`name: chiller
namespace: urn:plant
points:
  - {name: supply_temp, node: /Objects/Plant/Chiller1/SupplyTemp, type: float64}
`), 0o644)
	base := "site: estate\nprofiles: {dir: " + dir + "}\ndevices:\n"
	for _, tc := range []struct{ name, device, want string }{
		{"good", "  - {id: CH-1, profile: chiller, opcua: {endpoint: 'opc.tcp://10.0.0.5:4840', security_policy: Basic256Sha256}}\n", ""},
		{"no such profile", "  - {id: CH-1, profile: pump, opcua: {endpoint: 'opc.tcp://10.0.0.5:4840'}}\n", "profiles.dir/opcua/pump.yaml"},
		{"no profile", "  - {id: CH-1, opcua: {endpoint: 'opc.tcp://10.0.0.5:4840'}}\n", "profile: missing"},
		{"two transports", "  - {id: CH-1, profile: chiller, modbus: {address: '10.0.0.5:502', unit: 1}, opcua: {endpoint: 'opc.tcp://10.0.0.5:4840'}}\n", "one transport"},
		{"opcua and bacnet", "  - {id: CH-1, profile: chiller, bacnet: {device_instance: 7, address: '10.0.0.5:47808'}, opcua: {endpoint: 'opc.tcp://10.0.0.5:4840'}}\n", "one transport"},
		{"bad policy", "  - {id: CH-1, profile: chiller, opcua: {endpoint: 'opc.tcp://10.0.0.5:4840', security_policy: Basic128Rsa15}}\n", "devices[0] (CH-1).opcua: security_policy"},
		{"bad mode", "  - {id: CH-1, profile: chiller, opcua: {endpoint: 'opc.tcp://10.0.0.5:4840', mode: push}}\n", "opcua.mode"},
		{"unknown key", "  - {id: CH-1, profile: chiller, opcua: {endpoint: 'opc.tcp://10.0.0.5:4840', policy: None}}\n", "policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("test.yaml", []byte(base+tc.device))
			if err == nil {
				err = cfg.Validate()
			}
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				devs, err := cfg.BuildDevices()
				if err != nil {
					t.Fatal(err)
				}
				ua, err := cfg.OPCUADevices(devs)
				if err != nil || len(ua) != 1 || ua[0].Dev != devs[0] || ua[0].Conn.Policy != "Basic256Sha256" {
					t.Fatalf("OPC UA devices %+v, %v", ua, err)
				}
				if tr := devs[0].OPCUA; tr == nil || tr.Endpoint != "opc.tcp://10.0.0.5:4840" || tr.Security != "Basic256Sha256/SignAndEncrypt" || tr.Auth != "anonymous" {
					t.Errorf("the device's transport for the API is %+v, want its endpoint, the default mode SignAndEncrypt, anonymous", tr)
				}
				if _, _, ok := devs[0].Profile.Point("supply_temp"); !ok {
					t.Error("the device's profile does not find its point by name (writes and history look it up)")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// TestOPCUABuiltinProfile: the demo's chiller plant profile is there without profiles.dir, and a
// profile of its name in profiles.dir/opcua replaces it.
func TestOPCUABuiltinProfile(t *testing.T) {
	got, err := LoadOPCUAProfiles("")
	if err != nil || got["chiller_plant"] == nil || len(got["chiller_plant"].Points) != 4 {
		t.Fatalf("built-in OPC UA profiles %v, %v: want chiller_plant with 4 points", got, err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "opcua"), 0o755)
	os.WriteFile(filepath.Join(dir, "opcua", "mine.yaml"), []byte(`name: chiller_plant
namespace: urn:plant
points:
  - {name: supply_temp, node: /Objects/Plant/Chiller1/SupplyTemp, type: float64}
`), 0o644)
	got, err = LoadOPCUAProfiles(dir)
	if err != nil || got["chiller_plant"] == nil || len(got["chiller_plant"].Points) != 1 {
		t.Fatalf("with profiles.dir: %v, %v: want the site's chiller_plant of 1 point", got, err)
	}
}
