// Package modem drives a GSM/4G modem on a serial line with AT commands (3GPP TS 27.007), in
// SMS PDU mode (3GPP TS 27.005): it sends the patrol's SMS (encoded by internal/sms), rings
// guards' phones as an alarm dialer, reports delivery, and hands on the replies guards send
// back to claim an alert.
//
// One command runs at a time; unsolicited result codes (+CMTI, +CDS, RING, NO CARRIER) may
// arrive between or during commands and are routed by Run, never taken as a command's answer.
package modem

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/internal/sms"
)

// Config says where the modem is and how patient to be with it.
type Config struct {
	Port string // serial device, e.g. /dev/ttyUSB2
	Baud int    // 115200 when 0
	PIN  string // sent with AT+CPIN if the SIM asks for it
	// CommandTimeout bounds one command; 10s when 0.
	CommandTimeout time.Duration
	// SendTimeout bounds one AT+CMGS, which waits for the network; 60s when 0.
	SendTimeout time.Duration
	// StatusReports requests delivery reports (TP-SRR, AT+CNMI ds=1), which come on Reports.
	StatusReports bool
	// CallPoll is how often a call in progress is checked with AT+CLCC; 1s when 0.
	CallPoll time.Duration
	// PartsTimeout is how long the parts of a long incoming message are waited for before
	// what came is passed on; 5 minutes when 0.
	PartsTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.Baud == 0 {
		c.Baud = 115200
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = 10 * time.Second
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = 60 * time.Second
	}
	if c.CallPoll == 0 {
		c.CallPoll = time.Second
	}
	if c.PartsTimeout == 0 {
		c.PartsTimeout = 5 * time.Minute
	}
	return c
}

// Incoming is a text someone sent to the modem's number, parts joined.
type Incoming struct {
	From string
	Text string
	At   time.Time // the service centre's time stamp, or when it was read if it had none
	// Partial says parts never came (PartsTimeout); Text holds those that did.
	Partial bool
}

// Report is a delivery report for a message Send returned the reference of.
type Report struct {
	Ref       int
	To        string
	Delivered bool
	Status    byte // TP-ST, 3GPP TS 23.040, 9.2.3.15
	At        time.Time
}

// Modem is one modem on one line. Start Run before any other method; it reads the line.
type Modem struct {
	cfg  Config
	name string // the port, for messages
	log  *slog.Logger
	rw   io.ReadWriteCloser

	sem chan struct{} // one command at a time
	wmu sync.Mutex    // writes
	mu  sync.Mutex    // cur, urcPDU
	cur *pending
	// stale says a command was abandoned and its answer may yet come (see resync).
	stale bool
	urcQ  queue

	callEv   chan line
	callMu   sync.Mutex
	received chan Incoming
	reports  chan Report
	ref      atomic.Uint32

	closeOnce sync.Once
	closed    chan struct{}
	reasm     *sms.Reassembler
	// urcPDU is the +CMT or +CDS line whose PDU is the next line.
	urcPDU *line
}

// pending is the command in flight.
type pending struct {
	cmd    string
	lines  []line
	final  chan line // the final result code
	prompt chan struct{}
	dial   bool // ATD: BUSY, NO CARRIER, CONNECT... are its final results
	resync bool // AT+CMEE? after a timeout: only a final after +CMEE: is its own
}

// New drives a modem over any stream: a serial port (see Open), a pipe to the simulator.
func New(rw io.ReadWriteCloser, cfg Config, log *slog.Logger) (*Modem, error) {
	if rw == nil {
		return nil, fmt.Errorf("modem: no stream to the modem")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	m := &Modem{
		cfg: cfg, name: cmp.Or(cfg.Port, "(stream)"), log: log.With("modem", cmp.Or(cfg.Port, "(stream)")), rw: rw,
		sem:      make(chan struct{}, 1),
		callEv:   make(chan line, 8),
		received: make(chan Incoming, 64),
		reports:  make(chan Report, 64),
		closed:   make(chan struct{}),
		reasm:    sms.NewReassembler(cfg.PartsTimeout),
	}
	m.urcQ.init()
	m.ref.Store(uint32(time.Now().UnixNano()))
	return m, nil
}

// Received gives the texts that arrive (replies claiming alerts among them).
func (m *Modem) Received() <-chan Incoming { return m.received }

// Reports gives delivery reports, when Config.StatusReports asked for them.
func (m *Modem) Reports() <-chan Report { return m.reports }

// Close closes the line; commands in flight fail with ErrClosed and Run returns.
func (m *Modem) Close() error {
	var err error
	m.closeOnce.Do(func() {
		close(m.closed)
		err = m.rw.Close()
	})
	return err
}

// Run reads the line until ctx ends (then it closes the modem and returns nil) or the line
// fails (the error, and the modem is closed). It routes command responses to the command in
// flight and handles unsolicited codes: reads and deletes stored messages (+CMTI), decodes
// direct ones (+CMT) and delivery reports (+CDS, +CDSI).
func (m *Modem) Run(ctx context.Context) error {
	readErr := make(chan error, 1)
	go func() { readErr <- m.readLoop() }()
	handled := make(chan struct{})
	hctx, cancel := context.WithCancel(ctx)
	go func() { defer close(handled); m.handleLoop(hctx) }()
	defer func() { cancel(); <-handled }()
	select {
	case <-ctx.Done():
		m.Close()
		<-readErr
		return nil
	case err := <-readErr:
		m.Close()
		select {
		case <-ctx.Done():
			return nil
		default:
		}
		return fmt.Errorf("modem %s: reading the line: %w", m.name, err)
	}
}

// readLoop splits the stream into lines. The "> " prompt of AT+CMGS has no line end
// (TS 27.005, 3.5.1), so it is recognised whenever a read ends with it.
func (m *Modem) readLoop() error {
	buf := make([]byte, 512)
	var acc []byte
	for {
		n, err := m.rw.Read(buf)
		for _, c := range buf[:n] {
			if c == '\r' || c == '\n' {
				if len(acc) > 0 {
					m.dispatch(string(acc))
					acc = acc[:0]
				}
				continue
			}
			if len(acc) < 8192 { // a longer line is noise: keep its start
				acc = append(acc, c)
			}
		}
		if strings.TrimSpace(string(acc)) == ">" {
			m.promptSeen()
			acc = acc[:0]
		}
		if err != nil {
			return err
		}
	}
}

func (m *Modem) promptSeen() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur != nil && m.cur.prompt != nil {
		select {
		case m.cur.prompt <- struct{}{}:
		default:
		}
	}
}

// dispatch routes one line: the PDU after +CMT/+CDS, an unsolicited code, an echo, or part
// of the command in flight's response.
func (m *Modem) dispatch(s string) {
	s = strings.Trim(s, " \x00\x1a")
	if s == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if h := m.urcPDU; h != nil {
		m.urcPDU = nil
		m.urcQ.push(urc{head: *h, pdu: s})
		return
	}
	l := parseLine(s)
	cur := m.cur
	if cur != nil && l.kind == lineUnsolicit && strings.HasPrefix(cur.cmd, "AT"+l.prefix) {
		l.kind = lineInfo // +CREG: 0,1 answers AT+CREG?
	}
	switch {
	case l.kind == lineUnsolicit && (l.prefix == "+CMT" || l.prefix == "+CDS"):
		m.urcPDU = &l
	case l.kind == lineUnsolicit:
		m.urcQ.push(urc{head: l})
	case (l.kind == lineCallEnd || l.kind == lineConnect) && (cur == nil || !cur.dial):
		select {
		case m.callEv <- l:
		default:
			m.log.Warn("call event with no call to take it", "line", s)
		}
	case cur == nil:
		m.log.Debug("line with no command in flight", "line", s)
	case s == cur.cmd:
		// the modem's echo, before ATE0 takes effect
	case l.kind == lineInfo:
		cur.lines = append(cur.lines, l)
	case cur.resync && !hasPrefix(cur.lines, "+CMEE"):
		// a late final of an abandoned command, not the resync's own (see resync)
		m.log.Debug("dropped a late answer to an abandoned command", "final", s)
		cur.lines = nil
	default:
		m.cur = nil
		cur.final <- l
	}
}

func hasPrefix(lines []line, prefix string) bool {
	for _, l := range lines {
		if l.prefix == prefix {
			return true
		}
	}
	return false
}

// nextRef is a fresh concatenation reference for a long message.
func (m *Modem) nextRef() byte { return byte(m.ref.Add(1)) }
