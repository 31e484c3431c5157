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

// exec runs one command and waits for its final result within timeout (or ctx). A refusal is
// an *Error; OK, CONNECT and the call results of ATD are not errors.
func (m *Modem) exec(ctx context.Context, cmd string, timeout time.Duration) (response, error) {
	if err := m.acquire(ctx); err != nil {
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
	p := &pending{cmd: cmd, final: make(chan line, 1), dial: len(cmd) > 3 && cmd[:3] == "ATD"}
	if prompt {
		p.prompt = make(chan struct{}, 1)
	}
	m.mu.Lock()
	m.cur = p
	m.mu.Unlock()
	return p
}

// abandon stops waiting for p; a late answer is then logged and dropped.
func (m *Modem) abandon(p *pending) {
	m.mu.Lock()
	if m.cur == p {
		m.cur = nil
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
		return fmt.Errorf("modem %s: writing: %w", m.cfg.Port, err)
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
