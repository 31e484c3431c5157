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
	buckets := make([]int, 10)
	for i := 0; i < 1000; i++ {
		id := "dev-" + string(rune('a'+i%26)) + time.Duration(i).String()
		off := firstSlot(t0, id, time.Second).Sub(t0)
		if off < 0 || off >= time.Second {
			t.Fatalf("first slot of %s at %v, outside one interval", id, off)
		}
		buckets[off/(100*time.Millisecond)]++
	}
	for i, n := range buckets {
		if n < 50 || n > 150 {
			t.Errorf("%d of 1000 first polls fall in the tenth %d of the interval; want them spread (about 100)", n, i)
		}
	}
	if firstSlot(t0, "P-1", time.Second) != firstSlot(t0, "P-1", time.Second) {
		t.Error("first slot of one device differs between starts")
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	ceilings := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, c := range ceilings {
		ceiling := c * time.Millisecond
		d := b.next()
		if d < ceiling/2 || d > ceiling {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, d, ceiling/2, ceiling)
		}
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Errorf("after reset the wait is %v, want at most the minimum", d)
	}
}
