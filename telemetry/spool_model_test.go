package telemetry

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The spool is checked against a plain model of what must be in it: every record ever
// appended, in order, with what may become of it, and the segments the way the spool lays
// them out (so that a full spool drops the very records the model drops). After every restart
// a copy of the disk is replayed to the end and compared with the model.

type recState int

const (
	pending recState = iota // fsync'd and not acknowledged: must be replayed
	acked                   // committed or skipped: must not come back
	dropped                 // deleted for space: must not come back
	failed                  // its Append returned an error: must not come back
	maybe                   // a crash cut short the call that decides: may come back, once, in order
	gone                    // a maybe that did not come back
)

type mrec struct {
	id     int
	points int
	size   int // bytes on disk
	rec    Record
	state  recState
	// inFlight: sent and its Commit cut short by a crash, the one record that may come twice.
	inFlight bool
}

type mseg struct {
	recs []*mrec
	size int
}

func (g *mseg) hasPending() bool {
	for _, r := range g.recs {
		if r.state == pending || r.state == maybe {
			return true
		}
	}
	return false
}

type spoolModel struct {
	segBytes, maxBytes int
	recs               []*mrec // every record ever appended, in order
	segs               []*mseg // as the spool lays them out; the last is appended to
	droppedPoints      int     // since the last restart
	droppedRecords     int     // in all
}

// layout shows the segments as record ids, a * after those replayed already.
func (m *spoolModel) layout() string {
	var b strings.Builder
	for _, g := range m.segs {
		b.WriteString("[")
		for i, r := range g.recs {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprint(&b, r.id)
			if r.state == acked {
				b.WriteString("*")
			}
		}
		b.WriteString("]")
	}
	return b.String()
}

func (m *spoolModel) total() int {
	n := 0
	for _, g := range m.segs {
		n += g.size
	}
	return n
}

func (m *spoolModel) pendingPoints() int {
	n := 0
	for _, r := range m.recs {
		if r.state == pending {
			n += r.points
		}
	}
	return n
}

// rotate starts a new segment: an empty last one goes, and so do leading ones read to the end.
func (m *spoolModel) rotate() {
	if n := len(m.segs); n > 0 && m.segs[n-1].size == 0 {
		m.segs = m.segs[:n-1]
	}
	m.segs = append(m.segs, &mseg{})
	m.trim()
}

func (m *spoolModel) trim() {
	for len(m.segs) > 1 && !m.segs[0].hasPending() {
		m.segs = m.segs[1:]
	}
}

// append is what the spool does with r: fail says the write or fsync fails, crashed that the
// machine dies somewhere in the call (so r and what it drops are in doubt).
func (m *spoolModel) append(r *mrec, fail, crashed bool) {
	m.recs = append(m.recs, r)
	if act := m.segs[len(m.segs)-1]; act.size > 0 && act.size+r.size > m.segBytes {
		m.rotate()
	}
	for m.total()+r.size > m.maxBytes && len(m.segs) > 1 {
		for _, d := range m.segs[0].recs {
			switch {
			case d.state == pending && crashed:
				d.state = maybe
			case d.state == pending:
				d.state = dropped
				m.droppedPoints += d.points
				m.droppedRecords++
			}
		}
		m.segs = m.segs[1:]
	}
	switch {
	case crashed:
		r.state = maybe
	case fail:
		r.state = failed
		m.rotate()
	default:
		r.state = pending
		act := m.segs[len(m.segs)-1]
		act.recs = append(act.recs, r)
		act.size += r.size
	}
}

// head is the record the spool must replay next.
func (m *spoolModel) head() *mrec {
	for _, r := range m.recs {
		if r.state == pending {
			return r
		}
	}
	return nil
}

func (m *spoolModel) commit(crashed bool) {
	r := m.head()
	if crashed {
		r.state, r.inFlight = maybe, true
		return
	}
	r.state = acked
	m.trim()
}

func recordID(t *testing.T, r Record) int {
	t.Helper()
	f, _, _ := strings.Cut(string(r.Lines), " ")
	id, err := strconv.Atoi(strings.TrimPrefix(f, "m,id="))
	if err != nil {
		t.Fatalf("a record the test never wrote: %q", r.Lines)
	}
	return id
}

// spoolHarness drives a Spool on a memFS and its model side by side.
type spoolHarness struct {
	t      *testing.T
	rng    *rand.Rand
	fs     *memFS
	cfg    SpoolConfig
	sp     *Spool
	m      *spoolModel
	onDrop int      // points the spool reported through OnDrop since the last crash
	trace  []string // the last steps, for the failure message
	stats  struct {
		steps, appends, commits, failures, crashes, powerLosses, cutCalls, restarts, replayedTwice int
	}
}

// newSpoolHarness: seed draws the steps and records, fsSeed what a torn write or a power loss
// keeps.
func newSpoolHarness(t *testing.T, seed, fsSeed uint64, segBytes, maxBytes int) *spoolHarness {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	h := &spoolHarness{t: t, rng: rng, fs: newMemFS(rand.New(rand.NewPCG(fsSeed, 7))), m: &spoolModel{segBytes: segBytes, maxBytes: maxBytes}}
	h.cfg = SpoolConfig{Dir: "/spool", SegmentBytes: int64(segBytes), MaxBytes: int64(maxBytes),
		OnDrop: func(points, _ int) { h.onDrop += points }}
	h.restart()
	return h
}

func (h *spoolHarness) tracef(format string, args ...any) {
	if len(h.trace) == 40 {
		h.trace = h.trace[1:]
	}
	h.trace = append(h.trace, fmt.Sprintf("%d: ", h.stats.steps)+fmt.Sprintf(format, args...))
}

func (h *spoolHarness) fatalf(format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf(format+"\nlast steps:\n%s", append(args, strings.Join(h.trace, "\n"))...)
}

func (h *spoolHarness) open() (*Spool, error) { return openSpoolFS(h.cfg, h.fs, nil, nil) }

func (h *spoolHarness) newRecord() *mrec {
	id := len(h.m.recs)
	r := Record{Points: 1 + h.rng.IntN(5), Oldest: time.Unix(int64(id), 0),
		Lines: []byte(fmt.Sprintf("m,id=%d v=%q %d", id, strings.Repeat("x", h.rng.IntN(160)), id))}
	return &mrec{id: id, points: r.Points, size: len(AppendRecord(nil, r)), rec: r}
}

// appendOne appends a record; fault, if set, fails the segment's write or fsync.
func (h *spoolHarness) appendOne(fault func(op, name string) error) {
	h.t.Helper()
	r := h.newRecord()
	armed := fault != nil
	if armed {
		h.fs.fault = func(op, name string) error {
			if !armed || !strings.HasSuffix(name, ".seg") {
				return nil
			}
			err := fault(op, name)
			if err != nil {
				armed = false
			}
			return err
		}
		defer func() { h.fs.fault = nil }()
	}
	err := h.sp.Append(r.rec)
	h.stats.appends++
	if fault != nil {
		h.stats.failures++
		if err == nil {
			h.fatalf("step %d: append %d succeeded through a failed write or fsync", h.stats.steps, r.id)
		}
	} else if err != nil {
		h.fatalf("step %d: append %d: %v", h.stats.steps, r.id, err)
	}
	h.m.append(r, fault != nil, false)
	h.tracef("append %d (%d bytes, fault %v): %v; segments %v", r.id, r.size, fault != nil, err, h.m.layout())
}

// replay reads the next record, checks it is the one the model expects, and commits it.
func (h *spoolHarness) replay(commit bool) bool {
	h.t.Helper()
	got, ok, err := h.sp.Next()
	if err != nil {
		h.fatalf("step %d: Next: %v", h.stats.steps, err)
	}
	want := h.m.head()
	if want == nil {
		if ok {
			h.fatalf("step %d: Next returned record %d from a spool the model says is empty", h.stats.steps, recordID(h.t, got))
		}
		return false
	}
	if !ok {
		h.fatalf("step %d: Next found nothing; record %d is waiting", h.stats.steps, want.id)
	}
	h.sameRecord(got, want)
	if !commit {
		return true
	}
	if h.rng.IntN(8) == 0 {
		err = h.sp.Skip()
	} else {
		err = h.sp.Commit()
	}
	if err != nil {
		h.fatalf("step %d: Commit: %v", h.stats.steps, err)
	}
	h.stats.commits++
	h.m.commit(false)
	h.tracef("commit %d; segments %v", want.id, h.m.layout())
	return true
}

func (h *spoolHarness) sameRecord(got Record, want *mrec) {
	h.t.Helper()
	if id := recordID(h.t, got); id != want.id {
		h.fatalf("step %d: replayed record %d, want %d", h.stats.steps, id, want.id)
	}
	if got.Points != want.rec.Points || !got.Oldest.Equal(want.rec.Oldest) || !bytes.Equal(got.Lines, want.rec.Lines) {
		h.fatalf("step %d: record %d comes back changed: %+v, want %+v", h.stats.steps, want.id, got, want.rec)
	}
}

// crashDuring lets the machine die in one of the next calls the operation makes, then
// crashes (kill -9 or power loss) and restarts.
func (h *spoolHarness) crashDuring(op string) {
	h.t.Helper()
	if op != "open" {
		h.fs.crashIn(1 + h.rng.IntN(14))
	}
	h.stats.cutCalls++
	switch op {
	case "append":
		r := h.newRecord()
		err := h.sp.Append(r.rec)
		if err != nil && !h.fs.isDown() {
			h.fatalf("step %d: append %d: %v", h.stats.steps, r.id, err)
		}
		h.m.append(r, false, err != nil)
		h.tracef("append %d (%d bytes) cut by a crash: %v; segments %v", r.id, r.size, err, h.m.layout())
	case "commit":
		if h.m.head() == nil {
			break
		}
		_, ok, err := h.sp.Next()
		if err != nil {
			break // the crash came before Next could read it
		}
		if !ok {
			h.fatalf("step %d: Next found nothing; record %d is waiting", h.stats.steps, h.m.head().id)
		}
		err = h.sp.Commit()
		h.tracef("commit %d cut by a crash: %v", h.m.head().id, err)
		h.m.commit(err != nil)
	case "open":
		h.sp = nil // dropped without Close
		h.fs.crash(false)
		h.fs.crashIn(1 + h.rng.IntN(40))
		_, _ = h.open() // dies in it
	}
	h.crash(h.rng.IntN(2) == 0)
}

// crash drops the spool without Close and restarts it on what survives.
func (h *spoolHarness) crash(powerLoss bool) {
	h.t.Helper()
	h.stats.crashes++
	if powerLoss {
		h.stats.powerLosses++
	}
	h.sp = nil
	h.fs.crash(powerLoss)
	h.tracef("crash, power loss %v", powerLoss)
	h.restart()
}

func (h *spoolHarness) closeAndRestart() {
	h.t.Helper()
	if err := h.sp.Close(); err != nil {
		h.fatalf("step %d: Close: %v", h.stats.steps, err)
	}
	h.restart()
}

// restart opens the spool and checks it against the model: a copy of the disk, replayed to
// the end, gives every pending record, in order, once, maybes at most once, and nothing else.
func (h *spoolHarness) restart() {
	h.t.Helper()
	h.stats.restarts++
	sp, err := h.open()
	if err != nil {
		h.fatalf("step %d: open after a restart: %v", h.stats.steps, err)
	}
	h.sp = sp
	h.onDrop = 0
	h.m.droppedPoints = 0

	cp, err := openSpoolFS(h.cfg, h.fs.clone(), nil, nil)
	if err != nil {
		h.fatalf("step %d: open a copy: %v", h.stats.steps, err)
	}
	seen := map[int]bool{}
	last := -1
	for {
		got, ok, err := cp.Next()
		if err != nil {
			h.fatalf("step %d: replay: %v", h.stats.steps, err)
		}
		if !ok {
			break
		}
		id := recordID(h.t, got)
		if id <= last {
			h.fatalf("step %d: after a restart record %d is replayed after record %d", h.stats.steps, id, last)
		}
		if id >= len(h.m.recs) {
			h.fatalf("step %d: after a restart record %d is replayed; it was never appended", h.stats.steps, id)
		}
		want := h.m.recs[id]
		switch want.state {
		case pending:
		case maybe:
			if want.inFlight {
				h.stats.replayedTwice++
			}
		default:
			h.fatalf("step %d: after a restart record %d is replayed; it was %s", h.stats.steps, id,
				map[recState]string{acked: "acknowledged", dropped: "dropped for space (and counted)", failed: "refused (its Append failed)", gone: "not there at the last restart"}[want.state])
		}
		h.sameRecord(got, want)
		seen[id] = true
		last = id
		if err := cp.Commit(); err != nil {
			h.fatalf("step %d: commit on the copy: %v", h.stats.steps, err)
		}
	}
	for _, r := range h.m.recs {
		switch {
		case r.state == pending && !seen[r.id]:
			h.fatalf("step %d: record %d, fsync'd and never acknowledged, is lost after a restart", h.stats.steps, r.id)
		case r.state == maybe && seen[r.id]:
			r.state = pending
		case r.state == maybe:
			r.state = gone
		}
		r.inFlight = false
	}
	h.relayout()
	h.tracef("restart: replayed %v; segments %v", len(seen), h.m.layout())
	h.checkSizes()
}

// relayout takes the segments from the disk after a restart: which records each file holds
// (the ones not replayed any more lead the first file, acknowledged), and its size.
func (h *spoolHarness) relayout() {
	h.t.Helper()
	names, data := h.fs.segFiles()
	h.m.segs = nil
	for i, b := range data {
		g := &mseg{size: len(b)}
		for off := 0; off < len(b); {
			r, n, err := ReadRecord(b[off:])
			if err != nil {
				h.fatalf("step %d: %s holds a bad record at %d after open: %v", h.stats.steps, names[i], off, err)
			}
			mr := h.m.recs[recordID(h.t, r)]
			if mr.state != pending {
				// Replayed already: only the first file may hold such records, ahead of the rest.
				if i > 0 || len(g.recs) > 0 && g.recs[len(g.recs)-1].state == pending || (mr.state != acked && mr.state != gone) {
					h.fatalf("step %d: %s holds record %d (state %d) among the records to replay", h.stats.steps, names[i], mr.id, mr.state)
				}
				mr.state = acked
			}
			g.recs = append(g.recs, mr)
			off += n
		}
		h.m.segs = append(h.m.segs, g)
	}
	if n := len(h.m.segs); n == 0 || h.m.segs[n-1].size != 0 {
		h.fatalf("step %d: after open the spool appends to no new, empty segment: %v", h.stats.steps, names)
	}
}

// checkSizes: what the spool counts is what is on disk, and what the model expects.
func (h *spoolHarness) checkSizes() {
	h.t.Helper()
	_, data := h.fs.segFiles()
	onDisk := 0
	for _, b := range data {
		onDisk += len(b)
	}
	points, counted := h.sp.Len()
	if int(counted) != onDisk {
		h.fatalf("step %d: the spool counts %d bytes; its segment files hold %d", h.stats.steps, counted, onDisk)
	}
	if onDisk != h.m.total() {
		h.fatalf("step %d: the segment files hold %d bytes; the model %d", h.stats.steps, onDisk, h.m.total())
	}
	if len(h.fs.reused) > 0 {
		h.fatalf("step %d: segment files created a second time: %v", h.stats.steps, h.fs.reused)
	}
	if onDisk > h.m.maxBytes {
		h.fatalf("step %d: the spool holds %d bytes, above max_bytes %d", h.stats.steps, onDisk, h.m.maxBytes)
	}
	if want := h.m.pendingPoints(); points != want {
		h.fatalf("step %d: the spool counts %d points to replay; the model %d", h.stats.steps, points, want)
	}
	if h.onDrop != h.m.droppedPoints {
		h.fatalf("step %d: OnDrop told of %d points dropped; the model dropped %d", h.stats.steps, h.onDrop, h.m.droppedPoints)
	}
}

// step does one random thing to the spool.
func (h *spoolHarness) step() {
	h.t.Helper()
	h.stats.steps++
	switch p := h.rng.IntN(100); {
	case p < 35:
		for range 1 + h.rng.IntN(4) {
			h.appendOne(nil)
		}
	case p < 42:
		h.appendOne(func(op, _ string) error {
			if op == "sync" {
				return fmt.Errorf("memfs: fsync: input/output error")
			}
			return nil
		})
	case p < 47:
		cut := h.rng.IntN(40)
		h.appendOne(func(op, _ string) error {
			if op == "write" {
				return tornWrite{n: cut}
			}
			return nil
		})
	case p < 70:
		for range 1 + h.rng.IntN(6) {
			if !h.replay(true) {
				break
			}
		}
	case p < 74:
		h.replay(false) // in flight when the process dies
		h.crash(h.rng.IntN(2) == 0)
	case p < 80:
		h.closeAndRestart()
	case p < 88:
		h.crash(h.rng.IntN(2) == 0)
	default:
		h.crashDuring([]string{"append", "append", "commit", "open"}[h.rng.IntN(4)])
	}
	h.checkSizes()
}

// TestSpoolModelCrashSequences drives random sequences of appends, replays, failed writes and
// fsyncs, clean stops, kill -9 and power losses (at any call, tearing the write it hits) and
// checks the spool against the model after every restart.
func TestSpoolModelCrashSequences(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8, uint64(time.Now().UnixNano())}
	steps := 1000
	if testing.Short() {
		steps = 300
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 0))
			segBytes := 200 + rng.IntN(1200)
			maxBytes := segBytes * (3 + rng.IntN(6))
			t.Logf("seed %d: segment_bytes %d, max_bytes %d (rerun: go test -run 'TestSpoolModelCrashSequences/^%d$' ./telemetry)", seed, segBytes, maxBytes, seed)
			h := newSpoolHarness(t, seed, seed, segBytes, maxBytes)
			for range steps {
				h.step()
			}
			s := h.stats
			t.Logf("%d steps: %d appends (%d failed), %d commits, %d records dropped for space, %d restarts, %d crashes (%d power losses, %d inside a call), %d records replayed twice",
				s.steps, s.appends, s.failures, s.commits, h.m.droppedRecords, s.restarts, s.crashes, s.powerLosses, s.cutCalls, s.replayedTwice)
		})
	}
}

// TestSpoolCrashAtEveryCall runs one sequence (appends that start segments and drop the
// oldest, replays across segments, a clean restart) and lets the machine die at each of its
// file system calls in turn, by kill -9 and by power loss; the spool must match the model
// after the restart every time.
func TestSpoolCrashAtEveryCall(t *testing.T) {
	script := []string{"append", "append", "append", "append", "append", "append", "append", "append",
		"commit", "commit", "commit", "reopen", "append", "append", "commit", "commit", "commit", "commit",
		"append", "append", "append", "commit"}
	// run plays the script until the machine dies, and says whether it did.
	run := func(h *spoolHarness) bool {
		for _, op := range script {
			h.stats.steps++
			switch op {
			case "append":
				r := h.newRecord()
				err := h.sp.Append(r.rec)
				if err != nil && !h.fs.isDown() {
					h.fatalf("append %d: %v", r.id, err)
				}
				h.m.append(r, false, err != nil)
				h.tracef("append %d: %v; segments %v", r.id, err, h.m.layout())
			case "commit":
				if _, _, err := h.sp.Next(); err != nil {
					h.tracef("Next: %v", err)
					return true
				}
				err := h.sp.Commit()
				h.tracef("commit %d: %v", h.m.head().id, err)
				h.m.commit(err != nil)
			case "reopen":
				h.sp.Close()
				sp, err := h.open()
				h.tracef("reopen: %v", err)
				if err != nil {
					return true
				}
				h.sp = sp
			}
			if h.fs.isDown() {
				return true
			}
		}
		return false
	}
	calls := func() int {
		h := newSpoolHarness(t, 1, 1, 300, 700)
		start := h.fs.callCount()
		run(h)
		t.Logf("the sequence ends with segments %v, %d records dropped for space", h.m.layout(), h.m.droppedRecords)
		return h.fs.callCount() - start
	}()
	for k := 1; k <= calls; k++ {
		for _, powerLoss := range []bool{false, true} {
			h := newSpoolHarness(t, 1, uint64(k), 300, 700)
			h.fs.crashIn(k)
			if !run(h) {
				t.Fatalf("the machine was to die in call %d of %d, and did not", k, calls)
			}
			h.crash(powerLoss)
			for h.replay(true) {
			}
		}
	}
	t.Logf("crashed in each of %d calls, by kill -9 and by power loss", calls)
}
