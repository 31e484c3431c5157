package patrol

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/locale"
)

// Config is what the patrol runs on: the site, the roster, the routing and escalation, the
// lighting check and the channels. The daemon maps the YAML patrol section onto it
// (internal/daemon/patrol.go); the YAML defaults (timings, retention, the channels' limits) are
// set there, in config.Default, and what a zero field means here is said beside the field.
// Secrets are plain strings: LogValue and String hide them.
type Config struct {
	// Site names the estate in alerts, checklists and MQTT topics.
	Site string
	// Locale is the language of every message guards read; empty means English.
	Locale locale.Locale
	// Location is the site's time zone: shifts, the lighting check and the self-test are in
	// local time. Nil means the machine's local zone.
	Location *time.Location
	// Latitude and Longitude place the site, for the dusk of the lighting check.
	Latitude, Longitude float64
	// Store is the SQLite file alerts, claims and the outbox persist in.
	Store string
	// Retention is how long cleared alerts and past checklists are kept; zero keeps them.
	Retention time.Duration
	// Retained publishes alerts as retained MQTT messages.
	Retained bool

	Shifts []Shift
	Guards []Guard
	Groups []Group
	// Rules route alarms; the first that matches wins. Empty means DefaultRules.
	Rules      []Rule
	Escalation Escalation
	Lighting   Lighting
	Webhook    WebhookConfig
	Phones     Phones
}

// Shift is one shift of the day in local "HH:MM" (it may cross midnight), with the guard
// escalations go to and the one told when the supervisor too leaves an alert unclaimed.
type Shift struct {
	Name, Start, End     string
	Supervisor, Fallback string
}

// Group is the guards who patrol some zones ("*": every zone) during one shift, and the
// zones' security supervisor (片区安全主管), who takes part in the night inspection with them:
// the night lighting checklist reaches the supervisor too.
type Group struct {
	Name, Shift string
	Zones       []string
	Guards      []string
	Supervisor  string
}

// Rule routes the alarms it matches; an empty match field matches anything.
type Rule struct {
	Priority alarms.Priority
	Class    alarms.Class
	Zone     string
	// Shift matches the shift on duty when the alarm is raised.
	Shift string
	// Notify is who: "group", "supervisor", "engineering" (the console only).
	Notify []string
	// Channels is how: mqtt, webhook, console, wecom, dingtalk, feishu, sms, call.
	Channels []string
}

// Escalation holds the re-send and escalation times of unclaimed alerts by priority;
// life-safety alarms use LifeSafety whatever their priority.
type Escalation struct {
	LifeSafety, Critical, High, Medium, Low Timing
}

// Timing is when an unclaimed alert is sent again and when it goes to the supervisor, both
// counted from the first send; zero turns either off. An empty Ladder means the one built
// from Escalate (Roster.Route).
type Timing struct {
	Resend, Escalate time.Duration
	Ladder           []LadderStep
}

// LadderStep is one step of a configured escalation ladder: after After, Notify ("supervisor",
// "fallback", "group" or a guard id) is reached on Channels. Route resolves it into a Rung.
type LadderStep struct {
	After    time.Duration
	Notify   []string
	Channels []string
}

// Lighting is the night lighting check: at At (local "HH:MM") or AfterDusk past dusk; neither
// set means no check. Shift's groups get the checklist; SwitchOn switches dark scheduled
// circuits on first.
type Lighting struct {
	At        string
	AfterDusk time.Duration
	Shift     string
	SwitchOn  bool
}

// WebhookConfig posts every alert as signed JSON to URL; with no URL there is no webhook.
type WebhookConfig struct {
	// URL and Secret are secrets: a chat robot's URL carries its token.
	URL, Secret            string
	Timeout                time.Duration
	Retries                int
	BackoffMin, BackoffMax time.Duration
}

// Phones are the channels to the phones guards carry; each is off until configured.
type Phones struct {
	WeCom, DingTalk, Feishu Robot
	SMS                     SMS
	Call                    Call
	// RatePerMinute and Burst are each robot's limit: past it, or when Burst messages wait,
	// one summary goes instead.
	RatePerMinute, Burst int
	// Retries is how often a failed message is tried again before it is given up.
	Retries int
	// SelfTest is the local "HH:MM" of the daily self-test; empty turns it off. SelfTestTo is
	// the guard whose phone gets the self-test SMS; empty checks the modem without sending.
	SelfTest, SelfTestTo string
	// LinkBase is the console's address as phones reach it; every message carries a claim
	// link there. Empty: no link.
	LinkBase string
}

// Robot is one work-group robot; with no URL it is off. URL (it carries the robot's key) and
// Secret (the signing secret of DingTalk and Feishu) are secrets.
type Robot struct {
	URL, Secret string
	// MsgType is text (empty) or markdown.
	MsgType string
	Timeout time.Duration
}

// SMS goes through a modem on a serial line or an HTTP gateway, at most one of them.
type SMS struct {
	Modem   Modem
	Gateway SMSGateway
}

// Modem is a GSM/4G modem speaking AT commands (3GPP TS 27.005) on Port. PIN is a secret.
type Modem struct {
	Port          string
	Baud          int
	PIN           string
	StatusReports bool
}

// SMSGateway posts each SMS to URL, Body being a Go template with .To and .Text (and a json
// function). URL and the header values are secrets.
type SMSGateway struct {
	URL, Method, ContentType string
	Headers                  map[string]string
	Body                     string
	Timeout                  time.Duration
}

// Call rings through the SMS modem for Ring before hanging up; off unless Enabled.
type Call struct {
	Enabled bool
	Ring    time.Duration
}

// Enabled reports whether a roster is configured: with no shifts there are no patrol alerts.
func (c Config) Enabled() bool { return len(c.Shifts) > 0 }

// withDefaults returns c with what a zero field means made explicit.
func (c Config) withDefaults() Config {
	if c.Location == nil {
		c.Location = time.Local
	}
	if c.Locale == "" {
		c.Locale = locale.EN
	}
	if len(c.Rules) == 0 {
		c.Rules = DefaultRules()
	}
	return c
}

// ParseClock reads a local time of day "HH:MM" as minutes after midnight.
func ParseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return hh*60 + mm, nil
}

// String prints the configuration with its secrets hidden, so it can go into logs and errors.
func (c Config) String() string {
	type plain Config // no String method: no recursion
	return fmt.Sprintf("%+v", plain(c.redacted()))
}

// LogValue logs the configuration with its secrets hidden: what is on, not what it holds.
func (c Config) LogValue() slog.Value {
	r := c.redacted()
	loc := ""
	if r.Location != nil {
		loc = r.Location.String()
	}
	return slog.GroupValue(
		slog.String("site", r.Site), slog.String("locale", string(r.Locale)), slog.String("timezone", loc),
		slog.String("store", r.Store), slog.Duration("retention", r.Retention),
		slog.Int("shifts", len(r.Shifts)), slog.Int("guards", len(r.Guards)), slog.Int("groups", len(r.Groups)), slog.Int("rules", len(r.Rules)),
		slog.String("webhook", r.Webhook.URL),
		slog.Group("phones", "wecom", r.Phones.WeCom.URL, "dingtalk", r.Phones.DingTalk.URL, "feishu", r.Phones.Feishu.URL,
			"sms_modem", r.Phones.SMS.Modem.Port, "sms_gateway", r.Phones.SMS.Gateway.URL, "call", r.Phones.Call.Enabled,
			"self_test", r.Phones.SelfTest, "link_base", r.Phones.LinkBase),
	)
}

// redacted is c with every secret replaced by "<hidden>" (an unset one stays empty).
func (c Config) redacted() Config {
	p := &c.Phones
	for _, s := range []*string{&c.Webhook.URL, &c.Webhook.Secret, &p.WeCom.URL, &p.WeCom.Secret, &p.DingTalk.URL,
		&p.DingTalk.Secret, &p.Feishu.URL, &p.Feishu.Secret, &p.SMS.Modem.PIN, &p.SMS.Gateway.URL} {
		*s = hidden(*s)
	}
	if len(p.SMS.Gateway.Headers) > 0 {
		h := make(map[string]string, len(p.SMS.Gateway.Headers))
		for k, v := range p.SMS.Gateway.Headers {
			h[k] = hidden(v)
		}
		p.SMS.Gateway.Headers = h
	}
	return c
}

func hidden(secret string) string {
	if secret == "" {
		return ""
	}
	return "<hidden>"
}
