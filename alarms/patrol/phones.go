package patrol

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/facilityd/facilityd/internal/robots"
)

// The phone channels: the work-group robots (WeCom, DingTalk, Feishu), SMS and a voice call.
// Each is a Channel the dispatcher delivers to from the outbox; the robots are Limited, SMS
// and calls are PerGuard.

// ActionSummary is a robot's summary of messages its rate limit (or a burst) would hold.
const ActionSummary Action = "summary"

// SelfTester is a channel that can prove it works without an alert: the daily self-test.
type SelfTester interface {
	SelfTest(ctx context.Context) error
}

// phoneChannels builds the configured phone channels.
func (s *Service) phoneChannels(p Phones) ([]Channel, error) {
	var out []Channel
	if p.WeCom.URL != "" {
		r, err := robots.NewWeCom(robots.WeComConfig{URL: p.WeCom.URL, MsgType: p.WeCom.MsgType, Timeout: p.WeCom.Timeout})
		if err != nil {
			return nil, fmt.Errorf("patrol.phones.wecom: %w", err)
		}
		out = append(out, &robotChannel{name: "wecom", robot: r, s: s, perMinute: p.RatePerMinute, burst: p.Burst})
	}
	if p.DingTalk.URL != "" {
		r, err := robots.NewDingTalk(robots.DingTalkConfig{URL: p.DingTalk.URL, Secret: p.DingTalk.Secret, MsgType: p.DingTalk.MsgType, Timeout: p.DingTalk.Timeout, Now: s.now})
		if err != nil {
			return nil, fmt.Errorf("patrol.phones.dingtalk: %w", err)
		}
		out = append(out, &robotChannel{name: "dingtalk", robot: r, s: s, perMinute: p.RatePerMinute, burst: p.Burst})
	}
	if p.Feishu.URL != "" {
		r, err := robots.NewFeishu(robots.FeishuConfig{URL: p.Feishu.URL, Secret: p.Feishu.Secret, Timeout: p.Feishu.Timeout, Now: s.now})
		if err != nil {
			return nil, fmt.Errorf("patrol.phones.feishu: %w", err)
		}
		out = append(out, &robotChannel{name: "feishu", robot: r, s: s, perMinute: p.RatePerMinute, burst: p.Burst})
	}
	sender, err := s.smsSender(p)
	if err != nil {
		return nil, err
	}
	if sender != nil {
		out = append(out, &smsChannel{sms: sender, s: s})
		if m, ok := sender.(*modemLink); ok && p.Call.Enabled {
			out = append(out, &callChannel{modem: m, ring: p.Call.Ring, s: s})
		}
	}
	return out, nil
}

// robotChannel posts to one work-group robot.
type robotChannel struct {
	name             string
	robot            robots.Robot
	s                *Service
	perMinute, burst int
}

// Name is the robot's kind: wecom, dingtalk or feishu.
func (c *robotChannel) Name() string { return c.name }

// Limit is the robot's rate: messages a minute, and the burst that becomes a summary.
func (c *robotChannel) Limit() (int, int) { return c.perMinute, c.burst }

// Send posts m to the group, mentioning the guards it is for (everyone, for life safety).
func (c *robotChannel) Send(ctx context.Context, m Message) error {
	return c.robot.Send(ctx, c.s.robotMessage(m, c.name))
}

// Retry: a rate-limited robot is tried again after a minute, a refused one (bad key or
// signature) is not tried again.
func (c *robotChannel) Retry(err error) (bool, time.Duration) {
	var ae *robots.APIError
	if errors.As(err, &ae) {
		if ae.RateLimited {
			return true, max(ae.RetryAfter, time.Minute)
		}
		return ae.Retry, 0
	}
	return true, 0
}

// SelfTest posts the daily self-test message to the group.
func (c *robotChannel) SelfTest(ctx context.Context) error {
	return c.robot.Send(ctx, robots.Message{Text: c.s.lang.T("phone.selftest", "channel", c.s.lang.T("channel."+c.name), "at", c.s.now().In(c.s.roster.loc))})
}

// robotMessage is m as a robot of kind posts it: the phone text, and the guards it is for
// mentioned by their user id in that app where the roster has one, else by mobile.
func (s *Service) robotMessage(m Message, kind string) robots.Message {
	out := robots.Message{Text: s.phoneText(m, "")}
	people := m.To
	if len(m.Reach) > 0 {
		people = m.Reach
	}
	for _, g := range people {
		g = s.guard(g.ID)
		if id := g.AppUser[kind]; id != "" {
			out.UserIDs = append(out.UserIDs, id)
		} else if g.Mobile != "" {
			out.Mobiles = append(out.Mobiles, g.Mobile)
		}
	}
	out.AtAll = m.Type == ActionAlert && m.Class == "life_safety"
	return out
}

// phoneText is what a phone shows of m: one short line first (what and where, in the site's
// language), then the detail, what to do, and the link. For an SMS to guard, the link claims
// in the guard's name; a robot's message is read by the whole group, so its link only opens
// the alert.
func (s *Service) phoneText(m Message, guard string) string {
	l := s.lang
	if m.Type == ActionSummary {
		return l.T("phone.summary", "n", len(m.Summary)) + "\n" + strings.Join(m.Summary, "\n")
	}
	lines := []string{m.Text}
	if place := s.place(m); place != "" {
		lines = append(lines, place)
	}
	if m.Type == ActionAlert || m.Type == ActionResend || m.Type == ActionEscalate {
		if guard != "" {
			lines = append(lines, l.T("phone.reply", "alert", m.Alert))
		} else {
			lines = append(lines, l.T("phone.claim", "alert", m.Alert))
		}
		if link := s.link(m.Alert, guard); link != "" {
			lines = append(lines, link)
		}
	}
	return strings.Join(lines, "\n")
}

// place is the alert's where: site, zone, and the devices of its alarms.
func (s *Service) place(m Message) string {
	a, ok := s.Alert(m.Alert)
	if !ok {
		return ""
	}
	var devs []string
	for _, al := range a.Alarms {
		devs = appendNew(devs, al.Device)
	}
	zone := a.Zone
	if zone == "" {
		zone = strings.Join(a.Zones, ", ")
	}
	return s.lang.T("phone.place", "alert", a.ID, "zone", zone, "devices", strings.Join(devs, ", "), "at", a.CreatedAt.In(s.roster.loc))
}

// summary merges messages into one: a line each, highest priority first in the list as sent.
func (s *Service) summary(list []Message) Message {
	sum := Message{Type: ActionSummary, Site: s.site, At: s.now(), To: []Guard{}}
	for _, m := range list {
		line := firstLine(m.Text)
		if m.Alert != "" {
			line = m.Alert + " " + line
		}
		sum.Summary = append(sum.Summary, line)
		for _, g := range m.To {
			if !containsGuard(sum.To, g.ID) {
				sum.To = append(sum.To, g)
			}
		}
		if sum.Priority == "" || rank(m.Priority) < rank(sum.Priority) {
			sum.Priority, sum.Class = m.Priority, m.Class
		}
		sum.Alert = m.Alert
	}
	sum.Text = s.lang.T("phone.summary", "n", len(list))
	return sum
}

func rank(p string) int {
	switch p {
	case "critical":
		return 0
	case "high":
		return 1
	case "medium":
		return 2
	}
	return 3
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func containsGuard(list []Guard, id string) bool {
	for _, g := range list {
		if g.ID == id {
			return true
		}
	}
	return false
}

// needed reports whether a personal message is still worth sending: an alert, a re-send or
// an escalation only while nobody has claimed the alert.
func (s *Service) needed(m Message) bool {
	switch m.Type {
	case ActionAlert, ActionResend, ActionEscalate:
		a, ok := s.Alert(m.Alert)
		return ok && a.Unclaimed()
	}
	return true
}
