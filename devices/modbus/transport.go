package modbus

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// MODBUS Messaging on TCP/IP Implementation Guide v1.0b, 3.1.3: the MBAP header is 7 bytes and
// an ADU at most 260.
const (
	mbapHeaderSize = 7
	maxADU         = 260
)

var errNotConnected = errors.New("not connected")

// tcpTransport carries goburrow's frames over one TCP connection that the driver dials and
// closes itself. goburrow encodes and verifies frames (its TCPClientHandler as the Packager);
// this replaces only its transport, which redials on its own, keeps a stale connection after a
// timeout and reads each reply with two system calls. Here a reply is read through a buffer,
// usually in one.
type tcpTransport struct {
	address string
	timeout time.Duration
	conn    net.Conn
	r       *bufio.Reader
	buf     [maxADU]byte
}

func (t *tcpTransport) connect() error {
	conn, err := net.DialTimeout("tcp", t.address, t.timeout)
	if err != nil {
		return err
	}
	t.conn = conn
	if t.r == nil {
		t.r = bufio.NewReaderSize(conn, 2*maxADU)
	} else {
		t.r.Reset(conn)
	}
	return nil
}

func (t *tcpTransport) connected() bool { return t.conn != nil }

func (t *tcpTransport) close() {
	if t.conn != nil {
		t.conn.Close()
		t.conn = nil
	}
}

// Send writes one request and reads its reply, within the timeout. The reply is only valid
// until the next Send. Any error leaves the connection to be closed by the caller.
func (t *tcpTransport) Send(adu []byte) ([]byte, error) {
	if t.conn == nil {
		return nil, errNotConnected
	}
	if err := t.conn.SetDeadline(time.Now().Add(t.timeout)); err != nil {
		return nil, err
	}
	if _, err := t.conn.Write(adu); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(t.r, t.buf[:mbapHeaderSize]); err != nil {
		return nil, err
	}
	// The length field counts the unit id, already read, and the PDU.
	length := int(binary.BigEndian.Uint16(t.buf[4:6]))
	if length < 2 || mbapHeaderSize-1+length > maxADU {
		return nil, fmt.Errorf("modbus: reply length %d in the MBAP header is out of range 2-%d", length, maxADU-mbapHeaderSize+1)
	}
	end := mbapHeaderSize - 1 + length
	if _, err := io.ReadFull(t.r, t.buf[mbapHeaderSize:end]); err != nil {
		return nil, err
	}
	return t.buf[:end], nil
}
