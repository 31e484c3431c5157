package northbound

import (
	"fmt"
	"log/slog"
	"sync/atomic"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// safeStore is paho's file store that never takes the process down. paho's FileStore panics
// on any I/O error (paho oops.go chkerr): a full disk, or no file descriptor left while a
// flood of sockets holds them all, would otherwise end facilityd in the middle of the night.
// A message the store could not keep is still sent; it is only not kept across a restart,
// and the error is logged (at most once a minute) and counted.
type safeStore struct {
	inner  paho.Store
	log    *slog.Logger
	failed atomic.Uint64
	last   atomic.Int64 // unix seconds of the last log line
	now    func() int64
}

func newSafeStore(inner paho.Store, log *slog.Logger, now func() int64) *safeStore {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &safeStore{inner: inner, log: log, now: now}
}

// Failures is how many store operations failed.
func (s *safeStore) Failures() uint64 { return s.failed.Load() }

// recover turns a panic of the inner store into a logged failure. It must be deferred.
func (s *safeStore) recover(op, key string) {
	r := recover()
	if r == nil {
		return
	}
	s.failed.Add(1)
	now := s.now()
	if last := s.last.Load(); now-last >= 60 && s.last.CompareAndSwap(last, now) {
		s.log.Error("mqtt session store failed: messages in flight are not kept across a restart until it works again (disk full, or out of file descriptors?)",
			"op", op, "key", key, "err", fmt.Sprint(r), "failures", s.failed.Load())
	}
}

func (s *safeStore) Open() {
	defer s.recover("open", "")
	s.inner.Open()
}

func (s *safeStore) Put(key string, m packets.ControlPacket) {
	defer s.recover("put", key)
	s.inner.Put(key, m)
}

func (s *safeStore) Get(key string) (p packets.ControlPacket) {
	defer s.recover("get", key)
	return s.inner.Get(key)
}

func (s *safeStore) All() (keys []string) {
	defer s.recover("all", "")
	return s.inner.All()
}

func (s *safeStore) Del(key string) {
	defer s.recover("del", key)
	s.inner.Del(key)
}

func (s *safeStore) Close() {
	defer s.recover("close", "")
	s.inner.Close()
}

func (s *safeStore) Reset() {
	defer s.recover("reset", "")
	s.inner.Reset()
}
