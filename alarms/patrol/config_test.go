package patrol

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParseClock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr bool
	}{
		{"midnight", "00:00", 0, false},
		{"evening", "18:30", 18*60 + 30, false},
		{"last minute", "23:59", 24*60 - 1, false},
		{"one-digit hour", "8:05", 8*60 + 5, false},
		{"hour 24", "24:00", 0, true},
		{"minute 60", "12:60", 0, true},
		{"one-digit minute", "12:5", 0, true},
		{"no colon", "1800", 0, true},
		{"empty", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClock(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseClock(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// A configuration the patrol cannot run with is refused by New, naming the YAML key to fix;
// a good one passes untouched.
func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // "" means valid
	}{
		{"the test site", func(*Config) {}, ""},
		{"no rules means the defaults", func(c *Config) { c.Rules = nil }, ""},
		{"shift start not a clock", func(c *Config) { c.Shifts[0].Start = "6pm" },
			`patrol.shifts[0] (night).start: "6pm" is not a time of day HH:MM`},
		{"shift of no length", func(c *Config) { c.Shifts[1].End = "08:00" },
			"patrol.shifts[1] (day): start and end are both 08:00; a shift needs a length"},
		{"shift named twice", func(c *Config) { c.Shifts[1].Name = "night" }, `patrol.shifts[1] (night).name: "night" is used twice`},
		{"unknown supervisor", func(c *Config) { c.Shifts[0].Supervisor = "nobody" },
			`patrol.shifts[0] (night).supervisor: unknown guard "nobody" (not in patrol.guards)`},
		{"guard listed twice", func(c *Config) { c.Guards[1].ID = "g1" }, `patrol.guards[1].id: "g1" is listed twice`},
		{"group of an unknown shift", func(c *Config) { c.Groups[0].Shift = "late" }, `patrol.groups[0] (north-night).shift: unknown shift "late"`},
		{"group with an unknown guard", func(c *Config) { c.Groups[2].Guards = []string{"g9"} },
			`patrol.groups[2] (day).guards[0]: unknown guard "g9"`},
		{"rule on an unknown channel", func(c *Config) { c.Rules = []Rule{{Notify: []string{"group"}, Channels: []string{"pager"}}} },
			`patrol.rules[0].channels: "pager" is not one of mqtt, webhook, console`},
		{"rule with no channel", func(c *Config) { c.Rules = []Rule{{Notify: []string{"group"}}} }, "patrol.rules[0].channels: none"},
		{"rule notifying nobody known", func(c *Config) { c.Rules = []Rule{{Notify: []string{"janitor"}, Channels: []string{"mqtt"}}} },
			`patrol.rules[0].notify: "janitor" is not one of group, supervisor, engineering`},
		{"ladder out of order", func(c *Config) {
			c.Escalation.High.Ladder = []LadderStep{{After: 5 * time.Minute, Notify: []string{"supervisor"}, Channels: []string{"sms"}},
				{After: time.Minute, Notify: []string{"g1"}, Channels: []string{"sms"}}}
		}, "patrol.escalation.high.ladder[1].after: 1m0s must be positive and not before the rung above it (5m0s)"},
		{"ladder to a stranger", func(c *Config) {
			c.Escalation.Critical.Ladder = []LadderStep{{After: time.Minute, Notify: []string{"g9"}, Channels: []string{"sms"}}}
		}, `patrol.escalation.critical.ladder[0].notify: "g9" is not supervisor, fallback, group or a guard`},
		{"lighting at and after dusk", func(c *Config) { c.Lighting.At = "19:00" }, "patrol.lighting: set at or after_dusk, not both"},
		{"lighting for an unknown shift", func(c *Config) { c.Lighting.Shift = "late" }, `patrol.lighting.shift: unknown shift "late"`},
		{"webhook without timeout", func(c *Config) { c.Webhook.URL, c.Webhook.Timeout = "https://hooks.example.com/p", 0 },
			"patrol.webhook: timeout and backoff_min must be positive"},
		{"two SMS paths", func(c *Config) {
			c.Phones.SMS.Modem.Port, c.Phones.SMS.Gateway.URL, c.Phones.SMS.Gateway.Body = "/dev/ttyUSB2", "https://sms.example.com", "{}"
		}, "patrol.phones.sms: set modem.port or gateway.url, not both"},
		{"a call without a modem", func(c *Config) { c.Phones.Call.Enabled = true }, "patrol.phones.call: a call goes through the modem"},
		{"robot over no rate", func(c *Config) { c.Phones.WeCom.URL, c.Phones.RatePerMinute = "https://qyapi.example.com/k", 0 },
			"patrol.phones: rate_per_minute must be at least 1"},
		{"self-test not a clock", func(c *Config) { c.Phones.SelfTest = "9am" }, `patrol.phones.self_test: "9am" is not a time of day`},
		{"self-test to a stranger", func(c *Config) { c.Phones.SelfTestTo = "g9" }, `patrol.phones.self_test_to: unknown guard "g9"`},
		{"link base not a URL", func(c *Config) { c.Phones.LinkBase = "gw.estate:8080" }, "patrol.phones.link_base: \"gw.estate:8080\" must start with http://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testConfig(t)
			tt.change(c)
			before := c.String()
			err := c.Validate()
			if c.String() != before {
				t.Errorf("Validate changed the configuration:\n%s\n%s", before, c.String())
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
			s, err := New(*c, Deps{Channels: []Channel{}})
			if (err != nil) != (tt.want != "") {
				t.Errorf("New: %v, want an error: %v", err, tt.want != "")
			}
			if s != nil {
				s.Close()
			}
		})
	}
}

// Printing or logging the configuration never shows a URL with a robot's key, a signing
// secret, the SIM's PIN or a gateway's credentials.
func TestConfigHidesSecrets(t *testing.T) {
	t.Parallel()
	c := testConfig(t)
	c.Webhook.URL, c.Webhook.Secret = "https://hooks.example.com/patrol?token=tok-webhook", "sec-webhook"
	c.Phones.WeCom.URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=key-wecom"
	c.Phones.DingTalk.URL, c.Phones.DingTalk.Secret = "https://oapi.dingtalk.com/robot/send?access_token=tok-ding", "SEC-ding"
	c.Phones.Feishu.URL, c.Phones.Feishu.Secret = "https://open.feishu.cn/open-apis/bot/v2/hook/hook-feishu", "sec-feishu"
	c.Phones.SMS.Modem.PIN = "pin-1234"
	c.Phones.SMS.Gateway.URL = "https://sms.example.com/send?apikey=key-gateway"
	c.Phones.SMS.Gateway.Headers = map[string]string{"Authorization": "Bearer bearer-gateway"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("patrol", "config", *c)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("patrol", "config", *c)
	for name, out := range map[string]string{"String": c.String(), "log": logged.String()} {
		for _, secret := range []string{"tok-webhook", "sec-webhook", "key-wecom", "tok-ding", "SEC-ding", "hook-feishu",
			"sec-feishu", "pin-1234", "key-gateway", "bearer-gateway"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows %q:\n%s", name, secret, out)
			}
		}
	}
	if !strings.Contains(logged.String(), "estate") || !strings.Contains(c.String(), "<hidden>") {
		t.Errorf("the printed configuration says nothing useful:\n%s\n%s", c.String(), logged.String())
	}
	if c.Phones.SMS.Gateway.Headers["Authorization"] != "Bearer bearer-gateway" {
		t.Errorf("hiding the secrets changed the configuration itself")
	}
}
