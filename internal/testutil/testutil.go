// Package testutil holds the helpers facilityd's tests share: a stepped clock, a wait for a
// condition that real sockets and goroutines make true, and a concurrency-safe recorder. It
// is a normal package (not _test.go) so that every package's tests can import it; nothing
// outside tests may.
package testutil

import (
	"sync"
	"testing"
	"time"
)

// Clock is a clock the test moves by hand, as prometheus rules/alerting_test.go does: code
// under test takes its Now and never sees real time pass, so a test of an hour-long timer
// runs in microseconds and never flakes. Safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a clock stopped at start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now is the clock's time; pass c.Now where the code wants a func() time.Time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Step moves the clock on by d.
func (c *Clock) Step(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set puts the clock at t, forward or back.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// DefaultLimit is how long Recorder.WaitFor waits: long enough for a loaded CI machine, short
// enough that a hung test fails on its own.
const DefaultLimit = 10 * time.Second

// poll is how often WaitFor looks again.
const poll = 10 * time.Millisecond

// WaitFor returns once cond holds and fails the test, naming what it waited for, if it does
// not within limit. It is for what real sockets and goroutines make true (a message over
// loopback, a reconnect); waits for a timer step a Clock instead.
func WaitFor(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s, in vain", limit, what)
		}
		time.Sleep(poll)
	}
}

// Recorder keeps what a fake is handed (messages, snapshots, events) in order, safe for the
// goroutines of the code under test to Add to while the test reads.
type Recorder[T any] struct {
	mu    sync.Mutex
	items []T
	added chan struct{} // closed and replaced on each Add
}

// Add keeps v.
func (r *Recorder[T]) Add(v T) {
	r.mu.Lock()
	r.items = append(r.items, v)
	if r.added != nil {
		close(r.added)
		r.added = nil
	}
	r.mu.Unlock()
}

// All is a copy of everything kept so far, oldest first.
func (r *Recorder[T]) All() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.items...)
}

// Len is how many have been kept.
func (r *Recorder[T]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

// Last is the newest kept, and false when there is none.
func (r *Recorder[T]) Last() (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var zero T
	if len(r.items) == 0 {
		return zero, false
	}
	return r.items[len(r.items)-1], true
}

// WaitFor returns the first n kept once there are n, failing the test if they do not come
// within DefaultLimit. It wakes on each Add, so it adds no polling delay.
func (r *Recorder[T]) WaitFor(t testing.TB, n int) []T {
	t.Helper()
	timeout := time.NewTimer(DefaultLimit)
	defer timeout.Stop()
	for {
		r.mu.Lock()
		if len(r.items) >= n {
			out := append([]T(nil), r.items[:n]...)
			r.mu.Unlock()
			return out
		}
		if r.added == nil {
			r.added = make(chan struct{})
		}
		added, have := r.added, len(r.items)
		r.mu.Unlock()
		select {
		case <-added:
		case <-timeout.C:
			t.Fatalf("%d of %d recorded within %v", have, n, DefaultLimit)
			return nil
		}
	}
}
