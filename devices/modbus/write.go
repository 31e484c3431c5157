package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	mb "github.com/goburrow/modbus"

	"github.com/facilityd/facilityd/devices"
)

// ErrUnknownDevice is the error of a write to a device this poller does not poll.
var ErrUnknownDevice = errors.New("not a Modbus device of this poller")

// target is where a device is polled: its endpoint and its polling state there.
type target struct {
	e *endpoint
	d *polled
}

// writeRequest is one write handed to an endpoint's goroutine.
type writeRequest struct {
	d     *polled
	point *devices.Point
	value devices.Value
	reply chan WriteResult
}

// WriteResult is the outcome of a write: the device's answer, and the poll that followed it
// (nil when the write failed), whose values say what the device now holds.
type WriteResult struct {
	Err      error
	ReadBack *devices.Snapshot
}

// Write writes v to a point of a device, between two polls of the device's connection (one
// request in flight per connection), then polls the device at once so the write is read
// back; that snapshot goes to the Handler like any other and comes back in the result. A
// device's refusal is a *modbus.ModbusError in Err. Write waits for the endpoint's goroutine,
// which is busy for at most one poll, and gives up when ctx ends.
func (p *Poller) Write(ctx context.Context, device string, point *devices.Point, v devices.Value) WriteResult {
	t, ok := p.byID[device]
	if !ok {
		return WriteResult{Err: fmt.Errorf("device %q: %w", device, ErrUnknownDevice)}
	}
	w := &writeRequest{d: t.d, point: point, value: v, reply: make(chan WriteResult, 1)}
	select {
	case t.e.writes <- w:
	case <-ctx.Done():
		return WriteResult{Err: fmt.Errorf("device %q: the write was not sent: %w", device, ctx.Err())}
	}
	select {
	case r := <-w.reply:
		return r
	case <-ctx.Done():
		// The endpoint still answers into the buffered reply; nobody reads it.
		return WriteResult{Err: fmt.Errorf("device %q: no answer to the write yet: %w", device, ctx.Err())}
	}
}

// serveWrite runs on the endpoint's goroutine, between polls.
func (e *endpoint) serveWrite(w *writeRequest) {
	err := e.write(w.d, w.point, w.value)
	var snap *devices.Snapshot
	if err == nil {
		snap = e.poll(w.d)
		e.handle(snap)
	}
	w.reply <- WriteResult{Err: err, ReadBack: snap}
}

// write sends one write request, dialling first if needed. It is not retried: the caller sees
// the failure and decides.
func (e *endpoint) write(d *polled, pt *devices.Point, v devices.Value) error {
	dev := d.dev
	if !e.tcp.connected() {
		if now := time.Now(); now.Before(e.retryAt) {
			return fmt.Errorf("%w (next attempt in %v)", ErrReconnecting, e.retryAt.Sub(now).Round(time.Millisecond))
		}
		e.tcp.setTimeout(dev.Timeout)
		if err := e.tcp.connect(); err != nil {
			e.retryAt = time.Now().Add(e.backoff.Next())
			return fmt.Errorf("connect: %w", err)
		}
		e.proven = false
	}
	e.tcp.setTimeout(dev.Timeout)
	e.frames.setUnit(dev.Modbus.Unit)
	err := e.send(pt, v)
	var exc *mb.ModbusError
	if err != nil && !errors.As(err, &exc) && !e.tcp.keeps() {
		// As after a failed read: a late reply must never be taken for the next request's.
		e.disconnect()
	}
	if err != nil {
		return fmt.Errorf("device %s unit %d at %s: write %s %s %d: %w", dev.ID, dev.Modbus.Unit, e.address, pt.Name, pt.Table, pt.Address, err)
	}
	return nil
}

// send encodes v in the point's type, order and scale and writes it with the function the
// table and width need (MODBUS Application Protocol v1.1b3, 6.5, 6.6, 6.12). A bit of a
// holding register is read, changed and written back.
func (e *endpoint) send(pt *devices.Point, v devices.Value) error {
	if pt.Table == devices.TableCoil {
		value := uint16(0x0000)
		if v.Number != 0 {
			value = 0xFF00
		}
		_, err := e.client.WriteSingleCoil(pt.Address, value)
		return err
	}
	if pt.Table != devices.TableHolding {
		return fmt.Errorf("table %s cannot be written", pt.Table)
	}
	regs := make([]byte, pt.Width()*2)
	if pt.Type == devices.TypeBit {
		cur, err := e.client.ReadHoldingRegisters(pt.Address, 1)
		if err != nil {
			return fmt.Errorf("read before setting bit %d: %w", pt.Bit, err)
		}
		if len(cur) != 2 {
			return fmt.Errorf("read before setting bit %d: %d bytes for one register", pt.Bit, len(cur))
		}
		copy(regs, cur)
	}
	EncodeRegisters(pt, v, regs)
	if len(regs) == 2 {
		_, err := e.client.WriteSingleRegister(pt.Address, binary.BigEndian.Uint16(regs))
		return err
	}
	_, err := e.client.WriteMultipleRegisters(pt.Address, uint16(len(regs)/2), regs)
	return err
}
