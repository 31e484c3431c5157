package patrol

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/webhook"
)

// A webhook that never answers must not hold up the handsets.
func TestHungWebhookDoesNotBlockOtherChannels(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer once.Do(func() { close(release) })
	sender, err := webhook.New(srv.URL, []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	sender.Timeout, sender.Retries = time.Minute, 0
	wh := &Webhook{Sender: sender}
	mqtt := newFakeChannel("mqtt")
	m := NewMetrics(nil)
	store, err := OpenStore(filepath.Join(t.TempDir(), "patrol.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	d := NewDispatcher(store, []Channel{wh, mqtt}, m, slog.New(slog.NewTextHandler(io.Discard, nil)), DispatchOptions{Retries: 3})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	for i := range 10 {
		d.Enqueue(Message{Type: ActionAlert, Alert: "A" + strconv.Itoa(i), channels: []string{"webhook", "mqtt"}})
		if got := mqtt.next(t); got.Alert != "A"+strconv.Itoa(i) {
			t.Fatalf("mqtt got %s, want A%d", got.Alert, i)
		}
	}
	// Nothing is dropped: the webhook's messages wait in the outbox for it. (The last mqtt
	// message is recorded sent just after the fake hands it over.)
	var counts map[string]int
	deadline := time.Now().Add(5 * time.Second)
	for {
		if counts, err = store.OutboxCounts(); err != nil {
			t.Fatal(err)
		}
		if counts["mqtt/sent"] == 10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if counts["webhook/pending"] != 10 || counts["mqtt/sent"] != 10 {
		t.Errorf("outbox %v: want 10 webhook messages pending and 10 mqtt sent", counts)
	}
	once.Do(func() { close(release) })
	cancel()
	<-done
}
