package modem_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/modem"
	"github.com/facilityd/facilityd/simulators"
)

// rig is the driver on one end of a pipe and the simulated modem on the other, initialised.
func rig(t *testing.T, cfg modem.Config, setup func(*simulators.Modem)) (*modem.Modem, *simulators.Modem, error) {
	t.Helper()
	a, b := net.Pipe()
	sim := simulators.NewModem("gsm-1")
	if setup != nil {
		setup(sim)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- sim.Serve(ctx, b) }()
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = 2 * time.Second
	}
	m, err := modem.New(a, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
		b.Close()
		<-served
	})
	return m, sim, m.Init(ctx)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSend(t *testing.T) {
	long := strings.Repeat("三号楼地下室集水井水位高，请值班人员立即前往。", 6)
	tests := []struct {
		name  string
		text  string
		parts int
	}{
		{"GSM text", "Fire alarm zone 3, reply 1 to claim", 1},
		{"extension characters", "Pump [P-3] {dry run} €", 1},
		{"chinese", "电梯困人：2号楼1号梯", 1},
		{"long chinese in parts", long, 3},
	}
	m, sim, err := rig(t, modem.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refs, err := m.Send(ctxT(t), "+8613800138000", tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) != tt.parts {
				t.Errorf("%d references, want one per part (%d)", len(refs), tt.parts)
			}
			sent := sim.Sent()
			if len(sent) != i+1 {
				t.Fatalf("the modem has %d messages, want %d", len(sent), i+1)
			}
			got := sent[i]
			if got.To != "+8613800138000" || got.Text != tt.text || got.Parts != tt.parts {
				t.Errorf("modem sent %+v", got)
			}
		})
	}
}

func TestDeliveryReports(t *testing.T) {
	m, _, err := rig(t, modem.Config{StatusReports: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := m.Send(ctxT(t), "+8613800138001", "Entrapment lift 2")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-m.Reports():
		if r.Ref != refs[0] || !r.Delivered || r.To != "+8613800138001" {
			t.Errorf("report %+v, want delivered ref %d", r, refs[0])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery report")
	}
}

func TestReceive(t *testing.T) {
	tests := []struct {
		name, from, text string
	}{
		{"claim", "+8613800138000", "1"},
		{"claim naming the alert", "+8613800138002", "1 A17"},
		{"long chinese reply in parts", "13800138003", strings.Repeat("收到，马上到现场处理。", 10)},
	}
	m, sim, err := rig(t, modem.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := sim.Deliver(tt.from, tt.text); err != nil {
				t.Fatal(err)
			}
			in := receive(t, m)
			if in.From != tt.from || in.Text != tt.text || in.Partial {
				t.Errorf("received %+v, want %q from %s", in, tt.text, tt.from)
			}
		})
	}
	// Every message read was deleted, so the SIM does not fill up.
	deadline := time.Now().Add(5 * time.Second)
	for sim.Stored() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the delete follows the hand-over; no clock to step
	}
	if n := sim.Stored(); n != 0 {
		t.Errorf("%d messages left in the modem's storage", n)
	}
}

func receive(t *testing.T, m *modem.Modem) modem.Incoming {
	t.Helper()
	select {
	case in := <-m.Received():
		return in
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received")
	}
	return modem.Incoming{}
}

// TestReceiveStoredWhileAway: a reply that came while facilityd was down is read at Init.
func TestReceiveStoredWhileAway(t *testing.T) {
	m, _, err := rig(t, modem.Config{}, func(s *simulators.Modem) {
		if err := s.Deliver("+8613800138000", "1 A17"); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if in := receive(t, m); in.Text != "1 A17" {
		t.Errorf("received %+v", in)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(*simulators.Modem)
		cfg    modem.Config
		initIs error // Init's error
		check  error // Check's error
		send   error // Send's error
		kind   string
		code   int
	}{
		{"no signal", func(s *simulators.Modem) { s.SetSignal(false) }, modem.Config{},
			nil, modem.ErrNoSignal, modem.ErrNotRegistered, "CMS", 331},
		{"no SIM", func(s *simulators.Modem) { s.SetSIM(false) }, modem.Config{},
			modem.ErrNoSIM, modem.ErrNoSIM, modem.ErrNoSIM, "CMS", 310},
		{"PIN not configured", func(s *simulators.Modem) { s.SetPIN("4321") }, modem.Config{},
			modem.ErrSIMLocked, modem.ErrSIMLocked, nil, "", 0},
		{"PIN configured", func(s *simulators.Modem) { s.SetPIN("4321") }, modem.Config{PIN: "4321"},
			nil, nil, nil, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, err := rig(t, tt.cfg, tt.setup)
			if !errors.Is(err, tt.initIs) || (err == nil) != (tt.initIs == nil) {
				t.Fatalf("Init: %v, want %v", err, tt.initIs)
			}
			ctx := ctxT(t)
			st, err := m.Check(ctx)
			if !errors.Is(err, tt.check) || (err == nil) != (tt.check == nil) {
				t.Errorf("Check: %v (%+v), want %v", err, st, tt.check)
			}
			if tt.check == nil && (st.Registration != modem.Home || st.DBm != -113+2*21) {
				t.Errorf("status %+v, want home, -71 dBm", st)
			}
			if tt.kind == "" {
				return
			}
			_, err = m.Send(ctx, "+8613800138000", "test")
			var me *modem.Error
			if !errors.Is(err, tt.send) || !errors.As(err, &me) || me.Kind != tt.kind || me.Code != tt.code {
				t.Errorf("Send: %v, want %s ERROR %d matching %v", err, tt.kind, tt.code, tt.send)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  *modem.Error
		want string
	}{
		{&modem.Error{Cmd: "AT+CMGS=23", Kind: "CMS", Code: 330}, "SMSC address unknown"},
		{&modem.Error{Cmd: "AT+CMGS=23", Kind: "CMS", Code: 332}, "network timeout"},
		{&modem.Error{Cmd: "AT+CPIN?", Kind: "CME", Code: 10}, "SIM not inserted"},
		{&modem.Error{Cmd: "AT+COPS?", Kind: "CME", Code: 30}, "no network service"},
		{&modem.Error{Cmd: "AT+XYZ", Kind: "CME", Code: 999}, "27.007"},
		{&modem.Error{Cmd: "AT+XYZ"}, "AT+CMEE=1"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); !strings.Contains(got, tt.want) || !strings.Contains(got, tt.err.Cmd) {
			t.Errorf("%+v: %q lacks %q or the command", tt.err, got, tt.want)
		}
	}
}

func TestCall(t *testing.T) {
	tests := []struct {
		answer simulators.CallAnswer
		want   modem.CallResult
	}{
		{simulators.CallAnswered, modem.Answered},
		{simulators.CallBusy, modem.Busy},
		{simulators.CallNoAnswer, modem.NoAnswer},
		{simulators.CallFailed, modem.Failed},
	}
	m, sim, err := rig(t, modem.Config{CallPoll: 20 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(string(tt.answer), func(t *testing.T) {
			sim.AnswerCalls(tt.answer)
			got, err := m.Call(ctxT(t), "+8613800138000", 200*time.Millisecond)
			if err != nil || got != tt.want {
				t.Fatalf("Call: %v, %v; want %v", got, err, tt.want)
			}
			calls := sim.Calls()
			if len(calls) != i+1 || calls[i].Result != tt.answer || calls[i].To != "+8613800138000" {
				t.Errorf("modem's calls %+v", calls)
			}
		})
	}
	// The line is free again: the last call was hung up.
	if _, err := m.Check(ctxT(t)); err != nil {
		t.Errorf("Check after the calls: %v", err)
	}
}

// TestTimeoutRecovers: a command the modem never answers times out, and the next works.
func TestTimeoutRecovers(t *testing.T) {
	m, sim, err := rig(t, modem.Config{CommandTimeout: 200 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim.Swallow("AT+CSQ")
	if _, err := m.Check(ctxT(t)); !errors.Is(err, modem.ErrTimeout) {
		t.Fatalf("Check with a wedged modem: %v, want ErrTimeout", err)
	}
	if _, err := m.Check(ctxT(t)); err != nil {
		t.Fatalf("Check after the timeout: %v", err)
	}
	sim.Swallow("AT+CMGS")
	if _, err := m.Send(ctxT(t), "+8613800138000", "x"); !errors.Is(err, modem.ErrTimeout) {
		t.Fatalf("Send with no prompt: %v, want ErrTimeout", err)
	}
	if _, err := m.Send(ctxT(t), "+8613800138000", "after"); err != nil {
		t.Fatalf("Send after the timeout: %v", err)
	}
	if s := sim.Sent(); len(s) != 1 || s[0].Text != "after" {
		t.Errorf("sent %+v", s)
	}
}

// TestUnsolicitedDuringCommands: replies arriving while long messages go out and a call
// rings are all received, and the commands all succeed.
func TestUnsolicitedDuringCommands(t *testing.T) {
	m, sim, err := rig(t, modem.Config{CallPoll: 10 * time.Millisecond, StatusReports: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim.AnswerCalls(simulators.CallNoAnswer)
	ctx := ctxT(t)
	errs := make(chan error, 2)
	go func() {
		_, err := m.Send(ctx, "+8613800138000", strings.Repeat("长消息", 100))
		errs <- err
	}()
	go func() {
		_, err := m.Call(ctx, "+8613800138001", 300*time.Millisecond)
		errs <- err
	}()
	for i := range 5 {
		if err := sim.Deliver("+8613800138009", strings.Repeat("x", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	seen := map[string]bool{}
	for range 5 {
		seen[receive(t, m).Text] = true
	}
	for i := range 5 {
		if !seen[strings.Repeat("x", i+1)] {
			t.Errorf("reply %d lost", i+1)
		}
	}
	for range 5 { // one report per part
		select {
		case <-m.Reports():
		case <-time.After(5 * time.Second):
			t.Fatal("a delivery report was lost")
		}
	}
}

// TestLateAnswerAfterTimeout: the modem answers a timed-out command only when the next one
// arrives; that late answer is not taken for the next command's, whose own answer is read.
func TestLateAnswerAfterTimeout(t *testing.T) {
	m, sim, err := rig(t, modem.Config{CommandTimeout: 200 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim.Lag("AT+CSQ")
	if _, err := m.Check(ctxT(t)); !errors.Is(err, modem.ErrTimeout) {
		t.Fatalf("Check with a lagging modem: %v, want ErrTimeout", err)
	}
	// The late +CSQ and OK come right after the next command goes out.
	st, err := m.Check(ctxT(t))
	if err != nil || st.SIM != "READY" || st.RSSI != 21 || st.Registration != modem.Home {
		t.Fatalf("Check after the late answer: %+v, %v", st, err)
	}
	sim.Lag("AT+CPIN?")
	if _, err := m.Check(ctxT(t)); !errors.Is(err, modem.ErrTimeout) {
		t.Fatalf("Check with a lagging SIM: %v, want ErrTimeout", err)
	}
	// The late +CPIN and OK come while the message waits to go: it still goes, once.
	refs, err := m.Send(ctxT(t), "+8613800138000", "second")
	if err != nil || len(refs) != 1 {
		t.Fatalf("Send after the late answer: %v, %v", refs, err)
	}
	if s := sim.Sent(); len(s) != 1 || s[0].Text != "second" {
		t.Errorf("sent %+v, want only the second", s)
	}
}

// TestReceiveOddPDUs: what the network sends that is not a whole, valid message: a PDU that
// does not decode is dropped (and deleted) without holding up the next message; a long
// message whose last part never comes is passed on after PartsTimeout, marked partial.
func TestReceiveOddPDUs(t *testing.T) {
	m, sim, err := rig(t, modem.Config{PartsTimeout: 100 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim.DeliverPDU("0004") // cut short after the first octet
	// Part 1 of 2 (8-bit reference 0x33), "1 A17" in GSM 7-bit, assembled field by field:
	// 00 no SMSC | 44 DELIVER + UDHI | 0D 91 683108108300F0 | 00 | 00 | SCTS +08:00 |
	// UDL 0C = 7 header septets + 5 | 050003330201 then the septets after one fill bit,
	// 62A060EC06 (packed by internal/sms/testdata/reference.py's pack()).
	sim.DeliverPDU("00440D91683108108300F00000521060100000230C050003330201" + "62A060EC06")
	in := receive(t, m)
	if !in.Partial || in.From != "+8613800138000" || in.Text != "1 A17" {
		t.Errorf("received %+v, want the partial \"1 A17\"", in)
	}
	if err := sim.Deliver("+8613800138000", "2"); err != nil {
		t.Fatal(err)
	}
	if in := receive(t, m); in.Text != "2" || in.Partial {
		t.Errorf("received %+v after the odd PDUs", in)
	}
}
