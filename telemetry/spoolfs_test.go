package telemetry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
)

// errDown is what every call returns once the simulated machine has crashed.
var errDown = errors.New("memfs: the machine is down")

// tornWrite, returned by a fault hook for a write, writes its first n bytes and fails.
type tornWrite struct{ n int }

func (e tornWrite) Error() string {
	return fmt.Sprintf("memfs: write cut after %d bytes: no space left on device", e.n)
}

// memFS is a spoolFS in memory that keeps apart what the process sees (the page cache) from
// what the disk holds, the way POSIX allows a file system to: file data is on disk after the
// file's fsync; creations, renames and removals after the directory's fsync, in the order
// they were made. It can fail a call (fault), let the machine die at a given call (crashAt),
// tearing the write it dies in at a random byte, and then either keep the page cache (kill -9)
// or lose what was not fsync'd (power loss: the disk keeps an arbitrary prefix of the data
// and of the directory changes made since the last fsync).
type memFS struct {
	mu    sync.Mutex
	rng   *rand.Rand
	files map[string]*memFile // the directory as the process sees it
	disk  map[string]*memFile // the directory as the disk holds it
	// pending are the directory changes since the last SyncDir, in order.
	pending []dirOp
	calls   int // calls made so far
	crashAt int // the call the machine dies in; 0: it does not
	down    bool
	gen     int // handles from before a crash fail
	// fault, if set, may fail a call: op is "create", "write", "sync", "truncate", "remove",
	// "rename", "syncdir", "open", "read", "readdir"; name is the file's base name.
	fault func(op, name string) error
	// created is every segment file name ever created; reused those created twice.
	created map[string]bool
	reused  []string
}

type memFile struct {
	data   []byte // as the process sees it
	synced []byte // as it is on disk
}

type dirOp struct {
	kind          string // create, remove, rename
	name, newname string
	f             *memFile
}

func newMemFS(rng *rand.Rand) *memFS {
	return &memFS{rng: rng, files: map[string]*memFile{}, disk: map[string]*memFile{}, created: map[string]bool{}}
}

// enter counts a call and says whether the machine is down by now; a write that the crash
// cuts learns it through torn.
func (m *memFS) enter(op, name string) (torn bool, err error) {
	if m.down {
		return false, errDown
	}
	m.calls++
	if m.crashAt > 0 && m.calls >= m.crashAt {
		m.down = true
		return op == "write", errDown
	}
	if m.fault != nil {
		return false, m.fault(op, filepath.Base(name))
	}
	return false, nil
}

// crashIn makes the machine die in the n-th call from now (n >= 1).
func (m *memFS) crashIn(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.crashAt = m.calls + n
}

func (m *memFS) isDown() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.down
}

func (m *memFS) callCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// crash ends the process: its handles fail from now on. With powerLoss the page cache is
// lost too: what survives is what was on disk, plus an arbitrary prefix of what was not.
func (m *memFS) crash(powerLoss bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.down, m.crashAt = false, 0
	m.gen++
	if !powerLoss {
		return
	}
	files := maps.Clone(m.disk)
	for _, op := range m.pending[:m.rng.IntN(len(m.pending)+1)] {
		op.apply(files)
	}
	for _, f := range files {
		f.data = f.afterPowerLoss(m.rng)
		f.synced = bytes.Clone(f.data)
	}
	m.files, m.disk, m.pending = files, maps.Clone(files), nil
}

// afterPowerLoss is what of f the disk may hold: its fsync'd data and a prefix of what was
// appended since (or, after a truncation, either length).
func (f *memFile) afterPowerLoss(rng *rand.Rand) []byte {
	if bytes.HasPrefix(f.data, f.synced) {
		return bytes.Clone(f.data[:len(f.synced)+rng.IntN(len(f.data)-len(f.synced)+1)])
	}
	if rng.IntN(2) == 0 {
		return bytes.Clone(f.synced)
	}
	return bytes.Clone(f.data)
}

func (op dirOp) apply(files map[string]*memFile) {
	switch op.kind {
	case "create":
		files[op.name] = op.f
	case "remove":
		delete(files, op.name)
	case "rename":
		if f, ok := files[op.name]; ok {
			files[op.newname] = f
			delete(files, op.name)
		}
	}
}

// clone copies what the process sees, as a machine of its own with everything on disk.
func (m *memFS) clone() *memFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := newMemFS(rand.New(rand.NewPCG(1, 2)))
	for name, f := range m.files {
		c.files[name] = &memFile{data: bytes.Clone(f.data), synced: bytes.Clone(f.data)}
	}
	c.disk = maps.Clone(c.files)
	return c
}

// segFiles returns the segment files as the process sees them, oldest first.
func (m *memFS) segFiles() (names []string, data [][]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name := range m.files {
		if filepath.Ext(name) == ".seg" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		data = append(data, bytes.Clone(m.files[n].data))
	}
	return names, data
}

func notExist(op, name string) error { return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist} }

func (m *memFS) MkdirAll(string) error { return nil }

func (m *memFS) ReadDir(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.enter("readdir", dir); err != nil {
		return nil, err
	}
	var names []string
	for name := range m.files {
		if filepath.Dir(name) == filepath.Clean(dir) {
			names = append(names, filepath.Base(name))
		}
	}
	return names, nil
}

func (m *memFS) ReadFile(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.enter("read", name); err != nil {
		return nil, err
	}
	f, ok := m.files[name]
	if !ok {
		return nil, notExist("open", name)
	}
	return bytes.Clone(f.data), nil
}

func (m *memFS) Create(name string) (spoolFile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.enter("create", name); err != nil {
		return nil, err
	}
	if filepath.Ext(name) == ".seg" {
		if m.created[name] {
			m.reused = append(m.reused, filepath.Base(name))
		}
		m.created[name] = true
	}
	f, ok := m.files[name]
	if ok {
		f.data = nil
	} else {
		f = &memFile{}
		m.files[name] = f
		m.pending = append(m.pending, dirOp{kind: "create", name: name, f: f})
	}
	return &memHandle{m: m, f: f, name: name, gen: m.gen}, nil
}

func (m *memFS) Open(name string) (spoolFile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.enter("open", name); err != nil {
		return nil, err
	}
	f, ok := m.files[name]
	if !ok {
		return nil, notExist("open", name)
	}
	return &memHandle{m: m, f: f, name: name, gen: m.gen}, nil
}

func (m *memFS) Truncate(name string, size int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.enter("truncate", name); err != nil {
		return err
	}
	f, ok := m.files[name]
	if !ok {
		return notExist("truncate", name)
	}
	f.truncate(size)
	return nil
}

func (f *memFile) truncate(size int64) {
	if int(size) <= len(f.data) {
		f.data = f.data[:size:size]
		return
	}
	f.data = append(f.data, make([]byte, int(size)-len(f.data))...)
}

func (m *memFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.enter("remove", name); err != nil {
		return err
	}
	if _, ok := m.files[name]; !ok {
		return notExist("remove", name)
	}
	delete(m.files, name)
	m.pending = append(m.pending, dirOp{kind: "remove", name: name})
	return nil
}

func (m *memFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.enter("rename", oldname); err != nil {
		return err
	}
	op := dirOp{kind: "rename", name: oldname, newname: newname}
	if _, ok := m.files[oldname]; !ok {
		return notExist("rename", oldname)
	}
	op.apply(m.files)
	m.pending = append(m.pending, op)
	return nil
}

func (m *memFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.enter("syncdir", dir); err != nil {
		return err
	}
	m.disk, m.pending = maps.Clone(m.files), nil
	return nil
}

// memHandle is an open file of a memFS; writes append (the spool opens with O_APPEND).
type memHandle struct {
	m      *memFS
	f      *memFile
	name   string
	gen    int
	closed bool
}

func (h *memHandle) check(op string) (torn bool, err error) {
	if h.gen != h.m.gen {
		return false, errDown
	}
	if h.closed {
		return false, fs.ErrClosed
	}
	return h.m.enter(op, h.name)
}

func (h *memHandle) Write(p []byte) (int, error) {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	torn, err := h.check("write")
	var tw tornWrite
	switch {
	case torn:
		n := h.m.rng.IntN(len(p) + 1)
		h.f.data = append(h.f.data, p[:n]...)
		return n, err
	case errors.As(err, &tw):
		h.f.data = append(h.f.data, p[:min(tw.n, len(p))]...)
		return min(tw.n, len(p)), err
	case err != nil:
		return 0, err
	}
	h.f.data = append(h.f.data, p...)
	return len(p), nil
}

func (h *memHandle) ReadAt(p []byte, off int64) (int, error) {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	if _, err := h.check("read"); err != nil {
		return 0, err
	}
	if off >= int64(len(h.f.data)) {
		return 0, io.EOF
	}
	n := copy(p, h.f.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Sync puts the file's data on disk. A failed one may have put any part of it there.
func (h *memHandle) Sync() error {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	if _, err := h.check("sync"); err != nil {
		if err != errDown {
			h.f.synced = h.f.afterPowerLoss(h.m.rng)
		}
		return err
	}
	h.f.synced = bytes.Clone(h.f.data)
	return nil
}

func (h *memHandle) Truncate(size int64) error {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	if _, err := h.check("truncate"); err != nil {
		return err
	}
	h.f.truncate(size)
	return nil
}

func (h *memHandle) Close() error {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	if _, err := h.check("close"); err != nil {
		return err
	}
	h.closed = true
	return nil
}
