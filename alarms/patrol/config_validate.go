package patrol

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// channelNames are the names a rule or a ladder step may send on.
var channelNames = []string{"mqtt", "webhook", "console", "wecom", "dingtalk", "feishu", "sms", "call"}

// Validate reports what the patrol cannot run with: clocks that do not parse, names of
// guards, shifts and channels that do not exist, ladders out of order, channel settings that
// contradict each other. It checks only what the patrol relies on; the YAML-level checks (the
// day covered once by shifts, a group for every zone with devices, URLs a webhook may post to,
// phone numbers) stay in config, which names the YAML key of each. The messages here name the
// YAML keys too (patrol.shifts[0] (night).start), so that one slipping past config still tells a
// person what to fix. Validate does not change c.
func (c Config) Validate() error {
	guards, errs := c.validateGuards()
	shifts, serrs := c.validateShifts(guards)
	errs = append(errs, serrs...)
	errs = append(errs, c.validateGroups(guards, shifts)...)
	errs = append(errs, c.validateRules(shifts)...)
	errs = append(errs, c.validateLadders(guards)...)
	errs = append(errs, c.validateLighting(shifts)...)
	errs = append(errs, c.validateWebhook()...)
	errs = append(errs, c.Phones.validate(guards)...)
	if c.Retention < 0 {
		errs = append(errs, fmt.Errorf("patrol.retention: %v must not be negative", c.Retention))
	}
	return errors.Join(errs...)
}

// problems collects errors in order, each formatted with its key.
type problems []error

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Errorf(format, args...)) }

func (c Config) validateGuards() (map[string]bool, []error) {
	var errs problems
	guards := map[string]bool{}
	for i, g := range c.Guards {
		switch {
		case g.ID == "":
			errs.add("patrol.guards[%d].id: missing", i)
		case guards[g.ID]:
			errs.add("patrol.guards[%d].id: %q is listed twice", i, g.ID)
		}
		guards[g.ID] = true
	}
	return guards, errs
}

func (c Config) validateShifts(guards map[string]bool) (map[string]bool, []error) {
	var errs problems
	shifts := map[string]bool{}
	for i, s := range c.Shifts {
		key := fmt.Sprintf("patrol.shifts[%d] (%s)", i, s.Name)
		if s.Name == "" {
			errs.add("patrol.shifts[%d].name: missing", i)
		} else if shifts[s.Name] {
			errs.add("%s.name: %q is used twice", key, s.Name)
		}
		shifts[s.Name] = true
		start, err1 := ParseClock(s.Start)
		end, err2 := ParseClock(s.End)
		if err1 != nil {
			errs.add("%s.start: %v", key, err1)
		}
		if err2 != nil {
			errs.add("%s.end: %v", key, err2)
		}
		if err1 == nil && err2 == nil && start == end {
			errs.add("%s: start and end are both %s; a shift needs a length", key, s.Start)
		}
		for _, ref := range [][2]string{{"supervisor", s.Supervisor}, {"fallback", s.Fallback}} {
			if ref[1] != "" && !guards[ref[1]] {
				errs.add("%s.%s: unknown guard %q (not in patrol.guards)", key, ref[0], ref[1])
			}
		}
	}
	return shifts, errs
}

func (c Config) validateGroups(guards, shifts map[string]bool) []error {
	var errs problems
	for i, g := range c.Groups {
		key := fmt.Sprintf("patrol.groups[%d] (%s)", i, g.Name)
		if !shifts[g.Shift] {
			errs.add("%s.shift: unknown shift %q", key, g.Shift)
		}
		for j, id := range g.Guards {
			if !guards[id] {
				errs.add("%s.guards[%d]: unknown guard %q (not in patrol.guards)", key, j, id)
			}
		}
	}
	return errs
}

func (c Config) validateRules(shifts map[string]bool) []error {
	var errs problems
	for i, r := range c.Rules {
		key := fmt.Sprintf("patrol.rules[%d]", i)
		if r.Shift != "" && !shifts[r.Shift] {
			errs.add("%s.shift: unknown shift %q", key, r.Shift)
		}
		for _, n := range r.Notify {
			if n != "group" && n != "supervisor" && n != "engineering" {
				errs.add("%s.notify: %q is not one of group, supervisor, engineering", key, n)
			}
		}
		if len(r.Channels) == 0 {
			errs.add("%s.channels: none; name at least one of %s", key, strings.Join(channelNames, ", "))
		}
		errs = append(errs, unknownChannels(key, r.Channels)...)
	}
	return errs
}

// validateLadders checks every configured ladder: steps in order of time, people and
// channels that exist.
func (c Config) validateLadders(guards map[string]bool) []error {
	var errs problems
	e := c.Escalation
	for _, t := range []struct {
		key    string
		timing Timing
	}{{"life_safety", e.LifeSafety}, {"critical", e.Critical}, {"high", e.High}, {"medium", e.Medium}, {"low", e.Low}} {
		if t.timing.Resend < 0 || t.timing.Escalate < 0 {
			errs.add("patrol.escalation.%s: resend and escalate must not be negative", t.key)
		}
		var last time.Duration
		for i, r := range t.timing.Ladder {
			key := fmt.Sprintf("patrol.escalation.%s.ladder[%d]", t.key, i)
			if r.After <= 0 || r.After < last {
				errs.add("%s.after: %v must be positive and not before the rung above it (%v)", key, r.After, last)
			}
			last = r.After
			if len(r.Notify) == 0 || len(r.Channels) == 0 {
				errs.add("%s: a rung needs notify (supervisor, fallback, group or a guard id) and channels", key)
			}
			for _, n := range r.Notify {
				if n != "supervisor" && n != "fallback" && n != "group" && !guards[n] {
					errs.add("%s.notify: %q is not supervisor, fallback, group or a guard of patrol.guards", key, n)
				}
			}
			errs = append(errs, unknownChannels(key, r.Channels)...)
		}
	}
	return errs
}

func unknownChannels(key string, chans []string) []error {
	var errs problems
	for _, ch := range chans {
		if !slices.Contains(channelNames, ch) {
			errs.add("%s.channels: %q is not one of %s", key, ch, strings.Join(channelNames, ", "))
		}
	}
	return errs
}

func (c Config) validateLighting(shifts map[string]bool) []error {
	var errs problems
	l := c.Lighting
	if l.At != "" {
		if _, err := ParseClock(l.At); err != nil {
			errs.add("patrol.lighting.at: %v", err)
		}
		if l.AfterDusk != 0 {
			errs.add("patrol.lighting: set at or after_dusk, not both")
		}
	}
	if l.AfterDusk < 0 {
		errs.add("patrol.lighting.after_dusk: %v must not be negative", l.AfterDusk)
	}
	if l.Shift != "" && !shifts[l.Shift] && (l.At != "" || l.AfterDusk != 0) && len(c.Shifts) > 0 {
		errs.add("patrol.lighting.shift: unknown shift %q", l.Shift)
	}
	return errs
}

func (c Config) validateWebhook() []error {
	w := c.Webhook
	if w.URL == "" {
		return nil
	}
	if w.Timeout <= 0 || w.Retries < 0 || w.BackoffMin <= 0 || w.BackoffMax < w.BackoffMin {
		return []error{errors.New("patrol.webhook: timeout and backoff_min must be positive, backoff_max not below backoff_min, retries not negative")}
	}
	return nil
}

// validate checks the phone channels: text or markdown robots, one SMS path with a body for a
// gateway, a call only through a modem, a limit the robots can keep, a self-test that can run.
func (p Phones) validate(guards map[string]bool) []error {
	var errs problems
	for _, r := range []struct {
		key   string
		robot Robot
	}{{"wecom", p.WeCom}, {"dingtalk", p.DingTalk}, {"feishu", p.Feishu}} {
		if r.robot.URL != "" && r.robot.MsgType != "" && r.robot.MsgType != "text" && r.robot.MsgType != "markdown" {
			errs.add("patrol.phones.%s.msgtype: %q is not text or markdown", r.key, r.robot.MsgType)
		}
	}
	if p.SMS.Modem.Port != "" && p.SMS.Gateway.URL != "" {
		errs.add("patrol.phones.sms: set modem.port or gateway.url, not both")
	}
	if p.SMS.Gateway.URL != "" && p.SMS.Gateway.Body == "" {
		errs.add("patrol.phones.sms.gateway.body: missing; a template such as {\"to\": {{json .To}}, \"text\": {{json .Text}}}")
	}
	if p.Call.Enabled && p.SMS.Modem.Port == "" {
		errs.add("patrol.phones.call: a call goes through the modem; set patrol.phones.sms.modem.port")
	}
	if p.Call.Enabled && p.Call.Ring < 5*time.Second {
		errs.add("patrol.phones.call.ring: %v is too short for anyone to answer; at least 5s", p.Call.Ring)
	}
	robots := p.WeCom.URL != "" || p.DingTalk.URL != "" || p.Feishu.URL != ""
	if (robots && (p.RatePerMinute < 1 || p.Burst < 2)) || p.Retries < 0 {
		errs.add("patrol.phones: rate_per_minute must be at least 1, burst at least 2, retries not negative")
	}
	if p.SelfTest != "" {
		if _, err := ParseClock(p.SelfTest); err != nil {
			errs.add("patrol.phones.self_test: %v", err)
		}
	}
	if p.SelfTestTo != "" && !guards[p.SelfTestTo] {
		errs.add("patrol.phones.self_test_to: unknown guard %q (not in patrol.guards)", p.SelfTestTo)
	}
	if p.LinkBase != "" && !strings.HasPrefix(p.LinkBase, "http://") && !strings.HasPrefix(p.LinkBase, "https://") {
		errs.add("patrol.phones.link_base: %q must start with http:// or https://", p.LinkBase)
	}
	return errs
}
