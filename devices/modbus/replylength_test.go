package modbus_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/devices/modbus"
	"github.com/facilityd/facilityd/internal/testutil"
)

// miscounting is a Modbus TCP server whose every reply is well framed (its byte count matches
// its data) but carries extra registers (or bytes of bits) more than asked, negative for fewer.
func miscounting(t *testing.T, extra int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				for {
					head := make([]byte, 7)
					if _, err := io.ReadFull(c, head); err != nil {
						return
					}
					pdu := make([]byte, int(binary.BigEndian.Uint16(head[4:6]))-1)
					if _, err := io.ReadFull(c, pdu); err != nil || len(pdu) < 5 {
						return
					}
					fc, qty := pdu[0], int(binary.BigEndian.Uint16(pdu[3:5]))
					n := 2 * (qty + extra)
					if fc == 1 || fc == 2 {
						n = (qty+7)/8 + extra
					}
					n = max(n, 0)
					reply := append([]byte{fc, byte(n)}, make([]byte, n)...)
					binary.BigEndian.PutUint16(head[4:6], uint16(1+len(reply)))
					if _, err := c.Write(append(head, reply...)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestReplyLengthMustMatchTheRequest: a reply with fewer or more registers or bits than asked
// is a communication error (the device does not stay online with bad points, nor is a longer
// reply decoded), counted per device, logged once, and the connection is redialled.
func TestReplyLengthMustMatchTheRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, table string
		extra       int
	}{
		{"one register short", "input", -3},
		{"two registers too many", "holding", 2},
		{"one byte of bits short", "coil", -1},
		{"one byte of bits too many", "discrete", 1},
		{"exact", "input", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			typ := "uint16"
			if tt.table == "coil" || tt.table == "discrete" {
				typ = "bool"
			}
			var prof strings.Builder
			prof.WriteString("name: four\npoints:\n")
			for i := 0; i < 4; i++ {
				prof.WriteString("  - {name: p" + string(rune('0'+i)) + ", table: " + tt.table + ", address: " + string(rune('0'+i)) + ", type: " + typ + "}\n")
			}
			p, err := devices.ParseProfile("four.yaml", []byte(prof.String()))
			if err != nil {
				t.Fatal(err)
			}
			dev := &devices.Device{ID: "D-1", Kind: devices.KindGeneric, Profile: p, Interval: 20 * time.Millisecond, Timeout: time.Second,
				OfflineAfter: 3, Modbus: &devices.ModbusTransport{Address: miscounting(t, tt.extra), Unit: 1}}
			reg := prometheus.NewRegistry()
			var logs bytes.Buffer
			var logMu sync.Mutex
			log := slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, nil))
			rec := newRecorder()
			poller, err := modbus.New([]*devices.Device{dev}, rec.handle, modbus.Options{Logger: log, BackoffMin: time.Millisecond, BackoffMax: time.Millisecond, Metrics: modbus.NewMetrics(reg)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); poller.Run(ctx) }()
			testutil.WaitFor(t, "five polls", 10*time.Second, func() bool { return len(rec.all("D-1")) >= 5 })
			cancel()
			<-done

			last := rec.last("D-1")
			bad := counterValue(reg, "facilityd_modbus_bad_replies_total", "D-1")
			if tt.extra == 0 {
				if last.Comm != devices.CommOnline || bad != 0 {
					t.Fatalf("an exact reply: comm %s, bad replies %v, err %v", last.Comm, bad, last.Err)
				}
				return
			}
			if last.Comm == devices.CommOnline || !errors.Is(last.Err, modbus.ErrReplyLength) {
				t.Fatalf("after a miscounted reply: comm %s, err %v; want a communication error naming the reply length", last.Comm, last.Err)
			}
			polls := len(rec.all("D-1"))
			if int(bad) < 5 || int(bad) > polls {
				t.Errorf("bad replies counted %v over %d polls", bad, polls)
			}
			if c := counterValue(reg, "facilityd_modbus_connects_total", dev.Modbus.Address); c < 2 {
				t.Errorf("connections opened: %v, want a redial after each bad reply", c)
			}
			logMu.Lock()
			defer logMu.Unlock()
			if n := strings.Count(logs.String(), "Modbus reply does not match the request"); n != 1 {
				t.Errorf("logged %d times in %d bad replies, want once:\n%s", n, int(bad), logs.String())
			}
		})
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
