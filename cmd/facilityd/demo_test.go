package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/examples"
)

// TestDemoExitsWhenItsPortIsTaken: `facilityd demo` with its API port in use stops at once with
// an error naming the address, rather than serving half a demo until Ctrl-C.
func TestDemoExitsWhenItsPortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(facilitydBinary(t), "demo")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(),
		"FACILITYD_HTTP_ADDR="+ln.Addr().String(),
		"FACILITYD_DEMO_SIM_ADDR="+freeAddr(t),
		"FACILITYD_MQTT_EMBEDDED_ADDR="+freeAddr(t),
		"FACILITYD_INFLUX_URL=")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("facilityd demo still runs 20 s after failing to bind its API port:\n%s", out.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Errorf("exit %v, want a non-zero status", err)
	}
	if !strings.Contains(out.String(), "http.addr "+ln.Addr().String()) || !strings.Contains(out.String(), "address already in use") {
		t.Errorf("the error does not name the address in use:\n%s", out.String())
	}
}

// TestDemoBannerSaysWhetherTheAPIIsOpen: the demo's banner tells the truth about tokens (it said
// "OPEN" with tokens configured) and never shows a password from influx.url.
func TestDemoBannerSaysWhetherTheAPIIsOpen(t *testing.T) {
	tests := []struct {
		name     string
		tokens   []config.Token
		want     string
		wantNone string
	}{
		{name: "no tokens", want: "The API runs OPEN", wantNone: "role token ("},
		{name: "tokens", tokens: []config.Token{{Name: "chen", Role: "engineer", SHA256: strings.Repeat("a", 64)}},
			want: "The API needs a role token (1 in http.tokens", wantNone: "OPEN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("demo.yaml", examples.Demo)
			if err != nil {
				t.Fatal(err)
			}
			cfg.HTTP.Tokens = tc.tokens
			cfg.Influx.URL, cfg.Influx.Bucket = "http://writer:pa55word@127.0.0.1:8086", "facility"
			var out bytes.Buffer
			printBanner(&out, cfg)
			if !strings.Contains(out.String(), tc.want) || strings.Contains(out.String(), tc.wantNone) {
				t.Errorf("banner does not say %q (or says %q):\n%s", tc.want, tc.wantNone, out.String())
			}
			if strings.Contains(out.String(), "pa55word") {
				t.Errorf("banner shows the InfluxDB password:\n%s", out.String())
			}
		})
	}
}
