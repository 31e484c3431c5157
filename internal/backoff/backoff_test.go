package backoff

import (
	"testing"
	"time"
)

// The numbers each use of Delay lives by: a changed doubling or ceiling changes how soon a
// lost InfluxDB, robot, Modbus endpoint or webhook is tried again.
func TestDelay(t *testing.T) {
	t.Parallel()
	const s = time.Second
	for _, tc := range []struct {
		name     string
		attempt  int
		min, max time.Duration
		want     time.Duration
	}{
		{"first retry waits min", 1, 2 * s, time.Minute, 2 * s},
		{"doubles", 3, 2 * s, time.Minute, 8 * s},
		{"patrol outbox reaches its minute", 6, 2 * s, time.Minute, time.Minute},
		{"stays at max", 40, 2 * s, time.Minute, time.Minute},
		{"attempt 0 counts as the first", 0, 500 * time.Millisecond, 30 * s, 500 * time.Millisecond},
		{"negative attempt counts as the first", -3, s, 10 * s, s},
		{"no ceiling keeps doubling", 11, time.Millisecond, 0, 1024 * time.Millisecond},
		{"no ceiling never overflows", 500, s, 0, 1<<63 - 1},
		{"huge attempt with a ceiling", 1 << 30, s, time.Hour, time.Hour},
		{"min above max gives max", 1, time.Minute, s, s},
		{"no min waits nothing", 5, 0, s, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Delay(tc.attempt, tc.min, tc.max); got != tc.want {
				t.Errorf("Delay(%d, %v, %v) = %v, want %v", tc.attempt, tc.min, tc.max, got, tc.want)
			}
		})
	}
}

// A jittered wait is never below half nor above the backoff, and is not always the same.
func TestJitterStaysInUpperHalf(t *testing.T) {
	t.Parallel()
	d := 8 * time.Second
	seen := map[time.Duration]bool{}
	for range 1000 {
		got := Jitter(d)
		if got < d/2 || got > d {
			t.Fatalf("Jitter(%v) = %v, outside [%v, %v]", d, got, d/2, d)
		}
		seen[got] = true
	}
	if len(seen) < 10 {
		t.Errorf("%d distinct waits in 1000: not spread", len(seen))
	}
	if got := Jitter(time.Nanosecond); got != time.Nanosecond {
		t.Errorf("Jitter(1ns) = %v: too short to split", got)
	}
}

// A reconnecting loop waits longer after each failure and starts over after a success.
func TestBackoffNextAndReset(t *testing.T) {
	t.Parallel()
	b := New(100*time.Millisecond, time.Second)
	var got []time.Duration
	for range 6 {
		got = append(got, b.Next())
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("waits %v, want %v ms", got, want)
		}
	}
	if b.Failures() != 6 {
		t.Errorf("%d failures, want 6", b.Failures())
	}
	b.Reset()
	if d := b.Next(); d != 100*time.Millisecond {
		t.Errorf("after Reset the wait is %v, want the minimum again", d)
	}
}

// With jitter each wait stays within the upper half of the plain one.
func TestBackoffWithJitter(t *testing.T) {
	t.Parallel()
	b := New(100*time.Millisecond, time.Second).WithJitter()
	for i := 1; i <= 8; i++ {
		plain := Delay(i, 100*time.Millisecond, time.Second)
		if d := b.Next(); d < plain/2 || d > plain {
			t.Fatalf("failure %d: wait %v outside [%v, %v]", i, d, plain/2, plain)
		}
	}
}
