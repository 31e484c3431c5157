package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// OPCUANodeModules is the node_modules folder holding node-opcua that make test installed (into
// a cache outside the checkout), for the foreign OPC UA server of devices/opcua/testdata.
func OPCUANodeModules(t testing.TB) string {
	t.Helper()
	dir := need(t, "FACILITYD_TEST_OPCUA_NODE_MODULES", "node-opcua")
	if _, err := os.Stat(filepath.Join(dir, "node-opcua")); err != nil {
		t.Fatalf("FACILITYD_TEST_OPCUA_NODE_MODULES=%s holds no node-opcua: %v", dir, err)
	}
	return dir
}
