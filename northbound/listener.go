package northbound

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// Backoff bounds of the accept loop after an error: mochi's own TCP listener returns for good
// on the first one (EMFILE when the process is out of file descriptors), leaving the socket
// bound and nobody accepting. Ours waits, from 5 ms doubling to 1 s, and goes on: short enough
// that a handset is served again within a second of the pressure ending, long enough not to
// spin on a full descriptor table (Go's net/http server uses the same bounds).
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// connectPacketType is the CONNECT control packet type (MQTT 3.1.1 §2.2.1, MQTT 5 §2.1.2).
const connectPacketType = 1

// Sentinel errors of the pre-CONNECT read, counted by reason.
var (
	errNotConnect     = errors.New("first packet is not a CONNECT")
	errConnectTooLong = errors.New("CONNECT larger than the broker reads before sign-in")
	errBadLength      = errors.New("malformed remaining length")
)

// guardedListener is the embedded broker's TCP listener, in place of mochi's: it keeps
// accepting after errors, admits at most maxClients connections and maxPending that have not
// sent their CONNECT yet, and gives a connection connectTimeout and maxConnect bytes to send
// it, before mochi (which would wait for ever and reserve whatever a fixed header declares)
// sees a byte.
type guardedListener struct {
	id             string
	ln             net.Listener
	maxClients     int64
	maxPending     int64
	maxConnect     int
	connectTimeout time.Duration
	log            *limitedLog
	metrics        *BrokerMetrics
	wait           func(time.Duration) <-chan time.Time // time.After; tests step it

	open, pending atomic.Int64
	mu            sync.Mutex
	waiting       map[net.Conn]struct{} // connections awaiting their CONNECT, closed by Close
	accepting     atomic.Bool
	closed        atomic.Bool
	done          chan struct{}
	wg            sync.WaitGroup
}

// ID names the listener for mochi.
func (l *guardedListener) ID() string { return l.id }

// Address is the bound address.
func (l *guardedListener) Address() string { return l.ln.Addr().String() }

// Protocol is the transport.
func (l *guardedListener) Protocol() string { return "tcp" }

// Init is a no-op: the socket is bound before the broker starts, so a busy port fails there.
func (l *guardedListener) Init(*slog.Logger) error { return nil }

// Serve accepts until Close, handing each connection that sent a CONNECT in time to establish.
func (l *guardedListener) Serve(establish listeners.EstablishFn) {
	l.accepting.Store(true)
	l.metrics.accepting.Set(1)
	defer func() { l.accepting.Store(false); l.metrics.accepting.Set(0) }()
	backoff := time.Duration(0)
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if l.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			l.accepting.Store(false)
			l.metrics.accepting.Set(0)
			l.metrics.acceptErrors.Inc()
			l.log.warn("accept", "MQTT broker cannot accept connections; retrying", "error", err, "retry_in", backoff)
			select {
			case <-l.wait(backoff):
			case <-l.done:
				return
			}
			continue
		}
		if backoff != 0 {
			backoff = 0
			l.accepting.Store(true)
			l.metrics.accepting.Set(1)
			l.log.log.Info("MQTT broker accepts connections again")
		}
		l.admit(conn, establish)
	}
}

// admit serves conn if the limits leave room, else closes it at once: its descriptor is
// freed now, not when the client gives up.
func (l *guardedListener) admit(conn net.Conn, establish listeners.EstablishFn) {
	if l.open.Load() >= l.maxClients || l.pending.Load() >= l.maxPending {
		l.metrics.dropped.WithLabelValues("limit").Inc()
		l.log.warn("limit", "MQTT connection closed: client limit reached (mqtt.embedded.max_clients)", "remote", conn.RemoteAddr().String(), "max_clients", l.maxClients)
		conn.Close()
		return
	}
	l.open.Add(1)
	l.pending.Add(1)
	l.mu.Lock()
	l.waiting[conn] = struct{}{}
	l.mu.Unlock()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer l.open.Add(-1)
		first, err := l.readConnect(conn)
		l.pending.Add(-1)
		l.mu.Lock()
		delete(l.waiting, conn)
		l.mu.Unlock()
		if err != nil {
			l.metrics.dropped.WithLabelValues(dropReason(err)).Inc()
			conn.Close()
			return
		}
		_ = establish(l.id, &replayConn{Conn: conn, r: io.MultiReader(first, conn)})
	}()
}

func dropReason(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "connect_timeout"
	case errors.Is(err, errConnectTooLong):
		return "too_large"
	}
	return "malformed"
}

// readConnect reads the connection's first packet, which must be a CONNECT of at most
// maxConnect bytes, within connectTimeout, and returns it to be read again by mochi.
func (l *guardedListener) readConnect(conn net.Conn) (io.Reader, error) {
	if err := conn.SetReadDeadline(time.Now().Add(l.connectTimeout)); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 16)
	header, remaining, err := readFixedHeader(br, l.maxConnect)
	if err != nil {
		return nil, err
	}
	if header>>4 != connectPacketType {
		return nil, errNotConnect // MQTT 3.1.1 §3.1: the first packet must be CONNECT
	}
	body := make([]byte, remaining)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, fmt.Errorf("read CONNECT: %w", err)
	}
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return io.MultiReader(bytes.NewReader(encodeFixedHeader(header, remaining)), bytes.NewReader(body), br), nil
}

// readFixedHeader reads a packet's first byte and its remaining length (MQTT 3.1.1 §2.2.3,
// MQTT 5 §1.5.5: a variable byte integer of at most four bytes, seven bits each, least
// significant first), refusing a length above limit before anything is reserved for it.
func readFixedHeader(r io.ByteReader, limit int) (byte, int, error) {
	header, err := r.ReadByte()
	if err != nil {
		return 0, 0, err
	}
	n, shift := 0, 0
	for i := 0; ; i++ {
		if i == 4 {
			return 0, 0, errBadLength
		}
		b, err := r.ReadByte()
		if err != nil {
			return 0, 0, err
		}
		n |= int(b&0x7f) << shift
		shift += 7
		if b&0x80 == 0 {
			break
		}
	}
	if n > limit {
		return 0, 0, fmt.Errorf("%w: %d bytes, at most %d", errConnectTooLong, n, limit)
	}
	return header, n, nil
}

// encodeFixedHeader is the inverse of readFixedHeader.
func encodeFixedHeader(header byte, n int) []byte {
	out := []byte{header}
	for {
		b := byte(n & 0x7f)
		n >>= 7
		if n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			return out
		}
	}
}

// Close stops accepting, closes every client through closeClients and waits for the
// connections still awaiting their CONNECT.
func (l *guardedListener) Close(closeClients listeners.CloseFn) {
	if l.closed.Swap(true) {
		return
	}
	close(l.done)
	l.ln.Close()
	l.mu.Lock()
	for c := range l.waiting {
		c.Close()
	}
	l.mu.Unlock()
	closeClients(l.id)
	l.wg.Wait()
}

// replayConn is a connection whose first bytes, already read, are read again.
type replayConn struct {
	net.Conn
	r io.Reader
}

// Read reads the replayed bytes first, then the connection.
func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }
