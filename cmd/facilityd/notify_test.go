package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/daemon"
)

// fakeSystemd records what a notifier sends, as systemd would receive it.
type fakeSystemd struct {
	mu   sync.Mutex
	sent []string
	got  chan string
}

func newFakeSystemd() *fakeSystemd { return &fakeSystemd{got: make(chan string, 16)} }

func (f *fakeSystemd) send(state string) error {
	f.mu.Lock()
	f.sent = append(f.sent, state)
	f.mu.Unlock()
	f.got <- state
	return nil
}

// fakeClock is a clock the test steps.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestNotifyWatchdogPingsOnlyWhileAlive(t *testing.T) {
	tests := []struct {
		name      string
		sinceSnap time.Duration // clock step after the last snapshot, before the tick
		health    error
		wantPing  bool
	}{
		{name: "polling and healthz ok", sinceSnap: time.Second, wantPing: true},
		{name: "no snapshot for twice the longest interval", sinceSnap: 21 * time.Second},
		{name: "healthz degraded", sinceSnap: time.Second, health: errors.New("healthz answers 503")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(0, 0)}
			sys := newFakeSystemd()
			n := &notifier{send: sys.send, now: clock.Now, maxAge: 20 * time.Second, log: slog.New(slog.DiscardHandler),
				probe: func(context.Context, string) error { return tt.health }, ready: make(chan struct{})}
			opts := daemon.Options{}
			n.wrap(&opts)
			ctx, cancel := context.WithCancel(context.Background())
			tick := make(chan time.Time)
			done := make(chan struct{})
			go func() { defer close(done); n.pingLoop(ctx, tick) }()
			defer func() { cancel(); <-done }()

			opts.Listening(&net.TCPAddr{IP: net.IPv4zero, Port: 8080})
			if got := <-sys.got; got != "READY=1" {
				t.Fatalf("first notification %q, want READY=1", got)
			}
			opts.Observe(&devices.Snapshot{})
			clock.Add(tt.sinceSnap)
			tick <- clock.Now()
			tick <- clock.Now() // the loop has handled the first tick once it takes the second
			select {
			case got := <-sys.got:
				if !tt.wantPing || got != "WATCHDOG=1" {
					t.Errorf("sent %q, want a ping: %v", got, tt.wantPing)
				}
			default:
				if tt.wantPing {
					t.Error("no WATCHDOG=1 while polling is alive: systemd would restart a healthy facilityd")
				}
			}
		})
	}
}

func TestNotifyNoPingBeforeReady(t *testing.T) {
	sys := newFakeSystemd()
	n := &notifier{send: sys.send, now: time.Now, maxAge: time.Minute, log: slog.New(slog.DiscardHandler),
		probe: func(context.Context, string) error { return nil }, ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	tick := make(chan time.Time, 1)
	tick <- time.Now()
	done := make(chan struct{})
	go func() { defer close(done); n.pingLoop(ctx, tick) }()
	cancel()
	<-done
	if len(sys.sent) != 0 {
		t.Errorf("sent %v before READY=1", sys.sent)
	}
}

func TestNotifyStoppingSentOnce(t *testing.T) {
	sys := newFakeSystemd()
	n := &notifier{send: sys.send, log: slog.New(slog.DiscardHandler)}
	n.stopping()
	n.stopping()
	if strings.Join(sys.sent, ",") != "STOPPING=1" {
		t.Errorf("sent %v, want STOPPING=1 once", sys.sent)
	}
}

func TestNotifyLongestInterval(t *testing.T) {
	tests := []struct {
		name string
		cfg  *config.Config
		want time.Duration
	}{
		{name: "a slow device", want: 30 * time.Second, cfg: &config.Config{Polling: config.Polling{Interval: time.Second}, Devices: []config.Device{{ID: "a"}, {ID: "b", Interval: 30 * time.Second}}}},
		{name: "fast devices: facilityd's own reports every 10s", want: 10 * time.Second, cfg: &config.Config{Polling: config.Polling{Interval: time.Second}, Devices: []config.Device{{ID: "a"}}}},
	}
	for _, tt := range tests {
		if got := longestInterval(tt.cfg); got != tt.want {
			t.Errorf("%s: longestInterval = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := probeAddr(&net.TCPAddr{IP: net.IPv6unspecified, Port: 9}); got != "127.0.0.1:9" {
		t.Errorf("probeAddr([::]:9) = %s, want loopback", got)
	}
}

func TestNotifyJournalLogHasNoTimestamp(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stream")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      string
		wantTime bool
	}{
		{name: "under systemd", env: fmt.Sprintf("%d:%d", st.Dev, st.Ino)},
		{name: "no journal", env: "", wantTime: true},
		{name: "inherited but redirected", env: fmt.Sprintf("%d:%d", st.Dev, st.Ino+1), wantTime: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("JOURNAL_STREAM", tt.env)
			if err := f.Truncate(0); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Seek(0, 0); err != nil {
				t.Fatal(err)
			}
			newLogger(config.Log{Level: "info"}, f).Info("started")
			b, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Contains(b, []byte("time=")); got != tt.wantTime {
				t.Errorf("log line %q: has time=%v, want %v", b, got, tt.wantTime)
			}
		})
	}
}
