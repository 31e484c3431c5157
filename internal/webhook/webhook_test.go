package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// verify is what a receiver does: recompute the signature and reject stale timestamps.
func verify(secret []byte, r *http.Request, body []byte, now time.Time) error {
	return Verify(secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, now, 5*time.Minute)
}

func mustNew(t *testing.T, url string, secret []byte) *Sender {
	t.Helper()
	s, err := New(url, secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
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
			wh := mustNew(t, srv.URL, secret)
			wh.Retries, wh.BackoffMin, wh.BackoffMax = 4, 100*time.Millisecond, 300*time.Millisecond
			wh.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() }
			err := wh.Send(context.Background(), []byte(`{"alert":"A1","message":"fire"}`))
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
	wh := mustNew(t, srv.URL, []byte("k"))
	wh.Retries = 10
	wh.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	if err := wh.Send(ctx, []byte(`{}`)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d requests after cancel, want 1", calls.Load())
	}
}

// A receiver refuses a captured request replayed later, and one whose body was changed.
func TestVerifyRefusesReplayAndTampering(t *testing.T) {
	t.Parallel()
	secret := []byte("k")
	body := []byte(`{"alert":"A1"}`)
	at := time.Unix(1700000000, 0)
	sig := Sign(secret, at.Unix(), body)
	if err := Verify(secret, "1700000000", sig, body, at.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("a fresh request: %v", err)
	}
	if err := Verify(secret, "1700000000", sig, body, at.Add(time.Hour), 5*time.Minute); err == nil {
		t.Error("a request replayed an hour later verified")
	}
	if err := Verify(secret, "1700003600", sig, body, at.Add(time.Hour), 5*time.Minute); err == nil {
		t.Error("a replay with a fresh timestamp verified")
	}
	if err := Verify(secret, "1700000000", sig, []byte(`{"alert":"A2"}`), at, 5*time.Minute); err == nil {
		t.Error("a changed body verified")
	}
}

// Without a secret only a loopback receiver is allowed; the URL never shows in an error.
func TestSecretRequiredBeyondLoopback(t *testing.T) {
	t.Parallel()
	const robot = "https://oapi.example.com/robot/send?access_token=SECRET-TOKEN"
	if _, err := New(robot, nil); !errors.Is(err, ErrNoSecret) || strings.Contains(err.Error(), "SECRET-TOKEN") {
		t.Errorf("unsigned to a remote URL: %v, want ErrNoSecret without the token", err)
	}
	for _, u := range []string{"http://127.0.0.1:9000/hook", "http://localhost/hook", "http://[::1]:80/"} {
		if _, err := New(u, nil); err != nil {
			t.Errorf("unsigned to loopback %s: %v", u, err)
		}
	}
	if _, err := New("ftp://x", []byte("k")); err == nil {
		t.Error("an ftp URL was taken")
	}
	s, err := New(robot, []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); strings.Contains(got, "SECRET-TOKEN") || got != "https://oapi.example.com/robot/send?<hidden>" {
		t.Errorf("printed sender: %q", got)
	}
}

// A failing delivery's error names the receiver but not its token.
func TestErrorsHideTheURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	addr := srv.URL
	srv.Close() // nothing listens: a network error, which net/http reports with the full URL
	for _, u := range []string{addr + "/hook?access_token=SECRET-TOKEN", "http://127.0.0.1:1/hook?access_token=SECRET-TOKEN"} {
		s := mustNew(t, u, []byte("k"))
		s.Retries = 0
		err := s.Send(context.Background(), []byte(`{}`))
		if err == nil || strings.Contains(err.Error(), "SECRET-TOKEN") {
			t.Errorf("error %v: want one without the token", err)
		}
	}
	_ = io.Discard
}
