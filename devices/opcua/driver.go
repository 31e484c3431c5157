package opcua

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/backoff"
)

// Mode is how a device's values are read.
type Mode string

// The modes: by subscription (the default; polling if the server refuses one) or by polling
// reads every interval.
const (
	ModeSubscribe Mode = "subscribe"
	ModePoll      Mode = "poll"
)

// Device is one OPC UA device: the common device (id, kind, interval, timeout, offline_after,
// and Profile.DeviceProfile() as its profile), the connection and the OPC UA profile.
type Device struct {
	Dev     *devices.Device
	Conn    Connection
	Profile *Profile
	Mode    Mode
	// Publishing is the subscription's publishing interval (Part 4, 5.13.1.1); unset: the
	// device's interval.
	Publishing time.Duration
}

// Validate names what is wrong with the device's configuration.
func (d *Device) Validate() error {
	var errs []error
	if d.Dev == nil || d.Profile == nil {
		return errors.New("opcua: a device needs its common settings and a profile")
	}
	if err := d.Conn.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := d.Profile.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("profile %s: %w", d.Profile.Name, err))
	}
	switch d.Mode {
	case "", ModeSubscribe, ModePoll:
	default:
		errs = append(errs, fmt.Errorf("mode: %q is not one of subscribe, poll", d.Mode))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("device %s: %w", d.Dev.ID, err)
	}
	return nil
}

// Options tunes the driver. Zero values take the defaults.
type Options struct {
	// PKI is facilityd's certificate store; needed for any secure endpoint.
	PKI *PKI
	// BackoffMin and BackoffMax bound the wait between attempts to open a session
	// (default 500ms and 30s, as for Modbus).
	BackoffMin, BackoffMax time.Duration
	Logger                 *slog.Logger
	// Now is the clock snapshots without a server time are stamped with.
	Now func() time.Time
}

// Driver keeps one session open to every OPC UA device it was given until its context ends.
type Driver struct {
	devs   []*Device
	handle devices.Handler
	opts   Options

	mu   sync.Mutex
	live map[string]*session // by device id, while a session is up (write.go)
}

// New checks the devices and makes the driver.
func New(devs []*Device, handle devices.Handler, opts Options) (*Driver, error) {
	if opts.BackoffMin <= 0 {
		opts.BackoffMin = 500 * time.Millisecond
	}
	if opts.BackoffMax < opts.BackoffMin {
		opts.BackoffMax = max(30*time.Second, opts.BackoffMin)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var errs []error
	seen := map[string]bool{}
	for _, d := range devs {
		if err := d.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[d.Dev.ID] {
			errs = append(errs, fmt.Errorf("opcua: device %s: listed twice", d.Dev.ID))
		}
		seen[d.Dev.ID] = true
		if d.Dev.Interval <= 0 {
			d.Dev.Interval = 10 * time.Second
		}
		if d.Dev.Timeout <= 0 {
			d.Dev.Timeout = 5 * time.Second
		}
		if d.Conn.Timeout == 0 {
			d.Conn.Timeout = d.Dev.Timeout
		}
		if d.Dev.OfflineAfter <= 0 {
			d.Dev.OfflineAfter = 3
		}
		if d.Publishing <= 0 {
			d.Publishing = d.Dev.Interval
		}
		if d.Dev.Profile == nil {
			d.Dev.Profile = d.Profile.DeviceProfile()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Driver{devs: devs, handle: handle, opts: opts, live: map[string]*session{}}, nil
}

// Run keeps every device's session up until ctx ends.
func (d *Driver) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, dev := range d.devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.keep(ctx, dev)
		}()
	}
	wg.Wait()
	return nil
}

// keep is one device's loop: open a session, serve it until it breaks, and open the next one
// after a backoff. One goroutine a device, so there is never more than one attempt at a time,
// and every session is built from nothing (resolved, subscribed) because the server may have
// restarted with other node ids or namespace indexes.
func (d *Driver) keep(ctx context.Context, dev *Device) {
	log := d.opts.Logger.With("device", dev.Dev.ID, "opcua", dev.Conn)
	b := backoff.New(d.opts.BackoffMin, d.opts.BackoffMax).WithJitter()
	var l link
	for ctx.Err() == nil {
		s, err := d.open(ctx, dev, log)
		if err == nil {
			failures := l.failures
			var announce string
			l, _, announce = step(l, linkOpened, dev.Dev.OfflineAfter)
			if announce == announceBack {
				log.Info("device back online", "after_failed_attempts", failures)
			}
			b.Reset()
			err = d.serve(ctx, s, log)
			d.setLive(dev.Dev.ID, nil)
			s.close()
			if ctx.Err() != nil {
				return
			}
			log.Warn("session lost, opening a new one", "err", err)
		}
		if ctx.Err() != nil {
			return
		}
		var comm devices.Comm
		var announce string
		l, comm, announce = step(l, linkFailed, dev.Dev.OfflineAfter)
		d.failed(dev, comm, err)
		switch {
		case announce == announceOffline:
			log.Warn("device offline", "failed_attempts", l.failures, "err", err)
		case !errors.Is(err, ErrUntrusted):
			log.Debug("attempt failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(b.Next()):
		}
	}
}

// failed emits the device's status after a failed attempt: retrying, then offline, with every
// point's quality comm_fail once offline.
func (d *Driver) failed(dev *Device, comm devices.Comm, err error) {
	snap := &devices.Snapshot{Device: dev.Dev, Time: d.opts.Now(), Comm: comm,
		Err: fmt.Errorf("device %s (opcua %s): %w", dev.Dev.ID, dev.Conn.Endpoint, err)}
	if comm == devices.CommOffline {
		snap.Values = make([]devices.Value, len(dev.Profile.Points))
		for i := range snap.Values {
			snap.Values[i] = devices.Value{Quality: devices.QualityCommFail}
		}
	}
	d.handle(snap)
}

// open dials, resolves the points and returns the session; every point reads bad until the
// session has read it.
func (d *Driver) open(ctx context.Context, dev *Device, log *slog.Logger) (*session, error) {
	cl, err := dial(ctx, dev.Conn, d.opts.PKI, func(tp string) {
		log.Error("server certificate not trusted: refused", "thumbprint", tp,
			"fix", "facilityd opcua trust "+tp)
	})
	if err != nil {
		return nil, err
	}
	n := len(dev.Profile.Points)
	s := &session{dev: dev, cl: cl, log: log, now: d.opts.Now, emit: d.handle,
		state: make([]devices.Value, n), like: make([]*ua.Variant, n)}
	for i := range s.state {
		s.state[i] = devices.Value{Quality: devices.QualityBad}
	}
	rctx, cancel := context.WithTimeout(ctx, dev.Dev.Timeout)
	err = s.resolve(rctx)
	cancel()
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// serve reads the device on the session, by subscription or by polling, until it breaks.
func (d *Driver) serve(ctx context.Context, s *session, log *slog.Logger) error {
	d.setLive(s.dev.Dev.ID, s)
	if s.dev.Mode == ModePoll {
		return s.poll(ctx)
	}
	err := s.subscribe(ctx)
	if errors.Is(err, errRefused) {
		log.Warn("server refused the subscription: polling instead", "err", err, "interval", s.dev.Dev.Interval)
		return s.poll(ctx)
	}
	return err
}

func (d *Driver) setLive(id string, s *session) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s == nil {
		delete(d.live, id)
		return
	}
	d.live[id] = s
}
