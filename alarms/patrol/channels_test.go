package patrol

import (
	"context"
	"crypto/hmac"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// verify is what a receiver does: recompute the signature and reject stale timestamps.
func verify(secret []byte, r *http.Request, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return err
	}
	if d := now.Sub(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("stale timestamp")
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(r.Header.Get(HeaderSignature))) {
		return errors.New("bad signature")
	}
	return nil
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	secret := []byte("s3cret")
	tests := []struct {
		name      string
		statuses  []int // replies in order; the last repeats
		wantErr   bool
		wantCalls int
		wantWaits []time.Duration
	}{
		{"ok at once", []int{200}, false, 1, nil},
		{"500 twice then ok: retried with backoff", []int{500, 503, 204}, false, 3, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{"429 is retried", []int{429, 200}, false, 2, []time.Duration{100 * time.Millisecond}},
		{"400 is not retried", []int{400}, true, 1, nil},
		{"always 500: gives up after the retries, backoff capped", []int{500}, true, 5, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			var badSig atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if err := verify(secret, r, body, time.Now()); err != nil {
					badSig.Store(err.Error())
				}
				n := int(calls.Add(1)) - 1
				w.WriteHeader(tt.statuses[min(n, len(tt.statuses)-1)])
			}))
			defer srv.Close()
			var waits []time.Duration
			wh := &Webhook{URL: srv.URL, Secret: secret, Retries: 4, BackoffMin: 100 * time.Millisecond, BackoffMax: 300 * time.Millisecond,
				Sleep: func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() }}
			err := wh.Send(context.Background(), Message{Type: ActionAlert, Alert: "A1", Message: "fire"})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if int(calls.Load()) != tt.wantCalls {
				t.Errorf("%d requests, want %d", calls.Load(), tt.wantCalls)
			}
			if !slices.Equal(waits, tt.wantWaits) {
				t.Errorf("waits %v, want %v", waits, tt.wantWaits)
			}
			if v := badSig.Load(); v != nil {
				t.Errorf("receiver could not verify: %v", v)
			}
		})
	}
}

func TestWebhookSignatureRejectsTampering(t *testing.T) {
	t.Parallel()
	secret := []byte("k")
	body := []byte(`{"alert":"A1"}`)
	sig := Sign(secret, 1700000000, body)
	if sig == Sign(secret, 1700000001, body) {
		t.Error("the signature does not cover the timestamp: a replay with a fresh timestamp would verify")
	}
	if sig == Sign(secret, 1700000000, []byte(`{"alert":"A2"}`)) {
		t.Error("the signature does not cover the body")
	}
	if sig == Sign([]byte("other"), 1700000000, body) {
		t.Error("the signature does not depend on the secret")
	}
}

func TestWebhookContextStopsRetries(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(500)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	wh := &Webhook{URL: srv.URL, Secret: []byte("k"), Retries: 10,
		Sleep: func(context.Context, time.Duration) error { cancel(); return context.Canceled }}
	if err := wh.Send(ctx, Message{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d requests after cancel, want 1", calls.Load())
	}
}

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
	wh := &Webhook{URL: srv.URL, Secret: []byte("k"), Timeout: time.Minute, Retries: 0}
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
