package daemon_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/daemon"
	"github.com/facilityd/facilityd/locale"
)

const patrolYAML = `site: estate
locale: zh-CN
devices:
  - {id: P-1, profile: pump, zone: north, modbus: {address: "127.0.0.1:502", unit: 1}}
patrol:
  timezone: Asia/Shanghai
  latitude: 31.23
  longitude: 121.47
  store: /var/lib/facilityd/patrol.db
  retained: true
  shifts:
    - {name: night, start: "18:00", end: "08:00", supervisor: sup, fallback: chief}
    - {name: day, start: "08:00", end: "18:00", supervisor: sup}
  guards:
    - {id: g1, name: Wang, handset: H-01, mobile: "+8613800000001", dingtalk_user: manager4711}
    - {id: sup, handset: H-10, mobile: "+8613800000010"}
    - {id: chief, handset: H-99}
  groups:
    - {name: all, shift: night, zones: ["*"], guards: [g1]}
    - {name: all-day, shift: day, zones: [north], guards: [g1]}
  rules:
    - {priority: critical, class: life_safety, notify: [group, supervisor], channels: [mqtt, sms]}
  escalation:
    critical:
      ladder:
        - {after: 1m, notify: [supervisor], channels: [sms, call]}
  webhook:
    url: https://hooks.example.com/patrol?token=tok
    secret: s3cret
  phones:
    dingtalk: {url: "https://oapi.dingtalk.com/robot/send?access_token=t", secret: SECd, msgtype: markdown}
    sms:
      gateway:
        url: https://sms.example.com/send
        body: '{"to": {{json .To}}, "text": {{json .Text}}}'
        headers: {Authorization: Bearer k}
    self_test_to: sup
    link_base: https://gw.estate:8443
  lighting:
    at: "19:30"
    switch_on: true
`

// The YAML reaches the patrol whole: the roster with the guards' app ids, typed rules, the
// YAML's default timings beside a configured ladder, the secrets in the clear for the one
// place that sends them, and a configuration the patrol accepts.
func TestPatrolConfigFromYAML(t *testing.T) {
	cfg, err := config.Parse("patrol", []byte(patrolYAML))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := daemon.PatrolConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Validate(); err != nil {
		t.Errorf("a configuration config accepts is refused by the patrol: %v", err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"site, locale and time zone", pc.Site == "estate" && pc.Locale == locale.ZhCN && pc.Location.String() == "Asia/Shanghai"},
		{"place, store, retention", pc.Latitude == 31.23 && pc.Longitude == 121.47 && pc.Store == "/var/lib/facilityd/patrol.db" && pc.Retention == 365*24*time.Hour && pc.Retained},
		{"shifts", len(pc.Shifts) == 2 && pc.Shifts[0] == patrol.Shift{Name: "night", Start: "18:00", End: "08:00", Supervisor: "sup", Fallback: "chief"}},
		{"guards and their app ids", len(pc.Guards) == 3 && pc.Guards[0].Mobile == "+8613800000001" && pc.Guards[0].AppUser["dingtalk"] == "manager4711"},
		{"groups", len(pc.Groups) == 2 && slices.Equal(pc.Groups[1].Zones, []string{"north"})},
		{"rules", len(pc.Rules) == 1 && pc.Rules[0].Priority == alarms.PriorityCritical && pc.Rules[0].Class == alarms.ClassLifeSafety && slices.Equal(pc.Rules[0].Channels, []string{"mqtt", "sms"})},
		{"default timings", pc.Escalation.LifeSafety.Escalate == time.Minute && pc.Escalation.High.Resend == 2*time.Minute && pc.Escalation.Low.Escalate == 0 && pc.Escalation.Low.Ladder == nil},
		{"a configured ladder", len(pc.Escalation.Critical.Ladder) == 1 && pc.Escalation.Critical.Ladder[0].After == time.Minute && slices.Equal(pc.Escalation.Critical.Ladder[0].Channels, []string{"sms", "call"})},
		{"webhook", pc.Webhook.URL == "https://hooks.example.com/patrol?token=tok" && pc.Webhook.Secret == "s3cret" && pc.Webhook.Retries == 5 && pc.Webhook.Timeout == 5*time.Second},
		{"robot", pc.Phones.DingTalk.URL == "https://oapi.dingtalk.com/robot/send?access_token=t" && pc.Phones.DingTalk.Secret == "SECd" && pc.Phones.DingTalk.MsgType == "markdown" && pc.Phones.WeCom.URL == ""},
		// viper lower-cases map keys; http.Header.Set canonicalises them again.
		{"SMS gateway", pc.Phones.SMS.Gateway.URL == "https://sms.example.com/send" && pc.Phones.SMS.Gateway.Headers["authorization"] == "Bearer k" && pc.Phones.SMS.Gateway.Method == "POST"},
		{"phone limits", pc.Phones.RatePerMinute == 20 && pc.Phones.Burst == 5 && pc.Phones.Retries == 5 && pc.Phones.SelfTest == "09:00" && pc.Phones.SelfTestTo == "sup"},
		{"link base", pc.Phones.LinkBase == "https://gw.estate:8443"},
		{"lighting", pc.Lighting == patrol.Lighting{At: "19:30", Shift: "night", SwitchOn: true}},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s not mapped: %+v", c.name, pc)
		}
	}
	if s := pc.String(); strings.Contains(s, "s3cret") || strings.Contains(s, "SECd") || strings.Contains(s, "Bearer k") {
		t.Errorf("the mapped configuration prints its secrets: %s", s)
	}
}

// Every shipped example that config accepts maps onto a configuration the patrol accepts:
// the two validations agree on what can run.
func TestPatrolConfigExamples(t *testing.T) {
	t.Setenv(config.EnvName("patrol.webhook.secret"), "example-secret")
	for _, name := range []string{"site.yaml", "demo.yaml"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Load(filepath.Join("..", "..", "examples", name))
			if err != nil {
				t.Fatal(err)
			}
			if !cfg.Patrol.Enabled() {
				t.Skip("no patrol in this example")
			}
			pc, err := daemon.PatrolConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := pc.Validate(); err != nil {
				t.Errorf("the patrol refuses %s: %v", name, err)
			}
		})
	}
}

// A time zone the machine does not know is named by its key.
func TestPatrolConfigTimezone(t *testing.T) {
	cfg := config.Default()
	cfg.Patrol.Timezone = "Mars/Olympus_Mons"
	if _, err := daemon.PatrolConfig(&cfg); err == nil || !strings.HasPrefix(err.Error(), "patrol.timezone: ") {
		t.Errorf("PatrolConfig with an unknown zone: %v", err)
	}
	cfg.Patrol.Timezone = ""
	pc, err := daemon.PatrolConfig(&cfg)
	if err != nil || pc.Location != time.Local {
		t.Errorf("no time zone: %v, %v; want the machine's", pc.Location, err)
	}
}
