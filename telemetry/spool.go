package telemetry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults the Spool applies to fields of SpoolConfig left at zero.
const (
	DefaultSpoolMaxBytes     = 1 << 30 // 1 GiB
	DefaultSpoolSegmentBytes = 16 << 20
	DefaultSpoolReplayRate   = 50000 // points (lines) per second
)

// Record framing: every record on disk is
//
//	length  uint32 big-endian: bytes of payload
//	crc     uint32 big-endian: CRC-32C (Castagnoli) of the length field and the payload
//	payload points uint32, oldest int64 (Unix ns), then the batch's line protocol
//
// so a torn write (kill -9 mid-append) or a flipped bit is found at open and cut, never
// replayed as garbage.
const (
	recordHeader  = 8
	payloadHeader = 12
	// MaxRecordBytes bounds one record, so a corrupted length cannot make the reader allocate
	// gigabytes.
	MaxRecordBytes = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors ReadRecord returns for what it cannot take as a record.
var (
	// ErrTorn: the bytes end inside a record (a write cut short by a crash).
	ErrTorn = errors.New("spool: torn record")
	// ErrCorrupt: the length is impossible or the CRC does not match.
	ErrCorrupt = errors.New("spool: corrupt record")
)

// Record is one spooled batch.
type Record struct {
	// Points is the number of lines in Lines.
	Points int
	// Oldest is the earliest timestamp in the batch, for the replay lag.
	Oldest time.Time
	// Lines is newline-separated line protocol, without a final newline.
	Lines []byte
}

// AppendRecord appends the framed record to dst.
func AppendRecord(dst []byte, r Record) []byte {
	n := payloadHeader + len(r.Lines)
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(r.Points))
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.Oldest.UnixNano()))
	dst = append(dst, r.Lines...)
	crc := crc32.Update(crc32.Checksum(dst[start:start+4], castagnoli), castagnoli, dst[start+recordHeader:])
	binary.BigEndian.PutUint32(dst[start+4:], crc)
	return dst
}

// ReadRecord decodes the record at the start of b and returns it and its size on disk. It
// returns ErrTorn when b ends inside the record, ErrCorrupt when the length is impossible or the
// CRC does not match, and io.EOF when b is empty. It never returns a record whose CRC is bad;
// the record's Lines alias b.
func ReadRecord(b []byte) (Record, int, error) {
	if len(b) == 0 {
		return Record{}, 0, io.EOF
	}
	if len(b) < recordHeader {
		return Record{}, 0, ErrTorn
	}
	n := int(binary.BigEndian.Uint32(b))
	if n < payloadHeader || n > MaxRecordBytes {
		return Record{}, 0, ErrCorrupt
	}
	if len(b) < recordHeader+n {
		return Record{}, 0, ErrTorn
	}
	payload := b[recordHeader : recordHeader+n]
	crc := crc32.Update(crc32.Checksum(b[:4], castagnoli), castagnoli, payload)
	if crc != binary.BigEndian.Uint32(b[4:]) {
		return Record{}, 0, ErrCorrupt
	}
	points := binary.BigEndian.Uint32(payload)
	if points > MaxRecordBytes {
		return Record{}, 0, ErrCorrupt
	}
	return Record{
		Points: int(points),
		Oldest: time.Unix(0, int64(binary.BigEndian.Uint64(payload[4:]))),
		Lines:  payload[payloadHeader:],
	}, recordHeader + n, nil
}

// SpoolConfig places and bounds the spool.
type SpoolConfig struct {
	// Dir holds the segment files and the read cursor; it is created if missing.
	Dir string
	// MaxBytes bounds the segments on disk; when an append would pass it, the oldest segment
	// is deleted, counted and reported through OnDrop.
	MaxBytes int64
	// SegmentBytes is the size at which the spool starts a new segment file.
	SegmentBytes int64
	// ReplayRate is the most points a second the writer replays from the spool.
	ReplayRate int
	// OnDrop, if set, is told of every drop of spooled data for lack of space (and of records
	// cut as corrupt at open), so it can raise an alarm. It runs on the writer's goroutine and
	// must not block.
	OnDrop func(points, bytes int)
	// OnFault, if set, is told of every loss that is not for space: a batch the spool cannot
	// write (permissions, disk full, an I/O error), and corrupt or torn records skipped at open,
	// so the gateway raises an alarm that names the cause rather than "spool full". It runs on
	// the caller's goroutine and must not block.
	OnFault func(SpoolFault)
	// Now is the clock for the replay lag; nil is time.Now.
	Now func() time.Time
}

// SpoolFault is a loss of readings the spool reports through OnFault.
type SpoolFault struct {
	// Dir is the spool folder (spool.dir).
	Dir string
	// Err is why an append failed; nil for Corrupt.
	Err error
	// Corrupt is set for records skipped or cut at open; Bytes says how many bytes.
	Corrupt bool
	Bytes   int
}

func (c SpoolConfig) withDefaults() SpoolConfig {
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultSpoolMaxBytes
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultSpoolSegmentBytes
	}
	if c.SegmentBytes > c.MaxBytes/2 {
		c.SegmentBytes = max(c.MaxBytes/2, 1)
	}
	if c.ReplayRate == 0 {
		c.ReplayRate = DefaultSpoolReplayRate
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// segment is one file of the spool, as the spool knows it in memory.
type segment struct {
	id     uint64
	size   int64 // bytes of whole records in the file, which is all the file holds
	points int
	// recs is the byte offset, points and oldest timestamp of each record, so the unread
	// points and the replay lag are known without reading the file.
	recs []recInfo
}

type recInfo struct {
	off    int64
	points int
	oldest int64
}

// Spool is a bounded, crash-safe queue of line-protocol batches on disk, so that readings
// InfluxDB cannot take now survive an outage, kill -9 and power loss, and a batch InfluxDB
// acknowledged is not replayed after a restart. It is safe for concurrent use; the Writer is
// its only reader.
//
// On disk, in Dir:
//
//   - segment files, 0000000000000001.seg and up: records framed as AppendRecord frames them,
//     each written and fsync'd by Append before it returns. A segment id is never used twice,
//     whatever was deleted: the cursor file holds the next id before a segment file is created.
//   - cursor: "FDC2", then three big-endian uint64 (the segment and byte offset of the next
//     record to replay, and the next segment id) and a CRC-32C of those 28 bytes. It is only
//     ever replaced whole: written to cursor.tmp, fsync'd, renamed over cursor, and the
//     directory fsync'd.
//
// The order of the file operations keeps the cursor and the segment set in agreement after a
// crash between any two of them: a replayed segment is deleted only once the cursor names a
// later one (a segment below the cursor's is deleted at open); a segment dropped for space is
// deleted and the directory fsync'd before the append that needed the room; a segment the
// cursor names that no longer exists means "start at the next one"; every segment kept at open
// is fsync'd, as after kill -9 it may hold what the kernel has not written yet. So, after any
// crash (spool_model_test.go checks it against a model, crashing at every call):
//
//   - every record whose Append returned nil is replayed, in order, once, unless it was
//     committed (or skipped) before the crash or dropped for space (counted). The one record
//     whose Commit the crash cut short may be replayed once more.
//   - a record whose Append returned an error is not replayed: a failed write or fsync cuts the
//     segment back to its last whole record and the spool goes on in a new segment. Only when
//     that cut fails too (or the crash hit the Append) may it come back, once, whole.
//   - a record torn by the crash fails its CRC at open and is cut, never replayed as garbage.
type Spool struct {
	cfg SpoolConfig
	fs  spoolFS
	log *slog.Logger

	mu   sync.Mutex
	segs []*segment // oldest first, ids rising; the last one is the one appended to
	// active is the open last segment; nil after a failed write until the next Append starts
	// a new segment.
	active spoolFile
	// curSeg, curOff: the read position, the next record to replay. Segments below curSeg are
	// fully replayed; they are deleted once the cursor file says so (durSeg).
	curSeg uint64
	curOff int64
	durSeg uint64 // the segment the cursor file names
	nextID uint64 // the id of the next new segment; the cursor file holds it too
	closed bool
	// peek is the record Next returned last, which Commit consumes; if the spool dropped it
	// meanwhile (full), Commit does nothing.
	peekSeg uint64
	peekOff int64
	peeked  bool

	m spoolMetrics
}

type spoolMetrics struct {
	points, bytes, segments prometheus.GaugeFunc
	lag                     prometheus.GaugeFunc
	droppedPoints           prometheus.Counter
	droppedBytes            prometheus.Counter
	corruptBytes            prometheus.Counter
	appendFailures          prometheus.Counter
	appended, replayed      prometheus.Counter
}

// OpenSpool opens (or creates) the spool in cfg.Dir, cuts any torn or corrupt tail of each
// segment (counted in facilityd_spool_corrupt_bytes_total and logged), and registers its metrics
// on reg (nil: not registered).
func OpenSpool(cfg SpoolConfig, reg prometheus.Registerer, log *slog.Logger) (*Spool, error) {
	return openSpoolFS(cfg, osFS{}, reg, log)
}

func openSpoolFS(cfg SpoolConfig, fsys spoolFS, reg prometheus.Registerer, log *slog.Logger) (*Spool, error) {
	cfg = cfg.withDefaults()
	if cfg.Dir == "" {
		return nil, errors.New("spool.dir: missing")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := fsys.MkdirAll(cfg.Dir); err != nil {
		return nil, fmt.Errorf("spool.dir: %w", err)
	}
	s := &Spool{cfg: cfg, fs: fsys, log: log}
	s.initMetrics()
	if err := s.load(); err != nil {
		if s.active != nil {
			s.active.Close()
		}
		return nil, err
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{s.m.points, s.m.bytes, s.m.segments, s.m.lag,
			s.m.droppedPoints, s.m.droppedBytes, s.m.corruptBytes, s.m.appendFailures, s.m.appended, s.m.replayed} {
			if err := reg.Register(c); err != nil {
				s.active.Close()
				return nil, fmt.Errorf("spool: register metrics: %w", err)
			}
		}
	}
	if p, b := s.Len(); p > 0 {
		log.Info("spool holds readings to replay", "dir", cfg.Dir, "points", p, "bytes", b, "segments", len(s.segs))
	}
	return s, nil
}

func (s *Spool) initMetrics() {
	gauge := func(name, help string, f func() float64) prometheus.GaugeFunc {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	s.m.points = gauge("facilityd_spool_points", "Points (lines) in the spool waiting for replay.", func() float64 { p, _ := s.Len(); return float64(p) })
	s.m.bytes = gauge("facilityd_spool_bytes", "Bytes of segment files in the spool.", func() float64 { _, b := s.Len(); return float64(b) })
	s.m.segments = gauge("facilityd_spool_segments", "Segment files in the spool.", func() float64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		return float64(len(s.segs))
	})
	s.m.lag = gauge("facilityd_spool_replay_lag_seconds", "Age of the oldest reading waiting in the spool; 0 when empty.", func() float64 {
		t, ok := s.Oldest()
		if !ok {
			return 0
		}
		return s.cfg.Now().Sub(t).Seconds()
	})
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	s.m.droppedPoints = counter("facilityd_spool_dropped_points_total", "Spooled points deleted unreplayed because the spool reached spool.max_bytes.")
	s.m.droppedBytes = counter("facilityd_spool_dropped_bytes_total", "Spooled bytes deleted unreplayed because the spool reached spool.max_bytes.")
	s.m.corruptBytes = counter("facilityd_spool_corrupt_bytes_total", "Bytes cut from segments at open: torn tails after a crash, or records with a bad CRC.")
	s.m.appendFailures = counter("facilityd_spool_append_failures_total", "Appends that failed (disk full, I/O error): the batch is not spooled. After a failed write or fsync the segment is cut back to its last whole record and a new one started.")
	s.m.appended = counter("facilityd_spool_appended_points_total", "Points written to the spool (fsync'd).")
	s.m.replayed = counter("facilityd_spool_replayed_points_total", "Points replayed from the spool and acknowledged by InfluxDB.")
}

func segName(id uint64) string { return fmt.Sprintf("%016x.seg", id) }

func (s *Spool) path(name string) string { return filepath.Join(s.cfg.Dir, name) }

// load reads the segments and the cursor, cuts what cannot be trusted, and starts a new
// segment to append to (a crash may have left the last one torn).
func (s *Spool) load() error {
	names, err := s.fs.ReadDir(s.cfg.Dir)
	if err != nil {
		return fmt.Errorf("spool.dir: %w", err)
	}
	var ids []uint64
	for _, n := range names {
		hex, ok := strings.CutSuffix(n, ".seg")
		if !ok {
			continue
		}
		id, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	cur, haveCur := s.readCursor()
	if haveCur && cur.v1 && len(ids) > 0 && ids[0] < cur.seg {
		// Spools written before segment ids were kept unique could number new segments
		// below the cursor after a restart: what is below it is not known to be replayed.
		s.log.Warn("spool: the cursor of an earlier version names a segment above ones still on disk; replaying them all (InfluxDB keeps one copy of a point sent twice)",
			"dir", s.cfg.Dir, "cursor_segment", segName(cur.seg), "first_segment", segName(ids[0]))
		haveCur = false
	}
	s.nextID = 1
	if haveCur {
		s.curSeg, s.curOff, s.durSeg = cur.seg, cur.off, cur.seg
		s.nextID = max(cur.next, cur.seg+1)
	}
	if n := len(ids); n > 0 {
		s.nextID = max(s.nextID, ids[n-1]+1)
	}
	var empty []uint64
	for _, id := range ids {
		if haveCur && id < cur.seg {
			// Replayed before the last stop; the cursor already names a later segment.
			if err := s.remove(id); err != nil {
				return err
			}
			continue
		}
		seg, err := s.scan(id)
		if err != nil {
			return err
		}
		if seg.size == 0 {
			empty = append(empty, id)
			continue
		}
		s.segs = append(s.segs, seg)
	}
	if len(s.segs) > 0 && s.segs[0].id == s.curSeg {
		// The cursor sits on a record boundary unless the record it named was cut: then
		// it starts at the next whole one.
		g := s.segs[0]
		off := g.size
		for _, r := range g.recs {
			if r.off >= s.curOff {
				off = r.off
				break
			}
		}
		s.curOff = off
	}
	if err := s.rotate(); err != nil {
		return err
	}
	// The ids of empty segments are below nextID, which the cursor now holds.
	for _, id := range empty {
		if err := s.remove(id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Spool) remove(id uint64) error {
	if err := s.fs.Remove(s.path(segName(id))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: delete segment: %w", err)
	}
	return nil
}

// scan reads one segment. A record that fails its length or CRC check is skipped up to the
// next offset where a whole record with a good CRC starts (records are framed by length and
// CRC-32C, so a flipped bit costs its record, not the rest of the segment); the skipped bytes
// are counted and logged with their offset. Bytes after the last good record (a tail torn by a
// crash) are cut from the file.
func (s *Spool) scan(id uint64) (*segment, error) {
	name := s.path(segName(id))
	b, err := s.fs.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	seg := &segment{id: id}
	off, end := 0, 0 // end: just past the last good record
	for off < len(b) {
		r, n, err := ReadRecord(b[off:])
		if err != nil {
			next, ok := resync(b, off+1)
			if !ok {
				break // the rest holds no whole record: a torn tail, cut below
			}
			s.m.corruptBytes.Add(float64(next - off))
			s.log.Warn("spool: skipped a corrupt record; replay goes on from the next good one",
				"segment", name, "offset", off, "bytes_skipped", next-off, "reason", err.Error())
			s.fault(SpoolFault{Corrupt: true, Bytes: next - off})
			off = next
			continue
		}
		seg.recs = append(seg.recs, recInfo{off: int64(off), points: r.Points, oldest: r.Oldest.UnixNano()})
		seg.points += r.Points
		off += n
		end = off
	}
	if cut := len(b) - end; cut > 0 {
		s.m.corruptBytes.Add(float64(cut))
		s.log.Warn("spool: cut a torn or corrupt segment tail",
			"segment", name, "offset", end, "bytes_cut", cut)
		s.fault(SpoolFault{Corrupt: true, Bytes: cut})
		if err := s.fs.Truncate(name, int64(end)); err != nil {
			return nil, fmt.Errorf("spool: cut %s at %d: %w", name, end, err)
		}
	}
	off = end
	seg.size = int64(off)
	if seg.size > 0 {
		// After kill -9 the file may hold what the kernel has not written yet (an append the
		// kill cut between write and fsync, a cut tail): what is replayed from now on must
		// survive a power loss as well.
		if err := s.syncFile(name); err != nil {
			return nil, err
		}
	}
	return seg, nil
}

// resync finds the first offset from 'from' on where a whole record with a good CRC starts. A
// false match needs a plausible length and a matching CRC-32C by chance (1 in 2^32 per offset).
func resync(b []byte, from int) (int, bool) {
	for p := from; p+recordHeader+payloadHeader <= len(b); p++ {
		if _, _, err := ReadRecord(b[p:]); err == nil {
			return p, true
		}
	}
	return 0, false
}

func (s *Spool) syncFile(name string) error {
	f, err := s.fs.Open(name)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("spool: fsync %s: %w", name, err)
	}
	return nil
}

// rotate closes the segment appended to and starts a new one. The new id goes into the cursor
// file before the segment file exists, so no later start can number a segment with it again.
func (s *Spool) rotate() error {
	if s.active != nil {
		if err := s.active.Close(); err != nil {
			// Its records are fsync'd already; only the handle is in doubt.
			s.log.Warn("spool: close segment", "error", err.Error())
		}
		s.active = nil
	}
	if n := len(s.segs); n > 0 && s.segs[n-1].size == 0 {
		// Its first write failed: nothing is in it and nothing refers to it.
		if err := s.remove(s.segs[n-1].id); err == nil {
			s.segs = s.segs[:n-1]
		}
	}
	id := s.nextID
	grown := append(slices.Clip(s.segs), &segment{id: id})
	curSeg, curOff := position(grown, s.curSeg, s.curOff)
	if err := s.writeCursor(curSeg, curOff, id+1); err != nil {
		return err
	}
	s.nextID = id + 1
	f, err := s.fs.Create(s.path(segName(id)))
	if err != nil {
		return fmt.Errorf("spool: new segment: %w", err)
	}
	if err := s.fs.SyncDir(s.cfg.Dir); err != nil {
		f.Close()
		return fmt.Errorf("spool: fsync %s: %w", s.cfg.Dir, err)
	}
	s.active = f
	s.segs = grown
	s.curSeg, s.curOff = curSeg, curOff
	s.deleteReplayed()
	return nil
}

// position moves the read position (seg, off) onto the next record to replay: past segments
// read to their end, as long as a later segment exists, and onto the first segment from seg
// on when seg itself is gone.
func position(segs []*segment, seg uint64, off int64) (uint64, int64) {
	for i, g := range segs {
		if g.id < seg {
			continue
		}
		if g.id > seg {
			seg, off = g.id, 0
		}
		if off < g.size || i == len(segs)-1 {
			return seg, off
		}
		seg, off = segs[i+1].id, 0
	}
	return seg, off
}

// Append writes one batch to the tail of the spool and fsyncs it: once Append returns nil, the
// batch survives kill -9 and power loss. When the spool would pass MaxBytes, the oldest segments
// are deleted first, counted and reported through OnDrop. When the write or the fsync fails,
// the batch is not spooled (the error says why), the segment is cut back to its last whole
// record and the next batch goes to a new segment.
func (s *Spool) Append(r Record) error {
	rec := AppendRecord(nil, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("spool: closed")
	}
	if int64(len(rec)) > s.cfg.MaxBytes {
		s.dropped(r.Points, len(rec))
		return fmt.Errorf("spool: a batch of %d bytes is larger than spool.max_bytes %d", len(rec), s.cfg.MaxBytes)
	}
	if s.active == nil || s.full(int64(len(rec))) {
		if err := s.rotate(); err != nil {
			return s.appendFailed(err)
		}
	}
	if err := s.makeRoom(int64(len(rec))); err != nil {
		return s.appendFailed(err)
	}
	act := s.segs[len(s.segs)-1]
	if err := s.write(act, rec); err != nil {
		s.abandon(act)
		if rerr := s.rotate(); rerr != nil {
			s.log.Warn("spool: cannot start a new segment after a failed append; the next append tries again", "error", rerr.Error())
		}
		return s.appendFailed(err)
	}
	act.recs = append(act.recs, recInfo{off: act.size, points: r.Points, oldest: r.Oldest.UnixNano()})
	act.size += int64(len(rec))
	act.points += r.Points
	s.m.appended.Add(float64(r.Points))
	return nil
}

// appendFailed counts a batch the spool could not write and reports it through OnFault: its
// readings are lost, for a reason (permissions, disk full, I/O) an operator must fix in the
// spool folder.
func (s *Spool) appendFailed(err error) error {
	s.m.appendFailures.Inc()
	s.fault(SpoolFault{Err: err})
	return fmt.Errorf("spool.dir %s: %w", s.cfg.Dir, err)
}

func (s *Spool) fault(f SpoolFault) {
	if s.cfg.OnFault != nil {
		f.Dir = s.cfg.Dir
		s.cfg.OnFault(f)
	}
}

// full reports whether n more bytes would take the segment appended to past SegmentBytes (a
// record larger than that goes alone into a segment).
func (s *Spool) full(n int64) bool {
	last := s.segs[len(s.segs)-1]
	return last.size > 0 && last.size+n > s.cfg.SegmentBytes
}

func (s *Spool) write(act *segment, rec []byte) error {
	if _, err := s.active.Write(rec); err != nil {
		return fmt.Errorf("spool: write %s: %w", segName(act.id), err)
	}
	if err := s.active.Sync(); err != nil {
		return fmt.Errorf("spool: fsync %s: %w", segName(act.id), err)
	}
	return nil
}

// abandon cuts the active segment back to its last whole record after a failed write or
// fsync, and closes it: what the failed write left must neither stay in step with nothing in
// memory nor come back after a restart.
func (s *Spool) abandon(act *segment) {
	err := s.active.Truncate(act.size)
	if err == nil {
		err = s.active.Sync()
	}
	if err != nil {
		s.log.Error("spool: cannot cut a segment back after a failed append; the failed batch may be replayed after a restart",
			"segment", segName(act.id), "size", act.size, "error", err.Error())
	}
	s.active.Close()
	s.active = nil
}

// makeRoom deletes the oldest segments (never the one appended to) until n more bytes fit in
// MaxBytes. The deletions are made durable before the append that needed the room, so a
// dropped segment cannot come back after a power loss.
func (s *Spool) makeRoom(n int64) error {
	droppedAny := false
	for s.totalBytes()+n > s.cfg.MaxBytes && len(s.segs) > 1 {
		g := s.segs[0]
		if err := s.remove(g.id); err != nil {
			return fmt.Errorf("spool full (spool.max_bytes) and its oldest segment cannot be deleted: %w", err)
		}
		points, bytes := s.unread(g)
		s.segs = s.segs[1:]
		s.curSeg, s.curOff = position(s.segs, s.curSeg, s.curOff)
		droppedAny = true
		if points == 0 {
			continue // already replayed
		}
		s.dropped(points, int(bytes))
		s.log.Error("spool full (spool.max_bytes): the oldest spooled readings are deleted unreplayed",
			"segment", segName(g.id), "points", points, "bytes", bytes, "max_bytes", s.cfg.MaxBytes)
	}
	if droppedAny {
		if err := s.fs.SyncDir(s.cfg.Dir); err != nil {
			return fmt.Errorf("spool: fsync %s: %w", s.cfg.Dir, err)
		}
	}
	return nil
}

// unread returns the points and bytes of g not yet replayed.
func (s *Spool) unread(g *segment) (points int, bytes int64) {
	switch {
	case g.id < s.curSeg:
		return 0, 0
	case g.id > s.curSeg:
		return g.points, g.size
	}
	for _, r := range g.recs {
		if r.off >= s.curOff {
			points += r.points
		}
	}
	return points, max(g.size-s.curOff, 0)
}

func (s *Spool) totalBytes() int64 {
	var n int64
	for _, g := range s.segs {
		n += g.size
	}
	return n
}

func (s *Spool) dropped(points, bytes int) {
	s.m.droppedPoints.Add(float64(points))
	s.m.droppedBytes.Add(float64(bytes))
	if s.cfg.OnDrop != nil {
		s.cfg.OnDrop(points, bytes)
	}
}

// head returns the segment and offset of the next record to replay.
func (s *Spool) head() (*segment, int64, bool) {
	for _, g := range s.segs {
		switch {
		case g.id < s.curSeg:
		case g.id == s.curSeg:
			if s.curOff < g.size {
				return g, s.curOff, true
			}
		case g.size > 0:
			return g, 0, true
		}
	}
	return nil, 0, false
}

// Next returns the oldest record not yet committed, without consuming it; ok is false when the
// spool is empty. Call Commit once InfluxDB has acknowledged it.
func (s *Spool) Next() (r Record, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, off, ok := s.head()
	if !ok {
		return Record{}, false, nil
	}
	_, n, err := recordAt(g, off)
	if err != nil {
		return Record{}, false, err
	}
	f, err := s.fs.Open(s.path(segName(g.id)))
	if err != nil {
		return Record{}, false, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, off); err != nil {
		return Record{}, false, fmt.Errorf("spool: read %s: %w", segName(g.id), err)
	}
	r, _, err = ReadRecord(buf)
	if err != nil {
		// Checked at open; only a change to the file since then gets here.
		return Record{}, false, fmt.Errorf("spool: %s at %d: %w", segName(g.id), off, err)
	}
	s.peekSeg, s.peekOff, s.peeked = g.id, off, true
	return r, true, nil
}

// Commit consumes the record Next returned and makes the cursor durable, so that it is not
// replayed after a restart (after kill -9 between InfluxDB's answer and Commit, it is sent once
// more: InfluxDB keeps one copy of identical points).
func (s *Spool) Commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, off, ok := s.head()
	if !s.peeked || !ok || s.peekSeg != g.id || s.peekOff != off {
		// Dropped for space since Next (or Next was not called): nothing to consume.
		s.peeked = false
		return nil
	}
	s.peeked = false
	r, n, err := recordAt(g, off)
	if err != nil {
		return err
	}
	s.m.replayed.Add(float64(r.points))
	s.curSeg, s.curOff = position(s.segs, g.id, off+int64(n))
	return s.saveCursor()
}

// Skip consumes the next record without replaying it: InfluxDB rejected it for good, or it
// cannot be read (then the rest of its segment goes too).
func (s *Spool) Skip() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peeked = false
	g, off, ok := s.head()
	if !ok {
		return nil
	}
	end := g.size
	if _, n, err := recordAt(g, off); err == nil {
		end = off + int64(n)
	}
	s.curSeg, s.curOff = position(s.segs, g.id, end)
	return s.saveCursor()
}

func recordAt(g *segment, off int64) (recInfo, int, error) {
	for i, r := range g.recs {
		if r.off == off {
			end := g.size
			if i+1 < len(g.recs) {
				end = g.recs[i+1].off
			}
			return r, int(end - off), nil
		}
	}
	return recInfo{}, 0, fmt.Errorf("spool: no record at %s offset %d", segName(g.id), off)
}

// saveCursor makes the read position durable, then deletes the segments it has passed.
func (s *Spool) saveCursor() error {
	if err := s.writeCursor(s.curSeg, s.curOff, s.nextID); err != nil {
		return err
	}
	s.deleteReplayed()
	return nil
}

// deleteReplayed deletes the segments below the one the cursor file names. One it cannot
// delete stays (in the count of bytes) until the next try, or the next start.
func (s *Spool) deleteReplayed() {
	for len(s.segs) > 1 && s.segs[0].id < s.durSeg {
		if err := s.remove(s.segs[0].id); err != nil {
			s.log.Warn("spool: cannot delete a replayed segment; trying again later", "error", err.Error())
			return
		}
		s.segs = s.segs[1:]
	}
}

const (
	cursorMagic = "FDC2"
	cursorSize  = 32
	cursorV1    = 20 // segment, offset, CRC: written before segment ids were kept unique
)

type cursor struct {
	seg  uint64
	off  int64
	next uint64
	v1   bool
}

func (s *Spool) writeCursor(seg uint64, off int64, next uint64) error {
	b := make([]byte, 0, cursorSize)
	b = append(b, cursorMagic...)
	b = binary.BigEndian.AppendUint64(b, seg)
	b = binary.BigEndian.AppendUint64(b, uint64(off))
	b = binary.BigEndian.AppendUint64(b, next)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	tmp := s.path("cursor.tmp")
	f, err := s.fs.Create(tmp)
	if err != nil {
		return fmt.Errorf("spool: cursor: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.fs.Rename(tmp, s.path("cursor"))
	}
	if err == nil {
		err = s.fs.SyncDir(s.cfg.Dir)
	}
	if err != nil {
		return fmt.Errorf("spool: cursor: %w", err)
	}
	s.durSeg = seg
	return nil
}

// readCursor reads the cursor file; ok is false when there is none or it is unreadable (then
// everything on disk is replayed, and the log says so).
func (s *Spool) readCursor() (c cursor, ok bool) {
	b, err := s.fs.ReadFile(s.path("cursor"))
	if errors.Is(err, fs.ErrNotExist) {
		return cursor{}, false
	}
	switch {
	case err != nil:
	case len(b) == cursorSize && string(b[:4]) == cursorMagic && crc32.Checksum(b[:28], castagnoli) == binary.BigEndian.Uint32(b[28:]):
		return cursor{seg: binary.BigEndian.Uint64(b[4:]), off: int64(binary.BigEndian.Uint64(b[12:])), next: binary.BigEndian.Uint64(b[20:])}, true
	case len(b) == cursorV1 && crc32.Checksum(b[:16], castagnoli) == binary.BigEndian.Uint32(b[16:]):
		return cursor{seg: binary.BigEndian.Uint64(b), off: int64(binary.BigEndian.Uint64(b[8:])), v1: true}, true
	default:
		err = errors.New("bad length or checksum")
	}
	s.log.Warn("spool: the replay cursor is unreadable; replaying every segment from its start (InfluxDB keeps one copy of a point sent twice)",
		"file", s.path("cursor"), "error", err.Error())
	return cursor{}, false
}

// Len returns the points waiting for replay and the bytes of the segment files.
func (s *Spool) Len() (points int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.segs {
		p, _ := s.unread(g)
		points += p
		bytes += g.size
	}
	return points, bytes
}

// Empty reports whether nothing waits for replay.
func (s *Spool) Empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _, ok := s.head()
	return !ok
}

// Oldest returns the timestamp of the oldest reading waiting for replay.
func (s *Spool) Oldest() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, off, ok := s.head()
	if !ok {
		return time.Time{}, false
	}
	r, _, err := recordAt(g, off)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, r.oldest), true
}

// ReplayRate is the configured replay rate in points a second.
func (s *Spool) ReplayRate() int { return s.cfg.ReplayRate }

// Close closes the segment appended to. Everything appended is already on disk.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.active == nil {
		return nil
	}
	err := s.active.Close()
	s.active = nil
	return err
}
