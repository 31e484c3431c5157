package simulators_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/sms"
	"github.com/facilityd/facilityd/simulators"
)

// terminal types AT commands at a simulated modem as a person at a serial console would.
type terminal struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func newTerminal(t *testing.T, m *simulators.Modem) *terminal {
	t.Helper()
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, b) }()
	t.Cleanup(func() {
		cancel()
		a.Close()
		b.Close()
		<-done
	})
	return &terminal{t: t, conn: a, r: bufio.NewReader(a)}
}

// send writes s and reads until want has been seen, returning everything read.
func (tm *terminal) send(s, want string) string {
	tm.t.Helper()
	tm.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := tm.conn.Write([]byte(s)); err != nil {
		tm.t.Fatal(err)
	}
	return tm.expect(want)
}

func (tm *terminal) expect(want string) string {
	tm.t.Helper()
	tm.conn.SetDeadline(time.Now().Add(5 * time.Second))
	var got strings.Builder
	for !strings.Contains(got.String(), want) {
		c, err := tm.r.ReadByte()
		if err != nil {
			tm.t.Fatalf("waiting for %q, got %q: %v", want, got.String(), err)
		}
		got.WriteByte(c)
	}
	return got.String()
}

// TestModemConsole: the modem echoes until ATE0, refuses with bare ERROR before AT+CMEE=1,
// prompts "> " with no line end, and takes a PDU checked against the length announced.
func TestModemConsole(t *testing.T) {
	m := simulators.NewModem("gsm-1")
	tm := newTerminal(t, m)
	if got := tm.send("AT\r", "OK\r\n"); !strings.HasPrefix(got, "AT\r") {
		t.Errorf("no echo before ATE0: %q", got)
	}
	tm.send("ATE0\r", "OK\r\n")
	if got := tm.send("AT+CSQ\r", "OK\r\n"); got != "\r\n+CSQ: 21,99\r\n\r\nOK\r\n" {
		t.Errorf("after ATE0: %q", got)
	}
	m.SetSIM(false)
	if got := tm.send("AT+CPIN?\r", "ERROR\r\n"); got != "\r\nERROR\r\n" {
		t.Errorf("no SIM before AT+CMEE=1: %q", got)
	}
	tm.send("AT+CMEE=1\r", "OK\r\n")
	tm.send("AT+CPIN?\r", "+CME ERROR: 10\r\n")
	m.SetSIM(true)
	tm.send("AT+CNMI=2,1,0,1,0\r", "OK\r\n")

	// "hellohello" to +46708251358, the published example PDU (23 octets of TPDU).
	if got := tm.send("AT+CMGS=23\r", "> "); got != "\r\n> " {
		t.Errorf("prompt %q", got)
	}
	tm.send("0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a", "+CMGS: 1\r\n\r\nOK\r\n")
	// A length that does not match the PDU is refused, as modems do.
	tm.send("AT+CMGS=22\r", "> ")
	tm.send("0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a", "+CMS ERROR: 304\r\n")
	// ESC abandons a message.
	tm.send("AT+CMGS=23\r", "> ")
	tm.send("0011\x1b", "OK\r\n")
	if s := m.Sent(); len(s) != 1 || s[0].To != "+46708251358" || s[0].Text != "hellohello" {
		t.Errorf("sent %+v", s)
	}

	m.SetSignal(false)
	tm.send("AT+CMGS=23\r", "> ")
	tm.send("0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a", "+CMS ERROR: 331\r\n")
	tm.send("AT+CREG?\r", "+CREG: 0,2")
	m.SetSignal(true)

	// An incoming text is announced, read as a DELIVER PDU, and deleted.
	if err := m.Deliver("+8613800138000", "1 A17"); err != nil {
		t.Fatal(err)
	}
	tm.expect("+CMTI: \"SM\",1\r\n")
	got := tm.send("AT+CMGR=1\r", "OK\r\n")
	lines := strings.Fields(got)
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "+CMGR:") {
		t.Fatalf("+CMGR answer %q", got)
	}
	msg, err := sms.DecodeHex(lines[2])
	if err != nil {
		t.Fatal(err)
	}
	if d := msg.(*sms.Deliver); d.From != "+8613800138000" || d.Text != "1 A17" {
		t.Errorf("stored message %+v", d)
	}
	tm.send("AT+CMGD=1\r", "OK\r\n")
	tm.send("AT+CMGR=1\r", "+CMS ERROR: 321\r\n")
	tm.send("AT+BOGUS\r", "ERROR\r\n")
}

func TestModemCallsOnConsole(t *testing.T) {
	m := simulators.NewModem("gsm-1")
	tm := newTerminal(t, m)
	tm.send("ATE0\r", "OK\r\n")
	m.AnswerCalls(simulators.CallNoAnswer)
	tm.send("ATD+8613800138000;\r", "OK\r\n")
	tm.send("AT+CLCC\r", `+CLCC: 1,0,3,0,0,"+8613800138000",145`)
	tm.send("ATH\r", "OK\r\n")
	m.AnswerCalls(simulators.CallBusy)
	tm.send("ATD10086;\r", "BUSY\r\n")
	calls := m.Calls()
	if len(calls) != 2 || calls[0].Result != simulators.CallNoAnswer || calls[1].Result != simulators.CallBusy || calls[1].To != "10086" {
		t.Errorf("calls %+v", calls)
	}
}

func TestModemControl(t *testing.T) {
	m := simulators.NewModem("gsm-1")
	tm := newTerminal(t, m)
	tm.send("ATE0\r", "OK\r\n")
	tm.send("AT+CNMI=2,1,0,0,0\r", "OK\r\n")
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"state", "GET", "/sim/v1/modems/gsm-1", "", 200, `"signal": true`},
		{"other modem", "GET", "/sim/v1/modems/gsm-9/sent", "", 404, `"error": "no modem \"gsm-9\"`},
		{"nothing sent", "GET", "/sim/v1/modems/gsm-1/sent", "", 200, `"sent": []`},
		{"no calls", "GET", "/sim/v1/modems/gsm-1/calls", "", 200, `"calls": []`},
		{"reply arrives", "POST", "/sim/v1/modems/gsm-1/incoming", `{"from":"+8613800138000","text":"1"}`, 202, `"stored": 1`},
		{"reply without sender", "POST", "/sim/v1/modems/gsm-1/incoming", `{"text":"1"}`, 400, `"error"`},
		{"bad body", "POST", "/sim/v1/modems/gsm-1/incoming", `{"from":`, 400, `"error": "body:`},
		{"no signal", "POST", "/sim/v1/modems/gsm-1/faults/no_signal", "", 200, `"no_signal"`},
		{"signal back", "DELETE", "/sim/v1/modems/gsm-1/faults/no_signal", "", 200, `"signal": true`},
		{"no sim", "POST", "/sim/v1/modems/gsm-1/faults/no_sim", "", 200, `"sim": false`},
		{"unknown fault", "POST", "/sim/v1/modems/gsm-1/faults/fire", "", 400, `no_signal`},
		{"phones busy", "PUT", "/sim/v1/modems/gsm-1/answer", `{"result":"busy"}`, 200, `"answer": "busy"`},
		{"bad answer", "PUT", "/sim/v1/modems/gsm-1/answer", `{"result":"maybe"}`, 400, `no_answer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var raw json.RawMessage
			if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if resp.StatusCode != tt.status || !strings.Contains(string(raw), tt.want) {
				t.Errorf("%d %s; want %d with %s", resp.StatusCode, raw, tt.status, tt.want)
			}
		})
	}
	tm.expect(`+CMTI: "SM",1`)
}
