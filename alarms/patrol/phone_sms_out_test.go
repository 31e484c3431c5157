package patrol

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestSendSMS: a resident's text goes out through the patrol's SMS gateway to the number
// asked; a patrol without an SMS channel says so (ErrNoSMS) instead of dropping it.
func TestSendSMS(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]string
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
	}))
	defer srv.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := phoneConfig(t)
	cfg.Phones.SMS.Gateway.URL = srv.URL
	cfg.Phones.SMS.Gateway.Body = `{"to": {{json .To}}, "text": {{json .Text}}}`
	s, err := New(*cfg, Deps{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	text := "尊敬的 3-1-1802 业主：您房屋的保修期将于 2026-04-15 期满"
	if err := s.SendSMS(context.Background(), "13900000001", text); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got) != 1 || got[0]["to"] != "13900000001" || got[0]["text"] != text {
		t.Errorf("gateway got %v", got)
	}
	mu.Unlock()

	bare := phoneConfig(t)
	bare.Phones.SMS.Gateway.URL, bare.Phones.SMS.Modem.Port = "", ""
	none, err := New(*bare, Deps{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	if err := none.SendSMS(context.Background(), "13900000001", text); !errors.Is(err, ErrNoSMS) {
		t.Fatalf("without an SMS channel: %v, want ErrNoSMS", err)
	}
}
