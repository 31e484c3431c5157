package main

import (
	"fmt"
	"os"
	"syscall"
)

// notifySocket says whether systemd (or a test) listens for sd_notify(3) messages.
func notifySocket() bool { return os.Getenv("NOTIFY_SOCKET") != "" }

// journalStream says whether f is the journal's stream, so the text log leaves the time to
// the journal. systemd.exec(5), $JOURNAL_STREAM: it holds the device and inode of the stream
// stdout/stderr are connected to, and a program compares them with fstat of its own stream,
// since a child that inherits the variable may have been redirected elsewhere.
func journalStream(f *os.File) bool {
	env := os.Getenv("JOURNAL_STREAM")
	if env == "" || f == nil {
		return false
	}
	var dev, ino uint64
	if _, err := fmt.Sscanf(env, "%d:%d", &dev, &ino); err != nil {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return uint64(st.Dev) == dev && st.Ino == ino
}
