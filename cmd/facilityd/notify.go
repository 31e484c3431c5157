package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/daemon"
)

// errStalled is why a watchdog ping is held back: no snapshot reached the fan-out lately, so
// polling or the stages behind it are stuck and systemd should restart facilityd.
var errStalled = errors.New("no snapshot reached the fan-out lately")

// notifier tells systemd (sd_notify(3)) how facilityd is doing: READY=1 once the stores are
// open and the API serves, STOPPING=1 when the stop begins, and WATCHDOG=1 only while the
// daemon makes progress, so WatchdogSec restarts a facilityd that hangs rather than one
// that merely runs.
type notifier struct {
	send   func(state string) error
	now    func() time.Time
	maxAge time.Duration                                // a snapshot older than this is a stall
	probe  func(ctx context.Context, addr string) error // GET /healthz, nil when it says ok
	log    *slog.Logger

	last     atomic.Int64 // unix nanoseconds of the latest snapshot
	addr     atomic.Pointer[string]
	ready    chan struct{}
	readyOne sync.Once
	stopOne  sync.Once
}

// withSystemd wires a notifier into opts when systemd supervises facilityd (NOTIFY_SOCKET
// is set) and returns the function that stops it; without systemd opts are unchanged.
func withSystemd(ctx context.Context, cfg *config.Config, log *slog.Logger, opts daemon.Options) (daemon.Options, func()) {
	if !notifySocket() {
		return opts, func() {}
	}
	n := newNotifier(cfg, log)
	n.wrap(&opts)
	ctx, cancel := context.WithCancel(ctx)
	stopAfter := context.AfterFunc(ctx, n.stopping)
	done := make(chan struct{})
	go func() { defer close(done); n.watchdog(ctx) }()
	return opts, func() { stopAfter(); n.stopping(); cancel(); <-done }
}

// newNotifier sends to $NOTIFY_SOCKET and counts a stall after twice the longest poll
// interval of cfg with no snapshot.
func newNotifier(cfg *config.Config, log *slog.Logger) *notifier {
	return &notifier{
		send: func(state string) error {
			_, err := sd.SdNotify(false, state)
			return err
		},
		now:    time.Now,
		maxAge: 2 * longestInterval(cfg),
		probe:  healthProbe(cfg.HTTP.TLSCert != ""),
		log:    log,
		ready:  make(chan struct{}),
	}
}

// wrap chains the notifier into the daemon's Listening and Observe hooks, keeping any the
// caller set.
func (n *notifier) wrap(opts *daemon.Options) {
	listening, observe := opts.Listening, opts.Observe
	opts.Listening = func(a net.Addr) {
		if listening != nil {
			listening(a)
		}
		n.listening(a)
	}
	opts.Observe = func(s *devices.Snapshot) {
		if observe != nil {
			observe(s)
		}
		n.observe(s)
	}
}

// observe timestamps a snapshot the fan-out saw: the proof that polling is alive.
func (n *notifier) observe(*devices.Snapshot) { n.last.Store(n.now().UnixNano()) }

// listening sends READY=1: Listening is called once the stores are open and the API serves
// (again after a rebuild, which systemd takes as a no-op).
func (n *notifier) listening(a net.Addr) {
	addr := probeAddr(a)
	n.addr.Store(&addr)
	if n.last.Load() == 0 {
		n.last.Store(n.now().UnixNano()) // the first poll is still under way
	}
	if err := n.send("READY=1"); err != nil {
		n.log.Warn("systemd notification failed", "state", "READY=1", "err", err)
	}
	n.readyOne.Do(func() { close(n.ready) })
}

// stopping sends STOPPING=1, once, so systemctl shows "deactivating" during the drain.
func (n *notifier) stopping() {
	n.stopOne.Do(func() {
		if err := n.send("STOPPING=1"); err != nil {
			n.log.Warn("systemd notification failed", "state", "STOPPING=1", "err", err)
		}
	})
}

// watchdog pings at half of WATCHDOG_USEC (sd_watchdog_enabled(3) advises pinging well
// inside the interval) until ctx ends; without WATCHDOG_USEC it does nothing.
func (n *notifier) watchdog(ctx context.Context) {
	every, err := sd.SdWatchdogEnabled(false)
	if err != nil {
		n.log.Warn("systemd watchdog: WATCHDOG_USEC is not usable; not pinging", "err", err)
		return
	}
	if every <= 0 {
		return
	}
	t := time.NewTicker(every / 2)
	defer t.Stop()
	n.pingLoop(ctx, t.C)
}

// pingLoop sends WATCHDOG=1 at every tick after READY=1 while alive says so; a held-back
// ping is logged once per stall, so the journal says why systemd restarted facilityd.
func (n *notifier) pingLoop(ctx context.Context, tick <-chan time.Time) {
	select {
	case <-n.ready:
	case <-ctx.Done():
		return
	}
	stalled := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		if err := n.alive(ctx); err != nil {
			if !stalled {
				n.log.Error("systemd watchdog: not pinging, systemd restarts facilityd if this lasts", "err", err)
			}
			stalled = true
			continue
		}
		stalled = false
		if err := n.send("WATCHDOG=1"); err != nil {
			n.log.Warn("systemd notification failed", "state", "WATCHDOG=1", "err", err)
		}
	}
}

// alive says whether the fan-out saw a snapshot within maxAge and /healthz answers ok.
func (n *notifier) alive(ctx context.Context) error {
	if age := n.now().Sub(time.Unix(0, n.last.Load())); age > n.maxAge {
		return fmt.Errorf("%w: the last was %v ago (the limit is twice the longest poll interval, %v)", errStalled, age.Round(time.Second), n.maxAge)
	}
	addr := n.addr.Load()
	if addr == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return n.probe(ctx, *addr)
}

// gatewayReportEvery is how often facilityd's own device (devices/gateway) hands on a
// snapshot: the fan-out sees one at least this often even when every device is on MQTT and
// silent.
const gatewayReportEvery = 10 * time.Second

// longestInterval is the longest poll interval in cfg: polling.interval, a device's own, or
// facilityd's own device's report interval.
func longestInterval(cfg *config.Config) time.Duration {
	longest := max(cfg.Polling.Interval, gatewayReportEvery)
	for _, d := range cfg.Devices {
		longest = max(longest, d.Interval)
	}
	return longest
}

// probeAddr is where the watchdog asks /healthz: the bound address, or loopback when the
// API listens on every address.
func probeAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// healthProbe asks facilityd's own /healthz. With TLS the certificate is not checked: this
// is the process asking its own socket whether it answers, not trusting what it says.
func healthProbe(useTLS bool) func(ctx context.Context, addr string) error {
	scheme, tr := "http", &http.Transport{DisableKeepAlives: true}
	if useTLS {
		scheme, tr.TLSClientConfig = "https", &tls.Config{InsecureSkipVerify: true} //nolint:gosec // own socket
	}
	client := &http.Client{Transport: tr}
	return func(ctx context.Context, addr string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+"/healthz", nil)
		if err != nil {
			return fmt.Errorf("healthz probe: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("healthz probe: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("healthz probe: %s answers %s", addr, resp.Status)
		}
		return nil
	}
}
