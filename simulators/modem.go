package simulators

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/facilityd/facilityd/internal/sms"
)

// CallAnswer is how the simulated modem's far end answers the calls it is asked to make.
type CallAnswer string

// What a called phone does.
const (
	CallAnswered CallAnswer = "answered"  // picks up: +CLCC shows the call active
	CallBusy     CallAnswer = "busy"      // BUSY after ATD's OK
	CallNoAnswer CallAnswer = "no_answer" // rings until hung up
	CallFailed   CallAnswer = "failed"    // NO CARRIER after ATD's OK
)

// SentSMS is a message the modem was given to send, parts joined.
type SentSMS struct {
	To           string    `json:"to"`
	Text         string    `json:"text"`
	Parts        int       `json:"parts"`
	StatusReport bool      `json:"status_report"`
	At           time.Time `json:"at"`
}

// SentCall is a call the modem was asked to make.
type SentCall struct {
	To       string        `json:"to"`
	At       time.Time     `json:"at"`
	Duration time.Duration `json:"duration_ns"`
	Result   CallAnswer    `json:"result"`
}

// Modem simulates a GSM/4G modem's AT interface (3GPP TS 27.007, TS 27.005 in PDU mode) as
// facilityd's internal/modem drives it: echo until ATE0, OK / ERROR / +CME ERROR / +CMS
// ERROR, the "> " prompt of AT+CMGS, message storage with +CMTI, delivery reports (+CDS),
// voice calls with +CLCC. Cues (Deliver, SetSignal, SetSIM, AnswerCalls) stand in for the
// network and the phones.
type Modem struct {
	id string

	mu       sync.Mutex
	echo     bool
	cmee     int
	pin      string // the SIM's PIN; "" when it asks for none
	unlocked bool
	noSIM    bool
	noSignal bool
	answer   CallAnswer
	mt, ds   int // AT+CNMI <mt> and <ds>
	store    map[int]string
	next     int
	mr       byte
	sent     []SentSMS
	parts    map[string][]*sms.Submit
	calls    []SentCall
	call     *SentCall // in progress
	swallow  []string
	lag      []string
	held     string // a lagged answer, sent before the next command's
	out      *outbox
	now      func() time.Time
}

// NewModem is a modem with a SIM (no PIN), signal, and phones that answer.
func NewModem(id string) *Modem {
	return &Modem{id: id, echo: true, answer: CallAnswered, store: map[int]string{}, next: 1,
		parts: map[string][]*sms.Submit{}, now: time.Now}
}

// ID is the modem's name in the control API.
func (m *Modem) ID() string { return m.id }

// SetPIN makes the SIM ask for pin before it works.
func (m *Modem) SetPIN(pin string) { m.mu.Lock(); m.pin, m.unlocked = pin, false; m.mu.Unlock() }

// SetSignal switches the network on or off: without it +CSQ says 99,99, +CREG 0,2 (searching)
// and AT+CMGS fails with +CMS ERROR: 331 (no network service).
func (m *Modem) SetSignal(on bool) { m.mu.Lock(); m.noSignal = !on; m.mu.Unlock() }

// SetSIM inserts or removes the SIM: without it AT+CPIN? is +CME ERROR: 10.
func (m *Modem) SetSIM(present bool) { m.mu.Lock(); m.noSIM = !present; m.mu.Unlock() }

// AnswerCalls says what the phones called from now on do.
func (m *Modem) AnswerCalls(a CallAnswer) { m.mu.Lock(); m.answer = a; m.mu.Unlock() }

// Swallow makes the modem read the next command starting with prefix and never answer it,
// as a wedged module does.
func (m *Modem) Swallow(prefix string) {
	m.mu.Lock()
	m.swallow = append(m.swallow, prefix)
	m.mu.Unlock()
}

// Lag makes the modem hold back its answer to the next command starting with prefix and
// send it only when the command after it arrives, as a module busy with the network does:
// the late answer then comes while the driver waits for another command's.
func (m *Modem) Lag(prefix string) {
	m.mu.Lock()
	m.lag = append(m.lag, prefix)
	m.mu.Unlock()
}

// Sent lists the messages sent so far, oldest first.
func (m *Modem) Sent() []SentSMS {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]SentSMS(nil), m.sent...)
}

// Calls lists the calls made so far (those still ringing are not among them).
func (m *Modem) Calls() []SentCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]SentCall(nil), m.calls...)
}

// Deliver is a text from a phone arriving: stored (announced with +CMTI: "SM",<index> when
// AT+CNMI asked for it) or, with AT+CNMI mt=2, passed straight on as +CMT.
func (m *Modem) Deliver(from, text string) error {
	m.mu.Lock()
	ref := uint16(m.next)
	m.mu.Unlock()
	pdus, err := sms.EncodeDeliver(from, text, m.now(), sms.DeliverOptions{SMSC: "+8613800100500", Ref: ref})
	if err != nil {
		return fmt.Errorf("modem simulator %s: %w", m.id, err)
	}
	for _, p := range pdus {
		m.mu.Lock()
		mt := m.mt
		var idx int
		if mt != 2 {
			idx = m.next
			m.store[idx] = p.Hex
			m.next++
		}
		m.mu.Unlock()
		switch mt {
		case 1:
			m.urc(fmt.Sprintf("+CMTI: \"SM\",%d", idx))
		case 2:
			m.urc(fmt.Sprintf("+CMT: ,%d\r\n%s", p.Len, p.Hex))
		}
	}
	return nil
}

// DeliverPDU stores a PDU as the network handed it (hex, SMSC part first), announced like
// Deliver's: for tests of what real networks send, malformed PDUs included.
func (m *Modem) DeliverPDU(pdu string) {
	m.mu.Lock()
	idx := m.next
	m.store[idx] = strings.ToUpper(pdu)
	m.next++
	mt := m.mt
	m.mu.Unlock()
	if mt == 1 {
		m.urc(fmt.Sprintf("+CMTI: \"SM\",%d", idx))
	}
}

// urc writes an unsolicited result code to the connection being served, if any.
func (m *Modem) urc(s string) {
	m.mu.Lock()
	w := m.out
	m.mu.Unlock()
	if w != nil {
		m.write(w, "\r\n"+s+"\r\n")
	}
}

func (m *Modem) write(w io.Writer, s string) { io.WriteString(w, s) }

// Serve answers AT commands on rw until ctx ends or rw fails. A Read in flight when ctx ends
// returns when the caller closes rw. What the modem sends is queued, so a cue (Deliver) never
// waits for the far end to read, as on a serial line.
func (m *Modem) Serve(ctx context.Context, rw io.ReadWriter) error {
	ob := newOutbox()
	m.mu.Lock()
	m.out = ob
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		if m.out == ob {
			m.out = nil
		}
		m.mu.Unlock()
		ob.close()
	}()
	go ob.drain(rw)
	done := make(chan error, 1)
	go func() { done <- m.readCommands(rw, ob) }()
	select {
	case <-ctx.Done():
		return nil
	case err := <-done:
		if err == io.EOF || ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("modem simulator %s: %w", m.id, err)
	}
}

// outbox queues what the modem sends to one connection, in order, without bound.
type outbox struct {
	mu     sync.Mutex
	buf    []byte
	ready  chan struct{}
	closed chan struct{}
}

func newOutbox() *outbox {
	return &outbox{ready: make(chan struct{}, 1), closed: make(chan struct{})}
}

func (o *outbox) Write(b []byte) (int, error) {
	o.mu.Lock()
	o.buf = append(o.buf, b...)
	o.mu.Unlock()
	select {
	case o.ready <- struct{}{}:
	default:
	}
	return len(b), nil
}

func (o *outbox) close() { close(o.closed) }

// drain writes the queue to w until the connection is closed or fails.
func (o *outbox) drain(w io.Writer) {
	for {
		select {
		case <-o.ready:
		case <-o.closed:
			return
		}
		o.mu.Lock()
		b := o.buf
		o.buf = nil
		o.mu.Unlock()
		if len(b) > 0 {
			if _, err := w.Write(b); err != nil {
				return
			}
		}
	}
}

// readCommands reads command lines ended by CR (V.250 5.2.1), echoing while echo is on, and
// after AT+CMGS the PDU ended by Ctrl-Z (or dropped by ESC).
func (m *Modem) readCommands(in io.Reader, rw io.Writer) error {
	r := bufio.NewReader(in)
	var line []byte
	var pduLen = -1 // waiting for a PDU of this TPDU length
	for {
		c, err := r.ReadByte()
		if err != nil {
			return err
		}
		m.mu.Lock()
		echo := m.echo
		m.mu.Unlock()
		if echo && pduLen < 0 {
			m.write(rw, string(c))
		}
		switch {
		case pduLen >= 0 && c == 0x1A:
			m.submit(rw, string(line), pduLen)
			line, pduLen = line[:0], -1
		case pduLen >= 0 && c == 0x1B:
			m.write(rw, "\r\nOK\r\n")
			line, pduLen = line[:0], -1
		case pduLen < 0 && c == '\r':
			pduLen = m.command(rw, strings.TrimSpace(string(line)))
			line = line[:0]
		case c == '\n':
		case len(line) < 4096: // longer is noise, not a command or a PDU
			line = append(line, c)
		}
	}
}

// command runs one command line; it returns the PDU length when it opened the "> " prompt.
func (m *Modem) command(w io.Writer, cmd string) int {
	// V.250, 5.2.1: what comes before the "AT" prefix (an ESC that abandoned a message, line
	// noise) is not part of the command.
	for i := 0; i+2 <= len(cmd); i++ {
		if strings.EqualFold(cmd[i:i+2], "AT") {
			cmd = cmd[i:]
			break
		}
	}
	if cmd == "" {
		return -1
	}
	up := strings.ToUpper(cmd)
	m.mu.Lock()
	held := m.held
	m.held = ""
	m.mu.Unlock()
	if held != "" {
		m.write(w, held) // the late answer to the command before, ahead of this one's
	}
	swallowed, lagged := m.takeFault(up)
	if swallowed {
		return -1
	}
	if n, ok := strings.CutPrefix(up, "AT+CMGS="); ok {
		return m.openPrompt(w, n)
	}
	info, final := m.answerCommand(cmd, up)
	var b strings.Builder
	for _, l := range info {
		b.WriteString("\r\n" + l + "\r\n")
	}
	b.WriteString("\r\n" + final + "\r\n")
	if lagged {
		m.mu.Lock()
		m.held = b.String()
		m.mu.Unlock()
	} else {
		m.write(w, b.String())
	}
	m.afterCommand(up)
	return -1
}

// takeFault says whether the command is to be swallowed (Swallow) or answered late (Lag),
// using up the cue.
func (m *Modem) takeFault(up string) (swallowed, lagged bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, p := range m.swallow {
		if strings.HasPrefix(up, p) {
			m.swallow = append(m.swallow[:i], m.swallow[i+1:]...)
			return true, false
		}
	}
	for i, p := range m.lag {
		if strings.HasPrefix(up, p) {
			m.lag = append(m.lag[:i], m.lag[i+1:]...)
			return false, true
		}
	}
	return false, false
}

// afterCommand sends what a command sets off: BUSY or NO CARRIER after a refused call's OK.
func (m *Modem) afterCommand(up string) {
	if !strings.HasPrefix(up, "ATD") {
		return
	}
	m.mu.Lock()
	c := m.call
	var ended string
	if c != nil && (c.Result == CallBusy || c.Result == CallFailed) {
		ended = "BUSY"
		if c.Result == CallFailed {
			ended = "NO CARRIER"
		}
		m.calls = append(m.calls, *c)
		m.call = nil
	}
	m.mu.Unlock()
	if ended != "" {
		m.urc(ended)
	}
}

func (m *Modem) openPrompt(w io.Writer, n string) int {
	m.mu.Lock()
	noSIM := m.noSIM
	m.mu.Unlock()
	length, err := strconv.Atoi(n)
	switch {
	case noSIM:
		m.write(w, "\r\n"+m.errorCode("CMS", 310)+"\r\n")
		return -1
	case err != nil || length < 7 || length > 164:
		m.write(w, "\r\n"+m.errorCode("CMS", 304)+"\r\n")
		return -1
	}
	m.write(w, "\r\n> ")
	return length
}

// errorCode is +CME/+CMS ERROR: n, or ERROR before AT+CMEE=1.
func (m *Modem) errorCode(kind string, code int) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmee == 0 {
		return "ERROR"
	}
	return fmt.Sprintf("+%s ERROR: %d", kind, code)
}

// submit takes the PDU given after the prompt: it checks the length AT+CMGS announced,
// decodes the SMS-SUBMIT, answers +CMGS: <mr> and, when asked, reports delivery (+CDS).
func (m *Modem) submit(w io.Writer, hexPDU string, length int) {
	b, err := hex.DecodeString(strings.TrimSpace(hexPDU))
	if err != nil || len(b) < 1 || len(b)-1-int(b[0]) != length {
		m.write(w, "\r\n"+m.errorCode("CMS", 304)+"\r\n")
		return
	}
	s, err := sms.DecodeSubmit(b)
	if err != nil {
		m.write(w, "\r\n"+m.errorCode("CMS", 304)+"\r\n")
		return
	}
	m.mu.Lock()
	if m.noSignal {
		m.mu.Unlock()
		m.write(w, "\r\n"+m.errorCode("CMS", 331)+"\r\n")
		return
	}
	m.mr++
	mr, ds := m.mr, m.ds
	m.keep(s)
	m.mu.Unlock()
	m.write(w, fmt.Sprintf("\r\n+CMGS: %d\r\n\r\nOK\r\n", mr))
	if s.StatusReport && ds == 1 {
		now := m.now()
		rep, err := sms.EncodeStatusReport(sms.StatusReport{Ref: int(mr), Recipient: s.To, SCTime: now, Discharge: now, Status: 0})
		if err == nil {
			m.urc(fmt.Sprintf("+CDS: %d\r\n%s", rep.Len, rep.Hex))
		}
	}
}

// keep records a submitted part, joining concatenated ones; m.mu is held.
func (m *Modem) keep(s *sms.Submit) {
	if s.Concat == nil || s.Concat.Count <= 1 {
		m.sent = append(m.sent, SentSMS{To: s.To, Text: s.Text, Parts: 1, StatusReport: s.StatusReport, At: m.now()})
		return
	}
	k := fmt.Sprintf("%s/%d/%d", s.To, s.Concat.Ref, s.Concat.Count)
	m.parts[k] = append(m.parts[k], s)
	if len(m.parts[k]) < s.Concat.Count {
		return
	}
	ps := m.parts[k]
	delete(m.parts, k)
	sort.Slice(ps, func(i, j int) bool { return ps[i].Concat.Seq < ps[j].Concat.Seq })
	var text strings.Builder
	for _, p := range ps {
		text.WriteString(p.Text)
	}
	m.sent = append(m.sent, SentSMS{To: s.To, Text: text.String(), Parts: len(ps), StatusReport: s.StatusReport, At: m.now()})
}

// Stored counts the messages in the modem's storage (read or not, until AT+CMGD).
func (m *Modem) Stored() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.store)
}
