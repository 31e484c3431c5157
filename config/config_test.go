package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones the tests name, on machines without a zone database

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestBadConfigs checks the exact message a user gets for each broken file in testdata.
func TestBadConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) == 0 {
		t.Fatal("no test configs in testdata")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			_, err := Load(f)
			if err == nil {
				t.Fatalf("%s loaded without error", f)
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if werr := os.WriteFile(golden, []byte(err.Error()+"\n"), 0o644); werr != nil {
					t.Fatal(werr)
				}
			}
			want, _ := os.ReadFile(golden)
			if got := err.Error() + "\n"; got != string(want) {
				t.Errorf("error for %s:\n%s\nwant (%s):\n%s", f, got, golden, want)
			}
		})
	}
}

func TestDemoConfig(t *testing.T) {
	cfg, err := Load("../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	devs, err := cfg.BuildDevices()
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, d := range devs {
		count[string(d.Kind)]++
		if d.Site != "demo-estate" || d.Interval != time.Second || d.Timeout != 400*time.Millisecond || d.OfflineAfter != 3 {
			t.Errorf("device %s did not inherit the defaults: site %q interval %v timeout %v offline_after %d",
				d.ID, d.Site, d.Interval, d.Timeout, d.OfflineAfter)
		}
	}
	want := map[string]int{"pump": 4, "elevator": 4, "fire_panel": 1, "lighting": 4}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("demo has %d %s devices, want %d", count[k], k, n)
		}
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	t.Setenv("FACILITYD_INFLUX_URL", "http://127.0.0.1:9999")
	t.Setenv("FACILITYD_INFLUX_TOKEN", "s3cret-token")
	t.Setenv("FACILITYD_HTTP_ADDR", "127.0.0.1:9090")
	t.Setenv("FACILITYD_POLLING_INTERVAL", "2s")
	cfg, err := Load("../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Influx.URL != "http://127.0.0.1:9999" || cfg.Influx.Token.Reveal() != "s3cret-token" ||
		cfg.HTTP.Addr != "127.0.0.1:9090" || cfg.Polling.Interval != 2*time.Second {
		t.Errorf("environment not applied: influx.url %q http.addr %q polling.interval %v",
			cfg.Influx.URL, cfg.HTTP.Addr, cfg.Polling.Interval)
	}
	if got := EnvName("influx.bucket"); got != "FACILITYD_INFLUX_BUCKET" {
		t.Errorf("EnvName(influx.bucket) = %s", got)
	}
}

func TestSecretsHidden(t *testing.T) {
	t.Parallel()
	cfg := Default()
	cfg.Influx.Token = "s3cret-token"
	// Chat-robot webhooks carry their token in the URL: the URL is a secret too.
	cfg.Patrol.Webhook.URL = "https://oapi.example.com/robot/send?access_token=s3cret-robot"
	cfg.WorkOrders.Webhook.URL = "https://cmms.example.com/hook?key=s3cret-key"
	ph := &cfg.Patrol.Phones
	ph.WeCom.URL = "https://qyapi.example/cgi-bin/webhook/send?key=s3cret-wecom"
	ph.DingTalk.URL, ph.DingTalk.Secret = "https://oapi.example/robot/send?access_token=s3cret-ding", "SECs3cret"
	ph.Feishu.URL, ph.Feishu.Secret = "https://open.example/open-apis/bot/v2/hook/s3cret-hook", "s3cret-feishu"
	ph.SMS.Modem.PIN = "s3cret-pin"
	ph.SMS.Gateway.URL = "https://sms.example/send?apikey=s3cret-sms"
	ph.SMS.Gateway.Headers = map[string]Secret{"Authorization": "Bearer s3cret-bearer"}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cret") {
		t.Errorf("printed config shows the token:\n%s", out)
	}
	if !strings.Contains(string(out), "token: <hidden>") {
		t.Errorf("printed config does not mark the token hidden:\n%s", out)
	}
}

func TestMQTTPasswordFromEnvironmentHidden(t *testing.T) {
	t.Setenv("FACILITYD_MQTT_URL", "ssl://broker.example:8883")
	t.Setenv("FACILITYD_MQTT_USERNAME", "gateway-1")
	t.Setenv("FACILITYD_MQTT_PASSWORD", "mqtt-s3cret")
	cfg, err := Load("../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MQTT.URL != "ssl://broker.example:8883" || cfg.MQTT.Username != "gateway-1" || cfg.MQTT.Password.Reveal() != "mqtt-s3cret" {
		t.Errorf("environment not applied: mqtt.url %q username %q", cfg.MQTT.URL, cfg.MQTT.Username)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "mqtt-s3cret") {
		t.Errorf("printed config shows the MQTT password:\n%s", out)
	}
	if cfg.MQTT.BrokerURL() != "ssl://broker.example:8883" {
		t.Errorf("BrokerURL = %s", cfg.MQTT.BrokerURL())
	}
}

// TestSiteExample: the deployed-site example is valid, its site profile is found beside it
// (profiles.dir is relative to the file, not to where facilityd starts), and secrets come from
// the environment.
func TestSiteExample(t *testing.T) {
	t.Setenv("FACILITYD_PATROL_WEBHOOK_SECRET", "webhook-secret")
	t.Setenv("FACILITYD_INFLUX_TOKEN", "influx-token")
	cfg, err := Load("../examples/site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	devs, err := cfg.BuildDevices()
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 9 {
		t.Errorf("%d devices, want 9", len(devs))
	}
	for _, d := range devs {
		if d.ID == "EM-1" && (d.Profile.Name != "energy_meter" || d.Modbus.Unit != 10) {
			t.Errorf("EM-1: profile %s unit %d", d.Profile.Name, d.Modbus.Unit)
		}
	}
	if cfg.Influx.Token.Reveal() != "influx-token" || cfg.HTTP.TLSCert == "" || len(cfg.HTTP.Tokens) != 4 {
		t.Errorf("influx token from the environment, TLS and tokens: %+v", cfg.HTTP)
	}
}

// TestMQTTDeviceTimes: offset-less device times are read in the site's zone (alarms.timezone),
// and mqtt.max_clock_skew defaults to 5 minutes and can be set from the environment.
func TestMQTTDeviceTimes(t *testing.T) {
	if got := Default().MQTT.MaxClockSkew; got != 5*time.Minute {
		t.Errorf("default mqtt.max_clock_skew %v, want 5m", got)
	}
	t.Setenv("FACILITYD_ALARMS_TIMEZONE", "Asia/Shanghai")
	t.Setenv("FACILITYD_MQTT_MAX_CLOCK_SKEW", "90s")
	cfg, err := Load("../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if loc := cfg.DeviceLocation(); loc.String() != "Asia/Shanghai" {
		t.Errorf("device location %v, want alarms.timezone Asia/Shanghai", loc)
	}
	if cfg.MQTT.MaxClockSkew != 90*time.Second {
		t.Errorf("mqtt.max_clock_skew %v, want 90s from the environment", cfg.MQTT.MaxClockSkew)
	}
}

func TestLocale(t *testing.T) {
	for _, tc := range []struct{ name, env, want, err string }{
		{"default english", "", "en", ""},
		{"chinese from the environment", "zh-CN", "zh-CN", ""},
		{"posix spelling", "zh_CN", "zh-CN", ""},
		{"unsupported", "fr", "", `locale: "fr" is not a supported locale: use en or zh-CN (set FACILITYD_LOCALE)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("FACILITYD_LOCALE", tc.env)
			}
			cfg, err := Load("../examples/demo.yaml")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Locale != tc.want || string(cfg.Lang()) != tc.want {
				t.Errorf("locale %q (Lang %q), want %q", cfg.Locale, cfg.Lang(), tc.want)
			}
		})
	}
}
