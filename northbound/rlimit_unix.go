//go:build unix

package northbound

import (
	"fmt"
	"syscall"
)

// RaiseFileLimit raises the process's soft limit of open files (RLIMIT_NOFILE) to its hard
// limit and returns the new soft limit. Every broker client, device connection and HTTP
// client holds a descriptor; the soft limit many systems start a process with (1024) is what
// an exhausted broker runs into first, while the hard limit is what the administrator allows.
// facilityd calls it at start; an error leaves the limit as it was.
func RaiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("read the open-files limit: %w", err)
	}
	if lim.Cur >= lim.Max {
		return uint64(lim.Cur), nil
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("raise the open-files limit to %d (ulimit -n, or LimitNOFILE= in the systemd unit): %w", lim.Max, err)
	}
	return uint64(lim.Cur), nil
}
