//go:build faultinject

package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/facilityd/facilityd/alarms"
)

func killAfterJournal() func(alarms.Event) {
	id := os.Getenv(killAfterJournalEnv)
	if id == "" {
		return nil
	}
	return func(e alarms.Event) {
		if e.Type == alarms.EventRaised && e.Alarm.ID == id {
			fmt.Fprintf(os.Stderr, "%s: killed after journalling seq %d (%s)\n", killAfterJournalEnv, e.Seq, id)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way; nothing else may run
		}
	}
}

func killAfterHandled() func(string, alarms.Event) {
	consumer, id, _ := strings.Cut(os.Getenv(killAfterHandledEnv), " ")
	if id == "" {
		return nil
	}
	return func(name string, e alarms.Event) {
		if name == consumer && e.Type == alarms.EventRaised && e.Alarm.ID == id {
			fmt.Fprintf(os.Stderr, "%s: killed after %s handled seq %d (%s)\n", killAfterHandledEnv, name, e.Seq, id)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
}
