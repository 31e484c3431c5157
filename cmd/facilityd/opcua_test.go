package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/devices/opcua"
)

// TestOPCUATrustCommand: a server certificate the daemon refused is listed by `facilityd opcua
// trust` and trusted by `facilityd opcua trust THUMBPRINT`, in the state_dir of the config.
func TestOPCUATrustCommand(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	configPath := filepath.Join(dir, "facilityd.yaml")
	if err := os.WriteFile(configPath, []byte("site: estate\nstate_dir: "+state+"\ndevices:\n  - {id: P-1, profile: pump, zone: north, modbus: {address: '127.0.0.1:1502', unit: 1}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pki, err := opcua.OpenPKI(state)
	if err != nil {
		t.Fatal(err)
	}
	server := []byte("the server's DER certificate")
	if ok, _, err := pki.Trusted(server); ok || err != nil {
		t.Fatalf("unknown certificate trusted %v, %v", ok, err)
	}
	tp := opcua.Thumbprint(server)
	out, err := facilityd(t, "opcua", "trust", "--config", configPath)
	if err != nil || !strings.Contains(out, tp) {
		t.Fatalf("listing: %q, %v; want thumbprint %s", out, err, tp)
	}
	if out, err := facilityd(t, "opcua", "trust", "--config", configPath, "0000"); err == nil {
		t.Errorf("a malformed thumbprint was accepted: %q", out)
	}
	if out, err := facilityd(t, "opcua", "trust", "--config", configPath, tp); err != nil || !strings.Contains(out, "Trusted "+tp) {
		t.Fatalf("trust: %q, %v", out, err)
	}
	if ok, _, _ := pki.Trusted(server); !ok {
		t.Error("the certificate is still refused after facilityd opcua trust")
	}
}
