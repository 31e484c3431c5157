package alarms

import (
	"testing"
	"time"
)

// TestReadsDoNotWaitForTheJournal: while the journal's commit of a pump trip is stuck (a slow
// disk, held in the journal's AfterCommit hook), GET /api/v1/alarms (List), Get and an
// operator's acknowledgement queued behind it behave as a person expects: the reads answer at
// once, the acknowledgement waits its turn, and the journal keeps the order raised, acked.
func TestReadsDoNotWaitForTheJournal(t *testing.T) {
	h := newHarness(t, builtinConfig(), estate(t)...)
	entered, release := make(chan struct{}), make(chan struct{})
	stuck := true
	h.j.AfterCommit = func(Event) {
		if stuck {
			stuck = false
			close(entered)
			<-release
		}
	}
	observed := make(chan struct{})
	go func() {
		defer close(observed)
		h.eng.Observe(snapshot(h.dev("P-1"), h.clk.now(), map[string]float64{"fault": 1, "overload": 1}))
	}()
	watchdog := time.NewTimer(10 * time.Second) // fails the test, never paces it
	defer watchdog.Stop()
	select {
	case <-entered:
	case <-watchdog.C:
		t.Fatal("the commit never started")
	}

	listed := make(chan []Alarm, 1)
	go func() { listed <- h.eng.List(Filter{}) }()
	select {
	case list := <-listed:
		if len(list) != 1 || list[0].ID != "P-1/pump_trip" {
			t.Fatalf("List during the commit: %+v", list)
		}
	case <-watchdog.C:
		t.Fatal("List waits for the journal's commit")
	}
	if _, err := h.eng.Get("P-1/pump_trip"); err != nil {
		t.Fatal(err)
	}

	acked := make(chan error, 1)
	go func() { acked <- h.eng.Ack("P-1/pump_trip", "op-zhang", "seen") }()
	close(release)
	select {
	case err := <-acked:
		h.must(err)
	case <-watchdog.C:
		t.Fatal("the acknowledgement never went through")
	}
	<-observed
	evs, err := h.j.History(t.Context(), "P-1/pump_trip", 0)
	h.must(err)
	if len(evs) != 2 || evs[0].Type != EventRaised || evs[1].Type != EventAcknowledged || evs[0].Seq >= evs[1].Seq {
		t.Fatalf("journal %+v, want raised then acknowledged", evs)
	}
	if a := h.alarm("P-1/pump_trip"); a.State != StateAcknowledged {
		t.Fatalf("state %s after the ack", a.State)
	}
}
