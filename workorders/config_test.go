package workorders

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestConfigDefaults: a site that configures nothing gets the estate's table, plans and
// levels; an empty plan list stays empty (plans: [] turns them off).
func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if len(c.Limits) != len(DefaultTimeLimits()) || len(c.Mappings) != len(DefaultMappings()) || len(c.Plans) != len(DefaultPlans()) ||
		len(c.FollowUp.Sampling) != 3 || c.FollowUp.Target != 0.8 || c.Retention != DefaultRetention || len(c.Calendar.Days) != 5 ||
		len(c.OOSExemptKinds) != 1 || c.OOSExemptKinds[0] != "fire_panel" {
		t.Fatalf("defaults %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	if c := (Config{Plans: []Plan{}}).withDefaults(); len(c.Plans) != 0 {
		t.Fatalf("plans: [] took the defaults: %v", c.Plans)
	}
	own := Config{CheckInterval: time.Minute, Limits: []TimeLimit{{Category: "general", Accept: time.Hour, Complete: 2 * time.Hour}}}.withDefaults()
	if own.CheckInterval != time.Minute || len(own.Limits) != 1 {
		t.Fatalf("withDefaults replaced what was set: %+v", own)
	}
}

// TestConfigValidate: each problem names the key an operator fixes, and Validate changes
// nothing.
func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"limit without times", func(c *Config) { c.Limits = []TimeLimit{{Category: "x"}} }, "workorders.limits[0] (x): accept and complete must be positive"},
		{"unknown priority", func(c *Config) { c.Mappings = []Mapping{{Category: "pump_trip", Priority: "urgent"}} }, `workorders.mappings[0].priority: "urgent"`},
		{"bad timezone", func(c *Config) { c.Calendar.Timezone = "Mars/Olympus" }, "workorders.calendar.timezone"},
		{"first level sampled", func(c *Config) { c.FollowUp.Sampling = []SamplingLevel{{Level: "team", Share: 0.5}} }, "the first level calls every resident back"},
		{"plan period", func(c *Config) { c.Plans = []Plan{{ID: "p", Kind: "pump", Every: "fortnightly"}} }, `workorders.plans[0] (p).every: "fortnightly"`},
		{"notice too late", func(c *Config) { c.NoticeLead = 96 * time.Hour }, "workorders.plans[2] (secondary-water-check).ahead: 72h0m0s is less than workorders.notice_lead"},
		{"negative retention", func(c *Config) { c.Retention = -time.Hour }, "workorders.retention: -1h0m0s must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mod(&c)
			before := c.String()
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if c.String() != before {
				t.Fatal("Validate changed the config")
			}
		})
	}
}

// TestConfigHidesDSN: the PostgreSQL password never reaches a log line or a printout.
func TestConfigHidesDSN(t *testing.T) {
	c := Default()
	c.Store = StoreConfig{Driver: "postgres", DSN: "postgres://wo:s3cret@db/wo"}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("work orders", "config", c)
	for _, s := range []string{b.String(), c.String()} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("DSN shown: %s", s)
		}
	}
	if c.Store.Source() != "postgres://wo:s3cret@db/wo" {
		t.Errorf("Source %q: the store must still open with the DSN", c.Store.Source())
	}
}
