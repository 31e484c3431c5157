package modem

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Init prepares the modem: no echo (ATE0), numeric errors (AT+CMEE=1, 3GPP TS 27.007, 9.1),
// the SIM unlocked (AT+CPIN, 8.3), PDU mode (AT+CMGF=0, TS 27.005, 3.2.3), new messages
// announced as +CMTI and delivery reports as +CDS (AT+CNMI=2,1,0,1,0, 3.4.1; without
// reports, or on modems refusing that, a lesser setting), and queues the messages already
// stored (AT+CMGL=4) so that replies sent while facilityd was down are not lost.
func (m *Modem) Init(ctx context.Context) error {
	for _, cmd := range []string{"ATE0", "AT+CMEE=1"} {
		if _, err := m.exec(ctx, cmd, m.cfg.CommandTimeout); err != nil {
			return fmt.Errorf("modem %s: init: %w", m.name, err)
		}
	}
	if err := m.unlock(ctx); err != nil {
		return err
	}
	if _, err := m.exec(ctx, "AT+CMGF=0", m.cfg.CommandTimeout); err != nil {
		return fmt.Errorf("modem %s: PDU mode: %w", m.name, err)
	}
	if err := m.notifications(ctx); err != nil {
		return err
	}
	return m.queueStored(ctx)
}

// unlock checks the SIM and gives the PIN when it asks.
func (m *Modem) unlock(ctx context.Context) error {
	state, err := m.simState(ctx)
	if err != nil {
		return fmt.Errorf("modem %s: SIM: %w", m.name, err)
	}
	switch state {
	case "READY":
		return nil
	case "SIM PIN":
		if m.cfg.PIN == "" {
			return fmt.Errorf("modem %s: the SIM asks for its PIN; set the modem's pin in the configuration: %w", m.name, ErrSIMLocked)
		}
		if _, err := m.exec(ctx, `AT+CPIN="`+m.cfg.PIN+`"`, m.cfg.CommandTimeout); err != nil {
			return fmt.Errorf("modem %s: the SIM refused the configured PIN (check it before the SIM locks): %w", m.name, err)
		}
		return nil
	}
	return fmt.Errorf("modem %s: the SIM asks for %q, which facilityd cannot give; unlock the SIM in a phone: %w", m.name, state, ErrSIMLocked)
}

// simState is +CPIN: READY, SIM PIN, SIM PUK... (TS 27.007, 8.3).
func (m *Modem) simState(ctx context.Context) (string, error) {
	r, err := m.exec(ctx, "AT+CPIN?", m.cfg.CommandTimeout)
	if err != nil {
		return "", err
	}
	for _, l := range r.with("+CPIN") {
		return strings.Join(l.params, ","), nil
	}
	return "", fmt.Errorf("AT+CPIN? answered without +CPIN")
}

// notifications sets AT+CNMI, falling back to fewer features on modems that refuse some.
func (m *Modem) notifications(ctx context.Context) error {
	tries := []string{"AT+CNMI=2,1,0,1,0", "AT+CNMI=2,1,0,2,0", "AT+CNMI=2,1"}
	if !m.cfg.StatusReports {
		tries = []string{"AT+CNMI=2,1,0,0,0", "AT+CNMI=2,1"}
	}
	var err error
	for _, cmd := range tries {
		if _, err = m.exec(ctx, cmd, m.cfg.CommandTimeout); err == nil {
			return nil
		}
		var me *Error
		if !errors.As(err, &me) {
			break
		}
	}
	return fmt.Errorf("modem %s: new-message indications: %w", m.name, err)
}

// queueStored lists every stored message (AT+CMGL=4, TS 27.005, 3.4.2) for the handler to
// pass on and delete.
func (m *Modem) queueStored(ctx context.Context) error {
	r, err := m.exec(ctx, "AT+CMGL=4", m.cfg.CommandTimeout)
	if err != nil {
		return fmt.Errorf("modem %s: listing stored messages: %w", m.name, err)
	}
	for i, l := range r.lines {
		if l.prefix != "+CMGL" || i+1 >= len(r.lines) {
			continue
		}
		m.urcQ.push(urc{head: line{prefix: "+STORED"}, pdu: r.lines[i+1].text, index: l.param(0)})
	}
	return nil
}

// Registration is the network registration state of +CREG / +CEREG (TS 27.007, 7.2).
type Registration string

// Registration states.
const (
	NotRegistered Registration = "not registered"
	Home          Registration = "home"
	Searching     Registration = "searching"
	Denied        Registration = "denied"
	Unknown       Registration = "unknown"
	Roaming       Registration = "roaming"
)

var regStates = []Registration{NotRegistered, Home, Searching, Denied, Unknown, Roaming}

// Status is what Check found.
type Status struct {
	SIM          string // +CPIN: READY, SIM PIN...
	Registration Registration
	// RSSI is +CSQ's 0-31 (99: not known); DBm is -113 + 2*RSSI (TS 27.007, 8.5).
	RSSI int
	DBm  int
}

// Check tells whether the modem can send: SIM ready (AT+CPIN?), registered at home or
// roaming (AT+CREG?, or AT+CEREG? on LTE), and signal (AT+CSQ). When it cannot, the error is
// ErrNoSIM, ErrSIMLocked, ErrNoSignal or ErrNotRegistered, with what the modem said.
func (m *Modem) Check(ctx context.Context) (Status, error) {
	var st Status
	sim, err := m.simState(ctx)
	if err != nil {
		return st, fmt.Errorf("modem %s: SIM: %w", m.name, err)
	}
	st.SIM = sim
	if sim != "READY" {
		return st, fmt.Errorf("modem %s: SIM says %q: %w", m.name, sim, ErrSIMLocked)
	}
	st.RSSI, st.DBm = 99, 0
	r, err := m.exec(ctx, "AT+CSQ", m.cfg.CommandTimeout)
	if err != nil {
		return st, fmt.Errorf("modem %s: signal: %w", m.name, err)
	}
	for _, l := range r.with("+CSQ") {
		if v := l.param(0); v >= 0 {
			st.RSSI = v
		}
	}
	if st.RSSI != 99 {
		st.DBm = -113 + 2*st.RSSI
	}
	st.Registration = m.registration(ctx)
	if st.Registration == Home || st.Registration == Roaming {
		return st, nil
	}
	if st.RSSI == 99 {
		return st, fmt.Errorf("modem %s: no signal (+CSQ 99) and %s; check the antenna: %w", m.name, st.Registration, ErrNoSignal)
	}
	return st, fmt.Errorf("modem %s: %s on the network (signal %d dBm); check the SIM's subscription: %w", m.name, st.Registration, st.DBm, ErrNotRegistered)
}

// registration asks +CREG (circuit switched) and, unless that says registered, +CEREG (LTE).
func (m *Modem) registration(ctx context.Context) Registration {
	best := Unknown
	for _, q := range []string{"+CREG", "+CEREG"} {
		r, err := m.exec(ctx, "AT"+q+"?", m.cfg.CommandTimeout)
		if err != nil {
			continue
		}
		for _, l := range r.with(q) {
			if s := l.param(1); s >= 0 && s < len(regStates) {
				best = regStates[s]
			}
		}
		if best == Home || best == Roaming {
			return best
		}
	}
	return best
}

// CallResult is how a call ended.
type CallResult int

// Call results.
const (
	Failed CallResult = iota
	Answered
	Busy
	NoAnswer
)

func (c CallResult) String() string {
	return [...]string{"failed", "answered", "busy", "no answer"}[c]
}

// Call rings a number as an alarm dialer does (ATD<n>; a voice call, TS 27.007, 6.3 and
// V.250 6.3.1) for at most ring, and hangs up (ATH) once it is answered, busy, refused or
// the time is over. Whether it was answered is read from result codes and from AT+CLCC
// (TS 27.007, 7.18), which modems answer even when they report nothing by themselves.
func (m *Modem) Call(ctx context.Context, to string, ring time.Duration) (CallResult, error) {
	if to == "" || strings.Trim(to, "+0123456789*#") != "" {
		return Failed, fmt.Errorf("modem: call to %q: not a phone number", to)
	}
	m.callMu.Lock()
	defer m.callMu.Unlock()
	for len(m.callEv) > 0 {
		<-m.callEv
	}
	res, err := m.dial(ctx, to, ring)
	if _, herr := m.exec(context.WithoutCancel(ctx), "ATH", m.cfg.CommandTimeout); herr != nil && err == nil {
		m.log.Warn("hanging up", "err", herr)
	}
	return res, err
}

func (m *Modem) dial(ctx context.Context, to string, ring time.Duration) (CallResult, error) {
	deadline := time.NewTimer(ring)
	defer deadline.Stop()
	r, err := m.exec(ctx, "ATD"+to+";", m.cfg.CommandTimeout)
	if err != nil {
		return Failed, fmt.Errorf("modem: calling %s: %w", to, err)
	}
	if res, done := callEnded(r.final); done {
		return res, nil
	}
	poll := time.NewTicker(m.cfg.CallPoll)
	defer poll.Stop()
	for {
		if res, done, err := m.callState(ctx); err != nil || done {
			// The result code that ended the call comes before +CLCC's empty list.
			select {
			case ev := <-m.callEv:
				if r, ok := callEnded(ev); ok && err == nil && res == Failed {
					return r, nil
				}
			default:
			}
			return res, err
		}
		select {
		case ev := <-m.callEv:
			if res, done := callEnded(ev); done {
				return res, nil
			}
		case <-poll.C:
		case <-deadline.C:
			return NoAnswer, nil
		case <-ctx.Done():
			return Failed, fmt.Errorf("modem: calling %s: %w", to, ctx.Err())
		}
	}
}

// callEnded reads a result code of a call: CONNECT (answered), BUSY, NO ANSWER, NO CARRIER
// or NO DIALTONE (failed); OK after ATD...; only says the call is being set up.
func callEnded(l line) (CallResult, bool) {
	switch {
	case l.kind == lineConnect:
		return Answered, true
	case l.text == "BUSY":
		return Busy, true
	case l.text == "NO ANSWER":
		return NoAnswer, true
	case l.kind == lineCallEnd:
		return Failed, true
	}
	return Failed, false
}

// callState asks AT+CLCC: stat 0 (active) is answered; no call listed any more is failed (the
// network dropped it without a result code).
func (m *Modem) callState(ctx context.Context) (CallResult, bool, error) {
	r, err := m.exec(ctx, "AT+CLCC", m.cfg.CommandTimeout)
	if err != nil {
		var me *Error
		if errors.As(err, &me) {
			return Failed, false, nil // a modem without +CLCC: rely on result codes
		}
		return Failed, true, err
	}
	calls := r.with("+CLCC")
	if len(calls) == 0 {
		return Failed, true, nil
	}
	for _, l := range calls {
		if l.param(2) == 0 {
			return Answered, true, nil
		}
	}
	return Failed, false, nil
}
