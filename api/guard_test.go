package api

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The journal names whoever holds the token, whatever the body says; only an admin acts for
// someone else, and then the journal keeps both.
func TestActorFromToken(t *testing.T) {
	t.Parallel()
	s := alarmServer(t)
	s.UseAuth(NewAuth([]Token{mustToken(t, "g-wang", "patrol", "p"), mustToken(t, "boss", "admin", "a")}, false))
	call := func(secret, path, body string) (int, string) {
		req := newTestRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if code, body := call("p", "/api/v1/alarms/P-1/pump_trip/ack", `{"by": "chief"}`); code != http.StatusForbidden || !strings.Contains(body, `may not name \"chief\"`) {
		t.Errorf("patrol token naming someone else: %d %s, want 403", code, body)
	}
	if code, body := call("p", "/api/v1/alarms/P-1/pump_trip/ack", `{"note": "on site"}`); code != http.StatusOK || !strings.Contains(body, `"acked_by": "g-wang"`) {
		t.Errorf("patrol token without by: %d %s, want 200 acked by g-wang", code, body)
	}
	if code, body := call("a", "/api/v1/alarms/L1-1/entrapment/ack", `{"by": "g-li", "note": "by phone"}`); code != http.StatusOK || !strings.Contains(body, `"acked_by": "boss"`) {
		t.Fatalf("admin on behalf: %d %s, want 200 acked by boss", code, body)
	}
	rec := httptest.NewRecorder()
	req := newTestRequest("GET", "/api/v1/alarms/L1-1/entrapment", nil)
	req.Header.Set("Authorization", "Bearer a")
	s.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `"by": "boss"`) || !strings.Contains(rec.Body.String(), `"reason": "on_behalf_of g-li: by phone"`) {
		t.Errorf("journal of an admin acting for g-li keeps both: %s", rec.Body)
	}
}

// Open, the name acting must be one the configuration knows.
func TestActorInOpenMode(t *testing.T) {
	t.Parallel()
	s := alarmServer(t)
	s.UsePolicy(Policy{Actors: []string{"g-wang", "tech-chen"}})
	if code, body := send(t, s, "POST", "/api/v1/alarms/P-1/pump_trip/ack", `{"by": "evil"}`); code != http.StatusForbidden || !strings.Contains(body, "http.operators") {
		t.Errorf("unknown name: %d %s, want 403 naming where names come from", code, body)
	}
	if code, body := send(t, s, "POST", "/api/v1/alarms/P-1/pump_trip/ack", `{}`); code != http.StatusBadRequest {
		t.Errorf("no name: %d %s, want 400", code, body)
	}
	if code, body := send(t, s, "POST", "/api/v1/alarms/P-1/pump_trip/ack", `{"by": "tech-chen"}`); code != http.StatusOK || !strings.Contains(body, `"acked_by": "tech-chen"`) {
		t.Errorf("a configured name: %d %s, want 200", code, body)
	}
}

// At most MaxStreams event streams; the next gets 503 and can retry.
func TestStreamLimit(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t)
	hub := NewHub(0, 4)
	s.ServeEvents(hub)
	s.UsePolicy(Policy{MaxStreams: 2})
	ts := httptest.NewServer(s)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() *http.Response {
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/v1/events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for i := 0; i < 2; i++ {
		if resp := open(); resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %s", i+1, resp.Status)
		} else {
			defer resp.Body.Close()
		}
	}
	resp := open()
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("third stream: %s, want 503 with Retry-After", resp.Status)
	}
}

// A client that stops reading must not hold its handler (a goroutine and a socket) forever:
// the write deadline per event fails the write and the handler returns.
func TestStalledStreamFreesItsHandler(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t)
	hub := NewHub(0, 1<<20) // never dropped by the hub: only the write deadline can free it
	hub.WriteTimeout = 50 * time.Millisecond
	s.ServeEvents(hub)
	ts := httptest.NewServer(s)
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /api/v1/events HTTP/1.1\r\nHost: " + ts.Listener.Addr().String() + "\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if status, _ := bufio.NewReader(conn).ReadString('\n'); !strings.Contains(status, "200") {
		t.Fatalf("stream: %q", status)
	}
	// Stop reading; publish until the socket buffers fill and the handler gives up.
	big := strings.Repeat("x", 64<<10)
	for s.streams.open() > 0 {
		hub.Publish("alarm", big)
		time.Sleep(5 * time.Millisecond)
	}
}
