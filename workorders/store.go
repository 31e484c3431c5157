package workorders

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/facilityd/facilityd/internal/sqlitex"
)

// Filter selects orders; empty fields match all.
type Filter struct {
	State    State
	Zone     string
	Team     string
	Device   string
	Category string
	Plan     string
	Location string
	Assignee string
	// Active keeps only new, accepted and in-progress orders.
	Active bool
	// From and To bound the creation time: From <= created_at < To.
	From, To time.Time
}

// Notice tells residents of an interruption of water or power: planned (a preventive job's,
// published at least notice_lead ahead) or an emergency (an unplanned cut, published at once).
type Notice struct {
	ID          int64     `json:"id"`
	Site        string    `json:"site"`
	Order       string    `json:"order,omitempty"`
	Plan        string    `json:"plan,omitempty"`
	Interrupts  string    `json:"interrupts"`
	Devices     []string  `json:"devices"`
	Zone        string    `json:"zone,omitempty"`
	Building    string    `json:"building,omitempty"`
	Title       string    `json:"title"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	PublishedAt time.Time `json:"published_at"`
	// Override is the reason given for publishing less than a day before the job.
	Override string `json:"override,omitempty"`
	// Emergency marks an unplanned cut; Reason says why, By who issued the notice.
	Emergency bool   `json:"emergency,omitempty"`
	Reason    string `json:"reason,omitempty"`
	By        string `json:"by,omitempty"`
}

// FaultKey is what makes two orders one fault: the same device, fault (rule) and instance;
// or, when Location is set (a household repair), the same location and category.
type FaultKey struct {
	Device, Fault, Instance string
	Location, Category      string
}

// Store keeps the order book. SQLStore is the one implementation, on SQLite or PostgreSQL.
type Store interface {
	// Open stores a new order, unless an active order for the same device, fault and
	// instance exists:
	// then that order's occurrence count goes up and it is returned with created false. Two
	// gateways racing on one fault never both create. An order from an alarm raise (Source
	// alarm) is applied once per raise (AlarmID and CreatedAt): the same raise again returns
	// nil, false and changes nothing.
	// notes (may be nil) are the notifications of a created order, written to the outbox in
	// the same transaction: an attached occurrence tells nobody.
	Open(ctx context.Context, o *Order, notes Notes) (stored *Order, created bool, err error)
	// Insert stores an order that is never merged with another (a resident's report), with
	// its notifications in the same transaction.
	Insert(ctx context.Context, o *Order, notes Notes) (*Order, error)
	Get(ctx context.Context, id string) (*Order, error)
	// Update stores o if nobody changed it since o.Version was read, else ErrConflict; the
	// notifications of the change are written to the outbox in the same transaction, so a
	// conflict (another gateway recorded the change) sends nothing.
	Update(ctx context.Context, o *Order, notes Notes) error
	List(ctx context.Context, f Filter) ([]*Order, error)
	// LastDone is the most recently resolved order for the fault resolved at or after since,
	// or nil.
	LastDone(ctx context.Context, k FaultKey, since time.Time) (*Order, error)
	AddNotice(ctx context.Context, n *Notice) error
	Notices(ctx context.Context, since time.Time) ([]Notice, error)
	OutboxStore
	DefectStore
	SurveyStore
	Close() error
}

// SQLStore is the order book in SQLite (one gateway) or PostgreSQL (several). The indexed
// fields are columns; the rest of an order, history included, is a JSON document.
type SQLStore struct {
	db       *sql.DB
	postgres bool
}

// OpenStore opens the store of driver "sqlite" (source: a file path) or "postgres" (source:
// a DSN) and brings its schema up to date.
func OpenStore(ctx context.Context, driver, source string) (*SQLStore, error) {
	var s SQLStore
	var err error
	switch driver {
	case "sqlite", "":
		// WAL lets the report read while the daemon writes; busy_timeout waits out a writer, and
		// BEGIN IMMEDIATE makes a merge's read-then-write wait for the lock instead of failing.
		s.db, err = sqlitex.Open(source, sqlitex.Options{Name: "workorders.store.path",
			BusyTimeout: 10 * time.Second, ForeignKeys: true, ImmediateTx: true})
	case "postgres":
		s.db, err = sql.Open("pgx", source)
		s.postgres = true
	default:
		return nil, fmt.Errorf("workorders.store.driver: %q is not sqlite or postgres", driver)
	}
	if err != nil {
		return nil, fmt.Errorf("workorders store: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("workorders store (%s): %w", driver, err)
	}
	return &s, nil
}

// migrations are applied in order, once each; their index is the schema version.
func (s *SQLStore) migrations() []string {
	serial := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if s.postgres {
		serial = "BIGSERIAL PRIMARY KEY"
	}
	return []string{
		`CREATE TABLE workorders (
			seq ` + serial + `,
			device TEXT NOT NULL DEFAULT '',
			fault TEXT NOT NULL DEFAULT '',
			state TEXT NOT NULL,
			active INTEGER NOT NULL,
			zone TEXT NOT NULL DEFAULT '',
			team TEXT NOT NULL DEFAULT '',
			category TEXT NOT NULL,
			plan TEXT NOT NULL DEFAULT '',
			occurrences INTEGER NOT NULL DEFAULT 1,
			version BIGINT NOT NULL DEFAULT 1,
			created_at BIGINT NOT NULL,
			resolved_at BIGINT NOT NULL DEFAULT 0,
			data TEXT NOT NULL)`,
		// One active order per device and fault: the database, not the gateway, decides.
		`CREATE UNIQUE INDEX workorders_one_active ON workorders (device, fault) WHERE active = 1 AND fault <> ''`,
		`CREATE INDEX workorders_created ON workorders (created_at)`,
		`CREATE INDEX workorders_device ON workorders (device, fault, resolved_at)`,
		`CREATE TABLE workorder_notices (
			id ` + serial + `,
			published_at BIGINT NOT NULL,
			data TEXT NOT NULL)`,
		// Migrations 6-10: a fault's instance (fire zone, lighting circuit) is part of its identity:
		// two dark circuits of one panel are two orders.
		`ALTER TABLE workorders ADD COLUMN instance TEXT NOT NULL DEFAULT ''`,
		`DROP INDEX workorders_one_active`,
		`CREATE UNIQUE INDEX workorders_one_active_instance ON workorders (device, fault, instance) WHERE active = 1 AND fault <> ''`,
		`DROP INDEX workorders_device`,
		`CREATE INDEX workorders_fault ON workorders (device, fault, instance, resolved_at)`,
		// Migrations 11-12: the home or room of a household repair, for its rework.
		`ALTER TABLE workorders ADD COLUMN location TEXT NOT NULL DEFAULT ''`,
		`CREATE INDEX workorders_location ON workorders (location, category, resolved_at)`,
		// Migration 13: the technician an order is assigned to.
		`ALTER TABLE workorders ADD COLUMN assignee TEXT NOT NULL DEFAULT ''`,
		// Migration 14: the alarm raises already applied, so that one delivered again (facilityd
		// stopped after the order was stored and before the journal recorded it) is not a
		// second occurrence.
		`CREATE TABLE workorder_alarm_events (
			alarm_id TEXT NOT NULL,
			raised_at BIGINT NOT NULL,
			PRIMARY KEY (alarm_id, raised_at))`,
		// Migrations 15-18: the notifications outbox (outbox.go), written in the transaction of
		// the order change that causes each notification and delivered from Run; and the
		// index the retention of the raises prunes by.
		`CREATE TABLE workorder_outbox (
			id ` + serial + `,
			created_at BIGINT NOT NULL,
			dedupe TEXT,
			data TEXT NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0,
			next_at BIGINT NOT NULL DEFAULT 0,
			claimed_by TEXT NOT NULL DEFAULT '',
			claimed_until BIGINT NOT NULL DEFAULT 0,
			delivered_at BIGINT NOT NULL DEFAULT 0,
			last_error TEXT NOT NULL DEFAULT '')`,
		`CREATE UNIQUE INDEX workorder_outbox_dedupe ON workorder_outbox (dedupe)`,
		`CREATE INDEX workorder_outbox_state ON workorder_outbox (delivered_at, id)`,
		`CREATE INDEX workorder_alarm_events_raised ON workorder_alarm_events (raised_at)`,
		// Migrations 19-20: the register of confined-space permits (permits.go), every permit
		// recorded on an order kept, failed gas tests included; the order holds the latest.
		`CREATE TABLE workorder_permits (
			order_seq BIGINT NOT NULL,
			issued_at BIGINT NOT NULL,
			data TEXT NOT NULL)`,
		`CREATE UNIQUE INDEX workorder_permits_order ON workorder_permits (order_seq, issued_at)`,
		// Migrations 21-22: the register of handover defects in residents' homes (defects.go).
		`CREATE TABLE workorder_defects (
			seq ` + serial + `,
			home TEXT NOT NULL,
			status TEXT NOT NULL,
			reported_at BIGINT NOT NULL,
			version BIGINT NOT NULL DEFAULT 1,
			data TEXT NOT NULL)`,
		`CREATE INDEX workorder_defects_home ON workorder_defects (home, status)`,
		// Migration 23: the surveys of residents and their answers (surveys.go).
		`CREATE TABLE workorder_surveys (
			id TEXT PRIMARY KEY,
			version BIGINT NOT NULL DEFAULT 1,
			data TEXT NOT NULL)`,
	}
}

// migrate brings the schema up to date with the shared runner (internal/sqlitex), on SQLite
// and PostgreSQL alike; the version stays in workorder_schema, so order books of every
// release go on from the version they reached.
func (s *SQLStore) migrate(ctx context.Context) error {
	m := sqlitex.Migrations{Name: "workorders.store", Table: "workorder_schema"}
	for _, q := range s.migrations() {
		m.Steps = append(m.Steps, sqlitex.Migration{SQL: q})
	}
	if s.postgres {
		// Two gateways starting together migrate one after the other.
		m.Lock = func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7243001)`)
			return err
		}
	}
	return m.Apply(ctx, s.db)
}

// q rewrites ? placeholders as $1, $2... for PostgreSQL.
func (s *SQLStore) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Close closes the database.
func (s *SQLStore) Close() error { return s.db.Close() }

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func seqOf(id string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(id, "WO-"), 10, 64)
	return n, err == nil && strings.HasPrefix(id, "WO-")
}

// querier is a database or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Open implements Store.
func (s *SQLStore) Open(ctx context.Context, o *Order, notes Notes) (*Order, bool, error) {
	if o.Fault == "" {
		n, err := s.Insert(ctx, o, notes)
		return n, err == nil, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback()
	if o.Source == SourceAlarm && o.AlarmID != "" {
		// The raise is recorded in the same transaction as its order or occurrence.
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO workorder_alarm_events (alarm_id, raised_at) VALUES (?, ?) ON CONFLICT DO NOTHING`),
			o.AlarmID, ms(o.CreatedAt))
		if err != nil {
			return nil, false, err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return nil, false, err // applied before
		}
	}
	for attempt := 0; attempt < 3; attempt++ {
		// Attach to the active order if there is one...
		var seq int64
		err := tx.QueryRowContext(ctx, s.q(`UPDATE workorders SET occurrences = occurrences + 1, version = version + 1
			WHERE device = ? AND fault = ? AND instance = ? AND active = 1 RETURNING seq`), o.Device, o.Fault, o.Instance).Scan(&seq)
		if err == nil {
			got, err := s.get(ctx, tx, seq)
			if err == nil {
				err = tx.Commit()
			}
			return got, false, err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, false, err
		}
		// ...else insert; the unique index turns a lost race into a conflict, and the next
		// round attaches to the winner's order.
		n, err := s.insert(ctx, tx, o, true)
		if err == nil {
			if err := s.addNotes(ctx, tx, notes, n); err != nil {
				return nil, false, err
			}
			return n, true, tx.Commit()
		}
		if !errors.Is(err, errDuplicate) {
			return nil, false, err
		}
	}
	return nil, false, fmt.Errorf("order for %s %s: %w", o.Device, o.Fault, ErrConflict)
}

var errDuplicate = errors.New("duplicate active order")

// Insert implements Store.
func (s *SQLStore) Insert(ctx context.Context, o *Order, notes Notes) (*Order, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	n, err := s.insert(ctx, tx, o, false)
	if err != nil {
		return nil, err
	}
	if err := s.addNotes(ctx, tx, notes, n); err != nil {
		return nil, err
	}
	return n, tx.Commit()
}

func (s *SQLStore) insert(ctx context.Context, db querier, o *Order, dedupe bool) (*Order, error) {
	c := *o
	c.ID, c.Version = "", 1
	if c.Occurrences == 0 {
		c.Occurrences = 1
	}
	data, err := json.Marshal(&c)
	if err != nil {
		return nil, err
	}
	query := `INSERT INTO workorders (device, fault, instance, location, state, active, zone, team, category, plan, occurrences, version, created_at, resolved_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`
	if dedupe {
		query += ` ON CONFLICT (device, fault, instance) WHERE active = 1 AND fault <> '' DO NOTHING`
	}
	query += ` RETURNING seq`
	var seq int64
	err = db.QueryRowContext(ctx, s.q(query), c.Device, c.Fault, c.Instance, c.Location, string(c.State), b2i(c.State.Active()), c.Zone, c.Team,
		c.Category, c.Plan, c.Occurrences, ms(c.CreatedAt), ms(c.ResolvedAt), string(data)).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errDuplicate
	}
	if err != nil {
		return nil, err
	}
	c.ID = fmt.Sprintf("WO-%d", seq)
	return &c, nil
}

// Get implements Store.
func (s *SQLStore) Get(ctx context.Context, id string) (*Order, error) {
	seq, ok := seqOf(id)
	if !ok {
		return nil, fmt.Errorf("%w: %q (ids look like WO-12)", ErrNotFound, id)
	}
	o, err := s.get(ctx, s.db, seq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return o, err
}

const columns = `seq, occurrences, version, data`

func scanOrder(sc interface{ Scan(...any) error }) (*Order, error) {
	var seq, version int64
	var occ int
	var data string
	if err := sc.Scan(&seq, &occ, &version, &data); err != nil {
		return nil, err
	}
	var o Order
	if err := json.Unmarshal([]byte(data), &o); err != nil {
		return nil, fmt.Errorf("order WO-%d: stored data unreadable: %w", seq, err)
	}
	o.ID, o.Occurrences, o.Version = fmt.Sprintf("WO-%d", seq), occ, version
	return &o, nil
}

func (s *SQLStore) get(ctx context.Context, db querier, seq int64) (*Order, error) {
	return scanOrder(db.QueryRowContext(ctx, s.q(`SELECT `+columns+` FROM workorders WHERE seq = ?`), seq))
}

// Update implements Store.
func (s *SQLStore) Update(ctx context.Context, o *Order, notes Notes) error {
	seq, ok := seqOf(o.ID)
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, o.ID)
	}
	c := *o
	data, err := json.Marshal(&c)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.q(`UPDATE workorders SET state = ?, active = ?, zone = ?, team = ?, category = ?, assignee = ?,
		resolved_at = ?, version = version + 1, data = ? WHERE seq = ? AND version = ?`),
		string(c.State), b2i(c.State.Active()), c.Zone, c.Team, c.Category, c.Assignee, ms(c.ResolvedAt), string(data), seq, c.Version)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("order %s: %w", o.ID, ErrConflict)
	}
	if err := s.addNotes(ctx, tx, notes, &c); err != nil {
		return err
	}
	if err := s.registerPermit(ctx, tx, seq, c.Permit); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	o.Version++
	return nil
}

// registerPermit keeps the order's latest permit in the register, once.
func (s *SQLStore) registerPermit(ctx context.Context, db querier, seq int64, p *Permit) error {
	if p == nil {
		return nil
	}
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, s.q(`INSERT INTO workorder_permits (order_seq, issued_at, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`), seq, ms(p.IssuedAt), string(data))
	if err != nil {
		return fmt.Errorf("permit register: %w", err)
	}
	return nil
}

// Permits is the register of an order's confined-space permits, oldest first.
func (s *SQLStore) Permits(ctx context.Context, id string) ([]Permit, error) {
	seq, ok := seqOf(id)
	if !ok {
		return nil, fmt.Errorf("%w: %q (ids look like WO-12)", ErrNotFound, id)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT data FROM workorder_permits WHERE order_seq = ? ORDER BY issued_at`), seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Permit
	for rows.Next() {
		var data string
		var p Permit
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(data), &p); err != nil {
			return nil, fmt.Errorf("permit of %s: stored data unreadable: %w", id, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// List implements Store; orders come oldest first.
func (s *SQLStore) List(ctx context.Context, f Filter) ([]*Order, error) {
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	eq("state", string(f.State))
	eq("zone", f.Zone)
	eq("team", f.Team)
	eq("device", f.Device)
	eq("category", f.Category)
	eq("plan", f.Plan)
	eq("location", f.Location)
	eq("assignee", f.Assignee)
	if f.Active {
		where = append(where, "active = 1")
	}
	if !f.From.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, ms(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, ms(f.To))
	}
	query := `SELECT ` + columns + ` FROM workorders`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.QueryContext(ctx, s.q(query+" ORDER BY seq"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// LastDone implements Store.
func (s *SQLStore) LastDone(ctx context.Context, k FaultKey, since time.Time) (*Order, error) {
	where, args := `device = ? AND fault = ? AND instance = ?`, []any{k.Device, k.Fault, k.Instance}
	if k.Location != "" {
		where, args = `location = ? AND category = ?`, []any{k.Location, k.Category}
	}
	o, err := scanOrder(s.db.QueryRowContext(ctx, s.q(`SELECT `+columns+` FROM workorders
		WHERE `+where+` AND resolved_at >= ? AND resolved_at > 0 AND state IN ('resolved', 'followed_up', 'closed')
		ORDER BY resolved_at DESC LIMIT 1`), append(args, ms(since))...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return o, err
}

// AddNotice implements Store.
func (s *SQLStore) AddNotice(ctx context.Context, n *Notice) error {
	data, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return s.db.QueryRowContext(ctx, s.q(`INSERT INTO workorder_notices (published_at, data) VALUES (?, ?) RETURNING id`),
		ms(n.PublishedAt), string(data)).Scan(&n.ID)
}

// Notices implements Store: notices published at or after since, oldest first.
func (s *SQLStore) Notices(ctx context.Context, since time.Time) ([]Notice, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, data FROM workorder_notices WHERE published_at >= ? ORDER BY id`), ms(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Notice{}
	for rows.Next() {
		var id int64
		var data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		var n Notice
		if err := json.Unmarshal([]byte(data), &n); err != nil {
			return nil, err
		}
		n.ID = id
		out = append(out, n)
	}
	return out, rows.Err()
}
