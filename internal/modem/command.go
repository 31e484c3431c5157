package modem

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// response is what a command got back: its information lines and its final result.
type response struct {
	lines []line
	final line
}

// with returns the information lines that start with prefix ("+CSQ").
func (r response) with(prefix string) []line {
	var out []line
	for _, l := range r.lines {
		if l.prefix == prefix {
			out = append(out, l)
		}
	}
	return out
}

// acquire takes the command slot, waiting for the command in flight to end.
func (m *Modem) acquire(ctx context.Context) error {
	select {
	case m.sem <- struct{}{}:
		return nil
	case <-m.closed:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("modem: waiting for the previous command: %w", ctx.Err())
	}
}

func (m *Modem) release() { <-m.sem }

// acquireSynced is acquire, then resync if a command was abandoned: its answer may still be
// on its way and must not be taken for the next command's.
func (m *Modem) acquireSynced(ctx context.Context) error {
	if err := m.acquire(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	stale := m.stale
	m.mu.Unlock()
	if stale {
		m.resync(ctx)
	}
	return nil
}

// resyncCmd asks for something only its own answer carries (+CMEE: <n>, TS 27.007, 9.1).
const resyncCmd = "AT+CMEE?"

// resync sends AT+CMEE? and waits for the final result that follows its own +CMEE: line;
// dispatch drops finals without one: late answers to abandoned commands. A modem that does
// not answer within CommandTimeout is taken as quiet.
func (m *Modem) resync(ctx context.Context) {
	p := m.start(resyncCmd, false)
	if err := m.write([]byte(resyncCmd + "\r")); err != nil {
		m.abandon(p)
		return
	}
	t := time.NewTimer(m.cfg.CommandTimeout)
	defer t.Stop()
	select {
	case <-p.final:
		m.mu.Lock()
		m.stale = false
		m.mu.Unlock()
	case <-t.C:
		m.log.Warn("modem silent while resynchronising after a timeout")
		m.abandonQuiet(p)
	case <-ctx.Done():
		m.abandon(p)
	case <-m.closed:
	}
}

// abandonQuiet stops waiting for p without marking the line stale: nothing is in flight.
func (m *Modem) abandonQuiet(p *pending) {
	m.mu.Lock()
	if m.cur == p {
		m.cur = nil
	}
	m.stale = false
	m.mu.Unlock()
}

// exec runs one command and waits for its final result within timeout (or ctx). A refusal is
// an *Error; OK, CONNECT and the call results of ATD are not errors.
func (m *Modem) exec(ctx context.Context, cmd string, timeout time.Duration) (response, error) {
	if err := m.acquireSynced(ctx); err != nil {
		return response{}, err
	}
	defer m.release()
	p := m.start(cmd, false)
	if err := m.write([]byte(cmd + "\r")); err != nil {
		m.abandon(p)
		return response{}, err
	}
	return m.wait(ctx, p, timeout)
}

// start makes p the command in flight.
func (m *Modem) start(cmd string, prompt bool) *pending {
	p := &pending{cmd: cmd, final: make(chan line, 1), dial: len(cmd) > 3 && cmd[:3] == "ATD", resync: cmd == resyncCmd}
	if prompt {
		p.prompt = make(chan struct{}, 1)
	}
	m.mu.Lock()
	m.cur = p
	m.mu.Unlock()
	return p
}

// abandon stops waiting for p; its answer may still come, so the next command resyncs first.
func (m *Modem) abandon(p *pending) {
	m.mu.Lock()
	if m.cur == p {
		m.cur = nil
		m.stale = true
	}
	m.mu.Unlock()
}

func (m *Modem) write(b []byte) error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	if _, err := m.rw.Write(b); err != nil {
		select {
		case <-m.closed:
			return ErrClosed
		default:
		}
		return fmt.Errorf("modem %s: writing: %w", m.name, err)
	}
	return nil
}

// wait waits for p's final result code.
func (m *Modem) wait(ctx context.Context, p *pending, timeout time.Duration) (response, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case f := <-p.final:
		m.mu.Lock()
		r := response{lines: p.lines, final: f}
		m.mu.Unlock()
		if f.kind == lineError {
			return r, &Error{Cmd: p.cmd, Kind: f.cme, Code: f.code}
		}
		return r, nil
	case <-t.C:
		m.abandon(p)
		return response{}, fmt.Errorf("modem: %s: no answer in %v: %w", p.cmd, timeout, ErrTimeout)
	case <-ctx.Done():
		m.abandon(p)
		return response{}, fmt.Errorf("modem: %s: %w", p.cmd, ctx.Err())
	case <-m.closed:
		m.abandon(p)
		return response{}, fmt.Errorf("modem: %s: %w", p.cmd, ErrClosed)
	}
}

// urc is an unsolicited result code, with the PDU line that followed +CMT or +CDS, or a
// stored message found by AT+CMGL.
type urc struct {
	head  line
	pdu   string
	index int // for a stored message: where to delete it
}

// queue holds unsolicited codes for the handler without bound, so the reader never blocks
// and nothing is dropped.
type queue struct {
	mu    sync.Mutex
	items []urc
	ready chan struct{}
}

func (q *queue) init() { q.ready = make(chan struct{}, 1) }

func (q *queue) push(u urc) {
	q.mu.Lock()
	q.items = append(q.items, u)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *queue) pop() (urc, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return urc{}, false
	}
	u := q.items[0]
	q.items = q.items[1:]
	return u, true
}
