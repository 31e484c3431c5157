package telemetry

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/devices"
)

func rec(i int) Record {
	return Record{Points: 2, Oldest: time.Unix(int64(i), 0), Lines: []byte(fmt.Sprintf("m,device=D v=%03d %03d\nm,device=D v=%03d %03d", i, i, i, i+1))}
}

func openSpool(t *testing.T, cfg SpoolConfig) (*Spool, *prometheus.Registry) {
	t.Helper()
	return openSpoolLog(t, cfg, nil)
}

// openSpoolLog is openSpool logging to log.
func openSpoolLog(t *testing.T, cfg SpoolConfig, log *slog.Logger) (*Spool, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := OpenSpool(cfg, reg, log)
	if err != nil {
		t.Fatalf("OpenSpool: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, reg
}

// drain replays everything, committing each record, and returns the records' first values.
func drain(t *testing.T, s *Spool) []int {
	t.Helper()
	var got []int
	for {
		r, ok, err := s.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if !ok {
			return got
		}
		var v, ts int
		if _, err := fmt.Sscanf(string(r.Lines), "m,device=D v=%d %d", &v, &ts); err != nil {
			t.Fatalf("garbled record %q: %v", r.Lines, err)
		}
		got = append(got, v)
		if err := s.Commit(); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	}
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func TestSpoolReplaysInOrderAndNeverTwiceAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s, _ := openSpool(t, SpoolConfig{Dir: dir, SegmentBytes: 200, MaxBytes: 1 << 20})
	for i := range 20 {
		if err := s.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	if p, _ := s.Len(); p != 40 {
		t.Errorf("Len points = %d, want 40", p)
	}
	if old, ok := s.Oldest(); !ok || !old.Equal(time.Unix(0, 0)) {
		t.Errorf("Oldest = %v %v, want Unix 0", old, ok)
	}
	// Replay (acknowledge) the first 7, then "restart".
	for range 7 {
		if _, ok, err := s.Next(); !ok || err != nil {
			t.Fatalf("Next: %v %v", ok, err)
		}
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	// One more read but not acknowledged: it must come again.
	if _, _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2, _ := openSpool(t, SpoolConfig{Dir: dir, SegmentBytes: 200, MaxBytes: 1 << 20})
	if got, want := drain(t, s2), seq(7, 20); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after restart replayed %v, want %v", got, want)
	}
	if !s2.Empty() {
		t.Error("spool not empty after replaying everything")
	}
	s2.Close()
	s3, _ := openSpool(t, SpoolConfig{Dir: dir, SegmentBytes: 200, MaxBytes: 1 << 20})
	if got := drain(t, s3); len(got) != 0 {
		t.Errorf("acknowledged records replayed again after a clean restart: %v", got)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) > 1 {
		t.Errorf("replayed segments left on disk: %v", segs)
	}
}

// TestSpoolTornTailAndFlippedByte: a flipped byte costs its record only (the scan resyncs on
// the next record whose length and CRC hold, logged with the offset), a torn tail is cut, both
// are counted and reported as corruption, not as the spool being full.
func TestSpoolTornTailAndFlippedByte(t *testing.T) {
	dir := t.TempDir()
	cfg := SpoolConfig{Dir: dir, SegmentBytes: 250, MaxBytes: 1 << 20}
	s, _ := openSpool(t, cfg)
	for i := range 30 {
		if err := s.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	sort.Strings(segs)
	if len(segs) < 4 {
		t.Fatalf("want several segments, have %v", segs)
	}
	// Segment files hold records of equal size here: learn it from the first.
	first, _ := os.ReadFile(segs[0])
	_, recSize, err := ReadRecord(first)
	if err != nil {
		t.Fatal(err)
	}
	perSeg := len(first) / recSize
	// Tear the last segment mid-record (a kill -9 during an append).
	last := segs[len(segs)-1]
	lb, _ := os.ReadFile(last)
	lastRecs := len(lb) / recSize
	if err := os.Truncate(last, int64(len(lb)-recSize/2)); err != nil {
		t.Fatal(err)
	}
	// Flip a byte in the second record of the second segment.
	b, _ := os.ReadFile(segs[1])
	b[recSize+recordHeader+5] ^= 0x40
	if err := os.WriteFile(segs[1], b, 0o640); err != nil {
		t.Fatal(err)
	}

	var dropped, faults []int
	var mu sync.Mutex
	cfg.OnDrop = func(points, bytes int) { mu.Lock(); dropped = append(dropped, bytes); mu.Unlock() }
	cfg.OnFault = func(f SpoolFault) {
		mu.Lock()
		defer mu.Unlock()
		if !f.Corrupt || f.Dir != dir {
			t.Errorf("fault %+v, want a corrupt one in %s", f, dir)
		}
		faults = append(faults, f.Bytes)
	}
	var logs logBuffer
	s2, reg := openSpoolLog(t, cfg, newTextLogger(&logs))
	got := drain(t, s2)
	var want []int
	want = append(want, seq(0, perSeg+1)...)           // segment 1 whole, and segment 2's first record
	want = append(want, seq(perSeg+2, 30-lastRecs)...) // past the flipped record: the rest of segment 2 and the segments in between
	want = append(want, seq(30-lastRecs, 29)...)       // the torn one minus its last record
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("replayed %v\nwant     %v", got, want)
	}
	wantCut := recSize + (recSize - recSize/2)
	if corrupt := metric(t, reg, "facilityd_spool_corrupt_bytes_total"); corrupt != float64(wantCut) {
		t.Errorf("corrupt bytes = %v, want %d", corrupt, wantCut)
	}
	if len(dropped) != 0 {
		t.Errorf("OnDrop calls = %v: corruption is not the spool being full", dropped)
	}
	if fmt.Sprint(faults) != fmt.Sprint([]int{recSize, recSize - recSize/2}) {
		t.Errorf("OnFault bytes = %v, want the flipped record's %d and the torn tail's %d", faults, recSize, recSize-recSize/2)
	}
	if l := logs.lines("skipped a corrupt record"); len(l) != 1 || !strings.Contains(l[0], fmt.Sprintf("offset=%d", recSize)) {
		t.Errorf("skip not logged with its offset %d: %q", recSize, l)
	}
}

func TestSpoolFullDropsOldest(t *testing.T) {
	dir := t.TempDir()
	var drops [][2]int
	cfg := SpoolConfig{Dir: dir, SegmentBytes: 300, MaxBytes: 1200,
		OnDrop: func(points, bytes int) { drops = append(drops, [2]int{points, bytes}) }}
	s, reg := openSpool(t, cfg)
	for i := range 100 {
		if err := s.Append(rec(i)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if _, b := s.Len(); b > cfg.MaxBytes {
			t.Fatalf("after append %d the spool holds %d bytes, more than max_bytes %d", i, b, cfg.MaxBytes)
		}
	}
	got := drain(t, s)
	if len(got) == 0 || got[len(got)-1] != 99 {
		t.Fatalf("newest data lost: replayed %v", got)
	}
	if fmt.Sprint(got) != fmt.Sprint(seq(got[0], 100)) {
		t.Errorf("replay has holes: %v", got)
	}
	droppedPoints := 0
	for _, d := range drops {
		droppedPoints += d[0]
	}
	if droppedPoints != 2*got[0] {
		t.Errorf("OnDrop reported %d points, want %d (records 0..%d)", droppedPoints, 2*got[0], got[0]-1)
	}
	if m := metric(t, reg, "facilityd_spool_dropped_points_total"); m != float64(droppedPoints) {
		t.Errorf("facilityd_spool_dropped_points_total = %v, want %d", m, droppedPoints)
	}
}

func TestReadRecordRejectsBadInput(t *testing.T) {
	good := AppendRecord(nil, rec(1))
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 1
	huge := bytes.Clone(good)
	huge[0] = 0xff
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"short header", good[:5], ErrTorn},
		{"torn payload", good[:len(good)-1], ErrTorn},
		{"flipped byte", flipped, ErrCorrupt},
		{"impossible length", huge, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := ReadRecord(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("ReadRecord = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzReadRecord(f *testing.F) {
	f.Add(AppendRecord(nil, rec(1)))
	f.Add(AppendRecord(AppendRecord(nil, rec(1)), rec(2))[:40])
	f.Add([]byte{0, 0, 0, 12, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			r, n, err := ReadRecord(b)
			if err != nil {
				return
			}
			if n < recordHeader+payloadHeader || n > len(b) {
				t.Fatalf("size %d out of range for %d bytes", n, len(b))
			}
			crc := crc32.Update(crc32.Checksum(b[:4], castagnoli), castagnoli, b[recordHeader:n])
			if crc != uint32(b[4])<<24|uint32(b[5])<<16|uint32(b[6])<<8|uint32(b[7]) {
				t.Fatal("returned a record whose CRC does not match")
			}
			if again := AppendRecord(nil, r); !bytes.Equal(again, b[:n]) {
				t.Fatal("record does not re-encode to its bytes")
			}
			b = b[n:]
		}
	})
}

// TestWriterSpoolsWhileInfluxIsAway: InfluxDB refuses connections for a while; every batch goes
// to the spool, and when it is back everything arrives, spooled batches in order, none twice.
func TestWriterSpoolsWhileInfluxIsAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		up := true
		influx := &fakeInflux{respond: func(n int, req *http.Request) (*http.Response, error) {
			mu.Lock()
			defer mu.Unlock()
			if !up {
				return nil, errors.New("dial tcp 127.0.0.1:8086: connect: connection refused")
			}
			return reply(http.StatusNoContent, ""), nil
		}}
		sp, _ := openSpool(t, SpoolConfig{Dir: t.TempDir(), ReplayRate: 10})
		h := startWriter(t, influx, Config{BatchSize: 100, FlushInterval: time.Second, Spool: sp})
		dev := testDevice()
		enqueue := func(i int) {
			if !h.w.Enqueue(&devices.Snapshot{Device: dev, Time: time.Unix(int64(i), 0), Values: make([]devices.Value, len(dev.Profile.Points))}) {
				t.Fatalf("enqueue %d refused", i)
			}
		}
		i := 0
		for ; i < 5; i++ {
			enqueue(i)
			time.Sleep(time.Second)
		}
		mu.Lock()
		up = false
		mu.Unlock()
		for ; i < 65; i++ { // a minute away, one poll a second
			enqueue(i)
			time.Sleep(time.Second)
		}
		if p, _ := sp.Len(); p < 55 {
			t.Errorf("spool holds %d points during the outage, want about 60", p)
		}
		mu.Lock()
		up = true
		mu.Unlock()
		for ; i < 80; i++ {
			enqueue(i)
			time.Sleep(time.Second)
		}
		time.Sleep(30 * time.Second) // replay at 10 points/s
		h.stop(t)
		if !sp.Empty() {
			p, _ := sp.Len()
			t.Errorf("spool still holds %d points after InfluxDB came back", p)
		}
		seen := map[string]int{}
		for _, body := range influx.writes() {
			for _, line := range strings.Split(body, "\n") {
				f := strings.Fields(line)
				seen[f[len(f)-1]]++
			}
		}
		// Failed attempts are recorded by the fake too: count only what was acknowledged, i.e.
		// each timestamp at least once, and none acknowledged twice (checked via the spool).
		for j := range 80 {
			ts := fmt.Sprint(int64(j) * int64(time.Second))
			if seen[ts] == 0 {
				t.Errorf("reading %d never reached InfluxDB", j)
			}
		}
		if w := metric(t, h.reg, "facilityd_influx_points_written_total"); w != 80 {
			t.Errorf("points written = %v, want exactly 80 (none twice)", w)
		}
	})
}

// TestWriterSpoolFullAndStopDuringOutage: a long outage fills a small spool; the oldest
// readings go, counted and reported through OnDrop, the writer keeps taking new ones, and a
// graceful stop while InfluxDB is still away spools the last batch rather than losing it.
func TestWriterSpoolFullAndStopDuringOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		influx := &fakeInflux{respond: func(int, *http.Request) (*http.Response, error) {
			return nil, errors.New("dial tcp 127.0.0.1:8086: connect: connection refused")
		}}
		var droppedPoints int
		dir := t.TempDir()
		sp, reg := openSpool(t, SpoolConfig{Dir: dir, MaxBytes: 8 << 10, SegmentBytes: 2 << 10,
			OnDrop: func(points, bytes int) { droppedPoints += points }})
		h := startWriter(t, influx, Config{BatchSize: 100, FlushInterval: time.Second, Spool: sp})
		dev := testDevice()
		const polls = 400
		for i := range polls {
			if !h.w.Enqueue(&devices.Snapshot{Device: dev, Time: time.Unix(int64(i), 0), Values: make([]devices.Value, len(dev.Profile.Points))}) {
				t.Fatalf("enqueue %d refused: the writer stopped taking readings", i)
			}
			if i < polls-1 {
				time.Sleep(time.Second)
			}
		}
		// The last reading is still in memory: stop now, InfluxDB still away.
		h.stop(t)
		if droppedPoints == 0 {
			t.Fatal("a spool of 8 KiB took 400 readings without dropping any")
		}
		if m := metric(t, reg, "facilityd_spool_dropped_points_total"); m != float64(droppedPoints) {
			t.Errorf("dropped metric %v, OnDrop said %d", m, droppedPoints)
		}
		points, bytes := sp.Len()
		if bytes > 8<<10 {
			t.Errorf("spool holds %d bytes, above max_bytes", bytes)
		}
		if points+droppedPoints != polls {
			t.Errorf("spooled %d + dropped %d != %d readings taken", points, droppedPoints, polls)
		}
		var last Record
		for {
			r, ok, err := sp.Next()
			if err != nil || !ok {
				break
			}
			last = r
			sp.Commit()
		}
		if !strings.Contains(string(last.Lines), fmt.Sprint(int64(polls-1)*int64(time.Second))) {
			t.Errorf("the reading taken just before the stop is not in the spool; last record %q", last.Lines)
		}
	})
}

func TestSpoolSkipAndStaleCommit(t *testing.T) {
	s, _ := openSpool(t, SpoolConfig{Dir: t.TempDir(), SegmentBytes: 4096, MaxBytes: 1 << 20})
	for i := range 3 {
		if err := s.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	// Commit without Next consumes nothing.
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	// Skip without Next consumes the first record (a rejected or unreadable one).
	if err := s.Skip(); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, s); fmt.Sprint(got) != fmt.Sprint([]int{1, 2}) {
		t.Errorf("after a bare Commit and a Skip replayed %v, want [1 2]", got)
	}
}

// TestSpoolSecondOutageAfterReplaySurvivesKill is the sequence that lost 59 of 60 readings:
// an outage and kill -9, a restart that replays everything, a clean stop, a second outage and
// kill -9. The restart must replay every reading of the second outage: segment ids are never
// used twice, so the cursor of the first replay cannot pass over the second outage's segments.
func TestSpoolSecondOutageAfterReplaySurvivesKill(t *testing.T) {
	dir := t.TempDir()
	cfg := SpoolConfig{Dir: dir, SegmentBytes: 300, MaxBytes: 1 << 20}
	open := func() *Spool {
		t.Helper()
		s, err := OpenSpool(cfg, nil, nil)
		if err != nil {
			t.Fatalf("OpenSpool: %v", err)
		}
		return s
	}
	kill := func(s *Spool) {
		// kill -9: no Close; what was written stays in the page cache. The test still owns
		// the descriptor, so it closes it behind the spool's back.
		t.Cleanup(func() { s.active.Close() })
	}

	first := open()
	for i := range 48 {
		if err := first.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	kill(first)

	replay := open()
	if got := drain(t, replay); fmt.Sprint(got) != fmt.Sprint(seq(0, 48)) {
		t.Fatalf("first outage: replayed %v, want 0..47", got)
	}
	if err := replay.Close(); err != nil {
		t.Fatal(err)
	}

	second := open()
	for i := 100; i < 160; i++ {
		if err := second.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	kill(second)

	after := open()
	defer after.Close()
	if got := drain(t, after); fmt.Sprint(got) != fmt.Sprint(seq(100, 160)) {
		t.Errorf("second outage: replayed %d of 60 readings: %v", len(got), got)
	}
}

// TestSpoolAppendFailure: a write or fsync that fails loses only its own batch, counted and
// reported through OnFault with the folder; the
// segment is cut back to what the spool counts, the next batch goes to a new segment, and a
// restart replays the batches around the failed one and not the failed one.
func TestSpoolAppendFailure(t *testing.T) {
	ioErr := errors.New("input/output error")
	tests := []struct {
		name  string
		fault func(op string) error
	}{
		{"fsync fails", func(op string) error {
			if op == "sync" {
				return ioErr
			}
			return nil
		}},
		{"write torn at byte 7", func(op string) error {
			if op == "write" {
				return tornWrite{n: 7}
			}
			return nil
		}},
		{"write fails whole", func(op string) error {
			if op == "write" {
				return tornWrite{n: 0}
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := newMemFS(rand.New(rand.NewPCG(1, 1)))
			var faults []SpoolFault
			cfg := SpoolConfig{Dir: "/spool", SegmentBytes: 4096, MaxBytes: 1 << 20,
				OnFault: func(f SpoolFault) { faults = append(faults, f) }}
			reg := prometheus.NewRegistry()
			s, err := openSpoolFS(cfg, fsys, reg, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if err := s.Append(rec(i)); err != nil {
					t.Fatal(err)
				}
			}
			armed := true
			fsys.fault = func(op, name string) error {
				if !armed || filepath.Ext(name) != ".seg" {
					return nil
				}
				err := tt.fault(op)
				armed = err == nil
				return err
			}
			if err := s.Append(rec(3)); err == nil {
				t.Fatal("Append returned nil through a failed write or fsync")
			} else if !strings.Contains(err.Error(), "spool.dir /spool") {
				t.Errorf("error %q does not name the spool folder", err)
			}
			fsys.fault = nil
			// The gateway raises its spool_write_failed alarm from this.
			if len(faults) != 1 || faults[0].Err == nil || faults[0].Corrupt || faults[0].Dir != "/spool" {
				t.Errorf("faults reported %+v, want one write failure in /spool", faults)
			}
			if m := metric(t, reg, "facilityd_spool_append_failures_total"); m != 1 {
				t.Errorf("facilityd_spool_append_failures_total = %v, want 1", m)
			}
			for i := 4; i < 6; i++ {
				if err := s.Append(rec(i)); err != nil {
					t.Fatalf("append after the failure: %v", err)
				}
			}
			names, data := fsys.segFiles()
			onDisk := 0
			for _, b := range data {
				onDisk += len(b)
			}
			if points, bytes := s.Len(); int(bytes) != onDisk || points != 10 {
				t.Errorf("the spool counts %d points in %d bytes; its files hold %d bytes (want 10 points)", points, bytes, onDisk)
			}
			if len(names) != 2 {
				t.Errorf("segments %v: want the failed one and a new one", names)
			}
			// A power loss now keeps what was fsync'd.
			fsys.crash(true)
			s2, err := openSpoolFS(cfg, fsys, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := drain(t, s2); fmt.Sprint(got) != fmt.Sprint([]int{0, 1, 2, 4, 5}) {
				t.Errorf("after a power loss replayed %v, want [0 1 2 4 5]", got)
			}
		})
	}
}

// BenchmarkSpoolAppend: one fsync'd append of a 5000-line batch (about 250 KB) on the local
// disk, and the commit of one replayed record (a cursor write: two fsyncs and a rename).
func BenchmarkSpoolAppend(b *testing.B) {
	line := strings.Repeat("x", 50)
	var lines []string
	for range 5000 {
		lines = append(lines, line)
	}
	r := Record{Points: 5000, Oldest: time.Unix(0, 0), Lines: []byte(strings.Join(lines, "\n"))}
	s, err := OpenSpool(SpoolConfig{Dir: b.TempDir(), MaxBytes: 8 << 30}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Run("append", func(b *testing.B) {
		b.SetBytes(int64(len(r.Lines)))
		for b.Loop() {
			if err := s.Append(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("commit", func(b *testing.B) {
		for !s.Empty() { // what the runs before left
			s.Next()
			s.Commit()
		}
		for range b.N {
			if err := s.Append(r); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for range b.N {
			if _, ok, err := s.Next(); err != nil || !ok {
				b.Fatalf("Next: %v %v", ok, err)
			}
			if err := s.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzResync: whatever bytes a segment holds, the scan's resync never panics, and the offset
// it returns starts a record that decodes whole.
func FuzzResync(f *testing.F) {
	good := AppendRecord(nil, Record{Points: 1, Oldest: time.Unix(1, 0), Lines: []byte("pump,device=P-1 pressure=4.1 1")})
	two := AppendRecord(bytes.Clone(good), Record{Points: 2, Lines: []byte("a b=1 1\na b=2 2")})
	f.Add(good)
	f.Add(append([]byte{0, 0, 0, 1, 9}, two...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, ok := resync(b, 0)
		if !ok {
			return
		}
		if _, _, err := ReadRecord(b[p:]); err != nil {
			t.Fatalf("resync chose offset %d, where ReadRecord fails: %v", p, err)
		}
	})
}
