package patrol

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	d := NewDispatcher([]Channel{wh, mqtt}, 2, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	for i := range 10 {
		d.Enqueue(Message{Type: ActionAlert, Alert: "A" + strconv.Itoa(i), channels: []string{"webhook", "mqtt"}})
		if got := mqtt.next(t); got.Alert != "A"+strconv.Itoa(i) {
			t.Fatalf("mqtt got %s, want A%d", got.Alert, i)
		}
	}
	// One in flight, two queued, the rest dropped and counted.
	if n := counterValue(t, m, "webhook", "dropped"); n < 6 {
		t.Errorf("webhook drops counted: %v, want at least 6", n)
	}
	once.Do(func() { close(release) })
	cancel()
	<-done
}
