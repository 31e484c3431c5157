package modem

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/facilityd/facilityd/internal/sms"
)

// Send sends text to a number ("+8613800138000"), in as many parts as it needs, and returns
// the message reference (+CMGS: <mr>) of each part, which delivery reports name. When a part
// fails, the references of the parts sent before it come back with the error.
func (m *Modem) Send(ctx context.Context, to, text string) ([]int, error) {
	pdus, err := sms.Encode(to, text, sms.SubmitOptions{StatusReport: m.cfg.StatusReports, Ref: m.nextRef()})
	if err != nil {
		return nil, fmt.Errorf("modem: sending to %s: %w", to, err)
	}
	refs := make([]int, 0, len(pdus))
	for i, p := range pdus {
		mr, err := m.sendPDU(ctx, p)
		if err != nil {
			return refs, fmt.Errorf("modem: sending part %d of %d to %s: %w", i+1, len(pdus), to, err)
		}
		refs = append(refs, mr)
	}
	return refs, nil
}

// sendPDU is AT+CMGS in PDU mode (3GPP TS 27.005, 3.5.1): the TPDU's length, the "> "
// prompt, then the PDU in hex ended by Ctrl-Z; the answer is +CMGS: <mr>.
func (m *Modem) sendPDU(ctx context.Context, p sms.PDU) (int, error) {
	if err := m.acquireSynced(ctx); err != nil {
		return 0, err
	}
	defer m.release()
	cmd := "AT+CMGS=" + strconv.Itoa(p.Len)
	pend := m.start(cmd, true)
	if err := m.write([]byte(cmd + "\r")); err != nil {
		m.abandon(pend)
		return 0, err
	}
	t := time.NewTimer(m.cfg.CommandTimeout)
	defer t.Stop()
	select {
	case <-pend.prompt:
	case f := <-pend.final: // refused before the prompt
		pend.final <- f
		_, err := m.wait(ctx, pend, time.Second)
		return 0, err
	case <-t.C:
		m.cancelPrompt(pend)
		return 0, fmt.Errorf("modem: %s: no \"> \" prompt in %v: %w", cmd, m.cfg.CommandTimeout, ErrTimeout)
	case <-ctx.Done():
		m.cancelPrompt(pend)
		return 0, fmt.Errorf("modem: %s: %w", cmd, ctx.Err())
	case <-m.closed:
		return 0, ErrClosed
	}
	if err := m.write([]byte(p.Hex + "\x1a")); err != nil {
		m.abandon(pend)
		return 0, err
	}
	r, err := m.wait(ctx, pend, m.cfg.SendTimeout)
	if err != nil {
		if errors.Is(err, ErrTimeout) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			m.write([]byte{0x1b}) // TS 27.005, 3.5.1: ESC abandons the message
		}
		return 0, err
	}
	for _, l := range r.with("+CMGS") {
		if mr := l.param(0); mr >= 0 {
			return mr, nil
		}
	}
	return 0, fmt.Errorf("modem: %s: OK without +CMGS: <mr>", cmd)
}

// cancelPrompt gives up on AT+CMGS before its PDU: ESC tells the modem to drop it.
func (m *Modem) cancelPrompt(p *pending) {
	m.abandon(p)
	m.write([]byte{0x1b})
}

// handleLoop handles unsolicited codes one at a time until ctx ends, and gives up on long
// messages whose parts stopped coming.
func (m *Modem) handleLoop(ctx context.Context) {
	tick := time.NewTicker(max(m.cfg.PartsTimeout/10, 10*time.Millisecond))
	defer tick.Stop()
	for {
		for {
			u, ok := m.urcQ.pop()
			if !ok {
				break
			}
			m.handle(ctx, u)
		}
		select {
		case <-ctx.Done():
			return
		case <-m.urcQ.ready:
		case now := <-tick.C:
			for _, d := range m.reasm.Expire(now) {
				m.log.Warn("long message incomplete: passing on the parts that came", "from", d.From, "parts", d.Concat.Count)
				m.deliver(ctx, d, true)
			}
		}
	}
}

// handle acts on one unsolicited code (3GPP TS 27.005, 3.4.1 and 3.4.2).
func (m *Modem) handle(ctx context.Context, u urc) {
	switch u.head.prefix {
	case "+CMTI", "+CDSI": // stored: +CMTI: <mem>,<index>
		idx := u.head.param(1)
		if idx < 0 {
			m.log.Warn("unsolicited code without an index", "line", u.head.text)
			return
		}
		m.readStored(ctx, idx)
	case "+CMT", "+CDS":
		m.decoded(ctx, u.pdu)
	case "+STORED": // found by AT+CMGL during Init
		m.decoded(ctx, u.pdu)
		m.deleteStored(ctx, u.index)
	default:
		m.log.Debug("unsolicited", "line", u.head.text)
	}
}

// readStored reads message idx (AT+CMGR, TS 27.005, 3.4.3), passes it on and deletes it
// (AT+CMGD, 3.5.4) so the SIM never fills up; one that cannot be read is deleted too.
func (m *Modem) readStored(ctx context.Context, idx int) {
	cmd := "AT+CMGR=" + strconv.Itoa(idx)
	r, err := m.exec(ctx, cmd, m.cfg.CommandTimeout)
	if err != nil {
		m.log.Warn("reading a stored message", "index", idx, "err", err)
		if !errors.Is(err, ErrTimeout) {
			return
		}
	}
	if pdu := pduAfter(r, "+CMGR"); pdu != "" {
		m.decoded(ctx, pdu)
	}
	m.deleteStored(ctx, idx)
}

func (m *Modem) deleteStored(ctx context.Context, idx int) {
	if _, err := m.exec(ctx, "AT+CMGD="+strconv.Itoa(idx), m.cfg.CommandTimeout); err != nil {
		m.log.Warn("deleting a stored message", "index", idx, "err", err)
	}
}

// pduAfter is the line after the one with prefix: the PDU of +CMGR.
func pduAfter(r response, prefix string) string {
	for i, l := range r.lines {
		if l.prefix == prefix && i+1 < len(r.lines) {
			return r.lines[i+1].text
		}
	}
	return ""
}

// decoded decodes a PDU and passes it on: a text to Received (parts joined), a status
// report to Reports. What cannot be decoded is logged and dropped.
func (m *Modem) decoded(ctx context.Context, pdu string) {
	msg, err := sms.DecodeHex(pdu)
	if err != nil {
		m.log.Warn("undecodable PDU from the modem", "pdu", pdu, "err", err)
		return
	}
	switch v := msg.(type) {
	case *sms.Deliver:
		if d, ok := m.reasm.Add(v, time.Now()); ok {
			m.deliver(ctx, d, false)
		}
	case *sms.StatusReport:
		rep := Report{Ref: v.Ref, To: v.Recipient, Delivered: v.Delivered(), Status: v.Status, At: v.Discharge}
		if v.Pending() { // TP-ST 0x20-0x3F: the service centre is still trying
			m.log.Info("delivery still being attempted", "ref", v.Ref, "to", v.Recipient, "status", v.Status)
			return
		}
		select {
		case m.reports <- rep:
		case <-ctx.Done():
		}
	}
}

func (m *Modem) deliver(ctx context.Context, d *sms.Deliver, partial bool) {
	in := Incoming{From: d.From, Text: d.Text, At: d.Time, Partial: partial}
	if in.At.IsZero() {
		in.At = time.Now()
	}
	select {
	case m.received <- in:
	case <-ctx.Done():
	}
}
