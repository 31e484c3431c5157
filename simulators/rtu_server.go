package simulators

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/facilityd/facilityd/devices/modbus"
)

// RTULine is the simulators' end of a serial line (or of a TCP connection from a serial
// server): bytes with a read deadline.
type RTULine interface {
	io.ReadWriter
	SetReadDeadline(time.Time) error
}

// rtuSilence is how long the line must be quiet before a partial frame is thrown away: well
// above 3.5 character times at any common baud rate, well below a poller's timeout.
const rtuSilence = 20 * time.Millisecond

// ServeRTU answers RTU requests on line for the devices named, each at its unit, until the
// line fails (the other end hangs up) or closed is closed. As on a real RS-485 line, a frame
// with a bad CRC or for a unit not served here gets no answer. Protocol faults act as on TCP,
// except that drop and half_open silence the unit (a line has no connection to reset) and
// malformed corrupts the CRC of each reply.
func (e *Estate) ServeRTU(line RTULine, closed <-chan struct{}, ids ...string) error {
	units := map[uint8]*device{}
	for _, id := range ids {
		d := e.byID[id]
		if d == nil {
			return e.unknown(id)
		}
		if other := units[d.spec.Unit]; other != nil {
			return fmt.Errorf("devices %q and %q are both unit %d: units on one line must differ", other.spec.ID, id, d.spec.Unit)
		}
		units[d.spec.Unit] = d
	}
	var buf [300]byte // the longest request is 7 + 255 + 2 bytes
	n := 0
	for {
		select {
		case <-closed:
			return nil
		default:
		}
		if err := line.SetReadDeadline(time.Now().Add(rtuSilence)); err != nil {
			return err
		}
		m, err := line.Read(buf[n:])
		n += m
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			n = 0 // silence: whatever came is a frame or garbage, and was handled or is dropped
			continue
		case err != nil:
			return err
		}
		size, ok := rtuRequestSize(buf[:n])
		if !ok {
			n = 0 // not a request this server knows: wait for the silence after it
			continue
		}
		if n < size {
			continue
		}
		e.answerRTU(line, units, buf[:size], closed)
		n = copy(buf[:], buf[size:n])
	}
}

// rtuRequestSize is the length of the request frame that starts buf, once known.
func rtuRequestSize(buf []byte) (int, bool) {
	if len(buf) < 2 {
		return len(buf) + 1, true
	}
	switch buf[1] {
	case fcReadCoils, fcReadDiscreteInputs, fcReadHoldingRegisters, fcReadInputRegisters, fcWriteSingleCoil, fcWriteSingleRegister:
		return 8, true
	case fcWriteMultipleCoils, fcWriteMultipleRegisters:
		if len(buf) < 7 {
			return 7, true
		}
		return 7 + int(buf[6]) + 2, true
	}
	return 0, false
}

func (e *Estate) answerRTU(line RTULine, units map[uint8]*device, frame []byte, closed <-chan struct{}) {
	body := frame[:len(frame)-2]
	if modbus.CRC16(body) != uint16(frame[len(frame)-2])|uint16(frame[len(frame)-1])<<8 {
		e.log.Debug("rtu frame with a bad CRC ignored", "frame", fmt.Sprintf("% x", frame))
		return
	}
	d := units[frame[0]]
	if d == nil {
		return
	}
	pf := d.protocolFaults()
	var resp []byte
	switch {
	case pf.silent, pf.drop, pf.halfOpen:
		return
	case pf.exception != 0:
		resp = exception(body[1], pf.exception)
	default:
		resp = d.serveModbus(body[1:])
	}
	if pf.delay > 0 {
		select {
		case <-time.After(pf.delay):
		case <-closed:
			return
		}
	}
	out := append([]byte{frame[0]}, resp...)
	crc := modbus.CRC16(out)
	if pf.malformed {
		crc ^= 0xFFFF
	}
	out = append(out, byte(crc), byte(crc>>8))
	if _, err := line.Write(out); err != nil {
		e.log.Debug("rtu reply not sent", "device", d.spec.ID, "err", err)
	}
}

// ParsePeer reads facsim's --serial-peer ID=PATH.
func ParsePeer(s string) (id, path string, err error) {
	id, path, ok := strings.Cut(s, "=")
	if !ok || id == "" || path == "" {
		return "", "", fmt.Errorf("--serial-peer %q: want DEVICE=PATH, e.g. P-1=/dev/ttyUSB0", s)
	}
	return id, path, nil
}
