package patrol

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/internal/modem"
	"github.com/facilityd/facilityd/internal/robotfake"
	"github.com/facilityd/facilityd/internal/testutil"
	"github.com/facilityd/facilityd/simulators"
)

// phone is a fake phone channel: a robot (Limited) or a personal one (PerGuard), which can
// fail on cue and test itself.
type phone struct {
	name     string
	perGuard bool
	limit    int
	mu       sync.Mutex
	sent     []Message
	fail     error
	selfErr  error
}

func (p *phone) Name() string   { return p.name }
func (p *phone) PerGuard() bool { return p.perGuard }
func (p *phone) Send(_ context.Context, m Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.sent = append(p.sent, m)
	return nil
}
func (p *phone) SelfTest(context.Context) error { return p.selfErr }
func (p *phone) messages() []Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sent)
}
func (p *phone) setFail(err error) { p.mu.Lock(); p.fail = err; p.mu.Unlock() }

// limited is a phone with a rate limit.
type limited struct{ *phone }

func (l limited) Limit() (int, int) { return l.limit, 5 }

// phoneRig runs a patrol with a robot, SMS and a call channel, on a stepped clock, delivering
// through the outbox (its dispatcher polls every 10 ms).
type phoneRig struct {
	s          *Service
	clock      *testutil.Clock
	robot      *phone
	sms, call  *phone
	health     map[string]error
	healthMu   sync.Mutex
	stop       func()
	cfg        *Config
	deliveries int
}

func phoneConfig(t *testing.T) *Config {
	cfg := testConfig(t)
	for i := range cfg.Guards {
		cfg.Guards[i].Mobile = "+861380000000" + string(rune('0'+i))
	}
	cfg.Phones.LinkBase = "http://gw.estate:8080"
	return cfg
}

func newPhoneRig(t *testing.T, cfg *Config, start time.Time, robot, sms, call *phone, held ...bool) *phoneRig {
	t.Helper()
	r := &phoneRig{clock: testutil.NewClock(start), robot: robot, sms: sms, call: call, health: map[string]error{}, cfg: cfg}
	deps := Deps{Now: r.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Acker: &fakeAcker{},
		Channels: []Channel{limited{robot}, sms, call},
		ChannelHealth: func(ch string, err error) {
			r.healthMu.Lock()
			r.health[ch] = err
			r.healthMu.Unlock()
		}}
	s, err := New(*cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	s.dispatch.opts.Poll = 10 * time.Millisecond
	r.s = s
	r.stop = func() { s.Close() }
	if len(held) == 0 {
		r.run()
	}
	t.Cleanup(func() {
		if r.stop != nil {
			r.stop()
		}
	})
	return r
}

// run starts delivering; stop stops it and closes the service.
func (r *phoneRig) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.s.dispatch.Run(ctx) }()
	r.stop = func() { cancel(); <-done; r.s.Close() }
}

// settle waits until every channel's outbox is empty of due messages.
func (r *phoneRig) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		busy := false
		for _, c := range []string{r.robot.name, r.sms.name, r.call.name} {
			due, err := r.s.store.Pending(c, r.clock.Now(), 1)
			if err != nil {
				t.Fatal(err)
			}
			busy = busy || len(due) > 0
		}
		if !busy {
			time.Sleep(20 * time.Millisecond) // a send in flight is recorded after Send returns
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("outbox not drained in 5 s")
}

func to(list []Message) []string {
	var out []string
	for _, m := range list {
		out = append(out, string(m.Type)+":"+strings.Join(ids(m.To), ","))
	}
	return out
}

func newPhones() (*phone, *phone, *phone) {
	return &phone{name: "wecom", limit: 20}, &phone{name: "sms", perGuard: true}, &phone{name: "call", perGuard: true}
}

// An entrapment at night: the zone's guards on the robot and by SMS at once; unclaimed, the
// supervisor by SMS at 60 s and a call at 90 s, the chief at 120 s by SMS and call; a guard's
// SMS reply claims it, every ladder stops, and everyone told hears who has it.
func TestLadderClimbsAndStopsOnAnSMSClaim(t *testing.T) {
	t.Parallel()
	robot, sms, call := newPhones()
	cfg := phoneConfig(t)
	// life safety: group + supervisor at once by the default rules; keep the supervisor for
	// the ladder alone here, as a site whose rule tells only the group at once.
	cfg.Rules = []Rule{{Class: "life_safety", Notify: []string{"group"}, Channels: []string{"mqtt", "wecom", "sms"}}}
	r := newPhoneRig(t, cfg, night, robot, sms, call)
	e := raised("L1-1/entrapment", "north", alarms.PriorityCritical, alarms.ClassLifeSafety)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	id := "A" + itoa(e.Seq)
	r.settle(t)
	if got := to(robot.messages()); !slices.Equal(got, []string{"alert:g1,g2"}) {
		t.Fatalf("robot at once: %v", got)
	}
	if got := to(sms.messages()); !slices.Equal(got, []string{"alert:g1", "alert:g2"}) {
		t.Fatalf("sms at once: %v", got)
	}
	if m := sms.messages()[0]; !strings.Contains(r.s.phoneText(m, "g1"), "claim="+"") || !strings.Contains(r.s.phoneText(m, "g1"), "Reply 1 "+id) {
		t.Errorf("SMS text lacks the reply instruction or the link:\n%s", r.s.phoneText(m, "g1"))
	}
	steps := []struct {
		step      time.Duration
		sms, call []string
	}{
		{60 * time.Second, []string{"escalation:sup-n"}, nil},
		{30 * time.Second, nil, []string{"escalation:sup-n"}},
		{30 * time.Second, []string{"escalation:chief"}, []string{"escalation:chief"}},
	}
	for i, st := range steps {
		nSMS, nCall := len(sms.messages()), len(call.messages())
		r.clock.Step(st.step)
		r.s.Tick()
		r.settle(t)
		if got := to(sms.messages()[nSMS:]); !slices.Equal(got, st.sms) {
			t.Fatalf("rung %d: sms %v, want %v", i, got, st.sms)
		}
		if got := to(call.messages()[nCall:]); !slices.Equal(got, st.call) {
			t.Fatalf("rung %d: call %v, want %v", i, got, st.call)
		}
	}
	// g2 replies "1" from the phone: the newest alert texted to g2 is claimed in g2's name.
	nSMS, nRobot := len(sms.messages()), len(robot.messages())
	r.s.SMSReply(context.Background(), "8613800000001", "1")
	a, _ := r.s.Alert(id)
	if a.Owner != "g2" || a.State != StateClaimed {
		t.Fatalf("after g2's reply: owner %q state %s", a.Owner, a.State)
	}
	r.settle(t)
	claimSMS := to(sms.messages()[nSMS:])
	if !slices.Equal(claimSMS, []string{"claim:g1", "claim:g2", "claim:sup-n", "claim:chief"}) {
		t.Errorf("claim told by SMS to %v, want everyone told", claimSMS)
	}
	if got := to(robot.messages()[nRobot:]); len(got) != 1 || !strings.HasPrefix(got[0], "claim:") {
		t.Errorf("claim on the robot: %v", got)
	}
	// Nothing climbs any more, however long nobody acknowledges.
	nSMS, nCall := len(sms.messages()), len(call.messages())
	for range 10 {
		r.clock.Step(time.Minute)
		r.s.Tick()
	}
	r.settle(t)
	if len(sms.messages()) != nSMS || len(call.messages()) != nCall {
		t.Errorf("after the claim: %v SMS and %v calls more", to(sms.messages()[nSMS:]), to(call.messages()[nCall:]))
	}
	// A second guard's reply is refused by SMS, naming the owner.
	r.s.SMSReply(context.Background(), "+86 138 0000 0000", "1 "+id)
	r.settle(t)
	last := sms.messages()[len(sms.messages())-1]
	if last.Type != ActionRefused || ids(last.To)[0] != "g1" || !strings.Contains(last.Text, "Li") {
		t.Errorf("the second claim's answer: %s to %v: %q", last.Type, ids(last.To), last.Text)
	}
}

// A call queued for an alert that is claimed before the modem gets to it is not made.
func TestClaimedAlertIsNotCalled(t *testing.T) {
	t.Parallel()
	robot, sms, call := newPhones()
	r := newPhoneRig(t, phoneConfig(t), night, robot, sms, call)
	// The call channel is down when the rung comes, so its message waits for a retry.
	call.setFail(errors.New("modem busy"))
	e := raised("FP-1/fire_zone_alarm/02", "south", alarms.PriorityCritical, alarms.ClassLifeSafety)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	r.clock.Step(90 * time.Second)
	r.s.Tick()
	r.s.Tick()
	time.Sleep(100 * time.Millisecond)
	if _, err := r.s.Claim("A"+itoa(e.Seq), "g3"); err != nil {
		t.Fatal(err)
	}
	call.setFail(nil)
	r.clock.Step(time.Minute) // past the retry's backoff
	r.settle(t)
	if got := call.messages(); len(got) != 0 {
		t.Fatalf("calls made after the claim: %v", to(got))
	}
	counts, _ := r.s.store.OutboxCounts()
	if counts["call/skipped"] == 0 {
		t.Errorf("outbox %v: the call should be skipped", counts)
	}
}

// A restart between the commit of an alert and its delivery sends it once; after delivery a
// restart sends nothing again.
func TestRestartSendsNothingTwice(t *testing.T) {
	t.Parallel()
	robot, sms, call := newPhones()
	cfg := phoneConfig(t)
	robot.setFail(errors.New("robot down"))
	sms.setFail(errors.New("no signal"))
	r := newPhoneRig(t, cfg, night, robot, sms, call)
	e := raised("L1-1/entrapment", "north", alarms.PriorityCritical, alarms.ClassLifeSafety)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	r.stop()
	r.stop = nil
	// Back up, channels working: the waiting messages go once each.
	robot.setFail(nil)
	sms.setFail(nil)
	r2 := newPhoneRig(t, cfg, r.clock.Now().Add(time.Minute), robot, sms, call)
	r2.settle(t)
	if got := to(robot.messages()); len(got) != 1 || got[0] != "alert:g1,g2,sup-n" {
		t.Fatalf("robot after the restart: %v", got)
	}
	if got := to(sms.messages()); !slices.Equal(got, []string{"alert:g1", "alert:g2", "alert:sup-n"}) {
		t.Fatalf("sms after the restart: %v", got)
	}
	// The journal hands the same event again (its cursor had not moved): nothing new.
	if err := r2.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	r2.stop()
	r2.stop = nil
	r3 := newPhoneRig(t, cfg, r2.clock.Now(), robot, sms, call)
	r3.settle(t)
	if n, m := len(robot.messages()), len(sms.messages()); n != 1 || m != 3 {
		t.Errorf("after a second restart: %d robot and %d SMS messages, want 1 and 3", n, m)
	}
}

// Twelve fire zones at once on a robot become one summary naming every zone, not twelve
// messages and not silence.
func TestBurstBecomesOneSummary(t *testing.T) {
	t.Parallel()
	robot, sms, call := newPhones()
	// The alarms arrive before the robot's worker gets to them (held here): they wait together.
	r2 := newPhoneRig(t, phoneConfig(t), night, robot, sms, call, true)
	var zones []string
	for i := range 12 {
		zone := "north"
		if i%2 == 1 {
			zone = "south"
		}
		id := "FP-1/fire_zone_alarm/" + itoa(uint64(i+1))
		zones = append(zones, id)
		if err := r2.s.Handle(raised(id, zone, alarms.PriorityCritical, alarms.ClassLifeSafety)); err != nil {
			t.Fatal(err)
		}
	}
	r2.run()
	r2.settle(t)
	got := robot.messages()
	if len(got) != 1 || got[0].Type != ActionSummary || len(got[0].Summary) != 12 {
		t.Fatalf("robot got %d messages (%v), want one summary of 12", len(got), to(got))
	}
	text := r2.s.phoneText(got[0], "")
	for _, z := range zones {
		if !strings.Contains(text, z) {
			t.Errorf("summary does not name %s:\n%s", z, text)
		}
	}
	// SMS is personal: each guard still gets each alert (no summary hides one from them).
	if n := len(sms.messages()); n != 6*3+6*2 {
		t.Errorf("%d SMS, want 30 (each alert to its zone's guards and the supervisor)", n)
	}
}

// A self-test that fails is reported, so the gateway raises its alarm in the morning; a
// passing one clears it.
func TestSelfTestReportsAFailedChannel(t *testing.T) {
	t.Parallel()
	robot, sms, call := newPhones()
	cfg := phoneConfig(t)
	cfg.Phones.SelfTest = "09:00"
	sms.selfErr = errors.New("+CME ERROR: 10 (SIM not inserted)")
	morning := time.Date(2026, 11, 27, 8, 59, 0, 0, shanghai)
	r := newPhoneRig(t, cfg, morning, robot, sms, call)
	r.s.selfTest(context.Background(), r.clock.Now())
	if len(r.health) != 0 {
		t.Fatalf("self-test ran before 09:00: %v", r.health)
	}
	r.clock.Step(time.Minute)
	r.s.selfTest(context.Background(), r.clock.Now())
	r.healthMu.Lock()
	smsErr, robotErr, ran := r.health["sms"], r.health["wecom"], len(r.health)
	r.health = map[string]error{}
	r.healthMu.Unlock()
	if ran != 3 || smsErr == nil || robotErr != nil {
		t.Fatalf("self-test results: sms %v, wecom %v, %d channels", smsErr, robotErr, ran)
	}
	// Once a day: a later tick (or a restart) the same day does not test again.
	r.clock.Step(time.Hour)
	r.s.selfTest(context.Background(), r.clock.Now())
	r.stop()
	r.stop = nil
	r2 := newPhoneRig(t, cfg, r.clock.Now(), robot, sms, call)
	r2.s.selfTest(context.Background(), r2.clock.Now())
	if len(r.health) != 0 || len(r2.health) != 0 {
		t.Fatalf("self-test ran twice in a day: %v %v", r.health, r2.health)
	}
}

// A guard claims only alerts of the zones the guard's groups patrol.
func TestClaimOnlyInOwnZone(t *testing.T) {
	t.Parallel()
	robot, sms, call := newPhones()
	r := newPhoneRig(t, phoneConfig(t), night, robot, sms, call)
	e := raised("P-2/pit_high_high", "south", alarms.PriorityHigh, alarms.ClassEquipment)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	id := "A" + itoa(e.Seq)
	if _, err := r.s.Claim(id, "g1"); !errors.Is(err, ErrNotYourZone) {
		t.Fatalf("g1 (north) claiming a south alert: %v, want ErrNotYourZone", err)
	}
	if a, err := r.s.Claim(id, "g4"); err != nil || a.Owner != "g4" {
		t.Fatalf("g4 (day patrol of the south) claiming: %v owner %q", err, a.Owner)
	}
}

// A claim link claims in its guard's name; a forged or another alert's token does not.
func TestClaimLink(t *testing.T) {
	t.Parallel()
	robot, sms, call := newPhones()
	r := newPhoneRig(t, phoneConfig(t), night, robot, sms, call)
	e := raised("L1-1/entrapment", "north", alarms.PriorityCritical, alarms.ClassLifeSafety)
	if err := r.s.Handle(e); err != nil {
		t.Fatal(err)
	}
	id := "A" + itoa(e.Seq)
	link := r.s.link(id, "g1")
	_, tok, ok := strings.Cut(link, "?claim=")
	if !ok || !strings.HasPrefix(link, "http://gw.estate:8080/#/patrol/"+id) {
		t.Fatalf("link %q", link)
	}
	// g2's token with one character of its MAC changed: always a different
	// character, so the forgery never equals the real token by chance.
	forged := []byte(r.s.links.token(id, "g2"))
	i := len(forged) - 3
	if forged[i] == 'A' {
		forged[i] = 'B'
	} else {
		forged[i] = 'A'
	}
	// The real token with the unused low bits of its last character set: the same bytes to
	// a lenient decoder, another spelling to a strict one.
	respelt := []byte(tok)
	respelt[len(respelt)-1] = base64URL[strings.IndexByte(base64URL, respelt[len(respelt)-1])|1]
	for _, bad := range []string{"", "x.y", string(forged), string(respelt), strings.Replace(tok, ".", "", 1)} {
		if _, err := r.s.ClaimLink(bad); !errors.Is(err, ErrBadLink) {
			t.Errorf("token %q: %v, want ErrBadLink", bad, err)
		}
	}
	a, err := r.s.ClaimLink(tok)
	if err != nil || a.Owner != "g1" {
		t.Fatalf("claim by link: %v owner %q", err, a.Owner)
	}
	// Keys survive a restart: the same link still names the alert, now owned.
	r.stop()
	r.stop = nil
	r2 := newPhoneRig(t, r.cfg, r.clock.Now(), robot, sms, call)
	if a, g, err := r2.s.LinkAlert(tok); err != nil || g.ID != "g1" || a.Owner != "g1" {
		t.Fatalf("link after restart: %v %s %q", err, g.ID, a.Owner)
	}
	if err := r2.s.Handle(next(e, alarms.EventCleared)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r2.s.LinkAlert(tok); !errors.Is(err, ErrBadLink) {
		t.Errorf("link of a cleared alert: %v, want ErrBadLink", err)
	}
}

func TestParseReply(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, alert string
		ok        bool
	}{
		{"1", "", true}, {" 1 ", "", true}, {"1 A17", "A17", true}, {"1a17", "A17", true}, {"1 17", "A17", true},
		{"１ Ａ１７", "A17", true}, {"2", "", false}, {"1 B7", "", false}, {"yes", "", false}, {"", "", false}, {"1 A", "", false},
	} {
		alert, ok := parseReply(tt.in)
		if alert != tt.alert || ok != tt.ok {
			t.Errorf("parseReply(%q) = %q, %v; want %q, %v", tt.in, alert, ok, tt.alert, tt.ok)
		}
	}
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"+8613800000001", "8613800000001", true}, {"+86 138-0000-0001", "13800000001", true},
		{"008613800000001", "13800000001", true}, {"13800000001", "13800000002", false}, {"", "", false},
	} {
		if got := sameNumber(tt.a, tt.b); got != tt.same {
			t.Errorf("sameNumber(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

// The robots built from patrol.phones reach the vendors' APIs (local fakes that check the
// body, the signature and the rate limit as the vendors do): the alert's first line, the
// guards mentioned by mobile, @all for life safety; a rate-limited robot is tried again a
// minute later, and the message still arrives once.
func TestRobotsFromConfiguration(t *testing.T) {
	t.Parallel()
	clk := testutil.NewClock(night)
	wecom, ding, feishu := robotfake.NewWeCom(t), robotfake.NewDingTalk(t, "SECdemo"), robotfake.NewFeishu(t, "feishu-secret")
	for _, f := range []*robotfake.Server{wecom, ding, feishu} {
		f.SetNow(clk.Now)
	}
	cfg := phoneConfig(t)
	cfg.Phones.WeCom.URL = wecom.URL()
	cfg.Phones.DingTalk.URL, cfg.Phones.DingTalk.Secret = ding.URL(), "SECdemo"
	cfg.Phones.Feishu.URL, cfg.Phones.Feishu.Secret = feishu.URL(), "feishu-secret"
	s, err := New(*cfg, Deps{Now: clk.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.dispatch.opts.Poll = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.dispatch.Run(ctx) }()
	defer func() { cancel(); <-done; s.Close() }()

	wecom.FailNext(1, 45009) // "api freq out of limit"
	e := raised("L1-1/entrapment", "north", alarms.PriorityCritical, alarms.ClassLifeSafety)
	if err := s.Handle(e); err != nil {
		t.Fatal(err)
	}
	id := "A" + itoa(e.Seq)
	for _, f := range []*robotfake.Server{ding, feishu} {
		got := f.WaitFor(t, 1, 5*time.Second)[0]
		if !strings.HasPrefix(got.Text, "[critical] L1-1/entrapment in north") || !strings.Contains(got.Text, id) {
			t.Errorf("%s got %q", f.Kind(), got.Text)
		}
		if !got.AtAll {
			t.Errorf("%s: a life-safety alert should @all", f.Kind())
		}
	}
	if m := ding.Messages()[0]; !slices.Contains(m.Mentions, "+8613800000000") {
		t.Errorf("dingtalk mentions %v, want g1's mobile", m.Mentions)
	}
	// WeCom refused it with its rate-limit code: nothing more until a minute has passed.
	time.Sleep(100 * time.Millisecond)
	if n := len(wecom.Messages()); n != 0 {
		t.Fatalf("wecom got %d messages while rate-limited", n)
	}
	clk.Step(61 * time.Second)
	if got := wecom.WaitFor(t, 1, 5*time.Second); len(got) != 1 || !strings.Contains(got[0].Text, id) {
		t.Fatalf("wecom after the limit: %+v", got)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(wecom.Messages()); n != 1 {
		t.Errorf("wecom got the alert %d times", n)
	}
}

// SMS and calls through the AT-command driver and a simulated modem on the other end of the
// line: the alert texted to each guard (Chinese text, several parts), a guard's reply claims
// it, and a call rings the supervisor; with the SIM gone the self-test fails.
func TestModemEndToEnd(t *testing.T) {
	t.Parallel()
	clk := testutil.NewClock(night)
	cfg := phoneConfig(t)
	cfg.Locale = "zh-CN"
	cfg.Phones.SMS.Modem.Port = "/dev/null" // replaced by the pipe below
	cfg.Phones.Call = Call{Enabled: true, Ring: 5 * time.Second}
	sim := simulators.NewModem("alarm-dialer")
	s, err := New(*cfg, Deps{Now: clk.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var link *modemLink
	for _, c := range s.chans {
		if sc, ok := c.(*smsChannel); ok {
			link = sc.sms.(*modemLink)
			link.open = func(mc modem.Config, log *slog.Logger) (*modem.Modem, error) {
				ours, theirs := net.Pipe()
				go sim.Serve(ctx, theirs) //nolint:errcheck // ends with the pipe
				return modem.New(ours, mc, log)
			}
		}
	}
	s.dispatch.opts.Poll = 10 * time.Millisecond
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	defer func() { cancel(); <-done; s.Close() }()
	// The clock is stepped by hand: a send tried before the modem is up would wait for a retry
	// that this clock never reaches. (On a real clock it goes 2 s later.)
	testutil.WaitFor(t, "the modem ready", 10*time.Second, func() bool { _, err := link.get(); return err == nil })

	e := raised("L1-1/entrapment", "north", alarms.PriorityCritical, alarms.ClassLifeSafety)
	e.Alarm.Message = "1 号楼电梯 L1-1 困人，请立即前往救援并安抚乘客，同时通知维保单位到场处理，保持对讲畅通，确认轿厢位置后再行开门"
	if err := s.Handle(e); err != nil {
		t.Fatal(err)
	}
	id := "A" + itoa(e.Seq)
	testutil.WaitFor(t, "the alert texted to g1, g2 and the supervisor", 10*time.Second, func() bool { return len(sim.Sent()) >= 3 })
	var g1 simulators.SentSMS
	for _, m := range sim.Sent() {
		if m.To == "+8613800000000" {
			g1 = m
		}
	}
	if !strings.HasPrefix(g1.Text, "【紧急】") || !strings.Contains(g1.Text, "回复 1 "+id+" 认领") || !strings.Contains(g1.Text, "?claim=") || g1.Parts < 2 {
		t.Errorf("g1's SMS (%d parts):\n%s", g1.Parts, g1.Text)
	}
	// g1 answers "1": the modem hands the SMS over, and the claim is g1's.
	if err := sim.Deliver("+8613800000000", "1"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "g1's claim", 10*time.Second, func() bool { a, _ := s.Alert(id); return a.Owner == "g1" })
	testutil.WaitFor(t, "the claim texted to everyone told", 10*time.Second, func() bool { return len(sim.Sent()) >= 6 })
	// Nothing climbs: no SMS to the chief, no call, however long nobody acknowledges.
	for range 5 {
		clk.Step(time.Minute)
		s.Tick()
	}
	time.Sleep(200 * time.Millisecond)
	if calls := sim.Calls(); len(calls) != 0 {
		t.Errorf("calls after the claim: %+v", calls)
	}

	// A second alert nobody claims: the supervisor's SMS at 60 s and a call at 90 s.
	e2 := raised("FP-1/fire_zone_alarm/03", "south", alarms.PriorityCritical, alarms.ClassLifeSafety)
	if err := s.Handle(e2); err != nil {
		t.Fatal(err)
	}
	clk.Step(90 * time.Second)
	s.Tick()
	s.Tick()
	testutil.WaitFor(t, "a call to the supervisor", 10*time.Second, func() bool { return len(sim.Calls()) == 1 })
	if c := sim.Calls()[0]; c.To != "+8613800000004" {
		t.Errorf("called %s, want the night supervisor", c.To)
	}
	// The SIM is gone: the self-test says so.
	sim.SetSIM(false)
	failed := s.RunSelfTests(context.Background())
	if failed["sms"] == nil || failed["call"] == nil {
		t.Errorf("self-test with no SIM: %v", failed)
	}
}

// A long alert still goes by SMS: the alarm's text is cut, what to do and the link stay whole.
func TestFitSMS(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("电梯困人", 200) + "\n" + "回复 1 A17 认领。\nhttp://gw/#/patrol/A17?claim=abc.def"
	got := fitSMS(long)
	if n := len([]rune(got)); n > smsMaxRunes {
		t.Errorf("%d characters, want at most %d", n, smsMaxRunes)
	}
	if !strings.HasSuffix(got, "回复 1 A17 认领。\nhttp://gw/#/patrol/A17?claim=abc.def") || !strings.HasPrefix(got, "电梯困人") {
		t.Errorf("cut the wrong part:\n%s", got)
	}
	if short := "1\n2"; fitSMS(short) != short {
		t.Errorf("a short text changed")
	}
}

// A guard with a user id in the app is mentioned by it; one without, by mobile.
func TestRobotMentions(t *testing.T) {
	t.Parallel()
	robot, sms, call := newPhones()
	cfg := phoneConfig(t)
	cfg.Guards[0].AppUser = map[string]string{"dingtalk": "manager4711"}
	r := newPhoneRig(t, cfg, night, robot, sms, call)
	m := Message{Type: ActionAlert, Class: "equipment", To: []Guard{{ID: "g1"}, {ID: "g2"}}}
	got := r.s.robotMessage(m, "dingtalk")
	if !slices.Equal(got.UserIDs, []string{"manager4711"}) || !slices.Equal(got.Mobiles, []string{"+8613800000001"}) || got.AtAll {
		t.Errorf("dingtalk mentions %+v", got)
	}
	if got := r.s.robotMessage(m, "wecom"); len(got.UserIDs) != 0 || len(got.Mobiles) != 2 {
		t.Errorf("wecom mentions %+v", got)
	}
}

// An HTTP SMS gateway gets one request per SMS from the configured template, its text
// JSON-escaped (quotes, new lines, Chinese), with its header; a refusal fails the send.
func TestSMSGateway(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []map[string]string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]string
		err := json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		defer mu.Unlock()
		if err != nil || r.Header.Get("Authorization") != "Bearer k" || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		bodies = append(bodies, b)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	cfg := phoneConfig(t)
	g := &cfg.Phones.SMS.Gateway
	g.URL = srv.URL + "/send"
	g.Body = `{"to": {{json .To}}, "text": {{json .Text}}}`
	g.Headers = map[string]string{"Authorization": "Bearer k"}
	s, err := New(*cfg, Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ch *smsChannel
	for _, c := range s.chans {
		if sc, ok := c.(*smsChannel); ok {
			ch = sc
		}
	}
	if ch == nil {
		t.Fatal("no sms channel built from patrol.phones.sms.gateway")
	}
	text := "【紧急】1 号楼 \"L1-1\" 困人\n回复 1 A17 认领"
	if err := ch.sms.SendSMS(context.Background(), "+8613800000001", text); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(bodies) != 1 || bodies[0]["to"] != "+8613800000001" || bodies[0]["text"] != text {
		t.Errorf("gateway got %v", bodies)
	}
	status = http.StatusTooManyRequests
	mu.Unlock()
	if err := ch.sms.SendSMS(context.Background(), "+8613800000001", "x"); err == nil || !strings.Contains(err.Error(), "429") || strings.Contains(err.Error(), "send?") {
		t.Errorf("a refused SMS: %v", err)
	}
}

const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
