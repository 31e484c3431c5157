package modbus

import (
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// slotsPerInterval is how many distinct instants firstSlot spreads devices over. Devices that
// share a slot are due at the same instant, on whatever endpoint, so the runtime serves the
// burst of requests and replies on one wake-up instead of waking a thread for every device.
// Slots aligned this way cost no more CPU than polling every device at one instant (make
// bench), and keep a tenth of the fleet out of each burst for the network and the gateways.
const slotsPerInterval = 10

// firstSlot spreads devices' first polls over one interval, by a hash of the device id, so
// that a thousand devices started together do not fire at once. Slots are aligned on the wall
// clock (whole multiples of the interval since the zero time, plus the slot's share), so that
// every device of a slot is due at the same instant and keeps its phase across restarts and
// reloads, which keeps InfluxDB timestamps of one device evenly spaced. The result keeps now's
// monotonic clock reading, so a step of the wall clock does not stall or rush polling.
func firstSlot(now time.Time, id string, interval time.Duration) time.Time {
	h := fnv.New64a()
	h.Write([]byte(id))
	quantum := max(interval/slotsPerInterval, time.Millisecond)
	slots := uint64(max(interval/quantum, 1))
	base := now.Add(-now.Sub(now.Truncate(interval)))
	t := base.Add(time.Duration(h.Sum64()%slots) * quantum)
	if t.Before(now) {
		t = t.Add(interval)
	}
	return t
}

// nextSlot returns the poll slot after prev that is not yet past at now, and how many slots
// were skipped because the previous poll (or a neighbour's) ran late. Slots are prev plus whole
// intervals, so polling does not drift however long each poll takes.
func nextSlot(prev, now time.Time, interval time.Duration) (next time.Time, missed int) {
	next = prev.Add(interval)
	if !next.Before(now) {
		return next, 0
	}
	late := now.Sub(prev)
	k := int64(late / interval)
	if late%interval != 0 {
		k++
	}
	return prev.Add(time.Duration(k) * interval), int(k - 1)
}

// backoff is exponential backoff with jitter for reconnecting to an endpoint that refuses or
// does not answer connections: the wait doubles from min to max, and each wait is drawn from
// its upper half so that gateways dropped together do not all redial together.
type backoff struct {
	min, max time.Duration
	failures int
}

// next records a failure and returns how long to wait before the next attempt.
func (b *backoff) next() time.Duration {
	d := b.min
	for i := 0; i < b.failures && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	b.failures++
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// reset records a success.
func (b *backoff) reset() { b.failures = 0 }
