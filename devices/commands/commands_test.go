package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// queuedWriter stands in for a poller: it takes the write (queued), and answers once the plant
// has taken it (release). Like the poller, it stops waiting when its context ends, although the
// write still goes out.
type queuedWriter struct {
	queued  chan struct{}
	release chan struct{}
	dev     *devices.Device
}

func (w *queuedWriter) Write(ctx context.Context, dev *devices.Device, pt *devices.Point, v devices.Value) (*devices.Snapshot, error) {
	close(w.queued)
	select {
	case <-w.release:
	case <-ctx.Done():
		return nil, fmt.Errorf("device %q: no answer to the write yet: %w", dev.ID, ctx.Err())
	}
	_, idx, _ := dev.Profile.Point(pt.Name)
	snap := &devices.Snapshot{Device: dev, Time: time.Now(), Comm: devices.CommOnline, Values: make([]devices.Value, len(dev.Profile.Points))}
	snap.Values[idx] = devices.Value{Number: v.Number, Quality: devices.QualityGood}
	return snap, nil
}

// TestWriteOutlivesItsClient: a client that disconnects once its write is queued does not make
// the write "failed" in the journal: the poller sends it and reads it back, and the journal says
// confirmed, as the plant is.
func TestWriteOutlivesItsClient(t *testing.T) {
	t.Parallel()
	prof, ok := devices.Builtin("lighting")
	if !ok {
		t.Fatal("no built-in lighting profile")
	}
	dev := &devices.Device{ID: "LP-1", Kind: devices.KindLighting, Site: "s", Profile: prof}
	store, err := OpenStore(filepath.Join(t.TempDir(), "commands.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	w := &queuedWriter{queued: make(chan struct{}), release: make(chan struct{}), dev: dev}
	svc, err := New(Config{Latest: devices.NewLatest([]*devices.Device{dev}), Writer: w, Store: store, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, hangUp := context.WithCancel(context.Background())
	done := make(chan Record, 1)
	go func() {
		rec, err := svc.Write(ctx, Request{Device: "LP-1", Point: "circuit_03_command", Value: json.RawMessage("true"), By: "eng-zhang", Reason: "dark path"})
		if err != nil {
			t.Errorf("Write: %v", err)
		}
		done <- rec
	}()
	<-w.queued
	hangUp() // the HTTP client goes away
	close(w.release)
	rec := <-done
	if rec.Result != ResultConfirmed {
		t.Errorf("answered %s (%s), want confirmed", rec.Result, rec.Error)
	}
	list, err := store.List(context.Background(), "LP-1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Result != ResultConfirmed || list[0].Error != "" {
		t.Errorf("journal %+v, want one confirmed write", list)
	}
}
