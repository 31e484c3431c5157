package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/internal/webhook"

	"github.com/facilityd/facilityd/alarms/patrol"
)

// Patrol is the night patrol's roster and how alerts reach it (docs/patrol.md).
// With no shifts configured, patrol alerts are off.
type Patrol struct {
	// Timezone is the site's IANA time zone; shifts and the lighting check are in local time.
	// Empty means the machine's local zone.
	Timezone string `mapstructure:"timezone" yaml:"timezone"`
	// Latitude and Longitude place the site, for the dusk of the night lighting check.
	Latitude  float64 `mapstructure:"latitude" yaml:"latitude"`
	Longitude float64 `mapstructure:"longitude" yaml:"longitude"`
	// Store is the SQLite file alerts and claims persist in, so a restart never re-sends one;
	// default state_dir/patrol.db.
	Store  string        `mapstructure:"store" yaml:"store"`
	Shifts []PatrolShift `mapstructure:"shifts" yaml:"shifts"`
	Guards []PatrolGuard `mapstructure:"guards" yaml:"guards"`
	Groups []PatrolGroup `mapstructure:"groups" yaml:"groups"`
	// Rules route alarms to people and channels; the first that matches wins. Empty means the
	// built-in defaults (docs/patrol.md, Routing).
	Rules      []PatrolRule     `mapstructure:"rules" yaml:"rules"`
	Escalation PatrolEscalation `mapstructure:"escalation" yaml:"escalation"`
	// Retained publishes alerts as retained MQTT messages. Off by default: a retained alert
	// would re-alarm every handset that reconnects, even after the all-clear.
	Retained bool `mapstructure:"retained" yaml:"retained"`
	// Retention is how long cleared alerts and past checklists are kept: a year by default,
	// as the duty and patrol records (值班、巡查记录) the estate keeps and reports monthly. The
	// list of alerts shows cleared ones of the last 30 days only.
	Retention time.Duration `mapstructure:"retention" yaml:"retention"`
	// QueueSize is kept so that older files still load; it bounds nothing any more: messages
	// wait in the patrol store's outbox, each channel drained by its own worker.
	QueueSize int           `mapstructure:"queue_size" yaml:"queue_size"`
	Webhook   PatrolWebhook `mapstructure:"webhook" yaml:"webhook"`
	// Phones are the channels that reach the phones people carry: work-group robots, SMS and
	// a voice call through a modem (docs/patrol.md, Phones).
	Phones   PatrolPhones `mapstructure:"phones" yaml:"phones"`
	Lighting PatrolLight  `mapstructure:"lighting" yaml:"lighting"`
}

// PatrolShift is one shift of the day, e.g. night 18:00–08:00 (it may cross midnight).
type PatrolShift struct {
	Name  string `mapstructure:"name" yaml:"name"`
	Start string `mapstructure:"start" yaml:"start"`
	End   string `mapstructure:"end" yaml:"end"`
	// Supervisor is the guard escalations go to; Fallback is told when the supervisor too
	// leaves an alert unclaimed.
	Supervisor string `mapstructure:"supervisor" yaml:"supervisor"`
	Fallback   string `mapstructure:"fallback" yaml:"fallback"`
}

// PatrolGuard is one guard and the handset alerts reach.
type PatrolGuard struct {
	ID      string `mapstructure:"id" yaml:"id"`
	Name    string `mapstructure:"name" yaml:"name"`
	Handset string `mapstructure:"handset" yaml:"handset"`
	// Mobile is the phone number SMS and calls reach, and that an SMS reply is matched by
	// (+86 13800000000, or a number as the modem dials it).
	Mobile string `mapstructure:"mobile" yaml:"mobile"`
	// WeComUser, DingTalkUser and FeishuUser are the guard's user ids in each app, for an
	// @-mention where the mobile number is not enough (DingTalk and WeCom take the mobile).
	WeComUser    string `mapstructure:"wecom_user" yaml:"wecom_user"`
	DingTalkUser string `mapstructure:"dingtalk_user" yaml:"dingtalk_user"`
	FeishuUser   string `mapstructure:"feishu_user" yaml:"feishu_user"`
}

// PatrolGroup is the guards who patrol some zones during one shift.
type PatrolGroup struct {
	Name   string   `mapstructure:"name" yaml:"name"`
	Shift  string   `mapstructure:"shift" yaml:"shift"`
	Zones  []string `mapstructure:"zones" yaml:"zones"`
	Guards []string `mapstructure:"guards" yaml:"guards"`
	// Supervisor is the zones' security supervisor (片区安全主管), a guard of patrol.guards,
	// who takes part in the night inspection: the night lighting checklist reaches them too.
	Supervisor string `mapstructure:"supervisor" yaml:"supervisor,omitempty"`
}

// PatrolRule routes matching alarms. Empty match fields match anything.
type PatrolRule struct {
	Priority string `mapstructure:"priority" yaml:"priority"`
	Class    string `mapstructure:"class" yaml:"class"`
	Zone     string `mapstructure:"zone" yaml:"zone"`
	// Shift matches the shift on duty when the alarm is raised ("night", "day").
	Shift string `mapstructure:"shift" yaml:"shift"`
	// Notify is who: "group" (the zone's patrol group), "supervisor", "engineering" (nobody's
	// handset: the console only).
	Notify []string `mapstructure:"notify" yaml:"notify"`
	// Channels is how: "mqtt", "webhook", "console".
	Channels []string `mapstructure:"channels" yaml:"channels"`
}

// PatrolEscalation holds the re-send and escalation times of unclaimed alerts. Life-safety
// alarms use LifeSafety whatever their priority.
type PatrolEscalation struct {
	LifeSafety PatrolTiming `mapstructure:"life_safety" yaml:"life_safety"`
	Critical   PatrolTiming `mapstructure:"critical" yaml:"critical"`
	High       PatrolTiming `mapstructure:"high" yaml:"high"`
	Medium     PatrolTiming `mapstructure:"medium" yaml:"medium"`
	Low        PatrolTiming `mapstructure:"low" yaml:"low"`
}

// PatrolTiming is when an unclaimed alert is sent again and when it goes to the supervisor,
// both counted from the first send. Zero turns either off.
type PatrolTiming struct {
	Resend   time.Duration `mapstructure:"resend" yaml:"resend"`
	Escalate time.Duration `mapstructure:"escalate" yaml:"escalate"`
	// Ladder is who is reached, how, and when, while the alert stays unclaimed, after the
	// rule's own recipients and channels at once. Empty means the ladder built from Escalate
	// (docs/patrol.md, Escalation ladder): the supervisor at Escalate, the fallback at twice that,
	// with SMS and, for life safety and critical alerts, a call.
	Ladder []PatrolRung `mapstructure:"ladder" yaml:"ladder"`
}

// PatrolRung is one step of an escalation ladder.
type PatrolRung struct {
	// After is counted from the first send.
	After time.Duration `mapstructure:"after" yaml:"after"`
	// Notify is who: "supervisor", "fallback", "group", or a guard id.
	Notify []string `mapstructure:"notify" yaml:"notify"`
	// Channels is how: any of the rule channels (mqtt, webhook, console, wecom, dingtalk,
	// feishu, sms, call).
	Channels []string `mapstructure:"channels" yaml:"channels"`
}

// PatrolPhones are the channels to the phones guards carry. Each is off until configured.
type PatrolPhones struct {
	WeCom    PatrolRobot `mapstructure:"wecom" yaml:"wecom"`
	DingTalk PatrolRobot `mapstructure:"dingtalk" yaml:"dingtalk"`
	Feishu   PatrolRobot `mapstructure:"feishu" yaml:"feishu"`
	SMS      PatrolSMS   `mapstructure:"sms" yaml:"sms"`
	// Call rings through the SMS modem (sms.modem); Ring is how long it rings before
	// hanging up. Off unless Enabled.
	Call PatrolCall `mapstructure:"call" yaml:"call"`
	// RatePerMinute is what each robot accepts: the vendors document 20 messages a minute a
	// robot. Past it, and whenever Burst or more messages wait, one summary goes instead.
	RatePerMinute int `mapstructure:"rate_per_minute" yaml:"rate_per_minute"`
	Burst         int `mapstructure:"burst" yaml:"burst"`
	// Retries is how often a failed message is tried again (with backoff from 2 s to 1 min)
	// before it is given up and counted; the ladder goes on regardless.
	Retries int `mapstructure:"retries" yaml:"retries"`
	// SelfTest is the local time ("HH:MM") of the daily self-test of every phone channel
	// (报警通道自检); a failure is an alarm of the gateway device. Empty turns it off.
	SelfTest string `mapstructure:"self_test" yaml:"self_test"`
	// SelfTestTo is the guard whose phone gets the daily SMS of the self-test; empty checks
	// the modem (SIM, network, signal) without sending.
	SelfTestTo string `mapstructure:"self_test_to" yaml:"self_test_to"`
	// LinkBase is the console's address as the guards' phones reach it
	// (http://gateway.estate:8080); every message carries a link there that claims the alert
	// in the guard's name. Empty: no link.
	LinkBase string `mapstructure:"link_base" yaml:"link_base"`
}

// PatrolRobot is one work-group robot. With no URL it is off.
type PatrolRobot struct {
	// URL is the robot's webhook address; it carries the robot's key, so it is a secret.
	URL Secret `mapstructure:"url" yaml:"url"`
	// Secret signs DingTalk and Feishu requests (the robot's 加签 secret).
	Secret Secret `mapstructure:"secret" yaml:"secret"`
	// MsgType is text (default) or markdown.
	MsgType string        `mapstructure:"msgtype" yaml:"msgtype"`
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout"`
}

// PatrolSMS sends SMS through a modem on a serial line, or an HTTP SMS gateway.
type PatrolSMS struct {
	Modem   PatrolModem      `mapstructure:"modem" yaml:"modem"`
	Gateway PatrolSMSGateway `mapstructure:"gateway" yaml:"gateway"`
}

// Enabled reports whether SMS is configured.
func (s *PatrolSMS) Enabled() bool { return s.Modem.Port != "" || s.Gateway.URL != "" }

// PatrolModem is a GSM/4G modem speaking AT commands (3GPP TS 27.005) on a serial port.
type PatrolModem struct {
	Port string `mapstructure:"port" yaml:"port"`
	Baud int    `mapstructure:"baud" yaml:"baud"`
	PIN  Secret `mapstructure:"pin" yaml:"pin"`
	// StatusReports asks the network for delivery reports.
	StatusReports bool `mapstructure:"status_reports" yaml:"status_reports"`
}

// PatrolSMSGateway posts each SMS to an HTTP gateway: Body is a Go template with .To and
// .Text (JSON-escaped by the json function: {"to": {{json .To}}, "text": {{json .Text}}}).
type PatrolSMSGateway struct {
	URL         Secret            `mapstructure:"url" yaml:"url"`
	Method      string            `mapstructure:"method" yaml:"method"`
	ContentType string            `mapstructure:"content_type" yaml:"content_type"`
	Headers     map[string]Secret `mapstructure:"headers" yaml:"headers"`
	Body        string            `mapstructure:"body" yaml:"body"`
	Timeout     time.Duration     `mapstructure:"timeout" yaml:"timeout"`
}

// PatrolCall is the voice call through the SMS modem.
type PatrolCall struct {
	Enabled bool          `mapstructure:"enabled" yaml:"enabled"`
	Ring    time.Duration `mapstructure:"ring" yaml:"ring"`
}

// PatrolWebhook posts every alert as signed JSON. With no URL there is no webhook.
type PatrolWebhook struct {
	// URL is a secret: chat-robot URLs carry their access token; it is never printed or logged.
	URL Secret `mapstructure:"url" yaml:"url"`
	// Secret keys the HMAC-SHA256 signature in X-Facilityd-Signature.
	Secret     Secret        `mapstructure:"secret" yaml:"secret"`
	Timeout    time.Duration `mapstructure:"timeout" yaml:"timeout"`
	Retries    int           `mapstructure:"retries" yaml:"retries"`
	BackoffMin time.Duration `mapstructure:"backoff_min" yaml:"backoff_min"`
	BackoffMax time.Duration `mapstructure:"backoff_max" yaml:"backoff_max"`
}

// PatrolLight is the night lighting check: at At (local "HH:MM") or AfterDusk past the
// computed dusk, every circuit that should be on but is off or has failed lamps goes into
// one checklist. Neither set means no check.
type PatrolLight struct {
	At        string        `mapstructure:"at" yaml:"at"`
	AfterDusk time.Duration `mapstructure:"after_dusk" yaml:"after_dusk"`
	// Shift is the shift whose groups get the checklist, even when the check runs before it
	// starts (dusk comes before 18:00 in winter).
	Shift string `mapstructure:"shift" yaml:"shift"`
	// SwitchOn closes the loop: at the check's time, the circuits scheduled for the night
	// whose command is off are switched on (writes by "system", journalled as any other)
	// before the check runs, so a circuit left off by hand or not yet on at an early dusk
	// is lit, and only the ones that stay dark go to the patrol.
	SwitchOn bool `mapstructure:"switch_on" yaml:"switch_on"`
}

// DefaultPatrol is the patrol section's defaults, used by Default.
func DefaultPatrol() Patrol {
	// The values are the patrol's own defaults (patrol.Default): written once, there.
	d := patrol.Default()
	timing := func(t patrol.Timing) PatrolTiming { return PatrolTiming{Resend: t.Resend, Escalate: t.Escalate} }
	e, p := d.Escalation, d.Phones
	return Patrol{
		Retention: d.Retention,
		QueueSize: 256,
		Escalation: PatrolEscalation{
			LifeSafety: timing(e.LifeSafety), Critical: timing(e.Critical), High: timing(e.High),
			Medium: timing(e.Medium), Low: timing(e.Low),
		},
		Lighting: PatrolLight{Shift: d.Lighting.Shift},
		Webhook: PatrolWebhook{Timeout: d.Webhook.Timeout, Retries: d.Webhook.Retries,
			BackoffMin: d.Webhook.BackoffMin, BackoffMax: d.Webhook.BackoffMax},
		Phones: PatrolPhones{
			RatePerMinute: p.RatePerMinute, Burst: p.Burst, Retries: p.Retries, SelfTest: p.SelfTest,
			Call: PatrolCall{Ring: p.Call.Ring},
			SMS: PatrolSMS{
				Modem:   PatrolModem{Baud: p.SMS.Modem.Baud},
				Gateway: PatrolSMSGateway{Method: p.SMS.Gateway.Method, ContentType: p.SMS.Gateway.ContentType, Timeout: p.SMS.Gateway.Timeout},
			},
		},
	}
}

// Enabled reports whether a roster is configured.
func (p *Patrol) Enabled() bool { return len(p.Shifts) > 0 }

// ParseClock reads a local time of day "HH:MM" as minutes after midnight, for the YAML-level
// checks of shifts, the lighting check and the self-test. The patrol reads the same clocks
// with patrol.ParseClock: config imports no component.
func ParseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return hh*60 + mm, nil
}

// FormatClock writes minutes after midnight as "HH:MM".
func FormatClock(m int) string { return fmt.Sprintf("%02d:%02d", m/60%24, m%60) }

var (
	patrolNotify   = map[string]bool{"group": true, "supervisor": true, "engineering": true}
	patrolChannels = map[string]bool{"mqtt": true, "webhook": true, "console": true, "wecom": true, "dingtalk": true, "feishu": true, "sms": true, "call": true}
	patrolPrio     = map[string]bool{"": true, "critical": true, "high": true, "medium": true, "low": true}
	patrolClass    = map[string]bool{"": true, "life_safety": true, "equipment": true, "supervisory": true, "trouble": true, "communication": true}
)

// validatePatrol checks the roster: shifts that cover the day exactly once, known guards,
// and a group for every zone with devices in every shift; then the ladders and the phones.
func (c *Config) validatePatrol() []error {
	errs := c.validatePatrolSettings()
	if !c.Patrol.Enabled() {
		return errs
	}
	guards, gerrs := c.validateGuards()
	shifts, serrs := c.validateShifts(guards)
	errs = append(append(errs, gerrs...), serrs...)
	errs = append(errs, c.validateGroups(guards, shifts)...)
	errs = append(errs, c.validateRules(shifts)...)
	errs = append(errs, c.validateLadders(guards)...)
	return append(errs, c.validatePhones(guards)...)
}

// validatePatrolSettings checks what holds with or without a roster: the place, the
// retention, the webhook and the lighting check.
func (c *Config) validatePatrolSettings() []error {
	p := &c.Patrol
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.Timezone != "" {
		if _, err := time.LoadLocation(p.Timezone); err != nil {
			add("patrol.timezone: %q is not an IANA time zone (e.g. Asia/Shanghai)", p.Timezone)
		}
	}
	if p.Latitude < -90 || p.Latitude > 90 || p.Longitude < -180 || p.Longitude > 180 {
		add("patrol.latitude, patrol.longitude: %v, %v is not a place on Earth", p.Latitude, p.Longitude)
	}
	if p.Retention < time.Hour {
		add("patrol.retention: %v must be at least 1h", p.Retention)
	}
	if p.QueueSize < 1 {
		add("patrol.queue_size: %d must be at least 1", p.QueueSize)
	}
	if p.Webhook.URL != "" {
		if err := webhook.Check(p.Webhook.URL.Reveal(), []byte(p.Webhook.Secret.Reveal())); errors.Is(err, webhook.ErrNoSecret) {
			add("patrol.webhook.secret: missing; %v (set %s)", err, EnvName("patrol.webhook.secret"))
		} else if err != nil {
			add("patrol.webhook.url (%s): %v", webhook.Redact(p.Webhook.URL.Reveal()), err)
		}
		if p.Webhook.Timeout <= 0 || p.Webhook.Retries < 0 || p.Webhook.BackoffMin <= 0 || p.Webhook.BackoffMax < p.Webhook.BackoffMin {
			add("patrol.webhook: timeout and backoff_min must be positive, backoff_max not below backoff_min, retries not negative")
		}
	}
	if p.Lighting.At != "" {
		if _, err := ParseClock(p.Lighting.At); err != nil {
			add("patrol.lighting.at: %v", err)
		}
		if p.Lighting.AfterDusk != 0 {
			add("patrol.lighting: set at or after_dusk, not both")
		}
	}
	if p.Lighting.AfterDusk < 0 {
		add("patrol.lighting.after_dusk: %v must not be negative", p.Lighting.AfterDusk)
	}
	if p.Lighting.SwitchOn && p.Lighting.At == "" && p.Lighting.AfterDusk == 0 {
		add("patrol.lighting.switch_on: the circuits are switched on when the check runs; set patrol.lighting.after_dusk (or at)")
	}
	return errs
}

// validateGuards checks each guard and returns the set of guard ids.
func (c *Config) validateGuards() (map[string]bool, []error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	guards := map[string]bool{}
	for i, g := range c.Patrol.Guards {
		switch {
		case !idPattern.MatchString(g.ID):
			add("patrol.guards[%d].id: %q must be letters, digits, '-', '_' or '.'", i, g.ID)
		case guards[g.ID]:
			add("patrol.guards[%d].id: %q is listed twice", i, g.ID)
		}
		guards[g.ID] = true
		if g.Handset == "" && g.Mobile == "" {
			add("patrol.guards[%d] (%s): neither handset nor mobile; alerts reach a guard through one of them", i, g.ID)
		}
		if g.Mobile != "" && !mobilePattern.MatchString(g.Mobile) {
			add("patrol.guards[%d] (%s).mobile: %q is not a phone number (digits, an optional leading +)", i, g.ID, g.Mobile)
		}
	}
	return guards, errs
}

// unknownGuard names a guard id that patrol.guards does not list.
func unknownGuard(guards map[string]bool, key, id string) error {
	if id != "" && !guards[id] {
		return fmt.Errorf("%s: unknown guard %q (not in patrol.guards)", key, id)
	}
	return nil
}

// validateShifts checks that every minute of the day belongs to exactly one shift, each with
// a known supervisor; it returns the set of shift names.
func (c *Config) validateShifts(guards map[string]bool) (map[string]bool, []error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	var cover [24 * 60][]string
	shifts := map[string]bool{}
	parsed := true
	for i, s := range c.Patrol.Shifts {
		key := fmt.Sprintf("patrol.shifts[%d] (%s)", i, s.Name)
		if s.Name == "" {
			add("patrol.shifts[%d].name: missing", i)
		} else if shifts[s.Name] {
			add("%s.name: %q is used twice", key, s.Name)
		}
		shifts[s.Name] = true
		if s.Supervisor == "" {
			add("%s.supervisor: missing; escalations go to the shift's supervisor", key)
		}
		for _, err := range []error{unknownGuard(guards, key+".supervisor", s.Supervisor), unknownGuard(guards, key+".fallback", s.Fallback)} {
			if err != nil {
				errs = append(errs, err)
			}
		}
		start, err1 := ParseClock(s.Start)
		end, err2 := ParseClock(s.End)
		if err1 != nil {
			add("%s.start: %v", key, err1)
		}
		if err2 != nil {
			add("%s.end: %v", key, err2)
		}
		if err1 != nil || err2 != nil {
			parsed = false
			continue
		}
		if start == end {
			add("%s: start and end are both %s; a shift needs a length", key, s.Start)
			parsed = false
			continue
		}
		for m := start; m != end; m = (m + 1) % (24 * 60) {
			cover[m] = append(cover[m], s.Name)
		}
	}
	if parsed {
		errs = append(errs, shiftCoverage(&cover)...)
	}
	return shifts, errs
}

// validateGroups checks the patrol groups and that a group covers every zone with devices in
// every shift.
func (c *Config) validateGroups(guards, shifts map[string]bool) []error {
	p := &c.Patrol
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	zones := map[string]bool{}
	for _, d := range c.Devices {
		if d.Zone != "" {
			zones[d.Zone] = true
		}
	}
	if p.Lighting.Shift != "" && !shifts[p.Lighting.Shift] && (p.Lighting.At != "" || p.Lighting.AfterDusk != 0) {
		add("patrol.lighting.shift: unknown shift %q", p.Lighting.Shift)
	}
	covered := map[string]bool{} // shift/zone
	for i, g := range p.Groups {
		key := fmt.Sprintf("patrol.groups[%d] (%s)", i, g.Name)
		if !shifts[g.Shift] {
			add("%s.shift: unknown shift %q", key, g.Shift)
		}
		if len(g.Guards) == 0 {
			add("%s.guards: none; a group needs at least one guard", key)
		}
		for j, id := range g.Guards {
			if err := unknownGuard(guards, fmt.Sprintf("%s.guards[%d]", key, j), id); err != nil {
				errs = append(errs, err)
			}
		}
		if g.Supervisor != "" {
			if err := unknownGuard(guards, key+".supervisor", g.Supervisor); err != nil {
				errs = append(errs, err)
			}
		}
		for _, z := range g.Zones {
			covered[g.Shift+"/"+z] = true
		}
	}
	for _, s := range p.Shifts {
		for _, z := range sortedKeys(zones) {
			if !covered[s.Name+"/"+z] && !covered[s.Name+"/*"] {
				add("patrol.groups: no group covers zone %q during shift %q", z, s.Name)
			}
		}
	}
	return errs
}

// validateRules checks the routing rules: known priorities, classes, shifts, recipients and
// channels.
func (c *Config) validateRules(shifts map[string]bool) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for i, r := range c.Patrol.Rules {
		key := fmt.Sprintf("patrol.rules[%d]", i)
		if !patrolPrio[r.Priority] {
			add("%s.priority: %q is not one of critical, high, medium, low", key, r.Priority)
		}
		if !patrolClass[r.Class] {
			add("%s.class: %q is not one of life_safety, equipment, supervisory, trouble, communication", key, r.Class)
		}
		if r.Shift != "" && !shifts[r.Shift] {
			add("%s.shift: unknown shift %q", key, r.Shift)
		}
		for _, n := range r.Notify {
			if !patrolNotify[n] {
				add("%s.notify: %q is not one of group, supervisor, engineering", key, n)
			}
		}
		if len(r.Channels) == 0 {
			add("%s.channels: none; name at least one of %s", key, channelNames)
		}
		for _, ch := range r.Channels {
			if !patrolChannels[ch] {
				add("%s.channels: %q is not one of %s", key, ch, channelNames)
			}
		}
	}
	return errs
}

const channelNames = "mqtt, webhook, console, wecom, dingtalk, feishu, sms, call"

// validateLadders checks every escalation ladder: rungs in order of time, people and
// channels that exist.
func (c *Config) validateLadders(guards map[string]bool) []error {
	var errs []error
	e := &c.Patrol.Escalation
	for _, t := range []struct {
		key    string
		timing PatrolTiming
	}{{"life_safety", e.LifeSafety}, {"critical", e.Critical}, {"high", e.High}, {"medium", e.Medium}, {"low", e.Low}} {
		var last time.Duration
		for i, r := range t.timing.Ladder {
			key := fmt.Sprintf("patrol.escalation.%s.ladder[%d]", t.key, i)
			if r.After <= 0 || r.After < last {
				errs = append(errs, fmt.Errorf("%s.after: %v must be positive and not before the rung above it (%v)", key, r.After, last))
			}
			last = r.After
			if len(r.Notify) == 0 || len(r.Channels) == 0 {
				errs = append(errs, fmt.Errorf("%s: a rung needs notify (supervisor, fallback, group or a guard id) and channels", key))
			}
			for _, n := range r.Notify {
				if n != "supervisor" && n != "fallback" && n != "group" && !guards[n] {
					errs = append(errs, fmt.Errorf("%s.notify: %q is not supervisor, fallback, group or a guard of patrol.guards", key, n))
				}
			}
			for _, ch := range r.Channels {
				if !patrolChannels[ch] {
					errs = append(errs, fmt.Errorf("%s.channels: %q is not one of %s", key, ch, channelNames))
				}
			}
		}
	}
	return errs
}

// validatePhones checks the phone channels: robots with an https (or loopback) URL and the
// secret their vendor signs with, one SMS path, a call only through a modem.
func (c *Config) validatePhones(guards map[string]bool) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	p := &c.Patrol.Phones
	for _, r := range []struct {
		key   string
		robot PatrolRobot
	}{{"wecom", p.WeCom}, {"dingtalk", p.DingTalk}, {"feishu", p.Feishu}} {
		if r.robot.URL == "" {
			continue
		}
		key := "patrol.phones." + r.key
		if err := webhook.Check(r.robot.URL.Reveal(), []byte("x")); err != nil {
			add("%s.url (%s): %v", key, webhook.Redact(r.robot.URL.Reveal()), err)
		}
		if r.robot.MsgType != "" && r.robot.MsgType != "text" && r.robot.MsgType != "markdown" {
			add("%s.msgtype: %q is not text or markdown", key, r.robot.MsgType)
		}
	}
	if p.SMS.Modem.Port != "" && p.SMS.Gateway.URL != "" {
		add("patrol.phones.sms: set modem.port or gateway.url, not both")
	}
	if p.SMS.Gateway.URL != "" && p.SMS.Gateway.Body == "" {
		add("patrol.phones.sms.gateway.body: missing; a template such as {\"to\": {{json .To}}, \"text\": {{json .Text}}}")
	}
	if p.Call.Enabled && p.SMS.Modem.Port == "" {
		add("patrol.phones.call: a call goes through the modem; set patrol.phones.sms.modem.port")
	}
	if p.Call.Enabled && p.Call.Ring < 5*time.Second {
		add("patrol.phones.call.ring: %v is too short for anyone to answer; at least 5s", p.Call.Ring)
	}
	if p.RatePerMinute < 1 || p.Burst < 2 || p.Retries < 0 {
		add("patrol.phones: rate_per_minute must be at least 1, burst at least 2, retries not negative")
	}
	if p.SelfTest != "" {
		if _, err := ParseClock(p.SelfTest); err != nil {
			add("patrol.phones.self_test: %v", err)
		}
	}
	if p.SelfTestTo != "" && !guards[p.SelfTestTo] {
		add("patrol.phones.self_test_to: unknown guard %q (not in patrol.guards)", p.SelfTestTo)
	}
	if p.LinkBase != "" && !strings.HasPrefix(p.LinkBase, "http://") && !strings.HasPrefix(p.LinkBase, "https://") {
		add("patrol.phones.link_base: %q must start with http:// or https://", p.LinkBase)
	}
	return errs
}

// shiftCoverage reports the stretches of the day no shift covers, or two cover.
func shiftCoverage(cover *[24 * 60][]string) []error {
	var errs []error
	const day = 24 * 60
	// Start scanning at a minute where the coverage changes, so a stretch is never cut in two
	// at midnight.
	origin := 0
	for m := 0; m < day; m++ {
		if strings.Join(cover[m], ",") != strings.Join(cover[(m+day-1)%day], ",") {
			origin = m
			break
		}
	}
	for i := 0; i < day; {
		m := (origin + i) % day
		names := strings.Join(cover[m], ", ")
		j := i + 1
		for j < day && strings.Join(cover[(origin+j)%day], ", ") == names {
			j++
		}
		span := FormatClock(m) + "–" + FormatClock((origin+j)%day)
		switch {
		case len(cover[m]) == 0:
			errs = append(errs, fmt.Errorf("patrol.shifts: no shift covers %s", span))
		case len(cover[m]) > 1:
			errs = append(errs, fmt.Errorf("patrol.shifts: shifts %s overlap %s", names, span))
		}
		i = j
	}
	return errs
}

var mobilePattern = regexp.MustCompile(`^\+?[0-9]{3,20}$`)

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
