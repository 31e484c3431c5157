package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/workorders"
)

// TestDefectsAndSurveysCLI files a handover defect, logs a contact and lists it for the repair office with
// `facilityd wo defect`, then runs the year-end survey and reads the year's satisfaction with
// `facilityd wo survey`, against a running API on the demo's configuration.
func TestDefectsAndSurveysCLI(t *testing.T) {
	_, run := newWORig(t, workorders.Options{}, func(cfg *config.Config) {
		for i := 1; i <= 3; i++ {
			cfg.WorkOrders.Homes = append(cfg.WorkOrders.Homes, config.Home{Home: fmt.Sprintf("3-1-%d802", i), Zone: "north"})
		}
	})
	out, err := run("wo", "defect", "add", "--home", "3-1-1802", "--title", "bathroom tiles cracked", "--by", "cs-liu")
	if err != nil || !strings.HasPrefix(out, "DF-1\t3-1-1802\tcs-liu\topen") {
		t.Fatalf("defect add: %v %q", err, out)
	}
	if out, err = run("wo", "defect", "log", "DF-1", "--by", "cs-liu", "--note", "the repair office comes Friday", "--status", "repair_office"); err != nil || !strings.Contains(out, "repair_office") {
		t.Fatalf("defect log: %v %q", err, out)
	}
	if _, err = run("wo", "defect", "log", "DF-1", "--by", "north-butler", "--note", "called"); err == nil || !strings.Contains(err.Error(), "owned by cs-liu") {
		t.Fatalf("another person's entry: %v", err)
	}
	if out, err = run("wo", "defect", "meeting"); err != nil || !strings.Contains(out, "DF-1") || !strings.Contains(out, "the repair office comes Friday") {
		t.Fatalf("meeting list: %v\n%s", err, out)
	}
	if out, err = run("wo", "survey", "start", "--kind", "satisfaction", "--year", "2026", "--by", "cs-liu"); err != nil || !strings.HasPrefix(out, "2026-satisfaction\n") {
		t.Fatalf("survey start: %v %q", err, out)
	}
	for _, h := range []string{"3-1-1802", "3-1-2802", "3-1-3802"} {
		if _, err := run("wo", "survey", "answer", "2026-satisfaction", "--home", h, "--satisfied", "yes", "--by", "cs-liu"); err != nil {
			t.Fatalf("answer of %s: %v", h, err)
		}
	}
	if out, err = run("wo", "survey", "summary", "2026"); err != nil || !strings.Contains(out, "3/3 (100.0%); target 80%: qualifies") {
		t.Fatalf("survey summary: %v\n%s", err, out)
	}
}
