package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStreamSharePerToken: one token cannot take every event-stream slot: past its share (a
// quarter of http.max_streams, at least 4) it gets 503 with Retry-After, and another token's
// console still connects.
func TestStreamSharePerToken(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t)
	s.ServeEvents(NewHub(0, 4))
	s.UsePolicy(Policy{MaxStreams: 8})
	s.UseAuth(NewAuth([]Token{mustToken(t, "g1", "patrol", "one"), mustToken(t, "g2", "patrol", "two")}, false))
	ts := httptest.NewServer(s)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(secret string) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/v1/events", nil)
		req.Host = "127.0.0.1"
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for i := range 4 {
		resp := open("one")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("g1's stream %d: %s", i+1, resp.Status)
		}
		defer resp.Body.Close()
	}
	resp := open("one")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), `g1`) {
		t.Errorf("g1's fifth stream: %s %s, want 503 with Retry-After naming g1", resp.Status, body)
	}
	if resp := open("two"); resp.StatusCode != http.StatusOK {
		t.Errorf("g2's first stream while g1 holds its share: %s, want 200", resp.Status)
	} else {
		resp.Body.Close()
	}
}

// TestStreamGate: the share is a quarter of the slots and at least 4 (never more than all of
// them); open mode counts by the client's address.
func TestStreamGate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limit  int
		who    []string
		want   []streamAdmission
		shares int
	}{
		{name: "a quarter of 64", limit: 64, shares: 16},
		{name: "at least 4", limit: 8, shares: 4},
		{name: "never more than all", limit: 2, shares: 2},
		{name: "one address past its share, another still in", limit: 5,
			who:  []string{"a", "a", "a", "a", "a", "b", "b"},
			want: []streamAdmission{streamAdmitted, streamAdmitted, streamAdmitted, streamAdmitted, streamsShareFull, streamAdmitted, streamsFull}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.shares != 0 && streamShare(tc.limit) != tc.shares {
				t.Errorf("streamShare(%d) = %d, want %d", tc.limit, streamShare(tc.limit), tc.shares)
			}
			var g streamGate
			for i, who := range tc.who {
				if got := g.enter(who, tc.limit); got != tc.want[i] {
					t.Errorf("stream %d of %s: %v, want %v", i+1, who, got, tc.want[i])
				}
			}
		})
	}
	r := httptest.NewRequest("GET", "/api/v1/events", nil)
	r.RemoteAddr = "192.0.2.7:51000"
	if got := streamHolder(r); got != "address 192.0.2.7" {
		t.Errorf("open-mode holder %q, want the address without its port", got)
	}
}
