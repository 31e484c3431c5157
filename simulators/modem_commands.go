package simulators

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// answerCommand answers every command but AT+CMGS: information lines and the final result.
func (m *Modem) answerCommand(cmd, up string) ([]string, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	simErr := func() ([]string, string) {
		if m.cmee == 0 {
			return nil, "ERROR"
		}
		return nil, "+CME ERROR: 10" // 3GPP TS 27.007, 9.2.1: SIM not inserted
	}
	switch {
	case up == "AT":
		return nil, "OK"
	case up == "ATE0" || up == "ATE1" || up == "ATE":
		m.echo = up == "ATE1"
		return nil, "OK"
	case up == "AT+CMEE?":
		return []string{fmt.Sprintf("+CMEE: %d", m.cmee)}, "OK"
	case strings.HasPrefix(up, "AT+CMEE="):
		n, err := strconv.Atoi(up[len("AT+CMEE="):])
		if err != nil || n < 0 || n > 2 {
			return nil, "ERROR"
		}
		m.cmee = n
		return nil, "OK"
	case up == "AT+CPIN?":
		switch {
		case m.noSIM:
			return simErr()
		case m.pin != "" && !m.unlocked:
			return []string{"+CPIN: SIM PIN"}, "OK"
		}
		return []string{"+CPIN: READY"}, "OK"
	case strings.HasPrefix(up, "AT+CPIN="):
		if m.noSIM {
			return simErr()
		}
		if strings.Trim(cmd[len("AT+CPIN="):], `"`) != m.pin {
			return nil, m.cme(16) // incorrect password
		}
		m.unlocked = true
		return nil, "OK"
	case up == "AT+CMGF=0":
		return nil, "OK"
	case strings.HasPrefix(up, "AT+CNMI="):
		return m.cnmi(up[len("AT+CNMI="):])
	case up == "AT+CSQ":
		if m.noSignal {
			return []string{"+CSQ: 99,99"}, "OK"
		}
		return []string{"+CSQ: 21,99"}, "OK"
	case up == "AT+CREG?" || up == "AT+CEREG?":
		stat := 1
		if m.noSignal || m.noSIM {
			stat = 2
		}
		return []string{fmt.Sprintf("+%s: 0,%d", up[3:len(up)-1], stat)}, "OK"
	}
	return m.answerStorageOrCall(up)
}

func (m *Modem) cme(code int) string {
	if m.cmee == 0 {
		return "ERROR"
	}
	return fmt.Sprintf("+CME ERROR: %d", code)
}

func (m *Modem) cms(code int) string {
	if m.cmee == 0 {
		return "ERROR"
	}
	return fmt.Sprintf("+CMS ERROR: %d", code)
}

// cnmi takes AT+CNMI=<mode>,<mt>,<bm>,<ds>,<bfr> (3GPP TS 27.005, 3.4.1): mt 0-2 and ds 0-1
// are what this modem supports.
func (m *Modem) cnmi(args string) ([]string, string) {
	p := strings.Split(args, ",")
	num := func(i int) int {
		if i >= len(p) || p[i] == "" {
			return 0
		}
		n, err := strconv.Atoi(p[i])
		if err != nil {
			return -1
		}
		return n
	}
	mt, ds := num(1), num(3)
	if mt < 0 || mt > 2 || ds < 0 || ds > 1 {
		return nil, m.cms(303) // operation not supported
	}
	m.mt, m.ds = mt, ds
	return nil, "OK"
}

// answerStorageOrCall answers AT+CMGR, AT+CMGD, AT+CMGL, ATD, AT+CLCC and ATH; m.mu is held.
func (m *Modem) answerStorageOrCall(up string) ([]string, string) {
	switch {
	case strings.HasPrefix(up, "AT+CMGR="):
		i, err := strconv.Atoi(up[len("AT+CMGR="):])
		pdu, ok := m.store[i]
		if err != nil || !ok {
			return nil, m.cms(321) // invalid memory index
		}
		return []string{fmt.Sprintf("+CMGR: 0,,%d", tpduLen(pdu)), pdu}, "OK"
	case strings.HasPrefix(up, "AT+CMGD="):
		i, err := strconv.Atoi(strings.SplitN(up[len("AT+CMGD="):], ",", 2)[0])
		if err != nil {
			return nil, m.cms(321)
		}
		delete(m.store, i)
		return nil, "OK"
	case strings.HasPrefix(up, "AT+CMGL="):
		idx := make([]int, 0, len(m.store))
		for i := range m.store {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		var out []string
		for _, i := range idx {
			pdu := m.store[i]
			out = append(out, fmt.Sprintf("+CMGL: %d,0,,%d", i, tpduLen(pdu)), pdu)
		}
		return out, "OK"
	case strings.HasPrefix(up, "ATD"):
		return m.dial(strings.TrimSuffix(up[3:], ";"))
	case up == "AT+CLCC":
		if m.call == nil {
			return nil, "OK"
		}
		stat := 3 // alerting
		if m.call.Result == CallAnswered {
			stat = 0 // active
		}
		return []string{fmt.Sprintf("+CLCC: 1,0,%d,0,0,%q,%d", stat, m.call.To, typeOfNumber(m.call.To))}, "OK"
	case up == "ATH" || up == "AT+CHUP":
		if c := m.call; c != nil {
			c.Duration = m.now().Sub(c.At)
			m.calls = append(m.calls, *c)
			m.call = nil
		}
		return nil, "OK"
	}
	return nil, "ERROR"
}

// dial starts a voice call; BUSY or NO CARRIER follow the OK (afterCommand).
func (m *Modem) dial(to string) ([]string, string) {
	if m.noSIM || m.noSignal {
		m.calls = append(m.calls, SentCall{To: to, At: m.now(), Result: CallFailed})
		return nil, "NO CARRIER"
	}
	if m.call != nil {
		return nil, m.cme(3) // operation not allowed: one call at a time
	}
	m.call = &SentCall{To: to, At: m.now(), Result: m.answer}
	return nil, "OK"
}

// typeOfNumber is 145 for an international number, 129 otherwise (3GPP TS 27.007, 7.18).
func typeOfNumber(n string) int {
	if strings.HasPrefix(n, "+") {
		return 145
	}
	return 129
}

// tpduLen is the length +CMGR and +CMGL give: the PDU's octets without the SMSC part
// (3GPP TS 27.005, 3.1).
func tpduLen(pdu string) int {
	smsc, err := strconv.ParseUint(pdu[:min(2, len(pdu))], 16, 8)
	if err != nil {
		return len(pdu) / 2
	}
	return len(pdu)/2 - 1 - int(smsc)
}
