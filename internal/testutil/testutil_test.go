package testutil

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The clock moves only when told: a timer test depends on it standing still otherwise.
func TestClock(t *testing.T) {
	t.Parallel()
	start := time.Unix(0, 0).UTC()
	c := NewClock(start)
	for _, tc := range []struct {
		name string
		move func()
		want time.Time
	}{
		{"stands still", func() {}, start},
		{"steps on", func() { c.Step(90 * time.Second) }, start.Add(90 * time.Second)},
		{"steps on again", func() { c.Step(time.Hour) }, start.Add(time.Hour + 90*time.Second)},
		{"set back", func() { c.Set(start.Add(time.Minute)) }, start.Add(time.Minute)},
	} {
		tc.move()
		if got := c.Now(); !got.Equal(tc.want) {
			t.Errorf("%s: Now = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Code under test reads the clock from its own goroutines while the test steps it.
func TestClockConcurrent(t *testing.T) {
	t.Parallel()
	c := NewClock(time.Unix(0, 0))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				c.Step(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got := c.Now().Unix(); got != 400 {
		t.Errorf("clock at %d s, want 400: a step was lost", got)
	}
}

// WaitFor returns as soon as the condition holds.
func TestWaitForHolds(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	WaitFor(t, "three increments", 5*time.Second, func() bool { return n.Load() == 3 })
}

// fakeTB records a Fatalf instead of ending the test, to see what a failing wait says.
type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f) // Fatalf does not return; the helpers below recover it
}

func fatal(run func(tb testing.TB)) (msg string) {
	f := &fakeTB{}
	defer func() {
		if r := recover(); r != nil && r != any(f) {
			panic(r)
		}
		msg = f.msg
	}()
	run(f)
	return ""
}

// A wait that never comes true fails, naming what was awaited.
func TestWaitForNamesWhatDidNotHappen(t *testing.T) {
	t.Parallel()
	msg := fatal(func(tb testing.TB) { WaitFor(tb, "reconnect", 30*time.Millisecond, func() bool { return false }) })
	if want := "waited 30ms for reconnect, in vain"; msg != want {
		t.Errorf("failure %q, want %q", msg, want)
	}
}

// A recorder fed from many goroutines keeps every item, and WaitFor wakes on the nth.
func TestRecorder(t *testing.T) {
	t.Parallel()
	var r Recorder[int]
	if _, ok := r.Last(); ok {
		t.Error("an empty recorder has a last item")
	}
	go func() {
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() { r.Add(i) })
		}
	}()
	got := r.WaitFor(t, 50)
	if len(got) != 50 || r.Len() != 50 || len(r.All()) != 50 {
		t.Fatalf("WaitFor gave %d, Len %d, All %d; want 50", len(got), r.Len(), len(r.All()))
	}
	seen := map[int]bool{}
	for _, v := range got {
		seen[v] = true
	}
	if len(seen) != 50 {
		t.Errorf("%d distinct items, want 50", len(seen))
	}
	r.Add(99)
	if last, ok := r.Last(); !ok || last != 99 {
		t.Errorf("Last = %d %v, want 99", last, ok)
	}
	all := r.All()
	all[0] = -1
	if r.All()[0] == -1 {
		t.Error("All handed out the recorder's own slice")
	}
}
