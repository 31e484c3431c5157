package modbus

import (
	"context"
	"time"

	mb "github.com/goburrow/modbus"
)

// BarePoll polls one device with the transport, framing and schedule Poller uses (goburrow's
// frames over this package's TCP transport, in the device's slot of the interval counted from
// start), one read of registers input registers from address 0 (facbench's devices) every
// interval, and throws the replies away, until ctx ends; it returns the polls that answered.
// It is the floor facbench measures facilityd's cost per point against: what polling alone
// costs, with nothing decoded, kept or sent on.
func BarePoll(ctx context.Context, start time.Time, id, address string, unit byte, registers uint16, interval, timeout time.Duration) int {
	frames := mb.NewTCPClientHandler(address)
	frames.SlaveId = unit
	tcp := &tcpTransport{address: address, timeout: timeout}
	client := mb.NewClient2(frames, tcp)
	defer tcp.close()
	next := firstSlot(start, id, interval)
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	ok := 0
	for {
		select {
		case <-ctx.Done():
			return ok
		case <-timer.C:
		}
		next, _ = nextSlot(next, time.Now(), interval)
		timer.Reset(time.Until(next))
		if !tcp.connected() {
			if err := tcp.connect(); err != nil {
				continue
			}
		}
		if _, err := client.ReadInputRegisters(0, registers); err != nil {
			tcp.close()
			continue
		}
		ok++
	}
}
