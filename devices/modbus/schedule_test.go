package modbus

import (
	"testing"
	"time"
)

func TestNextSlot(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(0, 0)
	sec := time.Second
	cases := []struct {
		name       string
		now        time.Duration
		wantNext   time.Duration
		wantMissed int
	}{
		{name: "poll took no time", now: 0, wantNext: sec},
		{name: "poll took most of the interval", now: 900 * time.Millisecond, wantNext: sec},
		{name: "poll ended exactly on the next slot", now: sec, wantNext: sec},
		{name: "poll overran one slot", now: 1500 * time.Millisecond, wantNext: 2 * sec, wantMissed: 1},
		{name: "poll overran several slots", now: 3200 * time.Millisecond, wantNext: 4 * sec, wantMissed: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			next, missed := nextSlot(t0, t0.Add(tc.now), sec)
			if got := next.Sub(t0); got != tc.wantNext || missed != tc.wantMissed {
				t.Errorf("nextSlot = +%v, %d missed; want +%v, %d missed", got, missed, tc.wantNext, tc.wantMissed)
			}
		})
	}
}

func TestNextSlotDoesNotDrift(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(0, 0)
	slot := t0
	for i := 1; i <= 1000; i++ {
		// Each poll takes 7 ms and starts 3 ms late; the slots stay on whole seconds.
		slot, _ = nextSlot(slot, slot.Add(10*time.Millisecond), time.Second)
		if want := t0.Add(time.Duration(i) * time.Second); !slot.Equal(want) {
			t.Fatalf("slot %d at %v, want %v", i, slot.Sub(t0), want.Sub(t0))
		}
	}
}

func TestFirstSlotSpreads(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(0, 0)
	buckets := make([]int, slotsPerInterval)
	for i := 0; i < 1000; i++ {
		id := "dev-" + string(rune('a'+i%26)) + time.Duration(i).String()
		off := firstSlot(t0, id, time.Second).Sub(t0)
		if off < 0 || off >= time.Second {
			t.Fatalf("first slot of %s at %v, outside one interval", id, off)
		}
		buckets[off/(time.Second/slotsPerInterval)]++
	}
	for i, n := range buckets {
		if n < 50 || n > 150 {
			t.Errorf("%d of 1000 first polls fall in slot %d of %d; want them spread (about 100)", n, i, slotsPerInterval)
		}
	}
	if firstSlot(t0, "P-1", time.Second) != firstSlot(t0, "P-1", time.Second) {
		t.Error("first slot of one device differs between starts")
	}
}

// Devices of one slot must be due at one instant whenever their endpoints started, or every
// device wakes the runtime on its own (five times the CPU at 2,000 devices, make bench); and a
// restart or reload must keep each device's phase.
func TestFirstSlotIsAlignedOnTheClock(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i := 0; len(ids) < 2; i++ {
		id := "dev-" + time.Duration(i).String()
		if firstSlot(base, id, time.Second).Sub(base) == 300*time.Millisecond {
			ids = append(ids, id)
		}
		if i > 10000 {
			t.Fatal("no two ids share the slot at +300ms")
		}
	}
	for _, started := range []time.Duration{0, 1, 7 * time.Millisecond, 299 * time.Millisecond, 300 * time.Millisecond, 301 * time.Millisecond, 999 * time.Millisecond, 42*time.Hour + 5*time.Millisecond} {
		now := base.Add(started)
		for _, id := range ids {
			got := firstSlot(now, id, time.Second)
			if got.Before(now) || !got.Before(now.Add(time.Second)) {
				t.Errorf("started at +%v: %s first due at +%v, not within the next interval", started, id, got.Sub(base))
			}
			if ms := got.Sub(base) % time.Second; ms != 300*time.Millisecond {
				t.Errorf("started at +%v: %s due at +%v, want 300 ms past a whole second", started, id, got.Sub(base))
			}
		}
		if a, b := firstSlot(now, ids[0], time.Second), firstSlot(now.Add(3*time.Millisecond), ids[1], time.Second); started%time.Second < 297*time.Millisecond && !a.Equal(b) {
			t.Errorf("started at +%v: two devices of one slot due %v apart, want the same instant", started, b.Sub(a))
		}
	}
	// A minute's interval keeps whole minutes.
	if got := firstSlot(base.Add(17*time.Second), "P-1", time.Minute).Sub(base) % (time.Minute / slotsPerInterval); got != 0 {
		t.Errorf("one-minute device due %v past a slot boundary, want on it", got)
	}
}

// The first slot keeps the monotonic clock, so that a wall clock stepped back an hour (NTP,
// an operator) after the start neither stalls polling for that hour nor rushes it.
func TestFirstSlotKeepsTheMonotonicClock(t *testing.T) {
	t.Parallel()
	now := time.Now()
	got := firstSlot(now, "P-1", time.Second)
	if got.String() == got.Round(0).String() {
		t.Fatalf("first slot %v has no monotonic reading", got)
	}
	if d := got.Sub(now); d < 0 || d >= time.Second {
		t.Errorf("first slot %v after now, want within one interval", d)
	}
}

// An endpoint that keeps refusing is redialled ever less often, up to the ceiling, at a
// spread of moments; one success starts again from the minimum.
func TestBackoff(t *testing.T) {
	t.Parallel()
	b := reconnectBackoff(100*time.Millisecond, time.Second)
	ceilings := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, c := range ceilings {
		ceiling := c * time.Millisecond
		d := b.Next()
		if d < ceiling/2 || d > ceiling {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, d, ceiling/2, ceiling)
		}
	}
	b.Reset()
	if d := b.Next(); d > 100*time.Millisecond {
		t.Errorf("after reset the wait is %v, want at most the minimum", d)
	}
}
