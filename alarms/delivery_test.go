package alarms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// seen is a consumer's record of what it handled, by seq; it fails the first n attempts at
// any seq listed in failFirst.
type seen struct {
	mu        sync.Mutex
	seqs      []uint64
	failFirst map[uint64]int
}

func (s *seen) handle(_ context.Context, e Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failFirst[e.Seq] > 0 {
		s.failFirst[e.Seq]--
		return errors.New("broker away")
	}
	s.seqs = append(s.seqs, e.Seq)
	return nil
}

func (s *seen) got() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint64(nil), s.seqs...)
}

func raised(i int) Event {
	return Event{Type: EventRaised, Alarm: Alarm{ID: fmt.Sprintf("P-%d/fault", i), Site: "estate"}, At: time.Unix(int64(i), 0), By: "system", Notify: true}
}

func appendN(t *testing.T, j *Journal, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := j.Append(raised(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// follow runs Follow until the feed is closed and returns what it returned.
func follow(j *Journal, c Consumer) chan error {
	done := make(chan error, 1)
	go func() { done <- j.Follow(context.Background(), c, slog.New(slog.DiscardHandler)) }()
	return done
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// TestFollowAcrossRestarts: a consumer gets every event in order exactly once across restarts,
// whether an event was journalled while it ran, before it started, or just before a crash
// that left it unhandled; a failing event is retried and holds the ones behind it.
func TestFollowAcrossRestarts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "alarms.db")
	s := &seen{failFirst: map[uint64]int{3: 2}}
	open := func() *Journal {
		j, err := OpenJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Register("patrol"); err != nil {
			t.Fatal(err)
		}
		return j
	}

	// Run 1: five events while the consumer follows; the third fails twice first.
	j := open()
	done := follow(j, ConsumerFunc("patrol", s.handle))
	appendN(t, j, 1, 5)
	for deadline := time.Now().Add(10 * time.Second); len(s.got()) < 5 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	j.CloseFeed()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := s.got(), seqRange(1, 5); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("run 1 handled %v, want %v in order", got, want)
	}
	// Events journalled after the feed closed (an ack during shutdown), then a crash: the
	// journal is dropped without Close.
	appendN(t, j, 6, 2)
	j = nil

	// Run 2: the consumer catches up from its cursor before anything new.
	j = open()
	done = follow(j, ConsumerFunc("patrol", s.handle))
	appendN(t, j, 8, 1)
	j.CloseFeed()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := s.got(), seqRange(1, 8); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the restart handled %v, want %v: each once, in order", got, want)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	// A consumer registered on a journal with history starts at its head.
	j = open()
	defer j.Close()
	if err := j.Register("mqtt-alarms"); err != nil {
		t.Fatal(err)
	}
	late := &seen{}
	done = follow(j, ConsumerFunc("mqtt-alarms", late.handle))
	appendN(t, j, 9, 1)
	j.CloseFeed()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := late.got(); fmt.Sprint(got) != "[9]" {
		t.Fatalf("a consumer added to an existing journal handled %v, want only what came after it: [9]", got)
	}
}

// TestFollowStopsWithoutHolding: during the drain after CloseFeed an event that fails is left
// for the next start rather than retried, so a broker that is away does not hold up a stop.
func TestFollowStopsWithoutHolding(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "alarms.db")
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Register("mqtt"); err != nil {
		t.Fatal(err)
	}
	appendN(t, j, 1, 3)
	j.CloseFeed()
	s := &seen{failFirst: map[uint64]int{2: 1000}}
	if err := <-follow(j, ConsumerFunc("mqtt", s.handle)); err != nil {
		t.Fatal(err)
	}
	if got := s.got(); fmt.Sprint(got) != "[1]" {
		t.Fatalf("handled %v before stopping, want [1]: event 2 failed and 3 waits behind it", got)
	}
	if cur, _ := j.Cursor("mqtt"); cur != 1 {
		t.Fatalf("cursor %d, want 1: events 2 and 3 are delivered at the next start", cur)
	}
	j.Close()
}
