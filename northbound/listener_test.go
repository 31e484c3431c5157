package northbound

import (
	"bufio"
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// failingListener fails Accept with EMFILE a number of times, then accepts a pipe.
type failingListener struct {
	mu       sync.Mutex
	failures int
	served   chan net.Conn
	closed   chan struct{}
}

func (f *failingListener) Accept() (net.Conn, error) {
	f.mu.Lock()
	if f.failures > 0 {
		f.failures--
		f.mu.Unlock()
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	f.mu.Unlock()
	select {
	case c := <-f.served:
		return c, nil
	case <-f.closed:
		return nil, net.ErrClosed
	}
}
func (f *failingListener) Close() error   { close(f.closed); return nil }
func (f *failingListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// TestListenerSurvivesAcceptErrors: out of file descriptors, the broker backs off from 5 ms
// doubling to 1 s, reports itself not accepting meanwhile, and serves the next connection.
func TestListenerSurvivesAcceptErrors(t *testing.T) {
	fl := &failingListener{failures: 10, served: make(chan net.Conn), closed: make(chan struct{})}
	var waits []time.Duration
	var accepting []bool
	l := &guardedListener{id: "t", ln: fl, maxClients: 5, maxPending: 5, maxConnect: 1024, connectTimeout: time.Second,
		log: newLimitedLog(nil, nil), metrics: NewBrokerMetrics(nil), waiting: map[net.Conn]struct{}{}, done: make(chan struct{})}
	l.wait = func(d time.Duration) <-chan time.Time {
		waits = append(waits, d)
		accepting = append(accepting, l.accepting.Load())
		c := make(chan time.Time, 1)
		c <- time.Time{}
		return c
	}
	established := make(chan []byte, 1)
	go l.Serve(func(_ string, c net.Conn) error {
		p := make([]byte, 4)
		n, _ := c.Read(p)
		established <- p[:n]
		return nil
	})
	client, server := net.Pipe()
	fl.served <- server
	go client.Write(rawConnect{version: 4, id: "a"}.encode())
	select {
	case got := <-established:
		if got[0] != 0x10 {
			t.Errorf("mochi got %x first, not the CONNECT", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection served after the accept errors")
	}
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Errorf("wait %d: %v, want %v", i, waits[i], want[i])
		}
		if accepting[i] {
			t.Errorf("reported accepting while Accept fails (wait %d)", i)
		}
	}
	if !l.accepting.Load() {
		t.Error("not reported accepting after a connection was accepted again")
	}
	l.Close(func(string) {})
}

// TestReadFixedHeader covers the remaining length's encoding (MQTT 3.1.1 §2.2.3) and limit.
func TestReadFixedHeader(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		limit int
		want  int
		err   error
	}{
		{"one byte", []byte{0x10, 0x7f}, 1 << 20, 127, nil},
		{"two bytes", []byte{0x10, 0x80, 0x01}, 1 << 20, 128, nil},
		{"largest MQTT length", []byte{0x10, 0xff, 0xff, 0xff, 0x7f}, 1 << 30, 268435455, nil},
		{"five length bytes", []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0x01}, 1 << 30, 0, errBadLength},
		{"256 MiB over the limit", encodeFixedHeader(0x10, 256<<20-1), 64 << 10, 0, errConnectTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n, err := readFixedHeader(bufio.NewReader(bytes.NewReader(tt.in)), tt.limit)
			if !errors.Is(err, tt.err) || (err == nil && n != tt.want) {
				t.Errorf("got %d, %v; want %d, %v", n, err, tt.want, tt.err)
			}
			if err == nil && !bytes.Equal(encodeFixedHeader(0x10, n), tt.in) {
				t.Errorf("encoded again as %x", encodeFixedHeader(0x10, n))
			}
		})
	}
}

// FuzzReadFixedHeader: no input from the network panics the pre-CONNECT reader, and a length
// it accepts is within the limit.
func FuzzReadFixedHeader(f *testing.F) {
	f.Add([]byte{0x10, 0x0c})
	f.Add([]byte{0x10, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{0x30, 0x80})
	f.Add(rawConnect{version: 5, id: "x", willTopic: "a", willMsg: "b"}.encode())
	f.Fuzz(func(t *testing.T, in []byte) {
		_, n, err := readFixedHeader(bufio.NewReader(bytes.NewReader(in)), 64<<10)
		if err == nil && (n < 0 || n > 64<<10) {
			t.Fatalf("accepted length %d", n)
		}
	})
}

// TestLimitedLog: one line per key per minute, a budget over all keys, and what was held back
// reported with the next line.
func TestLimitedLog(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	l := newLimitedLog(slog.New(slog.NewTextHandler(&buf, nil)), func() time.Time { return now })
	for range 5 {
		l.warn("a", "refused", "client", "a")
	}
	for i := range logBudget + 5 {
		l.warn("k"+string(rune('A'+i)), "refused")
	}
	if n := strings.Count(buf.String(), "refused"); n != logBudget {
		t.Errorf("%d lines in a minute, want the budget %d", n, logBudget)
	}
	now = now.Add(LogInterval)
	buf.Reset()
	l.warn("a", "refused", "client", "a")
	if !strings.Contains(buf.String(), "similar_lines_held_back=6") {
		t.Errorf("next minute's line does not say what was held back: %s", buf.String())
	}
}

// TestBrokerLogHandler: mochi's packet attributes never reach the log, an empty message is
// named, and a repeated warning is let through once.
func TestBrokerLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newBrokerLogHandler(slog.NewTextHandler(&buf, nil), func() time.Time { return time.Unix(0, 0) }))
	for range 3 {
		log.Warn("error processing packet", "client", "c1", "pk", []byte("SECRET"))
		log.Warn("", "error", "EOF")
	}
	log.With("will", "SECRET").Info("x")
	out := buf.String()
	if strings.Contains(out, "SECRET") || strings.Contains(out, "83 69") {
		t.Errorf("a client's bytes were logged:\n%s", out)
	}
	if n := strings.Count(out, "error processing packet"); n != 1 {
		t.Errorf("%d lines of one repeated warning, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "MQTT connection ended") {
		t.Errorf("empty message not named:\n%s", out)
	}
}
