package gateway

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/devices"
)

// TestSpoolWriteFailureRaisesItsOwnAlarm: readings the spool cannot write (permissions, a full
// disk, an I/O error) or corrupt records at start raise facilityd/spool_write_failed, whose
// message names the cause and spool.dir, not "spool full"; the full-spool alarm stays quiet.
func TestSpoolWriteFailureRaisesItsOwnAlarm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		corrupt bool
		want    string
	}{
		{name: "permission", err: fmt.Errorf("spool: create: %w", fs.ErrPermission), want: "permission denied"},
		{name: "disk full", err: fmt.Errorf("spool: write: %w", syscall.ENOSPC), want: "disk full"},
		{name: "io error", err: errors.New("spool: fsync: input/output error"), want: "I/O error"},
		{name: "corrupt", corrupt: true, want: "corrupt records skipped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
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
			health.SpoolFaulted(SpoolCauseOf(tc.err, tc.corrupt))
			health.Report(now)
			a, err := eng.Get(ID + "/spool_write_failed")
			if err != nil {
				t.Fatal(err)
			}
			if !a.Active || !strings.Contains(a.Message, tc.want) || !strings.Contains(a.Message, "spool.dir") {
				t.Errorf("alarm %+v, want active with a message naming %q and spool.dir", a, tc.want)
			}
			if full, _ := eng.Get(ID + "/spool_data_dropped"); full.Active {
				t.Errorf("the spool-full alarm is raised for a %s", tc.name)
			}
			now = now.Add(DropHold + time.Second)
			health.Report(now)
			if a, _ := eng.Get(ID + "/spool_write_failed"); a.Active {
				t.Errorf("still active %v after the last fault", DropHold)
			}
		})
	}
}
