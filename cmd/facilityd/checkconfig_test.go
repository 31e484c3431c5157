package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	cases := []struct {
		name    string
		file    string
		wantErr string
		wantOut string
	}{
		{name: "demo is valid", file: "../../examples/demo.yaml", wantOut: "OK, site demo-estate, 15 devices (1 fire_panel, 2 generic, 4 elevator, 4 lighting, 4 pump)"},
		{name: "broken config lists every problem", file: "../../config/testdata/invalid.yaml", wantErr: "12 problems"},
		{name: "override of an unknown alarm rule", file: "testdata/bad-alarm-rule.yaml",
			wantErr: `testdata/bad-alarm-rule.yaml: device P-1: alarms: no rule "pit_hihi"; its rules are comm_loss, pump_trip, vfd_fault, pit_high_high, pit_level_high, supply_pressure_low`},
		{name: "missing file", file: "nope.yaml", wantErr: "read config: open nope.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := rootCommand()
			cmd.SetOut(&out)
			cmd.SetArgs([]string{"check-config", tc.file})
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("output %q, want %q", out.String(), tc.wantOut)
			}
		})
	}
}

// TestCheckConfigPrintHidesURLPassword: `check-config --print` never shows a password written
// into influx.url or mqtt.url.
func TestCheckConfigPrintHidesURLPassword(t *testing.T) {
	t.Setenv("FACILITYD_INFLUX_URL", "http://writer:pa55word@influx.example:8086")
	t.Setenv("FACILITYD_MQTT_URL", "tcp://bridge:mqtt-s3cret@broker.example:1883")
	var out bytes.Buffer
	cmd := rootCommand()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"check-config", "--print", "../../examples/demo.yaml"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"pa55word", "mqtt-s3cret"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("--print shows the password %q:\n%s", secret, out.String())
		}
	}
	if !strings.Contains(out.String(), "http://xxxxx@influx.example:8086") {
		t.Errorf("--print does not show the redacted influx.url:\n%s", out.String())
	}
}
