package modem

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/goburrow/serial"
)

// Open opens the modem's serial port (8N1 at Config.Baud; a pseudo-terminal works too) and
// drives it.
func Open(cfg Config, log *slog.Logger) (*Modem, error) {
	cfg = cfg.withDefaults()
	port, err := OpenPort(cfg.Port, cfg.Baud)
	if err != nil {
		return nil, err
	}
	return New(port, cfg, log)
}

// readTick bounds each wait of the serial driver for input: short enough that Close is quick,
// long enough that an idle line costs nothing.
const readTick = 100 * time.Millisecond

// OpenPort opens a serial port 8N1 at baud as a stream whose Read waits until data comes or
// the port is closed, for the driver or for the simulator on the other end of a line. It
// uses goburrow/serial as devices/modbus does.
func OpenPort(path string, baud int) (io.ReadWriteCloser, error) {
	p, err := serial.Open(&serial.Config{Address: path, BaudRate: baud, DataBits: 8, StopBits: 1, Parity: "N", Timeout: readTick})
	if err != nil {
		return nil, fmt.Errorf("modem: opening serial port %s (is it the modem's AT port, and may facilityd use it?): %w", path, err)
	}
	return &port{p: p}, nil
}

// port turns goburrow's timed reads into a blocking Read, and keeps Close from racing a
// Read on the file descriptor.
type port struct {
	mu     sync.RWMutex
	p      serial.Port
	closed bool
}

func (s *port) Read(b []byte) (int, error) {
	for {
		s.mu.RLock()
		if s.closed {
			s.mu.RUnlock()
			return 0, io.EOF
		}
		n, err := s.p.Read(b)
		s.mu.RUnlock()
		switch {
		case errors.Is(err, serial.ErrTimeout):
			continue
		case err == nil && n == 0:
			// readable with nothing to read: the other end hung up
			return 0, io.ErrUnexpectedEOF
		}
		return n, err
	}
}

func (s *port) Write(b []byte) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, io.ErrClosedPipe
	}
	return s.p.Write(b)
}

func (s *port) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.p.Close()
}
