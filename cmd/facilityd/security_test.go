package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/api"
)

func TestHashToken(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "a token", in: "0123456789abcdef0123\n", want: api.HashToken("0123456789abcdef0123")},
		{name: "too short", in: "short\n", wantErr: "at least 16"},
		{name: "nothing", in: "", wantErr: "no token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := rootCommand()
			cmd.SetIn(strings.NewReader(tt.in))
			cmd.SetOut(&out)
			cmd.SetArgs([]string{"hash-token"})
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || strings.TrimSpace(out.String()) != tt.want {
				t.Fatalf("printed %q (%v), want %s", out.String(), err, tt.want)
			}
		})
	}
}

// TestRunRefusesAnOpenAPIBeyondLoopback: without tokens, a non-loopback http.addr is refused
// before anything starts; check-config warns about it and about the missing TLS.
func TestRunRefusesAnOpenAPIBeyondLoopback(t *testing.T) {
	demo, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "open.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(demo), "addr: 127.0.0.1:8080", "addr: 0.0.0.0:0", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := rootCommand()
	cmd.SetArgs([]string{"run", "--config", path})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "http.tokens is empty") {
		t.Fatalf("run: %v, want a refusal naming http.tokens", err)
	}
	var out bytes.Buffer
	cmd = rootCommand()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"check-config", path})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"http.tokens is empty", "http.tls_cert is not set"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check-config output %q does not warn %q", out.String(), want)
		}
	}
}
