package telemetry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
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
	// Now is the clock for the replay lag; nil is time.Now.
	Now func() time.Time
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
	size   int64
	points int
	// first is the byte offset of each record and its points, so the unread points are known.
	recs []recInfo
}

type recInfo struct {
	off    int64
	points int
	oldest int64
}

// Spool is a bounded, crash-safe queue of line-protocol batches on disk: append-only segment
// files of CRC-framed records, fsync'd on every append, and a durable read cursor, so that a
// batch acknowledged by InfluxDB is not replayed after a restart and a torn tail is cut at
// open. It is safe for concurrent use; the Writer is its only reader.
type Spool struct {
	cfg SpoolConfig
	log *slog.Logger

	mu     sync.Mutex
	segs   []*segment // oldest first; the last one is appended to
	active *os.File
	// cursor: the next record to replay is segs[0] at offset curOff (segs[0] is the read
	// segment: read segments are deleted as soon as they are done).
	curOff int64
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
	appended, replayed      prometheus.Counter
}

// OpenSpool opens (or creates) the spool in cfg.Dir, cuts any torn or corrupt tail of each
// segment (counted in facilityd_spool_corrupt_bytes_total and logged), and registers its metrics
// on reg (nil: not registered).
func OpenSpool(cfg SpoolConfig, reg prometheus.Registerer, log *slog.Logger) (*Spool, error) {
	cfg = cfg.withDefaults()
	if cfg.Dir == "" {
		return nil, errors.New("spool.dir: missing")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool.dir: %w", err)
	}
	s := &Spool{cfg: cfg, log: log}
	s.initMetrics()
	if err := s.load(); err != nil {
		return nil, err
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{s.m.points, s.m.bytes, s.m.segments, s.m.lag,
			s.m.droppedPoints, s.m.droppedBytes, s.m.corruptBytes, s.m.appended, s.m.replayed} {
			if err := reg.Register(c); err != nil {
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
	s.m.appended = counter("facilityd_spool_appended_points_total", "Points written to the spool (fsync'd).")
	s.m.replayed = counter("facilityd_spool_replayed_points_total", "Points replayed from the spool and acknowledged by InfluxDB.")
}

func segName(id uint64) string { return fmt.Sprintf("%016x.seg", id) }

func (s *Spool) path(name string) string { return filepath.Join(s.cfg.Dir, name) }

// load reads the segments and the cursor, cutting what cannot be trusted.
func (s *Spool) load() error {
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return fmt.Errorf("spool.dir: %w", err)
	}
	var ids []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok || e.IsDir() {
			continue
		}
		id, err := strconv.ParseUint(name, 16, 64)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	curSeg, curOff, haveCursor := s.readCursor()
	for _, id := range ids {
		if haveCursor && id < curSeg {
			// Fully replayed before the last stop, but not yet deleted.
			_ = os.Remove(s.path(segName(id)))
			continue
		}
		seg, err := s.scan(id)
		if err != nil {
			return err
		}
		if seg.size == 0 {
			_ = os.Remove(s.path(segName(id)))
			continue
		}
		s.segs = append(s.segs, seg)
	}
	if len(s.segs) > 0 && haveCursor && s.segs[0].id == curSeg {
		s.curOff = min(curOff, s.segs[0].size)
		// The cursor must sit on a record boundary; if it does not, start at the next one.
		for _, r := range s.segs[0].recs {
			if r.off >= s.curOff {
				s.curOff = r.off
				break
			}
		}
		if n := len(s.segs[0].recs); n == 0 || s.segs[0].recs[n-1].off < s.curOff {
			s.curOff = s.segs[0].size
		}
	}
	next := uint64(1)
	if len(s.segs) > 0 {
		next = s.segs[len(s.segs)-1].id + 1
	}
	return s.openActive(next)
}

// scan reads one segment, truncating it at its first torn or corrupt record.
func (s *Spool) scan(id uint64) (*segment, error) {
	name := s.path(segName(id))
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	seg := &segment{id: id}
	off := 0
	for {
		r, n, err := ReadRecord(b[off:])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			cut := len(b) - off
			s.m.corruptBytes.Add(float64(cut))
			s.log.Warn("spool: cut a torn or corrupt segment tail; the records after it in this segment are lost",
				"segment", name, "offset", off, "bytes_cut", cut, "reason", err.Error())
			if s.cfg.OnDrop != nil {
				s.cfg.OnDrop(0, cut)
			}
			if err := os.Truncate(name, int64(off)); err != nil {
				return nil, fmt.Errorf("spool: cut %s at %d: %w", name, off, err)
			}
			break
		}
		seg.recs = append(seg.recs, recInfo{off: int64(off), points: r.Points, oldest: r.Oldest.UnixNano()})
		seg.points += r.Points
		off += n
	}
	seg.size = int64(off)
	return seg, nil
}

// openActive opens a new segment id to append to, after the existing ones.
func (s *Spool) openActive(id uint64) error {
	f, err := os.OpenFile(s.path(segName(id)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := syncDir(s.cfg.Dir); err != nil {
		f.Close()
		return err
	}
	if len(s.segs) == 0 {
		s.curOff = 0
	}
	s.active = f
	s.segs = append(s.segs, &segment{id: id})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: fsync %s: %w", dir, err)
	}
	return nil
}

// Append writes one batch to the tail of the spool and fsyncs it: once Append returns nil, the
// batch survives kill -9 and power loss. When the spool would pass MaxBytes, the oldest segments
// are deleted first, counted and reported through OnDrop.
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
	act := s.segs[len(s.segs)-1]
	if act.size > 0 && act.size+int64(len(rec)) > s.cfg.SegmentBytes {
		if err := s.rotate(); err != nil {
			return err
		}
		act = s.segs[len(s.segs)-1]
	}
	for s.totalBytes()+int64(len(rec)) > s.cfg.MaxBytes && len(s.segs) > 1 {
		s.dropOldest()
	}
	if _, err := s.active.Write(rec); err != nil {
		// A partial write is cut at the next open; make this segment the last one written.
		_ = s.rotate()
		return fmt.Errorf("spool: write: %w", err)
	}
	if err := s.active.Sync(); err != nil {
		return fmt.Errorf("spool: fsync: %w", err)
	}
	act.recs = append(act.recs, recInfo{off: act.size, points: r.Points, oldest: r.Oldest.UnixNano()})
	act.size += int64(len(rec))
	act.points += r.Points
	s.m.appended.Add(float64(r.Points))
	return nil
}

func (s *Spool) rotate() error {
	id := s.segs[len(s.segs)-1].id + 1
	if err := s.active.Close(); err != nil {
		return fmt.Errorf("spool: close segment: %w", err)
	}
	return s.openActive(id)
}

func (s *Spool) totalBytes() int64 {
	var n int64
	for _, g := range s.segs {
		n += g.size
	}
	return n
}

// dropOldest deletes the oldest segment, which is never the active one.
func (s *Spool) dropOldest() {
	g := s.segs[0]
	points := 0
	for _, r := range g.recs {
		if r.off >= s.curOff {
			points += r.points
		}
	}
	bytes := int(g.size - s.curOff)
	_ = os.Remove(s.path(segName(g.id)))
	s.segs = s.segs[1:]
	s.curOff = 0
	s.dropped(points, bytes)
	s.log.Error("spool full (spool.max_bytes): the oldest spooled readings are deleted unreplayed",
		"segment", segName(g.id), "points", points, "bytes", bytes, "max_bytes", s.cfg.MaxBytes)
}

func (s *Spool) dropped(points, bytes int) {
	s.m.droppedPoints.Add(float64(points))
	s.m.droppedBytes.Add(float64(bytes))
	if s.cfg.OnDrop != nil {
		s.cfg.OnDrop(points, bytes)
	}
}

// Next returns the oldest record not yet committed, without consuming it; ok is false when the
// spool is empty. Call Commit once InfluxDB has acknowledged it.
func (s *Spool) Next() (r Record, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skipDone()
	g := s.segs[0]
	if s.curOff >= g.size {
		return Record{}, false, nil
	}
	f, err := os.Open(s.path(segName(g.id)))
	if err != nil {
		return Record{}, false, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	var hdr [recordHeader]byte
	if _, err := f.ReadAt(hdr[:], s.curOff); err != nil {
		return Record{}, false, fmt.Errorf("spool: read %s: %w", segName(g.id), err)
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n > MaxRecordBytes {
		n = MaxRecordBytes
	}
	buf := make([]byte, recordHeader+n)
	if _, err := f.ReadAt(buf, s.curOff); err != nil {
		return Record{}, false, fmt.Errorf("spool: read %s: %w", segName(g.id), err)
	}
	r, _, err = ReadRecord(buf)
	if err != nil {
		// Checked at open; only a change to the file since then gets here.
		return Record{}, false, fmt.Errorf("spool: %s at %d: %w", segName(g.id), s.curOff, err)
	}
	s.peekSeg, s.peekOff, s.peeked = g.id, s.curOff, true
	return r, true, nil
}

// Commit consumes the record Next returned and makes the cursor durable, so that it is not
// replayed after a restart (after kill -9 between InfluxDB's answer and Commit, it is sent once
// more: InfluxDB keeps one copy of identical points).
func (s *Spool) Commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skipDone()
	g := s.segs[0]
	if !s.peeked || s.peekSeg != g.id || s.peekOff != s.curOff {
		// Dropped for space since Next (or Next was not called): nothing to consume.
		s.peeked = false
		return nil
	}
	s.peeked = false
	_, n, err := s.recordAt(g, s.curOff)
	if err != nil {
		return err
	}
	for _, r := range g.recs {
		if r.off == s.curOff {
			s.m.replayed.Add(float64(r.points))
		}
	}
	s.curOff += int64(n)
	s.skipDone()
	return s.writeCursor()
}

// Skip consumes the next record without replaying it: InfluxDB rejected it for good, or it
// cannot be read (then the rest of its segment goes too).
func (s *Spool) Skip() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peeked = false
	s.skipDone()
	g := s.segs[0]
	if s.curOff >= g.size {
		return nil
	}
	if _, n, err := s.recordAt(g, s.curOff); err == nil {
		s.curOff += int64(n)
	} else {
		s.curOff = g.size
	}
	s.skipDone()
	return s.writeCursor()
}

func (s *Spool) recordAt(g *segment, off int64) (recInfo, int, error) {
	for i, r := range g.recs {
		if r.off == off {
			end := g.size
			if i+1 < len(g.recs) {
				end = g.recs[i+1].off
			}
			return r, int(end - off), nil
		}
	}
	return recInfo{}, 0, errors.New("spool: nothing to commit")
}

// skipDone deletes fully replayed segments ahead of the active one.
func (s *Spool) skipDone() {
	for len(s.segs) > 1 && s.curOff >= s.segs[0].size {
		_ = os.Remove(s.path(segName(s.segs[0].id)))
		s.segs = s.segs[1:]
		s.curOff = 0
	}
}

func (s *Spool) writeCursor() error {
	var b [20]byte
	binary.BigEndian.PutUint64(b[0:], s.segs[0].id)
	binary.BigEndian.PutUint64(b[8:], uint64(s.curOff))
	binary.BigEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	tmp := s.path("cursor.tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("spool: cursor: %w", err)
	}
	if _, err := f.Write(b[:]); err != nil {
		f.Close()
		return fmt.Errorf("spool: cursor: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("spool: cursor: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spool: cursor: %w", err)
	}
	if err := os.Rename(tmp, s.path("cursor")); err != nil {
		return fmt.Errorf("spool: cursor: %w", err)
	}
	return syncDir(s.cfg.Dir)
}

func (s *Spool) readCursor() (seg uint64, off int64, ok bool) {
	b, err := os.ReadFile(s.path("cursor"))
	if err != nil || len(b) != 20 || crc32.Checksum(b[:16], castagnoli) != binary.BigEndian.Uint32(b[16:]) {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(b), int64(binary.BigEndian.Uint64(b[8:])), true
}

// Len returns the points waiting for replay and the bytes of the segment files.
func (s *Spool) Len() (points int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, g := range s.segs {
		bytes += g.size
		if i == 0 {
			for _, r := range g.recs {
				if r.off >= s.curOff {
					points += r.points
				}
			}
			continue
		}
		points += g.points
	}
	return points, bytes
}

// Empty reports whether nothing waits for replay.
func (s *Spool) Empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, g := range s.segs {
		if (i == 0 && s.curOff < g.size) || (i > 0 && g.size > 0) {
			return false
		}
	}
	return true
}

// Oldest returns the timestamp of the oldest reading waiting for replay.
func (s *Spool) Oldest() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, g := range s.segs {
		for _, r := range g.recs {
			if i == 0 && r.off < s.curOff {
				continue
			}
			return time.Unix(0, r.oldest), true
		}
	}
	return time.Time{}, false
}

// ReplayRate is the configured replay rate in points a second.
func (s *Spool) ReplayRate() int { return s.cfg.ReplayRate }

// Close closes the active segment. Everything appended is already on disk.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.active.Close()
}
