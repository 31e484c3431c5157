//go:build !faultinject

package daemon

import "github.com/facilityd/facilityd/alarms"

// KillAfterJournal is no hook in the shipped binary: see faultinject_names.go.
func KillAfterJournal() func(alarms.Event) { return nil }

// KillAfterHandled is no hook in the shipped binary: see faultinject_names.go.
func KillAfterHandled() func(string, alarms.Event) { return nil }
