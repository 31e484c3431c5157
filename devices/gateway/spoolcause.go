package gateway

import (
	"errors"
	"io/fs"
	"syscall"
)

// SpoolCause is the value of the gateway's spool_write_failed point: why the spool lost
// readings other than for space, so that the alarm tells the operator what to fix.
type SpoolCause int32

// The causes, as labelled in the gateway profile.
const (
	SpoolOK SpoolCause = iota
	SpoolPermissionDenied
	SpoolDiskFull
	SpoolIOError
	SpoolCorrupt
)

// SpoolCauseOf classifies a spool fault: a failed append's error, or corrupt records at open.
func SpoolCauseOf(err error, corrupt bool) SpoolCause {
	switch {
	case corrupt:
		return SpoolCorrupt
	case errors.Is(err, fs.ErrPermission):
		return SpoolPermissionDenied
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return SpoolDiskFull
	}
	return SpoolIOError
}
