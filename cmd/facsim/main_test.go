package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goburrow/modbus"
	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/simulators"
)

func TestFleetDevices(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fleet   fleet
		want    []simulators.DeviceSpec // ID, Kind, Role, Address, Unit compared
		wantErr string
	}{
		{
			name:  "a port each, counting up",
			fleet: fleet{Listen: "127.0.0.1:1502", Pumps: 2, Elevators: 1, FirePanels: 1, Lighting: 1},
			want: []simulators.DeviceSpec{
				{ID: "pump-01", Kind: "pump", Role: "supply", Address: "127.0.0.1:1502", Unit: 1},
				{ID: "pump-02", Kind: "pump", Role: "drainage", Address: "127.0.0.1:1503", Unit: 1},
				{ID: "elevator-01", Kind: "elevator", Address: "127.0.0.1:1504", Unit: 1},
				{ID: "fire-panel-01", Kind: "fire_panel", Address: "127.0.0.1:1505", Unit: 1},
				{ID: "lighting-01", Kind: "lighting", Address: "127.0.0.1:1506", Unit: 1},
			},
		},
		{
			name:  "shared: one port, units 1..N",
			fleet: fleet{Listen: "0.0.0.0:5020", Shared: true, Pumps: 3, Lighting: 1},
			want: []simulators.DeviceSpec{
				{ID: "pump-01", Kind: "pump", Role: "supply", Address: "0.0.0.0:5020", Unit: 1},
				{ID: "pump-02", Kind: "pump", Role: "drainage", Address: "0.0.0.0:5020", Unit: 2},
				{ID: "pump-03", Kind: "pump", Role: "supply", Address: "0.0.0.0:5020", Unit: 3},
				{ID: "lighting-01", Kind: "lighting", Address: "0.0.0.0:5020", Unit: 4},
			},
		},
		{
			name:  "port 0 on loopback: a free port each",
			fleet: fleet{Listen: "127.0.0.1:0", Elevators: 2},
			want: []simulators.DeviceSpec{
				{ID: "elevator-01", Kind: "elevator", Unit: 1},
				{ID: "elevator-02", Kind: "elevator", Unit: 1},
			},
		},
		{name: "no devices", fleet: fleet{Listen: "127.0.0.1:1502"}, wantErr: "no devices"},
		{name: "negative count", fleet: fleet{Listen: "127.0.0.1:1502", Pumps: -1}, wantErr: "--pumps -1"},
		{name: "not host:port", fleet: fleet{Listen: "1502", Pumps: 1}, wantErr: `--listen "1502"`},
		{name: "ports run out", fleet: fleet{Listen: "127.0.0.1:65535", Pumps: 2}, wantErr: "past 65535"},
		{name: "too many for one gateway", fleet: fleet{Listen: "127.0.0.1:1502", Shared: true, Pumps: 248}, wantErr: "units 1-247"},
		{name: "port 0 off loopback without shared", fleet: fleet{Listen: "0.0.0.0:0", Pumps: 2}, wantErr: "--shared"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := fleetDevices(tt.fleet)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d devices, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i].Spec
				if g.ID != w.ID || g.Kind != w.Kind || g.Role != w.Role || g.Address != w.Address || g.Unit != w.Unit {
					t.Errorf("device %d = %+v, want %+v", i, g, w)
				}
			}
			// What fleetDevices lays out, simulators.New accepts.
			specs := make([]simulators.DeviceSpec, len(got))
			for i := range got {
				specs[i] = got[i].Spec
			}
			if _, err := simulators.New(specs, simulators.Options{}); err != nil {
				t.Fatalf("simulators.New rejects the fleet: %v", err)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer run writes to while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunPrintsDevicesAndServesThem runs facsim as a user would, takes the printed devices
// list as facilityd's config would, polls every device at the address printed, and stops it
// as Ctrl-C does.
func TestRunPrintsDevicesAndServesThem(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--shared", "--control", "127.0.0.1:0", "--print-devices",
			"--pumps", "2", "--elevators", "1", "--fire-panels", "1", "--lighting", "1", "--building", "B2", "--zone", "north"}, &stdout, &stderr)
	}()

	var printed struct {
		Devices []configDevice `yaml:"devices"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if out := stdout.String(); strings.Contains(out, "lighting-01") {
			if err := yaml.Unmarshal([]byte(out), &printed); err != nil {
				t.Fatalf("--print-devices output is not YAML: %v\n%s", err, out)
			}
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run ended early: %v\nstderr:\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing printed in 10s; stderr:\n%s", stderr.String())
		}
	}

	if len(printed.Devices) != 5 {
		t.Fatalf("printed %d devices, want 5:\n%s", len(printed.Devices), stdout.String())
	}
	if r := printed.Devices[1].Tags["role"]; printed.Devices[1].ID != "pump-02" || r != "drainage" {
		t.Errorf("second device %s has role tag %q, want pump-02 tagged drainage", printed.Devices[1].ID, r)
	}
	for i, d := range printed.Devices {
		if d.Building != "B2" || d.Zone != "north" || d.Profile != d.Kind || d.Modbus.Unit != uint8(i+1) {
			t.Errorf("device %+v: want building B2, zone north, the built-in profile of its kind, unit %d", d, i+1)
		}
		if strings.HasSuffix(d.Modbus.Address, ":0") {
			t.Fatalf("device %s printed with port 0, want the port bound", d.ID)
		}
		h := modbus.NewTCPClientHandler(d.Modbus.Address)
		h.SlaveId, h.Timeout = d.Modbus.Unit, 2*time.Second
		if _, err := modbus.NewClient(h).ReadDiscreteInputs(0, 1); err != nil {
			t.Errorf("poll %s at %s unit %d: %v", d.ID, d.Modbus.Address, d.Modbus.Unit, err)
		}
		h.Close()
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop within 10s of cancel")
	}
	if !strings.Contains(stderr.String(), "simulators stopped") {
		t.Errorf("no clean stop logged:\n%s", stderr.String())
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--boilers", "2"}, "boilers"},
		{"stray argument", []string{"extra"}, `unexpected argument "extra"`},
		{"no devices", []string{"--pumps", "0", "--elevators", "0", "--fire-panels", "0", "--lighting", "0"}, "no devices"},
		{"bad time scale", []string{"--listen", "127.0.0.1:0", "--time-scale", "-2"}, "time scale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut syncBuffer
			err := run(context.Background(), tt.args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error()+errOut.String(), tt.want) {
				t.Fatalf("run(%v) = %v (stderr %q), want an error mentioning %q", tt.args, err, errOut.String(), tt.want)
			}
		})
	}
}

// TestConfigMQTTDevices: facsim --config simulates a config's MQTT devices too, publishing to
// the broker facilityd will use (its embedded one when mqtt.url is empty).
func TestConfigMQTTDevices(t *testing.T) {
	t.Parallel()
	sims, broker, err := configDevices("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if broker != "tcp://127.0.0.1:1883" {
		t.Errorf("broker %q, want the embedded broker's tcp://127.0.0.1:1883", broker)
	}
	var mqtt []string
	for _, s := range sims {
		if s.Spec.MQTT != nil {
			mqtt = append(mqtt, s.Spec.ID+" "+s.Spec.MQTT.Topic+" "+s.Spec.MQTT.StatusTopic)
			if s.Spec.Address != "" {
				t.Errorf("%s publishes over MQTT but also serves Modbus at %s", s.Spec.ID, s.Spec.Address)
			}
		}
	}
	want := []string{
		"LC-1 demo-estate/lighting/LC-1/state demo-estate/lighting/LC-1/status",
		"LC-2 demo-estate/lighting/LC-2/state demo-estate/lighting/LC-2/status",
	}
	if strings.Join(mqtt, "\n") != strings.Join(want, "\n") {
		t.Errorf("MQTT devices:\n%s\nwant:\n%s", strings.Join(mqtt, "\n"), strings.Join(want, "\n"))
	}
}
