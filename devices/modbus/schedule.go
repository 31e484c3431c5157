package modbus

import (
	"hash/fnv"
	"time"

	"github.com/facilityd/facilityd/internal/backoff"
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

// reconnectBackoff is the wait between attempts to reconnect to an endpoint that refuses or
// does not answer connections (internal/backoff): it doubles from Options.BackoffMin to
// Options.BackoffMax (ours: 500 ms to 30 s by default), and each wait is drawn from its upper
// half so that gateways dropped together do not all redial together.
func reconnectBackoff(min, max time.Duration) backoff.Backoff {
	return backoff.New(min, max).WithJitter()
}
