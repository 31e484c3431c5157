package daemontest

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// MQTTConnect writes an MQTT 3.1.1 CONNECT (MQTT 3.1.1 §3.1) with a will by hand and returns
// the connection and the CONNACK return code (-1: closed without one). Dropping the returned
// connection without a DISCONNECT is what kill -9 of the client does.
func MQTTConnect(t *testing.T, addr, user, pass, willTopic, willMsg string, retain bool) (net.Conn, int) {
	t.Helper()
	str := func(s string) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...) }
	flags := byte(0x02)
	if willTopic != "" {
		flags |= 0x04 | 0x08 // will, QoS 1
		if retain {
			flags |= 0x20
		}
	}
	if user != "" {
		flags |= 0xc0
	}
	body := append(append(str("MQTT"), 4, flags, 0, 30), str("attacker-"+user+willTopic)...)
	if willTopic != "" {
		body = append(append(body, str(willTopic)...), str(willMsg)...)
	}
	if user != "" {
		body = append(append(body, str(user)...), str(pass)...)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.Write(append(MQTTHeader(0x10, len(body)), body...))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer conn.SetReadDeadline(time.Time{})
	ack := make([]byte, 4)
	if _, err := io.ReadFull(conn, ack); err != nil {
		return conn, -1
	}
	return conn, int(ack[3])
}

// MQTTHeader is a fixed header: the type byte and the remaining length (MQTT 3.1.1 §2.2.3).
func MQTTHeader(typ byte, n int) []byte {
	out := []byte{typ}
	for {
		b := byte(n & 0x7f)
		if n >>= 7; n > 0 {
			b |= 0x80
		}
		if out = append(out, b); n == 0 {
			return out
		}
	}
}
