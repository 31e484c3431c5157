// Package modbus polls Modbus devices (TCP, and RTU on serial lines, rtu.go) and writes to
// them (write.go) with github.com/goburrow/modbus, which does not
// recover by itself: after a timeout a late reply puts transaction ids out of step, and a broken
// connection stays broken. goburrow encodes and verifies the frames; the connection is this
// package's (transport.go): it closes the connection on any I/O error and redials, with
// exponential backoff when the endpoint itself is unreachable.
//
// Devices behind one address (an RTU gateway) share one connection with one request in flight,
// and are polled in turn by one goroutine; a slow or dead unit delays its neighbours by at most
// its own timeout.
package modbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	mb "github.com/goburrow/modbus"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/backoff"
)

// ErrReconnecting is the error of a poll skipped because its endpoint is unreachable and the
// driver is waiting before it dials again.
var ErrReconnecting = errors.New("endpoint unreachable, waiting to redial")

// Options tunes the driver. Zero values take the defaults.
type Options struct {
	// BackoffMin and BackoffMax bound the wait between failed connection attempts
	// (default 500ms and 30s).
	BackoffMin, BackoffMax time.Duration
	Logger                 *slog.Logger
	Metrics                *Metrics
}

// Poller polls every Modbus device it was given until its context ends.
type Poller struct {
	endpoints []*endpoint
	byID      map[string]target // for writes (write.go)
}

// New groups the devices by address. Every device must have a Modbus transport.
func New(devs []*devices.Device, handle devices.Handler, opts Options) (*Poller, error) {
	if opts.BackoffMin <= 0 {
		opts.BackoffMin = 500 * time.Millisecond
	}
	if opts.BackoffMax < opts.BackoffMin {
		opts.BackoffMax = max(30*time.Second, opts.BackoffMin)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	byAddr := map[string]*endpoint{}
	p := &Poller{byID: map[string]target{}}
	for _, d := range devs {
		if d.Modbus == nil {
			return nil, fmt.Errorf("device %s: no Modbus transport", d.ID)
		}
		if d.Interval <= 0 || d.Timeout <= 0 || d.OfflineAfter < 1 {
			return nil, fmt.Errorf("device %s: interval, timeout and offline_after must be set", d.ID)
		}
		line := d.Modbus.Line()
		e := byAddr[line]
		if e == nil {
			// goburrow frames the requests; the transport is ours (transport.go, rtu.go).
			frames, tcp := newLink(d.Modbus)
			e = &endpoint{
				address: line,
				frames:  frames,
				tcp:     tcp,
				client:  mb.NewClient2(frames, tcp),
				backoff: reconnectBackoff(opts.BackoffMin, opts.BackoffMax),
				handle:  handle,
				log:     opts.Logger.With("endpoint", line),
				metrics: opts.Metrics,
				writes:  make(chan *writeRequest),
			}
			byAddr[line] = e
			p.endpoints = append(p.endpoints, e)
		}
		pd := &polled{
			backoff:  reconnectBackoff(opts.BackoffMin, opts.BackoffMax),
			dev:      d,
			requests: plan(d.Profile, d.Modbus.MaxGapRegisters, d.Modbus.MaxGapBits),
			metrics:  opts.Metrics.device(d),
		}
		e.devices = append(e.devices, pd)
		p.byID[d.ID] = target{e, pd}
	}
	return p, nil
}

// Run polls until ctx ends, then closes every connection and returns. A poll under way when ctx
// ends finishes first (at most one request timeout).
func (p *Poller) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	start := time.Now()
	for _, e := range p.endpoints {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.run(ctx, start)
		}()
	}
	wg.Wait()
	return nil
}

// polled is one device's polling state, owned by its endpoint's goroutine.
type polled struct {
	dev      *devices.Device
	requests []request
	next     time.Time
	failures int
	metrics  deviceMetrics
	// retryAt holds this device back after its own requests broke the connection (the
	// gateway resets it at this unit's request): it waits with backoff, its neighbours do not.
	retryAt time.Time
	backoff backoff.Backoff
	// badReplyLogged is when a bad reply of this device was last logged; more within
	// badReplyLogEvery are counted, not logged.
	badReplyLogged time.Time
	badReplies     int
}

// badReplyLogEvery bounds the log of a device that keeps answering the wrong size: once a
// minute, with how many there were.
const badReplyLogEvery = time.Minute

// badReply counts a reply whose size does not match the request and logs it, at most once per
// device per badReplyLogEvery.
func (e *endpoint) badReply(d *polled, r *request, err error) {
	d.metrics.badReplies.Inc()
	d.badReplies++
	now := time.Now()
	if !d.badReplyLogged.IsZero() && now.Sub(d.badReplyLogged) < badReplyLogEvery {
		return
	}
	e.log.Warn("Modbus reply does not match the request; redialling", "device", d.dev.ID, "unit", d.dev.Modbus.Unit,
		"request", r.String(), "err", err, "bad_replies_since_last_logged", d.badReplies)
	d.badReplyLogged, d.badReplies = now, 0
}

// endpoint is one TCP address and the devices behind it.
type endpoint struct {
	address string
	frames  framer // goburrow's packager of the line's framing
	tcp     link   // the TCP connection or serial line (transport.go, rtu.go)
	client  mb.Client
	// proven is set once a request on the current connection succeeded; an I/O error on a
	// proven connection (the gateway closed an idle socket) earns one immediate redial.
	proven  bool
	retryAt time.Time
	backoff backoff.Backoff
	devices []*polled
	handle  devices.Handler
	log     *slog.Logger
	metrics *Metrics
	// writes are served between polls, by the goroutine that polls (write.go).
	writes chan *writeRequest
}

func (e *endpoint) run(ctx context.Context, start time.Time) {
	defer e.disconnect()
	for _, d := range e.devices {
		d.next = firstSlot(start, d.dev.ID, d.dev.Interval)
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d := e.devices[0]
		for _, other := range e.devices[1:] {
			if other.next.Before(d.next) {
				d = other
			}
		}
		if wait := time.Until(d.next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case w := <-e.writes:
				e.serveWrite(w)
				continue
			case <-timer.C:
			}
		} else {
			select {
			case <-ctx.Done():
				return
			case w := <-e.writes:
				e.serveWrite(w)
				continue
			default:
			}
		}
		e.handle(e.poll(d))
		next, missed := nextSlot(d.next, time.Now(), d.dev.Interval)
		d.next = next
		if missed > 0 {
			d.metrics.missed.Add(float64(missed))
		}
	}
}

// poll reads every request of one device and decodes its points.
func (e *endpoint) poll(d *polled) *devices.Snapshot {
	start := time.Now()
	snap := &devices.Snapshot{Device: d.dev, Time: start}
	values := make([]devices.Value, len(d.dev.Profile.Points))
	var commErr, pointErr error
	if start.Before(d.retryAt) {
		commErr = fmt.Errorf("device %s unit %d at %s: %w (its requests break the connection; next attempt in %v)",
			d.dev.ID, d.dev.Modbus.Unit, e.address, ErrReconnecting, d.retryAt.Sub(start).Round(time.Millisecond))
	}
	for i := 0; commErr == nil && i < len(d.requests); i++ {
		r := &d.requests[i]
		data, err := e.read(d, r)
		if err == nil {
			r.decodeInto(d.dev.Profile, data, values)
			continue
		}
		var exc *mb.ModbusError
		if errors.As(err, &exc) && !gatewayFailed(exc) {
			// The device answered: its points in this request are bad, the link is fine.
			for _, pi := range r.points {
				values[pi] = devices.Value{Quality: devices.QualityBad}
			}
			pointErr = fmt.Errorf("device %s unit %d: %s: %w", d.dev.ID, d.dev.Modbus.Unit, r, err)
			continue
		}
		commErr = fmt.Errorf("device %s unit %d at %s: %s: %w", d.dev.ID, d.dev.Modbus.Unit, e.address, r, err)
		break
	}
	snap.Latency = time.Since(start)
	d.metrics.duration.Observe(snap.Latency.Seconds())
	if commErr != nil {
		d.failures++
		d.metrics.errors.Inc()
		snap.Err = commErr
		snap.Comm = devices.CommRetrying
		if d.failures >= d.dev.OfflineAfter {
			snap.Comm = devices.CommOffline
			for i := range values {
				values[i] = devices.Value{Quality: devices.QualityCommFail}
			}
			snap.Values = values
			if d.failures == d.dev.OfflineAfter {
				e.log.Warn("device offline", "device", d.dev.ID, "unit", d.dev.Modbus.Unit, "failed_polls", d.failures, "err", commErr)
			}
		}
		d.metrics.offline.Set(boolGauge(snap.Comm == devices.CommOffline))
		return snap
	}
	if d.failures >= d.dev.OfflineAfter {
		e.log.Info("device back online", "device", d.dev.ID, "after_failed_polls", d.failures)
	}
	d.failures = 0
	d.backoff.Reset()
	d.metrics.ok.Inc()
	d.metrics.offline.Set(0)
	snap.Comm = devices.CommOnline
	snap.Values = values
	snap.Err = pointErr
	return snap
}

// read performs one request, dialling first if needed. On any I/O error it closes the
// connection, so that a late reply to this request can never be taken for the next one's.
func (e *endpoint) read(d *polled, r *request) ([]byte, error) {
	dev := d.dev
	for attempt := 0; ; attempt++ {
		if !e.tcp.connected() {
			if now := time.Now(); now.Before(e.retryAt) {
				return nil, fmt.Errorf("%w (next attempt in %v)", ErrReconnecting, e.retryAt.Sub(now).Round(time.Millisecond))
			}
			e.tcp.setTimeout(dev.Timeout)
			if err := e.tcp.connect(); err != nil {
				e.retryAt = time.Now().Add(e.backoff.Next())
				e.metrics.dialErrors.WithLabelValues(e.address).Inc()
				return nil, fmt.Errorf("connect: %w", err)
			}
			e.proven = false
			e.metrics.connects.WithLabelValues(e.address).Inc()
		}
		e.tcp.setTimeout(dev.Timeout)
		e.frames.setUnit(dev.Modbus.Unit)
		data, err := e.do(r)
		if err == nil {
			err = r.checkReply(data)
			if err == nil {
				e.proven = true
				e.backoff.Reset()
				return data, nil
			}
			// A reply of the wrong size is not this request's: the stream may be out of
			// step, so the connection goes and the poll is a communication error.
			e.disconnect()
			e.badReply(d, r, err)
			return nil, err
		}
		var exc *mb.ModbusError
		if errors.As(err, &exc) || e.tcp.keeps() {
			return nil, err
		}
		wasProven := e.proven
		e.disconnect()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			// The endpoint took the request and one unit did not answer in time: redial at
			// once for the neighbours' sake; a dead endpoint shows up as a failed dial.
			return nil, err
		}
		if wasProven && attempt == 0 {
			continue
		}
		// The endpoint took the connection, then broke it at this device's request (a reset, a
		// close): back this device off, and let its neighbours dial afresh at their own turn.
		// An endpoint that is down shows up as a failed dial, which backs off the whole endpoint.
		d.retryAt = time.Now().Add(d.backoff.Next())
		return nil, err
	}
}

func (e *endpoint) do(r *request) ([]byte, error) {
	switch r.table {
	case devices.TableCoil:
		return e.client.ReadCoils(r.start, r.count)
	case devices.TableDiscrete:
		return e.client.ReadDiscreteInputs(r.start, r.count)
	case devices.TableHolding:
		return e.client.ReadHoldingRegisters(r.start, r.count)
	default:
		return e.client.ReadInputRegisters(r.start, r.count)
	}
}

func (e *endpoint) disconnect() {
	e.tcp.close()
	e.proven = false
}

// gatewayFailed reports exceptions by which a gateway says the unit behind it did not answer
// (MODBUS Application Protocol v1.1b3, 7: codes 0x0A and 0x0B): communication loss, not a
// device's answer.
func gatewayFailed(e *mb.ModbusError) bool {
	return e.ExceptionCode == mb.ExceptionCodeGatewayPathUnavailable ||
		e.ExceptionCode == mb.ExceptionCodeGatewayTargetDeviceFailedToRespond
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
