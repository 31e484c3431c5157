package patrol

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/facilityd/facilityd/internal/modem"
	"github.com/facilityd/facilityd/internal/webhook"
)

// smsSender sends one SMS and checks that it can.
type smsSender interface {
	SendSMS(ctx context.Context, to, text string) error
	Check(ctx context.Context) error
}

// ErrModemDown is a send through a modem that is not (or no longer) open.
var ErrModemDown = errors.New("the modem is not open")

func (s *Service) smsSender(p Phones) (smsSender, error) {
	switch {
	case p.SMS.Modem.Port != "":
		return &modemLink{cfg: modem.Config{Port: p.SMS.Modem.Port, Baud: p.SMS.Modem.Baud, PIN: p.SMS.Modem.PIN, StatusReports: p.SMS.Modem.StatusReports}, log: s.log.With("modem", p.SMS.Modem.Port), s: s}, nil
	case p.SMS.Gateway.URL != "":
		g := p.SMS.Gateway
		tmpl, err := template.New("sms").Funcs(template.FuncMap{"json": func(v string) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		}}).Parse(g.Body)
		if err != nil {
			return nil, fmt.Errorf("patrol.phones.sms.gateway.body: %w", err)
		}
		return &smsGateway{cfg: g, body: tmpl, client: &http.Client{Timeout: g.Timeout}}, nil
	}
	return nil, nil
}

// smsChannel sends a guard's messages by SMS, one guard a message.
type smsChannel struct {
	sms smsSender
	s   *Service
}

// Name is "sms".
func (c *smsChannel) Name() string { return "sms" }

// PerGuard: one SMS a guard.
func (c *smsChannel) PerGuard() bool { return true }

// Send texts m to its one guard's mobile; a guard with none is skipped (and logged once a
// message, since config validation lets a guard have a handset only).
func (c *smsChannel) Send(ctx context.Context, m Message) error {
	if len(m.To) != 1 {
		return nil
	}
	g := c.s.guard(m.To[0].ID)
	if g.Mobile == "" {
		c.s.log.Warn("patrol SMS not sent: the guard has no mobile (patrol.guards[].mobile)", "guard", g.ID, "alert", m.Alert)
		return nil
	}
	return c.sms.SendSMS(ctx, g.Mobile, fitSMS(c.s.phoneText(m, g.ID)))
}

// smsMaxRunes keeps a text within the modem's eight parts whatever its alphabet: eight UCS-2
// parts hold 8 × 67 = 536 characters (3GPP TS 23.040, 9.2.3.24.1), less room for emoji.
const smsMaxRunes = 500

// fitSMS cuts the first line's detail (the alarm's own message) so that the text fits, keeping
// the lines after it (what to do, the link) whole: they are what the guard acts on.
func fitSMS(text string) string {
	r := []rune(text)
	if len(r) <= smsMaxRunes {
		return text
	}
	first, rest, _ := strings.Cut(text, "\n")
	keep := smsMaxRunes - len([]rune(rest)) - 2
	fr := []rune(first)
	if keep < 20 {
		return string(r[:smsMaxRunes-1]) + "…"
	}
	if len(fr) > keep {
		first = string(fr[:keep]) + "…"
	}
	return first + "\n" + rest
}

// SelfTest checks the SIM, the network and the signal, and texts the self-test guard if
// one is configured.
func (c *smsChannel) SelfTest(ctx context.Context) error {
	if err := c.sms.Check(ctx); err != nil {
		return err
	}
	to := c.s.cfg.Phones.SelfTestTo
	if to == "" {
		return nil
	}
	g := c.s.guard(to)
	if g.Mobile == "" {
		return fmt.Errorf("patrol.phones.self_test_to %s has no mobile", to)
	}
	return c.sms.SendSMS(ctx, g.Mobile, c.s.lang.T("phone.selftest", "channel", c.s.lang.T("channel.sms"), "at", c.s.now().In(c.s.roster.loc)))
}

// callChannel rings a guard's mobile through the modem: the alarm dialer's call, for an
// alert nobody has claimed.
type callChannel struct {
	modem *modemLink
	ring  time.Duration
	s     *Service
}

// Name is "call".
func (c *callChannel) Name() string { return "call" }

// PerGuard: one call a guard.
func (c *callChannel) PerGuard() bool { return true }

// Send rings m's guard for the ring time. Only alerts and escalations ring.
func (c *callChannel) Send(ctx context.Context, m Message) error {
	if len(m.To) != 1 || (m.Type != ActionAlert && m.Type != ActionEscalate) {
		return nil
	}
	g := c.s.guard(m.To[0].ID)
	if g.Mobile == "" {
		c.s.log.Warn("patrol call not made: the guard has no mobile (patrol.guards[].mobile)", "guard", g.ID, "alert", m.Alert)
		return nil
	}
	res, err := c.modem.Call(ctx, g.Mobile, c.ring)
	if err != nil {
		return err
	}
	c.s.log.Info("patrol call made", "guard", g.ID, "alert", m.Alert, "result", res)
	return nil
}

// SelfTest checks the modem the call goes through.
func (c *callChannel) SelfTest(ctx context.Context) error { return c.modem.Check(ctx) }

// modemLink is the modem on its serial port: opened (and opened again after a failure) by
// run, shared by SMS and calls, which it takes one at a time.
type modemLink struct {
	cfg modem.Config
	log *slog.Logger
	s   *Service
	// open opens the modem: modem.Open on the serial port, or a stream in tests.
	open func(modem.Config, *slog.Logger) (*modem.Modem, error)

	mu sync.Mutex
	m  *modem.Modem
}

func (l *modemLink) get() (*modem.Modem, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		return nil, fmt.Errorf("%w (patrol.phones.sms.modem.port %s)", ErrModemDown, l.cfg.Port)
	}
	return l.m, nil
}

// SendSMS sends text to a number.
func (l *modemLink) SendSMS(ctx context.Context, to, text string) error {
	m, err := l.get()
	if err != nil {
		return err
	}
	_, err = m.Send(ctx, to, text)
	return err
}

// Call rings a number.
func (l *modemLink) Call(ctx context.Context, to string, ring time.Duration) (modem.CallResult, error) {
	m, err := l.get()
	if err != nil {
		return modem.CallResult(0), err
	}
	return m.Call(ctx, to, ring)
}

// Check reports a modem that cannot send: no SIM, no network, no signal.
func (l *modemLink) Check(ctx context.Context) error {
	m, err := l.get()
	if err != nil {
		return err
	}
	_, err = m.Check(ctx)
	return err
}

// run opens the modem, hands its incoming SMS to the patrol, and opens it again (after 5 s,
// doubling to a minute) whenever the line fails, until ctx ends.
func (l *modemLink) run(ctx context.Context) {
	wait := 5 * time.Second
	for ctx.Err() == nil {
		err := l.session(ctx)
		if ctx.Err() != nil {
			return
		}
		l.log.Error("patrol modem: line lost; opening it again", "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

func (l *modemLink) session(ctx context.Context) error {
	open := l.open
	if open == nil {
		open = modem.Open
	}
	m, err := open(l.cfg, l.log)
	if err != nil {
		return err
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("modem %s: %w", l.cfg.Port, err)
	}
	l.mu.Lock()
	l.m = m
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.m = nil
		l.mu.Unlock()
	}()
	l.log.Info("patrol modem ready")
	for {
		select {
		case err := <-done:
			return err
		case in, ok := <-m.Received():
			if !ok {
				return <-done
			}
			l.s.SMSReply(ctx, in.From, in.Text)
		}
	}
}

// smsGateway posts each SMS to an HTTP SMS gateway, from a template.
type smsGateway struct {
	cfg    SMSGateway
	body   *template.Template
	client *http.Client
}

// SendSMS posts one SMS; any status but 2xx fails it.
func (g *smsGateway) SendSMS(ctx context.Context, to, text string) error {
	var b bytes.Buffer
	if err := g.body.Execute(&b, struct{ To, Text string }{to, text}); err != nil {
		return fmt.Errorf("patrol.phones.sms.gateway.body: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, g.cfg.Method, g.cfg.URL, &b)
	if err != nil {
		return fmt.Errorf("sms gateway %s: %w", webhook.Redact(g.cfg.URL), err)
	}
	req.Header.Set("Content-Type", g.cfg.ContentType)
	for k, v := range g.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms gateway %s: %w", webhook.Redact(g.cfg.URL), errors.Unwrap(err))
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sms gateway %s: %s", webhook.Redact(g.cfg.URL), resp.Status)
	}
	return nil
}

// Check has nothing to ask a gateway without sending: the self-test SMS does.
func (g *smsGateway) Check(context.Context) error { return nil }

// SMSReply handles an SMS from a phone: "1" claims the newest unclaimed alert sent to that
// number by SMS, "1 A17" claims A17; the sender is the guard whose mobile sent it, never a
// name in the text. The answer goes back by SMS: claimed, or who has it already.
func (s *Service) SMSReply(ctx context.Context, from, text string) {
	g, ok := s.roster.GuardByMobile(from)
	if !ok {
		s.metrics.claims.WithLabelValues("invalid").Inc()
		s.log.Warn("patrol SMS from a number no guard has: ignored", "from", maskNumber(from))
		return
	}
	alert, ok := parseReply(text)
	if !ok {
		s.metrics.claims.WithLabelValues("invalid").Inc()
		s.answer(g, s.lang.T("phone.reply.help"))
		return
	}
	if alert == "" {
		id, err := s.store.LastSent("sms", g.ID, func(id string) bool {
			a, ok := s.Alert(id)
			return ok && a.Unclaimed()
		})
		if err != nil || id == "" {
			s.answer(g, s.lang.T("phone.reply.none"))
			return
		}
		alert = id
	}
	if _, err := s.Claim(alert, g.ID); err != nil {
		a, _ := s.Alert(alert)
		s.answer(g, s.refusedText(&a, err))
		return
	}
	s.log.Info("patrol alert claimed by SMS", "alert", alert, "guard", g.ID)
}

// answer texts a guard directly, through the outbox like every message.
func (s *Service) answer(g Guard, text string) {
	m := Message{Type: ActionRefused, Text: text, Message: text, Site: s.site, At: s.now(), To: []Guard{g}, channels: []string{"sms"}}
	s.dispatch.Enqueue(m)
}

// parseReply reads "1", "1 A17", "1A17", "1 17" (full-width digits too): the alert, "" for the
// newest, or false for anything else.
func parseReply(text string) (string, bool) {
	t := strings.Map(func(r rune) rune {
		if r >= '０' && r <= '９' {
			return '0' + (r - '０')
		}
		if r == 'ａ' || r == 'Ａ' {
			return 'A'
		}
		if r == '　' {
			return ' '
		}
		return r
	}, strings.TrimSpace(text))
	rest, ok := strings.CutPrefix(t, "1")
	if !ok {
		return "", false
	}
	rest = strings.ToUpper(strings.TrimSpace(rest))
	if rest == "" {
		return "", true
	}
	rest = strings.TrimPrefix(rest, "A")
	if rest == "" || strings.Trim(rest, "0123456789") != "" {
		return "", false
	}
	return "A" + rest, true
}

// maskNumber keeps the last four digits of a phone number for the log.
func maskNumber(n string) string {
	if len(n) <= 4 {
		return "****"
	}
	return strings.Repeat("*", len(n)-4) + n[len(n)-4:]
}

// sameNumber compares phone numbers as a modem may give them: digits only, "00" or "+"
// before the country code, and +86 (China) optional before an 11-digit mobile.
func sameNumber(a, b string) bool {
	da, db := digits(a), digits(b)
	if da == "" || db == "" {
		return false
	}
	return da == db || strings.TrimPrefix(da, "86") == db && len(da) == 13 || strings.TrimPrefix(db, "86") == da && len(db) == 13
}

func digits(n string) string {
	var b strings.Builder
	for _, r := range n {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return strings.TrimPrefix(b.String(), "00")
}
