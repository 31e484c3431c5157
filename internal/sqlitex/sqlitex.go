// Package sqlitex opens facilityd's SQLite stores one way: the same pragmas, one connection,
// the folder made if missing, and a schema brought forward by numbered migrations (migrate.go).
package sqlitex

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"
)

// DefaultBusyTimeout is how long a statement waits for another connection's write lock
// before it fails with SQLITE_BUSY: 5 s, what the alarm journal, the patrol store and the
// command journal have always used.
const DefaultBusyTimeout = 5 * time.Second

// Options are what differs between the stores; the zero value is right for most.
type Options struct {
	// Name is the configuration key of the file (alarms.journal, patrol.store), so that an
	// error tells a person which setting points at the file.
	Name string
	// BusyTimeout overrides DefaultBusyTimeout. The order book waits longer (10 s): two
	// gateways, or the report and the daemon, may write it at once.
	BusyTimeout time.Duration
	// ForeignKeys turns on foreign key enforcement (off by default in SQLite). The order book
	// has always asked for it.
	ForeignKeys bool
	// ImmediateTx begins every transaction with BEGIN IMMEDIATE, taking the write lock at the
	// start: a read-then-write transaction then waits out another writer (busy_timeout)
	// instead of failing on the upgrade. The order book needs it; its merges read then write.
	ImmediateTx bool
}

// Open opens the SQLite database at path, creating it and its folder if needed, in WAL mode
// (readers never block the writer), with synchronous=FULL (a committed transaction survives
// a power cut: it is fsync'd at commit) and one connection, so that the process has a single
// writer and never waits on itself. The file is only opened, not checked; Migrate does that.
func Open(path string, opts Options) (*sql.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("%s: no file named", opts.label())
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("%s %s: make its folder: %w", opts.label(), path, err)
		}
	}
	db, err := sql.Open("sqlite", dsn(path, opts))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", opts.label(), path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// dsn is the modernc.org/sqlite data source: each _pragma runs on every new connection.
func dsn(path string, opts Options) string {
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	s := "file:" + path +
		"?_pragma=journal_mode(WAL)" +
		"&_pragma=busy_timeout(" + strconv.FormatInt(busy.Milliseconds(), 10) + ")"
	if opts.ForeignKeys {
		s += "&_pragma=foreign_keys(1)"
	}
	s += "&_pragma=synchronous(FULL)"
	if opts.ImmediateTx {
		s += "&_txlock=immediate"
	}
	return s
}

func (o Options) label() string {
	if o.Name == "" {
		return "sqlite"
	}
	return o.Name
}

// PruneInBatches calls del with a limit of batch rows until it deletes fewer than that, or ctx
// ends, and returns how many rows went. Each call is its own statement, so a writer of the
// store waits for one batch at most, never for the whole prune.
func PruneInBatches(ctx context.Context, batch int, del func(ctx context.Context, limit int) (int64, error)) (int64, error) {
	var total int64
	for ctx.Err() == nil {
		n, err := del(ctx, batch)
		total += n
		if err != nil || n < int64(batch) {
			return total, err
		}
	}
	return total, nil
}
