//go:build !faultinject

package main

import "github.com/facilityd/facilityd/alarms"

// killAfterJournal is no hook in the shipped binary: see faultinject_names.go.
func killAfterJournal() func(alarms.Event) { return nil }

// killAfterHandled is no hook in the shipped binary: see faultinject_names.go.
func killAfterHandled() func(string, alarms.Event) { return nil }
