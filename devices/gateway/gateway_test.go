package gateway

import (
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/devices"
)

// A full spool is an alarm: the gateway device reports the drop at once, the engine raises
// facilityd/spool_data_dropped, and it returns to normal DropHold after the last drop.
func TestSpoolDropRaisesAnAlarm(t *testing.T) {
	t.Parallel()
	dev := Device("s")
	journal, err := alarms.OpenJournal(t.TempDir() + "/alarms.db")
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	eng, err := alarms.New(alarms.DefaultConfig(), []*devices.Device{dev}, journal, clock)
	if err != nil {
		t.Fatal(err)
	}
	health := NewHealth(dev, eng.Observe, clock)
	health.Report(now)
	health.SpoolDropped(5000, 1<<20)
	health.Report(now)
	a, err := eng.Get(ID + "/spool_data_dropped")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Active || a.State != alarms.StateUnacknowledged || a.Priority != alarms.PriorityHigh {
		t.Errorf("after a drop the alarm is %+v, want active, unacknowledged, high", a)
	}
	// Still reported within the hold, cleared after it.
	now = now.Add(DropHold - time.Second)
	health.Report(now)
	if a, _ := eng.Get(ID + "/spool_data_dropped"); !a.Active {
		t.Errorf("the alarm cleared within %v of the last drop", DropHold)
	}
	now = now.Add(2 * time.Second)
	health.Report(now)
	if a, _ := eng.Get(ID + "/spool_data_dropped"); a.Active {
		t.Errorf("the alarm is still active %v after the last drop", DropHold)
	}
}
