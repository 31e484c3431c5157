package simulators

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/internal/testutil"
)

// evening is 20:00 UTC: lights on, evening water demand.
var evening = time.Date(2025, 3, 14, 20, 0, 0, 0, time.UTC)

// newTestEstate builds an estate on a fake clock in UTC, closed when the test ends.
func newTestEstate(t *testing.T, clock *testutil.Clock, specs ...DeviceSpec) *Estate {
	t.Helper()
	e, err := New(specs, Options{Now: clock.Now, Location: time.UTC, Seed: 7})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func startTestEstate(t *testing.T, clock *testutil.Clock, specs ...DeviceSpec) *Estate {
	t.Helper()
	e := newTestEstate(t, clock, specs...)
	if err := e.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return e
}

func value(t *testing.T, e *Estate, id, point string) devices.Value {
	t.Helper()
	v, ok := e.Value(id, point)
	if !ok {
		t.Fatalf("Value(%q, %q): no such device or point", id, point)
	}
	return v
}

// check is a condition on one point's value, with a description for failures.
type check struct {
	desc string
	ok   func(devices.Value) bool
}

func is(x float64) check {
	return check{fmt.Sprintf("= %v", x), func(v devices.Value) bool { return v.Number == x }}
}

func isTrue() check  { return is(1) }
func isFalse() check { return is(0) }

func near(x, tol float64) check {
	return check{fmt.Sprintf("%v ± %v", x, tol), func(v devices.Value) bool { return math.Abs(v.Number-x) <= tol }}
}

func below(x float64) check {
	return check{fmt.Sprintf("< %v", x), func(v devices.Value) bool { return v.Number < x }}
}

func above(x float64) check {
	return check{fmt.Sprintf("> %v", x), func(v devices.Value) bool { return v.Number > x }}
}

func oneOf(xs ...float64) check {
	return check{fmt.Sprintf("one of %v", xs), func(v devices.Value) bool {
		for _, x := range xs {
			if v.Number == x {
				return true
			}
		}
		return false
	}}
}

func text(s string) check {
	return check{fmt.Sprintf("%q", s), func(v devices.Value) bool { return v.Text == s }}
}

// expect checks points of one device, reporting every mismatch.
func expect(t *testing.T, e *Estate, id, when string, want map[string]check) {
	t.Helper()
	for point, c := range want {
		v := value(t, e, id, point)
		if !c.ok(v) {
			t.Errorf("%s: %s %s = %v %q, want %s", when, id, point, v.Number, v.Text, c.desc)
		}
	}
}
