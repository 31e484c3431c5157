// Package backoff is the one exponential backoff of facilityd: the wait doubles from a
// minimum to a maximum, optionally drawn at random from its upper half so that gateways that
// failed together do not retry together. Each use keeps its own numbers where it calls in.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Delay is the wait before retry number attempt (1 is the first retry): min doubled
// attempt-1 times, never above max. An attempt below 1 counts as 1; max <= 0 means no
// ceiling; a min <= 0 gives 0. Pure, so that a caller keeping its attempt count in a
// database (an outbox row) needs no Backoff value.
func Delay(attempt int, min, max time.Duration) time.Duration {
	if min <= 0 {
		return 0
	}
	d := min
	for i := 1; i < attempt; i++ {
		if max > 0 && d >= max {
			break
		}
		if d > (1<<63-1)/2 { // one more doubling would overflow
			return ceiling(max)
		}
		d *= 2
	}
	if max > 0 && d > max {
		return max
	}
	return d
}

// ceiling is max, or the longest duration when there is none.
func ceiling(max time.Duration) time.Duration {
	if max > 0 {
		return max
	}
	return 1<<63 - 1
}

// Jitter draws a wait from the upper half of d, [d/2, d]: still at least half the backoff,
// but spread so that many clients cut off at one moment come back at different ones.
func Jitter(d time.Duration) time.Duration {
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// Backoff counts failures in a row and gives the wait before the next attempt, for a loop
// that keeps its own state (a reconnecting driver). The zero value waits nothing; use New.
type Backoff struct {
	min, max time.Duration
	jitter   bool
	failures int
}

// New is a backoff from min doubling to max, without jitter.
func New(min, max time.Duration) Backoff { return Backoff{min: min, max: max} }

// WithJitter is b with each wait drawn by Jitter.
func (b Backoff) WithJitter() Backoff {
	b.jitter = true
	return b
}

// Next records a failure and returns how long to wait before trying again: min after the
// first failure, doubling after each further one up to max.
func (b *Backoff) Next() time.Duration {
	b.failures++
	d := Delay(b.failures, b.min, b.max)
	if b.jitter {
		d = Jitter(d)
	}
	return d
}

// Reset records a success: the next failure waits min again.
func (b *Backoff) Reset() { b.failures = 0 }

// Failures is the number of failures in a row since the last Reset.
func (b *Backoff) Failures() int { return b.failures }
