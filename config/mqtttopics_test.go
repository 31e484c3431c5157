package config

import (
	"errors"
	"strings"
	"testing"
)

// TestFiltersOverlap: two topic filters overlap when one topic name matches both (MQTT 3.1.1,
// 4.7.1.2 and 4.7.1.3); check-config refuses two devices whose filters do
// (testdata/mqtt-overlap.yaml).
func TestFiltersOverlap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{name: "same topic", a: "e/l/LC-1/state", b: "e/l/LC-1/state", want: true},
		{name: "different devices", a: "e/l/LC-1/state", b: "e/l/LC-2/state", want: false},
		{name: "plus matches one level", a: "e/+/LC-1/state", b: "e/l/LC-1/state", want: true},
		{name: "plus is not two levels", a: "e/+", b: "e/l/LC-1", want: false},
		{name: "hash below", a: "e/l/#", b: "e/l/LC-1/state/set", want: true},
		{name: "hash matches its parent", a: "e/l/#", b: "e/l", want: true},
		{name: "longer without hash", a: "e/l/LC-1", b: "e/l/LC-1/state", want: false},
		{name: "both wildcards", a: "+/l/x", b: "e/+/x", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := filtersOverlap(tc.a, tc.b); got != tc.want {
				t.Errorf("filtersOverlap(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := filtersOverlap(tc.b, tc.a); got != tc.want {
				t.Errorf("filtersOverlap(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
			}
		})
	}
}

// TestConfigReportsEveryTypeError: values of the wrong type, in the file
// (testdata/type-errors.yaml) or in the environment, are all reported in one run, one problem
// each, rather than the first only.
func TestConfigReportsEveryTypeError(t *testing.T) {
	t.Setenv("FACILITYD_POLLING_OFFLINE_AFTER", "many")
	t.Setenv("FACILITYD_INFLUX_BATCH_SIZE", "big")
	_, err := Load("../examples/demo.yaml")
	var p *Problems
	if !errors.As(err, &p) || len(p.Errs) != 2 {
		t.Fatalf("error %v, want two problems", err)
	}
	for _, key := range []string{"polling.offline_after", "influx.batch_size"} {
		if !strings.Contains(err.Error(), "  - "+key+": ") {
			t.Errorf("no problem of its own for %s:\n%v", key, err)
		}
	}
}
