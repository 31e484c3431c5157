package modbus

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// echoServer answers every Modbus TCP read with zeros of the size asked, as fast as it can, so
// that a benchmark of the poll path measures the client's side.
func echoServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req := make([]byte, 12)
				resp := make([]byte, 9+2*125)
				for {
					if _, err := io.ReadFull(c, req); err != nil {
						return
					}
					qty := int(binary.BigEndian.Uint16(req[10:]))
					n := 2 * qty
					if req[7] <= 2 {
						n = (qty + 7) / 8
					}
					copy(resp, req[:4])
					binary.BigEndian.PutUint16(resp[4:], uint16(3+n))
					resp[6], resp[7], resp[8] = req[6], req[7], byte(n)
					if _, err := c.Write(resp[:9+n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func benchDevice(tb testing.TB, addr string, registers int) *devices.Device {
	tb.Helper()
	var b strings.Builder
	b.WriteString("name: bench\npoints:\n")
	for i := 0; i < registers; i++ {
		fmt.Fprintf(&b, "  - {name: r%03d, table: input, address: %d, type: uint16, scale: 0.1}\n", i, i)
	}
	p, err := devices.ParseProfile("bench.yaml", []byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return &devices.Device{ID: "bench", Kind: devices.KindGeneric, Profile: p, Interval: time.Second, Timeout: time.Second,
		OfflineAfter: 3, Modbus: &devices.ModbusTransport{Address: addr, Unit: 1}}
}

// BenchmarkPoll is one poll of a 50-register device over loopback: request, reply, decoding
// and the snapshot, without the scheduler's waiting.
func BenchmarkPoll(b *testing.B) {
	dev := benchDevice(b, echoServer(b), 50)
	p, err := New([]*devices.Device{dev}, func(*devices.Snapshot) {}, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	e := p.endpoints[0]
	defer e.disconnect()
	d := e.devices[0]
	b.ReportAllocs()
	for b.Loop() {
		if s := e.poll(d); s.Err != nil {
			b.Fatal(s.Err)
		}
	}
}
