package simulators

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/goburrow/modbus"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testutil"
)

// rawConn is a Modbus TCP client that shows what goes over the socket and when.
type rawConn struct {
	t *testing.T
	net.Conn
	buf []byte
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, Conn: c, buf: make([]byte, maxADULen)}
}

// send writes a read of one input register (function 04) for a unit.
func (c *rawConn) send(tid uint16, unit byte) {
	c.t.Helper()
	if _, err := c.Write(appendFrame(nil, frame{transaction: tid, unit: unit, pdu: []byte{0x04, 0, 0, 0, 1}})); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// reply reads one frame, waiting at most d.
func (c *rawConn) reply(d time.Duration) (frame, error) {
	c.SetReadDeadline(time.Now().Add(d))
	return readFrame(c, c.buf)
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// isReset reports a connection the server reset: RST, or on a reset already seen, EOF.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF)
}

func TestSlowFault(t *testing.T) {
	clock := testutil.NewClock(evening)
	e := startTestEstate(t, clock, DeviceSpec{ID: "p", Kind: devices.KindPump, Unit: 1})
	const delay = 400 * time.Millisecond
	if err := e.Inject("p", "slow", map[string]string{"delay": delay.String()}); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, e.Addr("p"))
	sent := time.Now()
	c.send(41, 1)
	if _, err := c.reply(delay / 4); !isTimeout(err) {
		t.Fatalf("reply before the delay: err = %v, want a read timeout", err)
	}
	f, err := c.reply(5 * time.Second)
	if err != nil {
		t.Fatalf("late reply: %v", err)
	}
	if late := time.Since(sent); late < delay {
		t.Errorf("reply after %v, want at least %v", late, delay)
	}
	if f.transaction != 41 || f.pdu[0] != 0x04 {
		t.Errorf("late reply %+v, want the answer to transaction 41", f)
	}

	// A poller with a shorter timeout gives up: the case facilityd must recover from.
	h := modbus.NewTCPClientHandler(e.Addr("p"))
	h.SlaveId, h.Timeout = 1, delay/4
	defer h.Close()
	if _, err := modbus.NewClient(h).ReadInputRegisters(0, 1); !isNetTimeout(err) {
		t.Errorf("client with a %v timeout: err = %v, want a timeout", h.Timeout, err)
	}

	if err := e.Clear("p", "slow", nil); err != nil {
		t.Fatal(err)
	}
	c.send(42, 1)
	if f, err := c.reply(delay / 2); err != nil || f.transaction != 42 {
		t.Fatalf("after clear: %+v, %v; want a prompt reply to transaction 42", f, err)
	}
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestDropFault(t *testing.T) {
	clock := testutil.NewClock(evening)
	e := startTestEstate(t, clock,
		DeviceSpec{ID: "a", Kind: devices.KindPump, Address: "127.0.0.1:0", Unit: 1},
		DeviceSpec{ID: "b", Kind: devices.KindElevator, Address: "127.0.0.1:0", Unit: 2},
	)
	addr := e.Addr("a")
	existing := dialRaw(t, addr)
	existing.send(1, 1)
	if _, err := existing.reply(2 * time.Second); err != nil {
		t.Fatalf("before drop: %v", err)
	}

	if err := e.Inject("a", "drop", nil); err != nil {
		t.Fatal(err)
	}
	// The open connection is reset at once.
	if _, err := existing.reply(2 * time.Second); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("existing connection: err = %v, want connection reset by peer", err)
	}

	// A new connection is accepted; the neighbour still answers on it; the first request for
	// the dropped unit resets it.
	fresh := dialRaw(t, addr)
	fresh.send(2, 2)
	if f, err := fresh.reply(2 * time.Second); err != nil || f.unit != 2 {
		t.Fatalf("neighbour unit on a new connection: %+v, %v", f, err)
	}
	fresh.send(3, 1)
	if _, err := fresh.reply(2 * time.Second); !isReset(err) {
		t.Fatalf("request for the dropped unit: err = %v, want the connection reset", err)
	}

	c, _ := client(t, addr, 1)
	if _, err := c.ReadInputRegisters(0, 1); err == nil {
		t.Fatalf("goburrow read of a dropped unit succeeded")
	}

	if err := e.Clear("a", "drop", nil); err != nil {
		t.Fatal(err)
	}
	after := dialRaw(t, addr)
	after.send(4, 1)
	if f, err := after.reply(2 * time.Second); err != nil || f.transaction != 4 {
		t.Fatalf("after clear: %+v, %v", f, err)
	}
}

func TestExceptionFault(t *testing.T) {
	clock := testutil.NewClock(evening)
	e := startTestEstate(t, clock, DeviceSpec{ID: "lp", Kind: devices.KindLighting, Unit: 9})
	c, _ := client(t, e.Addr("lp"), 9)
	tests := []struct {
		name   string
		params map[string]string
		call   func() error
		code   byte
	}{
		{"default code 4 on a read", nil, func() error { _, err := c.ReadInputRegisters(0, 4); return err }, 0x04},
		{"code 6 on a read", map[string]string{"code": "6"}, func() error { _, err := c.ReadCoils(0, 24); return err }, 0x06},
		{"code 6 on a write too", map[string]string{"code": "6"}, func() error { _, err := c.WriteSingleCoil(0, 0); return err }, 0x06},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.Inject("lp", "exception", tt.params); err != nil {
				t.Fatal(err)
			}
			var me *modbus.ModbusError
			if err := tt.call(); !errors.As(err, &me) || me.ExceptionCode != tt.code {
				t.Fatalf("err = %v, want exception %d", err, tt.code)
			}
		})
	}
	if err := e.Clear("lp", "exception", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadInputRegisters(0, 4); err != nil {
		t.Fatalf("read after clear: %v", err)
	}
	if v := value(t, e, "lp", "circuit_01_command"); v.Number != 1 {
		t.Errorf("the write refused with an exception still reached the model")
	}
}

func TestSilentFault(t *testing.T) {
	clock := testutil.NewClock(evening)
	e := startTestEstate(t, clock,
		DeviceSpec{ID: "mute", Kind: devices.KindFirePanel, Address: "127.0.0.1:0", Unit: 1},
		DeviceSpec{ID: "chatty", Kind: devices.KindFirePanel, Address: "127.0.0.1:0", Unit: 2},
	)
	if err := e.Inject("mute", "silent", nil); err != nil {
		t.Fatal(err)
	}
	addr := e.Addr("mute")

	// Same connection: the silent unit's request is swallowed, the neighbour's answered.
	c := dialRaw(t, addr)
	c.send(10, 1)
	c.send(11, 2)
	f, err := c.reply(2 * time.Second)
	if err != nil || f.transaction != 11 || f.unit != 2 || f.pdu[0] != 0x04 {
		t.Fatalf("first reply %+v, %v; want the neighbour's answer to transaction 11", f, err)
	}
	if f, err := c.reply(300 * time.Millisecond); !isTimeout(err) {
		t.Fatalf("the silent unit answered: %+v, %v", f, err)
	}

	// Another connection: the same.
	chatty, _ := client(t, addr, 2)
	if _, err := chatty.ReadInputRegisters(0, 16); err != nil {
		t.Fatalf("neighbour on another connection: %v", err)
	}
	h := modbus.NewTCPClientHandler(addr)
	h.SlaveId, h.Timeout = 1, 300*time.Millisecond
	defer h.Close()
	if _, err := modbus.NewClient(h).ReadInputRegisters(0, 16); !isNetTimeout(err) {
		t.Fatalf("silent unit on another connection: err = %v, want a timeout", err)
	}

	// The first connection stayed open; once cleared the unit answers on it.
	if err := e.Clear("mute", "silent", nil); err != nil {
		t.Fatal(err)
	}
	c.send(12, 1)
	if f, err := c.reply(2 * time.Second); err != nil || f.transaction != 12 {
		t.Fatalf("after clear: %+v, %v", f, err)
	}
}

func TestProtocolFaultsShowInStatus(t *testing.T) {
	e := newTestEstate(t, testutil.NewClock(evening), DeviceSpec{ID: "p", Kind: devices.KindPump})
	if err := e.Inject("p", "slow", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Inject("p", "exception", map[string]string{"code": "11"}); err != nil {
		t.Fatal(err)
	}
	st, _ := e.Device("p")
	if len(st.Faults) != 2 || st.Faults[0].Fault != "exception" || st.Faults[0].Params["code"] != "11" ||
		st.Faults[1].Fault != "slow" || st.Faults[1].Params["delay"] != "2s" {
		t.Fatalf("faults %+v, want exception code 11 and slow with the default delay 2s", st.Faults)
	}
}
