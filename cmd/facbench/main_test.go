package main

import (
	"strings"
	"testing"

	"github.com/facilityd/facilityd/config"
)

func TestParseMetricsAndSum(t *testing.T) {
	t.Parallel()
	text := `# HELP facilityd_modbus_polls_total Polls.
# TYPE facilityd_modbus_polls_total counter
facilityd_modbus_polls_total{device="a",result="ok"} 10
facilityd_modbus_polls_total{device="a",result="error"} 2
facilityd_modbus_polls_total{device="b",result="ok"} 5
facilityd_influx_points_written_total 7
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		selector string
		want     float64
	}{
		{`facilityd_modbus_polls_total{result="ok"}`, 15},
		{`facilityd_modbus_polls_total{result="error"}`, 2},
		{`facilityd_modbus_polls_total`, 17},
		{`facilityd_influx_points_written_total`, 7},
		{`facilityd_absent_total`, 0},
	}
	for _, tc := range cases {
		if got := m.sum(tc.selector); got != tc.want {
			t.Errorf("sum(%s) = %v, want %v", tc.selector, got, tc.want)
		}
	}
}

func TestBenchProfileIsValid(t *testing.T) {
	t.Parallel()
	for _, m := range []int{1, 50, 125} {
		if _, err := parseProfile(benchProfile(m)); err != nil {
			t.Errorf("%d registers: %v", m, err)
		}
	}
}

// TestBACnetDevicesConfigure: the BACnet units facbench serves are configured as facilityd
// takes them: the configuration it writes for them validates.
func TestBACnetDevicesConfigure(t *testing.T) {
	estate, err := startEstate(bacnetSpecs(2))
	if err != nil {
		t.Fatal(err)
	}
	defer estate.Close()
	var cfg strings.Builder
	cfg.WriteString("site: bench\nbacnet: {local: \"127.0.0.1:0\"}\ndevices:\n")
	writeBACnetDevices(&cfg, 2, estate)
	c, err := config.Parse("bench.yaml", []byte(cfg.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("%v\n%s", err, cfg.String())
	}
	if bacnetPoints() == 0 {
		t.Error("the built-in profile ahu_bacnet has no points")
	}
}
