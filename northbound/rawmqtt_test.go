package northbound

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// rawConnect is a CONNECT written by hand, so that tests control every flag (a will, its
// retain flag, the protocol version) and can drop the socket without a DISCONNECT, as a
// killed process does.
type rawConnect struct {
	version            byte // 4: MQTT 3.1.1, 5: MQTT 5
	id, user, pass     string
	willTopic, willMsg string
	willRetain         bool
	willQoS            byte
	willDelay          uint32 // MQTT 5 only
	keepalive          uint16
}

func mqttString(s string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(s)))
	return append(b, s...)
}

// encode builds the packet (MQTT 3.1.1 §3.1, MQTT 5 §3.1).
func (c rawConnect) encode() []byte {
	var flags byte = 0x02 // clean session
	if c.willTopic != "" {
		flags |= 0x04 | c.willQoS<<3
		if c.willRetain {
			flags |= 0x20
		}
	}
	if c.user != "" {
		flags |= 0x80 | 0x40
	}
	body := append(mqttString("MQTT"), c.version, flags)
	body = binary.BigEndian.AppendUint16(body, c.keepalive)
	if c.version == 5 {
		body = append(body, 0) // no properties
	}
	body = append(body, mqttString(c.id)...)
	if c.willTopic != "" {
		if c.version == 5 {
			if c.willDelay > 0 {
				body = append(body, 5, 0x18)
				body = binary.BigEndian.AppendUint32(body, c.willDelay)
			} else {
				body = append(body, 0)
			}
		}
		body = append(body, mqttString(c.willTopic)...)
		body = append(body, mqttString(c.willMsg)...)
	}
	if c.user != "" {
		body = append(body, mqttString(c.user)...)
		body = append(body, mqttString(c.pass)...)
	}
	return append(encodeFixedHeader(0x10, len(body)), body...)
}

// dial sends the CONNECT and returns the connection and the CONNACK's return (reason) code,
// or -1 if the broker closed the connection without one.
func (c rawConnect) dial(t *testing.T, addr string) (net.Conn, int) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.Write(c.encode()); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer conn.SetReadDeadline(time.Time{})
	head := make([]byte, 2)
	if _, err := io.ReadFull(conn, head); err != nil {
		return conn, -1
	}
	if head[0] != 0x20 {
		t.Fatalf("first packet from the broker is %#x, not a CONNACK", head[0])
	}
	rest := make([]byte, head[1])
	if _, err := io.ReadFull(conn, rest); err != nil || len(rest) < 2 {
		t.Fatalf("CONNACK cut short: %v", err)
	}
	return conn, int(rest[1])
}

// closedWithin reports whether the broker closes conn within d.
func closedWithin(conn net.Conn, d time.Duration) bool {
	conn.SetReadDeadline(time.Now().Add(d))
	_, err := conn.Read(make([]byte, 1))
	return err != nil && !isTimeout(err)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
