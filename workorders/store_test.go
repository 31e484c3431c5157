package workorders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
)

// backend opens two stores on one fresh order book: two gateways sharing it.
type backend struct {
	name string
	open func(t *testing.T) (Store, Store)
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) (Store, Store) {
			path := filepath.Join(t.TempDir(), "wo.db")
			return mustOpen(t, "sqlite", path), mustOpen(t, "sqlite", path)
		}},
		{"postgres", func(t *testing.T) (Store, Store) {
			dsn := freshPostgres(t)
			return mustOpen(t, "postgres", dsn), mustOpen(t, "postgres", dsn)
		}},
	}
}

func mustOpen(t *testing.T, driver, src string) Store {
	t.Helper()
	s, err := OpenStore(context.Background(), driver, src)
	if err != nil {
		t.Fatalf("open %s store: %v", driver, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// freshPostgres creates a database of its own for the test and returns its DSN.
func freshPostgres(t *testing.T) string {
	t.Helper()
	dsn := testenv.PostgresDSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := fmt.Sprintf("wo_%d", time.Now().UnixNano())
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", dsn)
		if err == nil {
			db.Exec("DROP DATABASE " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	u, _ := url.Parse(dsn)
	u.Path = "/" + name
	return u.String()
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func sample(device, fault string) *Order {
	return &Order{Site: "estate", Device: device, Fault: fault, Category: "pump_trip", Priority: "high", State: StateNew,
		Zone: "north", Team: "north-team", Title: "pump trip", CreatedAt: t0, AcceptBy: t0.Add(15 * time.Minute),
		History: []Change{{At: t0, By: "system", Action: "create", To: StateNew}}}
}

// TestStoreUpgrade opens an order book written by the first schema: its orders stay, and
// an active order keeps its fault (with no instance).
func TestStoreUpgrade(t *testing.T) {
	for name, src := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "old.db") },
		"postgres": freshPostgres,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dsn := src(t)
			driver, dbDriver := name, name
			if name == "postgres" {
				dbDriver = "pgx"
			}
			db, err := sql.Open(dbDriver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			old := &SQLStore{db: db, postgres: name == "postgres"}
			stmts := append([]string{`CREATE TABLE workorder_schema (version INTEGER NOT NULL)`, `INSERT INTO workorder_schema (version) VALUES (5)`}, old.migrations()[:5]...)
			stmts = append(stmts, `INSERT INTO workorders (device, fault, state, active, category, created_at, data)
				VALUES ('P-1', 'pump_trip', 'new', 1, 'pump_trip', 1, '{"title":"old trip","state":"new"}')`)
			for _, q := range stmts {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("old schema: %s: %v", q, err)
				}
			}
			db.Close()
			s := mustOpen(t, driver, dsn)
			again, created, err := s.Open(ctx, sample("P-1", "pump_trip"), nil)
			if err != nil || created || again.Title != "old trip" || again.Occurrences != 2 {
				t.Fatalf("the old active order must take the new occurrence: %+v created %v %v", again, created, err)
			}
		})
	}
}

// TestStore is one suite run on both backends, so a site moving to PostgreSQL keeps the
// behaviour it tested on SQLite.
func TestStore(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			// facilityd stopped after storing an alarm's order and before the journal recorded
			// it: the raise comes again at the next start and must not count twice.
			t.Run("the permit register keeps each permit once", func(t *testing.T) {
				s, other := b.open(t)
				o, err := s.Insert(ctx, sample("P-8", "pm/tank"), nil)
				if err != nil {
					t.Fatal(err)
				}
				h2s, ok := 14.0, 0.5
				o.Permit = &Permit{IssuedBy: "sup-li", IssuedAt: t0, Attendant: "tech-wu", Readings: GasReadings{H2S: &h2s}}
				if err := s.Update(ctx, o, nil); err != nil {
					t.Fatal(err)
				}
				o.Title = "tank cleaning, B1" // a later change of the order keeps the same permit
				if err := s.Update(ctx, o, nil); err != nil {
					t.Fatal(err)
				}
				o.Permit = &Permit{IssuedBy: "sup-li", IssuedAt: t0.Add(20 * time.Minute), Attendant: "tech-wu", Readings: GasReadings{H2S: &ok}}
				if err := s.Update(ctx, o, nil); err != nil {
					t.Fatal(err)
				}
				reg, err := other.(*SQLStore).Permits(ctx, o.ID)
				if err != nil || len(reg) != 2 || *reg[0].Readings.H2S != 14 || *reg[1].Readings.H2S != 0.5 || !reg[1].IssuedAt.Equal(t0.Add(20*time.Minute)) {
					t.Fatalf("register %+v %v: the failed test and the passing one, once each, in order", reg, err)
				}
			})
			t.Run("an alarm raise is applied once", func(t *testing.T) {
				s, other := b.open(t)
				raise := func(at time.Time) *Order {
					o := sample("P-9", "pump_trip")
					o.Source, o.AlarmID, o.CreatedAt = SourceAlarm, "P-9/pump_trip", at
					return o
				}
				first, created, err := s.Open(ctx, raise(t0), nil)
				if err != nil || !created {
					t.Fatalf("first raise: %v created %v", err, created)
				}
				for _, st := range []Store{s, other} {
					if again, created, err := st.Open(ctx, raise(t0), nil); err != nil || created || again != nil {
						t.Fatalf("the same raise again: %+v created %v err %v, want nothing applied", again, created, err)
					}
				}
				if later, created, err := s.Open(ctx, raise(t0.Add(time.Minute)), nil); err != nil || created || later.Occurrences != 2 {
					t.Fatalf("a later raise of the same fault: %+v created %v err %v, want a second occurrence", later, created, err)
				}
				if again, _, err := other.Open(ctx, raise(t0.Add(time.Minute)), nil); err != nil || again != nil {
					t.Fatalf("the later raise again: %+v %v, want nothing applied", again, err)
				}
				got, err := s.Get(ctx, first.ID)
				if err != nil || got.Occurrences != 2 {
					t.Fatalf("order after four deliveries of two raises: %+v %v, want 2 occurrences", got, err)
				}
			})
			t.Run("open, attach, get, update, list", func(t *testing.T) {
				s, _ := b.open(t)
				o, created, err := s.Open(ctx, sample("P-1", "pump_trip"), nil)
				if err != nil || !created {
					t.Fatalf("open: %v created %v", err, created)
				}
				again, created, err := s.Open(ctx, sample("P-1", "pump_trip"), nil)
				if err != nil || created || again.ID != o.ID || again.Occurrences != 2 {
					t.Fatalf("second occurrence: %v created %v id %s (want %s) occurrences %d", err, created, again.ID, o.ID, again.Occurrences)
				}
				got, err := s.Get(ctx, o.ID)
				if err != nil || got.Title != "pump trip" || len(got.History) != 1 || !got.CreatedAt.Equal(t0) {
					t.Fatalf("get: %+v %v", got, err)
				}
				got.State = StateAccepted
				if err := s.Update(ctx, got, nil); err != nil {
					t.Fatal(err)
				}
				stale := *again
				stale.State = StateCancelled
				if err := s.Update(ctx, &stale, nil); !errors.Is(err, ErrConflict) {
					t.Fatalf("stale update: %v, want ErrConflict", err)
				}
				list, err := s.List(ctx, Filter{State: StateAccepted, Zone: "north"})
				if err != nil || len(list) != 1 || list[0].ID != o.ID {
					t.Fatalf("list: %v %v", list, err)
				}
				if _, err := s.Get(ctx, "WO-999"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("missing order: %v", err)
				}
				if _, err := s.Get(ctx, "bogus"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("bad id: %v", err)
				}
			})
			t.Run("a resolved order frees the fault; last done finds it", func(t *testing.T) {
				s, _ := b.open(t)
				o, _, _ := s.Open(ctx, sample("P-2", "trip"), nil)
				o.State, o.ResolvedAt = StateClosed, t0.Add(time.Hour)
				if err := s.Update(ctx, o, nil); err != nil {
					t.Fatal(err)
				}
				n, created, err := s.Open(ctx, sample("P-2", "trip"), nil)
				if err != nil || !created || n.ID == o.ID {
					t.Fatalf("after close a new order is due: %v %v", n, err)
				}
				last, err := s.LastDone(ctx, FaultKey{Device: "P-2", Fault: "trip"}, t0)
				if err != nil || last == nil || last.ID != o.ID {
					t.Fatalf("last done: %v %v", last, err)
				}
				if last, _ := s.LastDone(ctx, FaultKey{Device: "P-2", Fault: "trip"}, t0.Add(2*time.Hour)); last != nil {
					t.Fatalf("outside the window: %v", last.ID)
				}
			})
			t.Run("instances of one fault are orders of their own", func(t *testing.T) {
				s, _ := b.open(t)
				c5, c11 := sample("L-2", "lamp_failure"), sample("L-2", "lamp_failure")
				c5.Instance, c11.Instance = "05", "11"
				a, _, err := s.Open(ctx, c5, nil)
				if err != nil {
					t.Fatal(err)
				}
				c, created, err := s.Open(ctx, c11, nil)
				if err != nil || !created || c.ID == a.ID {
					t.Fatalf("circuit 11 beside circuit 05: created %v id %s (05 is %s) %v", created, c.ID, a.ID, err)
				}
				again := sample("L-2", "lamp_failure")
				again.Instance = "05"
				if got, created, _ := s.Open(ctx, again, nil); created || got.ID != a.ID {
					t.Fatalf("circuit 05 again must attach to %s, got %s", a.ID, got.ID)
				}
				a, _ = s.Get(ctx, a.ID)
				a.State, a.ResolvedAt = StateResolved, t0.Add(time.Hour)
				if err := s.Update(ctx, a, nil); err != nil {
					t.Fatal(err)
				}
				if last, _ := s.LastDone(ctx, FaultKey{Device: "L-2", Fault: "lamp_failure", Instance: "17"}, t0); last != nil {
					t.Fatalf("circuit 17 found %s, the repair of circuit 05", last.ID)
				}
				if last, _ := s.LastDone(ctx, FaultKey{Device: "L-2", Fault: "lamp_failure", Instance: "05"}, t0); last == nil || last.ID != a.ID {
					t.Fatalf("circuit 05's repair not found: %v", last)
				}
			})
			t.Run("last done by location and category", func(t *testing.T) {
				s, _ := b.open(t)
				o := sample("", "")
				o.Location, o.Category = "3-1802", CategoryHousehold
				o, err := s.Insert(ctx, o, nil)
				if err != nil {
					t.Fatal(err)
				}
				o.State, o.ResolvedAt = StateResolved, t0.Add(time.Hour)
				if err := s.Update(ctx, o, nil); err != nil {
					t.Fatal(err)
				}
				if last, err := s.LastDone(ctx, FaultKey{Location: "3-1802", Category: CategoryHousehold}, t0); err != nil || last == nil || last.ID != o.ID {
					t.Fatalf("same home: %v %v", last, err)
				}
				if last, _ := s.LastDone(ctx, FaultKey{Location: "3-1802", Category: "general"}, t0); last != nil {
					t.Fatalf("another category found %s", last.ID)
				}
				if list, _ := s.List(ctx, Filter{Location: "3-1802"}); len(list) != 1 {
					t.Fatalf("filter by location: %d orders", len(list))
				}
			})
			t.Run("notices", func(t *testing.T) {
				s, _ := b.open(t)
				n := &Notice{Site: "estate", Order: "WO-1", Plan: "water", Interrupts: "water", Start: t0.Add(48 * time.Hour), PublishedAt: t0}
				if err := s.AddNotice(ctx, n); err != nil || n.ID == 0 {
					t.Fatalf("add notice: %v id %d", err, n.ID)
				}
				list, err := s.Notices(ctx, t0.Add(-time.Hour))
				if err != nil || len(list) != 1 || list[0].Interrupts != "water" || !list[0].Start.Equal(t0.Add(48*time.Hour)) {
					t.Fatalf("notices: %+v %v", list, err)
				}
			})
			t.Run("two gateways racing on one fault open one order", func(t *testing.T) {
				a, c := b.open(t)
				const n = 16
				var wg sync.WaitGroup
				ids := make(chan string, 2*n)
				errs := make(chan error, 2*n)
				for i := 0; i < n; i++ {
					for _, s := range []Store{a, c} {
						wg.Add(1)
						go func() {
							defer wg.Done()
							o, _, err := s.Open(ctx, sample("L-7", "lamp_failed"), nil)
							if err != nil {
								errs <- err
								return
							}
							ids <- o.ID
						}()
					}
				}
				wg.Wait()
				close(ids)
				close(errs)
				for err := range errs {
					t.Errorf("open: %v", err)
				}
				seen := map[string]bool{}
				for id := range ids {
					seen[id] = true
				}
				list, _ := a.List(ctx, Filter{Device: "L-7"})
				if len(seen) != 1 || len(list) != 1 || list[0].Occurrences != 2*n {
					var got []string
					for _, o := range list {
						got = append(got, fmt.Sprintf("%s×%d", o.ID, o.Occurrences))
					}
					t.Fatalf("want one order with %d occurrences, got ids %v, stored %s", 2*n, seen, strings.Join(got, " "))
				}
			})
		})
	}
}
