package simulators

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// A fault reset clears a trip whose cause is gone and leaves one whose cause remains: the pump
// restarts in the first case only.
func TestPumpFaultReset(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		clearFirst bool
		wantFault  bool
	}{
		{"cause gone, trip latched", true, false},
		{"cause still there", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := time.Unix(0, 0)
			p := newPump(RoleSupply, rand.New(rand.NewPCG(1, 2)), time.UTC, now)
			if err := p.inject("overload", nil); err != nil {
				t.Fatal(err)
			}
			now = now.Add(10 * time.Second)
			p.step(now, 10*time.Second)
			if v, _ := p.value("fault"); v.Number != 1 {
				t.Fatal("overload did not trip the pump")
			}
			if tt.clearFirst {
				if err := p.clear("overload", map[string]string{"latch": "1"}); err != nil {
					t.Fatal(err)
				}
				if v, _ := p.value("fault"); v.Number != 1 {
					t.Fatal("a latched trip cleared without a reset")
				}
			}
			if err := p.checkWrite("fault_reset", devices.Value{Number: 1}); err != nil {
				t.Fatalf("fault_reset refused: %v", err)
			}
			p.write("fault_reset", devices.Value{Number: 1})
			fault, _ := p.value("fault")
			running, _ := p.value("running")
			if (fault.Number == 1) != tt.wantFault || (running.Number == 1) == tt.wantFault {
				t.Errorf("after reset fault = %v, running = %v; want fault %v", fault.Number, running.Number, tt.wantFault)
			}
		})
	}
}
