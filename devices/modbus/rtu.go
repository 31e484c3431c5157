package modbus

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	mb "github.com/goburrow/modbus"
	"github.com/goburrow/serial"

	"github.com/facilityd/facilityd/devices"
)

// link is what an endpoint sends its frames through: a TCP connection (transport.go), an RTU
// stream to a serial server, or a serial line.
type link interface {
	mb.Transporter
	connect() error
	connected() bool
	close()
	setTimeout(time.Duration)
	// keeps reports whether the link stays open after a failed request. A serial line has no
	// connection to reset: the next frame follows a silence, and a late reply is discarded
	// before it.
	keeps() bool
}

// framer is goburrow's packager of one framing, with the unit the next request goes to.
type framer interface {
	mb.Packager
	setUnit(uint8)
}

type tcpFrames struct{ *mb.TCPClientHandler }

func (f tcpFrames) setUnit(u uint8) { f.SlaveId = u }

type rtuFrames struct{ *mb.RTUClientHandler }

func (f rtuFrames) setUnit(u uint8) { f.SlaveId = u }

func (t *tcpTransport) setTimeout(d time.Duration) { t.timeout = d }
func (t *tcpTransport) keeps() bool                { return false }

// newLink builds the framing and the transport of a device's line. goburrow's
// RTUClientHandler is used only as the packager (address, PDU, CRC-16); its own serial
// transporter reads whatever bytes are there after a fixed sleep, takes no lock and leaves a
// late reply on the line to be read as the next one's.
func newLink(m *devices.ModbusTransport) (framer, link) {
	switch {
	case m.Serial != nil:
		rtu := &rtuTransport{serial: true, gap: frameGap(m.Serial)}
		line := *m.Serial
		rtu.open = func(timeout time.Duration) (port, error) { return openSerial(line, rtu.gap) }
		return rtuFrames{mb.NewRTUClientHandler(m.Serial.Device)}, rtu
	case m.Framing == devices.FramingRTU:
		addr := m.Address
		rtu := &rtuTransport{}
		rtu.open = func(timeout time.Duration) (port, error) { return net.DialTimeout("tcp", addr, timeout) }
		return rtuFrames{mb.NewRTUClientHandler(addr)}, rtu
	}
	return tcpFrames{mb.NewTCPClientHandler(m.Address)}, &tcpTransport{address: m.Address}
}

// frameGap is the silence that separates two RTU frames: 3.5 character times, and 1.75 ms
// above 19200 baud (MODBUS over serial line v1.02, 2.5.1.1). A character is a start bit, the
// data bits, a parity bit unless parity is N, and the stop bits.
func frameGap(s *devices.SerialLine) time.Duration {
	baud := s.Baud
	if baud <= 0 {
		baud = 19200
	}
	if baud > 19200 {
		return 1750 * time.Microsecond
	}
	bits := 1 + s.DataBits + s.StopBits
	if s.DataBits == 0 {
		bits += 8
	}
	if s.StopBits == 0 {
		bits++
	}
	if s.Parity != "N" {
		bits++
	}
	return time.Duration(float64(time.Second) * 3.5 * float64(bits) / float64(baud))
}

// port is a byte stream with a read deadline: a TCP connection or a serial port.
type port interface {
	io.ReadWriteCloser
	SetReadDeadline(time.Time) error
}

// RTU frame sizes (MODBUS over serial line v1.02, 2.5.1.1): at most 256 bytes; an exception
// reply is address, function, code and CRC.
const (
	rtuMaxADU       = 256
	rtuExceptionADU = 5
)

// errRTUFunction is a reply whose function code is neither the request's nor its exception.
var errRTUFunction = errors.New("modbus rtu: reply to another function")

// rtuTransport carries RTU frames over a port. A reply's length is known from its function
// code and byte count, so it is read whole without waiting for the silence after it. On a
// serial line each request waits for the line's silence and first discards any bytes left on
// it (a late reply, noise), so a unit that answers late can never answer its neighbour's
// request.
type rtuTransport struct {
	open    func(timeout time.Duration) (port, error)
	port    port
	timeout time.Duration
	serial  bool
	gap     time.Duration
	last    time.Time // end of the last frame on the line
	buf     [rtuMaxADU]byte
}

func (t *rtuTransport) setTimeout(d time.Duration) { t.timeout = d }
func (t *rtuTransport) keeps() bool                { return t.serial }
func (t *rtuTransport) connected() bool            { return t.port != nil }

func (t *rtuTransport) connect() error {
	p, err := t.open(t.timeout)
	if err != nil {
		return err
	}
	t.port = p
	return nil
}

func (t *rtuTransport) close() {
	if t.port != nil {
		t.port.Close()
		t.port = nil
	}
}

// Send writes one request and reads its reply within the timeout. The reply is valid until
// the next Send.
func (t *rtuTransport) Send(adu []byte) ([]byte, error) {
	if t.port == nil {
		return nil, errNotConnected
	}
	if len(adu) < 4 {
		return nil, fmt.Errorf("modbus rtu: request of %d bytes", len(adu))
	}
	if t.serial {
		t.quiet()
	}
	defer func() { t.last = time.Now() }()
	if err := t.port.SetReadDeadline(time.Now().Add(t.timeout)); err != nil {
		return nil, err
	}
	if _, err := t.port.Write(adu); err != nil {
		return nil, err
	}
	n, err := t.readReply(adu[1])
	if err != nil {
		return nil, err
	}
	return t.buf[:n], nil
}

// readReply reads one reply frame to function fc.
func (t *rtuTransport) readReply(fc byte) (int, error) {
	if _, err := io.ReadFull(t.port, t.buf[:2]); err != nil {
		return 0, err
	}
	have, size := 2, 0
	switch got := t.buf[1]; {
	case got == fc|0x80:
		size = rtuExceptionADU
	case got != fc:
		return 0, fmt.Errorf("%w: function %#02x in reply to %#02x", errRTUFunction, got, fc)
	case fc <= mb.FuncCodeReadInputRegisters || fc == mb.FuncCodeReadWriteMultipleRegisters:
		// address, function, byte count, data, CRC
		if _, err := io.ReadFull(t.port, t.buf[2:3]); err != nil {
			return 0, err
		}
		have, size = 3, 3+int(t.buf[2])+2
	default:
		// a write's echo: address, function, address and value or quantity, CRC
		size = 8
	}
	if size > rtuMaxADU {
		return 0, fmt.Errorf("modbus rtu: reply of %d bytes is longer than an RTU frame (%d)", size, rtuMaxADU)
	}
	if _, err := io.ReadFull(t.port, t.buf[have:size]); err != nil {
		return 0, err
	}
	return size, nil
}

// quiet waits for the line's silence after the last frame, then discards whatever arrives
// within one more silence: the line is idle when the request goes out.
func (t *rtuTransport) quiet() {
	if wait := time.Until(t.last.Add(t.gap)); wait > 0 {
		time.Sleep(wait)
	}
	var junk [rtuMaxADU]byte
	for range 64 {
		if err := t.port.SetReadDeadline(time.Now().Add(t.gap)); err != nil {
			return
		}
		if n, err := t.port.Read(junk[:]); err != nil || n == 0 {
			return
		}
	}
}

// serialPort gives goburrow's serial port a read deadline. goburrow bounds each Read by the
// timeout it was opened with; here that timeout is one frame gap, and Read goes on until the
// deadline.
type serialPort struct {
	p        serial.Port
	deadline time.Time
}

func openSerial(line devices.SerialLine, tick time.Duration) (port, error) {
	p, err := serial.Open(&serial.Config{
		Address: line.Device, BaudRate: line.Baud, DataBits: line.DataBits, StopBits: line.StopBits,
		Parity: line.Parity, Timeout: max(tick, time.Millisecond),
	})
	if err != nil {
		return nil, err
	}
	return &serialPort{p: p}, nil
}

func (s *serialPort) SetReadDeadline(t time.Time) error { s.deadline = t; return nil }
func (s *serialPort) Write(b []byte) (int, error)       { return s.p.Write(b) }
func (s *serialPort) Close() error                      { return s.p.Close() }

func (s *serialPort) Read(b []byte) (int, error) {
	for {
		n, err := s.p.Read(b)
		switch {
		case errors.Is(err, serial.ErrTimeout):
			if !s.deadline.IsZero() && !time.Now().Before(s.deadline) {
				return 0, os.ErrDeadlineExceeded
			}
			continue
		case err == nil && n == 0:
			// select said readable and there was nothing: the other end hung up
			return 0, io.ErrUnexpectedEOF
		}
		return n, err
	}
}

// SerialPort is an open serial port whose reads end at a deadline, for the simulators' RTU
// server on the other end of a line.
type SerialPort interface {
	io.ReadWriteCloser
	SetReadDeadline(time.Time) error
}

// OpenSerial opens a serial port (or pseudo-terminal) with the line's settings; reads wait
// for data in steps of one frame gap until the deadline.
func OpenSerial(line devices.SerialLine) (SerialPort, error) {
	p, err := openSerial(line, frameGap(&line))
	if err != nil {
		return nil, err
	}
	return p.(SerialPort), nil
}

// CRC16 is the Modbus RTU checksum (MODBUS over serial line v1.02, 6.2.2), sent low byte
// first.
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}
