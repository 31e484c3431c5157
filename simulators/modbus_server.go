package simulators

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// Bounds of one listener, so that a misbehaving client cannot exhaust the process.
const (
	// maxConnsPerListener caps the connections a listener keeps; one more is closed at once.
	maxConnsPerListener = 64
	// idleTimeout closes a connection on which no request has arrived for this long.
	idleTimeout = 5 * time.Minute
	// writeTimeout bounds sending one reply to a client that does not read.
	writeTimeout = 10 * time.Second
)

// server is one Modbus TCP listener serving several units, as an RTU gateway does: the MBAP
// unit identifier picks the device (Implementation Guide V1.0b, 3.1.3). Each connection has
// its own goroutine and answers its requests in order.
type server struct {
	addr  string // as configured; port 0 picks a free port
	units map[uint8]*device
	log   *slog.Logger
	idle  time.Duration // idleTimeout; shorter in tests

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

func newServer(addr string, log *slog.Logger) *server {
	return &server{
		addr:  addr,
		units: map[uint8]*device{},
		log:   log,
		idle:  idleTimeout,
		conns: map[net.Conn]struct{}{},
		done:  make(chan struct{}),
	}
}

// start listens and accepts in a goroutine of its own until close.
func (s *server) start() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go s.accept(ln)
	s.log.Info("modbus listener started", "address", ln.Addr().String(), "units", len(s.units))
	return nil
}

// listenAddr is the address actually bound, or the configured one before start.
func (s *server) listenAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

func (s *server) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait a little rather than spin.
			s.log.Warn("modbus accept failed", "address", ln.Addr().String(), "err", err)
			select {
			case <-s.done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		s.mu.Lock()
		switch {
		case s.closed:
			s.mu.Unlock()
			c.Close()
			return
		case len(s.conns) >= maxConnsPerListener:
			s.mu.Unlock()
			s.log.Warn("modbus connection refused: too many connections",
				"address", ln.Addr().String(), "remote", c.RemoteAddr().String(), "limit", maxConnsPerListener)
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

// serve reads requests from one connection and answers them in order, applying the protocol
// faults of the unit each request is for.
func (s *server) serve(c net.Conn) {
	defer s.wg.Done()
	defer s.forget(c)
	remote := c.RemoteAddr().String()
	s.log.Debug("modbus connection opened", "address", s.addr, "remote", remote)
	buf := make([]byte, maxADULen)
	out := make([]byte, 0, maxADULen)
	for {
		if err := c.SetReadDeadline(time.Now().Add(s.idle)); err != nil {
			return
		}
		f, err := readFrame(c, buf)
		if err != nil {
			switch {
			case errors.Is(err, errFraming):
				s.log.Warn("modbus connection closed: bad frame", "address", s.addr, "remote", remote, "err", err)
			case errors.Is(err, os.ErrDeadlineExceeded):
				s.log.Debug("modbus connection closed: idle", "address", s.addr, "remote", remote)
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
			default:
				s.log.Debug("modbus connection closed", "address", s.addr, "remote", remote, "err", err)
			}
			return
		}
		if s.halfOpen() {
			continue // read and never answered, never closed
		}
		var resp []byte
		d := s.units[f.unit]
		if d == nil {
			// MODBUS Application Protocol V1.1b3, 7: 0B, gateway target device failed to respond.
			resp = exception(f.pdu[0], excGatewayTargetFailed)
		} else {
			pf := d.protocolFaults()
			switch {
			case pf.drop:
				s.log.Debug("modbus connection reset: drop fault", "device", d.spec.ID, "remote", remote)
				reset(c)
				return
			case pf.silent:
				continue
			case pf.exception != 0:
				resp = exception(f.pdu[0], pf.exception)
			default:
				resp = d.serveModbus(f.pdu)
			}
			if pf.delay > 0 {
				t := time.NewTimer(pf.delay)
				select {
				case <-t.C:
				case <-s.done:
					t.Stop()
					return
				}
			}
		}
		out = appendFrame(out[:0], frame{transaction: f.transaction, unit: f.unit, pdu: resp})
		if err := c.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
			return
		}
		if _, err := c.Write(out); err != nil {
			s.log.Debug("modbus reply not sent", "address", s.addr, "remote", remote, "err", err)
			return
		}
	}
}

// halfOpen reports whether a unit of the listener has the half_open fault: then the whole
// endpoint is dark.
func (s *server) halfOpen() bool {
	for _, d := range s.units {
		if d.protocolFaults().halfOpen {
			return true
		}
	}
	return false
}

func (s *server) forget(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
	s.log.Debug("modbus connection closed", "address", s.addr, "remote", c.RemoteAddr().String())
}

// reset closes a connection with RST rather than FIN (SO_LINGER 0), as a device that loses
// power or a gateway that reboots does: the client sees "connection reset by peer".
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// resetConns resets every open connection of the listener.
func (s *server) resetConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		reset(c)
	}
}

// close stops accepting, closes every connection and waits for their goroutines.
func (s *server) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	close(s.done)
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}
