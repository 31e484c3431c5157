//go:build faultinject

package daemon

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/facilityd/facilityd/alarms"
)

// KillAfterJournal is Options.AfterJournal for the crash tests: it kills the process after
// journalling the raise of the alarm KillAfterJournalEnv names.
func KillAfterJournal() func(alarms.Event) {
	id := os.Getenv(KillAfterJournalEnv)
	if id == "" {
		return nil
	}
	return func(e alarms.Event) {
		if e.Type == alarms.EventRaised && e.Alarm.ID == id {
			fmt.Fprintf(os.Stderr, "%s: killed after journalling seq %d (%s)\n", KillAfterJournalEnv, e.Seq, id)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way; nothing else may run
		}
	}
}

// KillAfterHandled is Options.AfterHandled for the crash tests: it kills the process once the
// consumer KillAfterHandledEnv names has applied that alarm's raise.
func KillAfterHandled() func(string, alarms.Event) {
	consumer, id, _ := strings.Cut(os.Getenv(KillAfterHandledEnv), " ")
	if id == "" {
		return nil
	}
	return func(name string, e alarms.Event) {
		if name == consumer && e.Type == alarms.EventRaised && e.Alarm.ID == id {
			fmt.Fprintf(os.Stderr, "%s: killed after %s handled seq %d (%s)\n", KillAfterHandledEnv, name, e.Seq, id)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
}
