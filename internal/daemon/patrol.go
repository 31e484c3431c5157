package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/config"
)

// PatrolConfig turns the patrol section, the site and the locale into the patrol's Config.
// The YAML's defaults are already in cfg (config.DefaultPatrol) and its keys checked by
// cfg.Validate; patrol.New checks what the patrol itself relies on. Exported for the tests
// that build a patrol from YAML.
func PatrolConfig(cfg *config.Config) (patrol.Config, error) {
	p := &cfg.Patrol
	loc := time.Local
	if p.Timezone != "" {
		var err error
		if loc, err = time.LoadLocation(p.Timezone); err != nil {
			return patrol.Config{}, fmt.Errorf("patrol.timezone: %w", err)
		}
	}
	return patrol.Config{
		Site: cfg.Site, Locale: cfg.Lang(), Location: loc, Latitude: p.Latitude, Longitude: p.Longitude,
		Store: p.Store, Retention: p.Retention, Retained: p.Retained,
		Shifts: patrolShifts(p.Shifts), Guards: patrolGuards(p.Guards), Groups: patrolGroups(p.Groups),
		Rules: patrolRules(p.Rules), Escalation: patrolEscalation(p.Escalation),
		Lighting: patrol.Lighting{At: p.Lighting.At, AfterDusk: p.Lighting.AfterDusk, Shift: p.Lighting.Shift, SwitchOn: p.Lighting.SwitchOn},
		Webhook: patrol.WebhookConfig{
			URL: p.Webhook.URL.Reveal(), Secret: p.Webhook.Secret.Reveal(), Timeout: p.Webhook.Timeout,
			Retries: p.Webhook.Retries, BackoffMin: p.Webhook.BackoffMin, BackoffMax: p.Webhook.BackoffMax,
		},
		Phones: patrolPhones(&p.Phones),
	}, nil
}

func patrolShifts(in []config.PatrolShift) []patrol.Shift {
	out := make([]patrol.Shift, 0, len(in))
	for _, s := range in {
		out = append(out, patrol.Shift{Name: s.Name, Start: s.Start, End: s.End, Supervisor: s.Supervisor, Fallback: s.Fallback})
	}
	return out
}

func patrolGuards(in []config.PatrolGuard) []patrol.Guard {
	out := make([]patrol.Guard, 0, len(in))
	for _, g := range in {
		out = append(out, patrol.Guard{ID: g.ID, Name: g.Name, Handset: g.Handset, Mobile: g.Mobile,
			AppUser: map[string]string{"wecom": g.WeComUser, "dingtalk": g.DingTalkUser, "feishu": g.FeishuUser}})
	}
	return out
}

func patrolGroups(in []config.PatrolGroup) []patrol.Group {
	out := make([]patrol.Group, 0, len(in))
	for _, g := range in {
		out = append(out, patrol.Group{Name: g.Name, Shift: g.Shift, Zones: g.Zones, Guards: g.Guards, Supervisor: g.Supervisor})
	}
	return out
}

// patrolRules maps the configured rules; none leaves the patrol's DefaultRules.
func patrolRules(in []config.PatrolRule) []patrol.Rule {
	var out []patrol.Rule
	for _, r := range in {
		out = append(out, patrol.Rule{Priority: alarms.Priority(r.Priority), Class: alarms.Class(r.Class), Zone: r.Zone,
			Shift: r.Shift, Notify: r.Notify, Channels: r.Channels})
	}
	return out
}

func patrolEscalation(e config.PatrolEscalation) patrol.Escalation {
	timing := func(t config.PatrolTiming) patrol.Timing {
		out := patrol.Timing{Resend: t.Resend, Escalate: t.Escalate}
		for _, r := range t.Ladder {
			out.Ladder = append(out.Ladder, patrol.LadderStep{After: r.After, Notify: r.Notify, Channels: r.Channels})
		}
		return out
	}
	return patrol.Escalation{LifeSafety: timing(e.LifeSafety), Critical: timing(e.Critical), High: timing(e.High),
		Medium: timing(e.Medium), Low: timing(e.Low)}
}

func patrolPhones(p *config.PatrolPhones) patrol.Phones {
	robot := func(r config.PatrolRobot) patrol.Robot {
		return patrol.Robot{URL: r.URL.Reveal(), Secret: r.Secret.Reveal(), MsgType: r.MsgType, Timeout: r.Timeout}
	}
	gw := p.SMS.Gateway
	var headers map[string]string
	if len(gw.Headers) > 0 {
		headers = make(map[string]string, len(gw.Headers))
		for k, v := range gw.Headers {
			headers[k] = v.Reveal()
		}
	}
	m := p.SMS.Modem
	return patrol.Phones{
		WeCom: robot(p.WeCom), DingTalk: robot(p.DingTalk), Feishu: robot(p.Feishu),
		SMS: patrol.SMS{
			Modem: patrol.Modem{Port: m.Port, Baud: m.Baud, PIN: m.PIN.Reveal(), StatusReports: m.StatusReports},
			Gateway: patrol.SMSGateway{URL: gw.URL.Reveal(), Method: gw.Method, ContentType: gw.ContentType,
				Headers: headers, Body: gw.Body, Timeout: gw.Timeout},
		},
		Call:          patrol.Call{Enabled: p.Call.Enabled, Ring: p.Call.Ring},
		RatePerMinute: p.RatePerMinute, Burst: p.Burst, Retries: p.Retries,
		SelfTest: p.SelfTest, SelfTestTo: p.SelfTestTo, LinkBase: p.LinkBase,
	}
}

// buildPatrol builds the patrol alerts and the night lighting check, when configured.
func (d *Daemon) buildPatrol(context.Context) error {
	if !d.cfg.Patrol.Enabled() {
		return nil
	}
	pc, err := PatrolConfig(d.cfg)
	if err != nil {
		return err
	}
	svc, err := patrol.New(pc, patrol.Deps{
		Latest: d.latest, Acker: d.engine, Events: d.hub, Publisher: d.mq.client, Subscriber: d.mq.client,
		Registerer: d.reg, Log: d.log.With("component", "patrol"),
		// With patrol.lighting.switch_on, dark circuits are switched on at dusk as writes by "system".
		Switcher: d.commands,
		// A circuit the night check finds dark or failed becomes a work order.
		LightingFault: func(f patrol.LightingFault) {
			d.orders.CircuitFailed(f.Device, fmt.Sprintf("circuit_%02d", f.Circuit), f.At)
		},
		// A phone channel that fails its self-test, or gives a message up, is the gateway's alarm.
		ChannelHealth: d.health.ChannelHealth,
	})
	if err != nil {
		return fmt.Errorf("patrol: %w", err)
	}
	d.patrol = svc
	d.log.Info("patrol alerts on", "patrol", pc)
	d.closers = append(d.closers, func() { svc.Close() })
	return nil
}
