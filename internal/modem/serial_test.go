package modem_test

import (
	"context"
	"github.com/facilityd/facilityd/internal/testenv"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/modem"
	"github.com/facilityd/facilityd/simulators"
)

// TestSerialLine: the driver opens a pseudo-terminal as it opens a serial port, with the
// simulated modem on the other end: init, a Chinese SMS out, a reply in, a check.
func TestSerialLine(t *testing.T) {
	a, b := testenv.SerialPair(t)
	sim := simulators.NewModem("gsm-1")
	far, err := modem.OpenPort(b, 115200)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- sim.Serve(ctx, far) }()

	m, err := modem.Open(modem.Config{Port: a, CommandTimeout: 3 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- m.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
		far.Close()
		<-served
	}()

	if err := m.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Send(ctx, "+8613800138000", "消防报警：3号楼5层，回复1认领"); err != nil {
		t.Fatal(err)
	}
	if s := sim.Sent(); len(s) != 1 || s[0].Text != "消防报警：3号楼5层，回复1认领" {
		t.Errorf("modem sent %+v", s)
	}
	if err := sim.Deliver("+8613800138000", "1"); err != nil {
		t.Fatal(err)
	}
	select {
	case in := <-m.Received():
		if in.Text != "1" || in.From != "+8613800138000" {
			t.Errorf("received %+v", in)
		}
	case <-ctx.Done():
		t.Fatal("reply not received over the serial line")
	}
	if _, err := m.Check(ctx); err != nil {
		t.Error(err)
	}
}
