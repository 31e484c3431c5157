package main

import (
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/devices"
)

// A full spool is an alarm: the gateway device reports the drop at once, the engine raises
// facilityd/spool_data_dropped, and it returns to normal ten minutes after the last drop.
func TestSpoolDropRaisesAnAlarm(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Site = "s"
	dev := gatewayDevice(&cfg)
	var mu sync.Mutex
	var events []alarms.Event
	journal, err := alarms.OpenJournal(t.TempDir() + "/alarms.db")
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	now := time.Unix(1_800_000_000, 0)
	eng, err := alarms.New(alarms.DefaultConfig(), []*devices.Device{dev}, journal, func() time.Time { return now },
		alarms.SinkFunc(func(e alarms.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	health := newGatewayHealth(dev, eng.Observe)
	health.now = func() time.Time { return now }
	health.report(now)
	health.spoolDropped(5000, 1<<20)
	health.report(now)
	a, err := eng.Get(GatewayID + "/spool_data_dropped")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Active || a.State != alarms.StateUnacknowledged || a.Priority != alarms.PriorityHigh {
		t.Errorf("after a drop the alarm is %+v, want active, unacknowledged, high", a)
	}
	// Still reported within the hold, cleared after it.
	health.lastDrop.Store(now.Add(-dropHold - time.Second).UnixNano())
	health.report(now)
	if a, _ := eng.Get(GatewayID + "/spool_data_dropped"); a.Active {
		t.Errorf("the alarm is still active %v after the last drop", dropHold)
	}
}
