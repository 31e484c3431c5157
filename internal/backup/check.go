package backup

import (
	"context"
	"fmt"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/devices/commands"
	"github.com/facilityd/facilityd/workorders"
)

// CheckStore opens the store of key at path with the store's own opener, as the daemon's
// start will, and closes it: a file written by a newer facilityd is refused with the
// *sqlitex.NewerSchemaError (errors.Is sqlitex.ErrNewerSchema), and a file of an older one is
// brought forward to this binary's schema. It is RestoreOptions.Check for facilityd.
func CheckStore(ctx context.Context, key, path string) error {
	type closer interface{ Close() error }
	var (
		s   closer
		err error
	)
	switch key {
	case "alarms.journal":
		s, err = alarms.OpenJournal(path)
	case "patrol.store":
		s, err = patrol.OpenStore(path)
	case "commands.store":
		s, err = commands.OpenStore(path)
	case "workorders.store.path":
		s, err = workorders.OpenStore(ctx, "sqlite", path)
	default:
		return fmt.Errorf("%s: not a store this facilityd knows", key)
	}
	if err != nil {
		return err
	}
	return s.Close()
}
