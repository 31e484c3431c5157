// Package commands writes to the plant: a lighting circuit switched on for the night round, a
// tripped pump reset, a schedule changed. A write is checked against the device's profile
// (only points marked writable, within their limits) and the kinds no one may write (fire
// panels), journalled before it goes out, sent through the device's own driver, read back, and
// journalled again with its result; the completed records reach the event stream and InfluxDB
// from the journal (Delivery). Drivers and the read-back arrive through Writer and Observe;
// nothing here knows Modbus or MQTT.
package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mb "github.com/goburrow/modbus"

	"github.com/facilityd/facilityd/devices"
)

// Errors a caller tells apart (the API maps them to 404, 403, 409, 400 and 422).
var (
	ErrUnknownDevice = errors.New("unknown device")
	ErrUnknownPoint  = errors.New("unknown point")
	ErrDenied        = errors.New("writes to this kind of device are refused")
	ErrNotWritable   = errors.New("point not writable")
	ErrRequest       = errors.New("bad request")
	ErrValue         = errors.New("bad value")
)

// Result is how a write ended.
type Result string

// Results: the read-back shows the value (confirmed) or another (mismatch); the device refused
// or could not be reached (failed, with the Modbus exception if there was one); the device took
// the write but no read-back came within the timeout (unconfirmed). Pending is a write under
// way, or one cut short by a crash.
const (
	ResultConfirmed   Result = "confirmed"
	ResultMismatch    Result = "mismatch"
	ResultFailed      Result = "failed"
	ResultUnconfirmed Result = "unconfirmed"
	ResultPending     Result = "pending"
)

// Request is one write as a person or the night lighting check asks for it.
type Request struct {
	Device string          `json:"device"`
	Point  string          `json:"point"`
	Value  json.RawMessage `json:"value"`
	Reason string          `json:"reason"`
	By     string          `json:"by"`
}

// Record is a write as journalled: who, when, why, the value before, the value asked for, the
// value read back, and the result.
type Record struct {
	ID        int64     `json:"id"`
	Time      time.Time `json:"time"`
	Device    string    `json:"device"`
	Kind      string    `json:"kind"`
	Point     string    `json:"point"`
	Old       any       `json:"old"`
	New       any       `json:"new"`
	ReadBack  any       `json:"read_back"`
	Result    Result    `json:"result"`
	Error     string    `json:"error,omitempty"`
	Exception int       `json:"exception,omitempty"`
	By        string    `json:"by"`
	Reason    string    `json:"reason"`
	Done      time.Time `json:"done"`
}

// Writer sends a write to a device through its driver. It returns the snapshot that read the
// write back, or nil when the read-back comes later through Observe (a device that publishes).
type Writer interface {
	Write(ctx context.Context, dev *devices.Device, pt *devices.Point, v devices.Value) (*devices.Snapshot, error)
}

// WriterFunc adapts a function to Writer.
type WriterFunc func(ctx context.Context, dev *devices.Device, pt *devices.Point, v devices.Value) (*devices.Snapshot, error)

// Write calls f.
func (f WriterFunc) Write(ctx context.Context, dev *devices.Device, pt *devices.Point, v devices.Value) (*devices.Snapshot, error) {
	return f(ctx, dev, pt, v)
}

// Config is what the service needs.
type Config struct {
	// Latest finds devices, their profiles and the values before a write.
	Latest *devices.Latest
	Writer Writer
	Store  *Store
	// DenyKinds are never written, whatever their profiles say (commands.deny_kinds).
	DenyKinds []devices.Kind
	// Timeout bounds a write and its read-back (commands.timeout).
	Timeout time.Duration
	// Sinks hear of every finished write (the event stream, InfluxDB) from the journal, as Run
	// delivers it (delivery.go), never from inside Write: a crash after the result is
	// journalled loses nothing, and each sink resumes from its cursor at the next start.
	Sinks []Sink
	// Retention is how long the journal keeps a write every sink has handled (default
	// DefaultRetention, a year).
	Retention time.Duration
	Now       func() time.Time
	Log       *slog.Logger
}

// Service checks, sends, reads back and journals writes.
type Service struct {
	cfg      Config
	delivery *Delivery

	mu      sync.Mutex
	waiters map[string][]chan *devices.Snapshot
	// listening counts the channels in waiters, for Observe to pass by without the lock.
	listening atomic.Int32
}

// New builds the service; Latest, Writer and Store are required. It registers each sink's
// cursor (NewDelivery), so build it before any write of this run.
func New(cfg Config) (*Service, error) {
	if cfg.Latest == nil || cfg.Writer == nil || cfg.Store == nil {
		return nil, errors.New("commands: Latest, Writer and Store are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	d, err := NewDelivery(DeliveryConfig{Store: cfg.Store, Sinks: cfg.Sinks, Retention: cfg.Retention, Now: cfg.Now, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, delivery: d, waiters: map[string][]chan *devices.Snapshot{}}, nil
}

// Run hands the completed writes to the sinks and keeps the journal's retention until ctx
// ends; what is not handled by then is handed over at the next start.
func (s *Service) Run(ctx context.Context) error { return s.delivery.Run(ctx) }

// Observe sees every snapshot of every device; a write waiting for its device's read-back
// takes it. It never blocks.
func (s *Service) Observe(snap *devices.Snapshot) {
	if s.listening.Load() == 0 {
		return // no write waits for a read-back: a poll costs a load, not a lock
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.waiters[snap.Device.ID] {
		select {
		case ch <- snap:
		default:
		}
	}
}

// Target finds the point a request names and checks that it may be written.
func (s *Service) Target(device, point string) (*devices.Device, *devices.Point, int, error) {
	st, ok := s.cfg.Latest.Get(device)
	if !ok || st.Device.Profile == nil {
		return nil, nil, -1, fmt.Errorf("device %q: %w", device, ErrUnknownDevice)
	}
	dev := st.Device
	for _, k := range s.cfg.DenyKinds {
		if dev.Kind == k {
			return nil, nil, -1, fmt.Errorf("device %s is a %s: %w (commands.deny_kinds), whatever its profile says", device, dev.Kind, ErrDenied)
		}
	}
	pt, idx, ok := dev.Profile.Point(point)
	if !ok {
		return nil, nil, -1, fmt.Errorf("device %s (profile %s) has no point %q: %w", device, dev.Profile.Name, point, ErrUnknownPoint)
	}
	if !pt.Writable {
		return nil, nil, -1, fmt.Errorf("point %s of device %s is not marked writable in profile %s: %w", point, device, dev.Profile.Name, ErrNotWritable)
	}
	return dev, pt, idx, nil
}

// Writable is a point of a device that may be written, as a client draws its control: a
// switch for a bool, a number field for a number (within Min and Max, in steps of 1 when
// Integer). Enums and strings are written through the API only.
type Writable struct {
	Point   string   `json:"point"`
	Type    string   `json:"type"` // "bool" or "number"
	Min     *float64 `json:"min,omitempty"`
	Max     *float64 `json:"max,omitempty"`
	Integer bool     `json:"integer,omitempty"`
	Unit    string   `json:"unit,omitempty"`
}

// Writable lists the points of device a write may go to (none for an unknown device or a
// kind in DenyKinds), so that a console offers controls for these and no others.
func (s *Service) Writable(device string) []Writable {
	st, ok := s.cfg.Latest.Get(device)
	if !ok || st.Device.Profile == nil {
		return nil
	}
	var out []Writable
	for i := range st.Device.Profile.Points {
		pt := &st.Device.Profile.Points[i]
		if _, _, _, err := s.Target(device, pt.Name); err != nil {
			if errors.Is(err, ErrDenied) {
				return nil
			}
			continue
		}
		w := Writable{Point: pt.Name, Min: pt.Min, Max: pt.Max, Unit: pt.Unit}
		switch {
		case pt.IsBool():
			w.Type = "bool"
		case pt.Type == devices.TypeString || pt.Type == devices.TypeEnum:
			continue
		default:
			w.Type = "number"
			float := pt.Type == devices.TypeFloat32 || pt.Type == devices.TypeFloat64
			w.Integer = !float && pt.Scale == 1 && pt.Offset == 0
		}
		out = append(out, w)
	}
	return out
}

// Write performs one write and returns its record. An error means the request was refused
// before anything went out; a write that went out and failed is a record with result failed.
func (s *Service) Write(ctx context.Context, req Request) (Record, error) {
	dev, pt, idx, err := s.Target(req.Device, req.Point)
	if err != nil {
		return Record{}, err
	}
	req.By, req.Reason = strings.TrimSpace(req.By), strings.TrimSpace(req.Reason)
	if req.By == "" || req.Reason == "" {
		return Record{}, fmt.Errorf("%w: \"by\" (who writes) and \"reason\" (why) are required", ErrRequest)
	}
	v, err := ParseValue(pt, req.Value)
	if err != nil {
		return Record{}, err
	}
	rec := Record{Time: s.cfg.Now(), Device: dev.ID, Kind: string(dev.Kind), Point: pt.Name,
		New: pt.Typed(v), By: req.By, Reason: req.Reason, Result: ResultPending}
	if v.Relinquish {
		rec.New = nil // relinquished: the record's new value is null, as written
	}
	if st, ok := s.cfg.Latest.Get(dev.ID); ok && idx < len(st.Values) && st.Values[idx].Quality == devices.QualityGood {
		rec.Old = pt.Typed(st.Values[idx])
	}
	if err := s.cfg.Store.begin(ctx, &rec); err != nil {
		return Record{}, err
	}
	s.run(ctx, dev, pt, idx, v, &rec)
	rec.Done = s.cfg.Now()
	if err := s.cfg.Store.finish(&rec); err != nil {
		s.cfg.Log.Error("command result not journalled", "id", rec.ID, "device", rec.Device, "point", rec.Point, "result", rec.Result, "err", err)
	}
	s.cfg.Log.Info("command", "id", rec.ID, "device", rec.Device, "point", rec.Point, "old", rec.Old, "new", rec.New,
		"read_back", rec.ReadBack, "result", rec.Result, "error", rec.Error, "by", rec.By, "reason", rec.Reason)
	return rec, nil
}

// Switch writes on or off to a bool point for a part of facilityd that switches the plant
// itself (the night lighting check, alarms/patrol.Switcher): the same checks, journal and
// sinks as a write through the API. It returns the write's result; an error means it was
// refused before anything went out.
func (s *Service) Switch(ctx context.Context, device, point string, on bool, by, reason string) (string, error) {
	rec, err := s.Write(ctx, Request{Device: device, Point: point, Value: json.RawMessage(strconv.FormatBool(on)), By: by, Reason: reason})
	if err != nil {
		return "", err
	}
	return string(rec.Result), nil
}

// run sends the write and waits for its read-back, filling in the record's outcome. Once the
// write is journalled pending it is handed to the poller (or the MQTT session), which sends it
// whether or not the caller still waits: its outcome is the plant's, bounded by Timeout, not the
// caller's context. An HTTP client that hangs up then only stops waiting, and the journal says
// what the plant did rather than "context canceled".
func (s *Service) run(ctx context.Context, dev *devices.Device, pt *devices.Point, idx int, v devices.Value, rec *Record) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	defer cancel()
	// Listen before sending: a read-back may arrive before Write returns.
	seen := make(chan *devices.Snapshot, 16)
	s.listen(dev.ID, seen, true)
	defer s.listen(dev.ID, seen, false)
	snap, err := s.cfg.Writer.Write(ctx, dev, pt, v)
	if err != nil {
		rec.Result, rec.Error = ResultFailed, err.Error()
		var exc *mb.ModbusError
		if errors.As(err, &exc) {
			rec.Exception = int(exc.ExceptionCode)
		}
		return
	}
	// A polled device was read back by the poll right after the write (or, if that poll
	// failed, is by a later one); a device that publishes is read back by its next payloads.
	pushed := snap == nil
	var after time.Time
	if snap != nil {
		after = snap.Time
	}
	for {
		if snap != nil && snap.OK() && !snap.Time.Before(after) && idx < len(snap.Values) {
			got := snap.Values[idx]
			if Matches(pt, v, got) {
				rec.Result, rec.ReadBack, rec.Error = ResultConfirmed, pt.Typed(got), ""
				return
			}
			rec.Result, rec.ReadBack = ResultMismatch, nil
			if got.Quality == devices.QualityGood {
				rec.ReadBack = pt.Typed(got)
			} else {
				rec.Error = "the point read back with quality " + got.Quality.String()
			}
			if !pushed {
				return
			}
		}
		select {
		case snap = <-seen:
		case <-ctx.Done():
			if rec.Result != ResultMismatch {
				rec.Result, rec.Error = ResultUnconfirmed, fmt.Sprintf("written; no read-back within %v", s.cfg.Timeout)
			}
			return
		}
	}
}

func (s *Service) listen(device string, ch chan *devices.Snapshot, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.waiters[device]
	if on {
		s.waiters[device] = append(list, ch)
		s.listening.Add(1)
		return
	}
	for i, c := range list {
		if c == ch {
			s.waiters[device] = append(list[:i:i], list[i+1:]...)
			s.listening.Add(-1)
			break
		}
	}
	if len(s.waiters[device]) == 0 {
		delete(s.waiters, device)
	}
}

// List returns the journalled writes, newest first (one device's when device is set).
func (s *Service) List(ctx context.Context, device string, limit int) ([]Record, error) {
	return s.cfg.Store.List(ctx, device, limit)
}
