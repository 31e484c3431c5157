package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// Hub fans events out to server-sent-event clients (GET /api/v1/events). Publish never
// blocks: each client has a bounded buffer, and a client too slow to keep up is dropped, not
// waited for. A short ring of recent events lets a client that reconnects with Last-Event-ID
// resume without a gap.
type Hub struct {
	mu      sync.Mutex
	clients map[*sseClient]struct{}
	ring    []sseEvent
	ringMax int
	buffer  int
	next    uint64
	closed  bool

	// WriteTimeout bounds the writing of each event (default StreamWriteTimeout): a client
	// that stops reading fails the write, and its handler returns. Set it before serving.
	WriteTimeout time.Duration
}

type sseEvent struct {
	id   uint64
	typ  string
	data []byte
}

type sseClient struct {
	ch chan sseEvent
}

// NewHub keeps the last ring events for resumption and buffers up to buffer events per client.
func NewHub(ring, buffer int) *Hub {
	if ring < 0 {
		ring = 0
	}
	if buffer < 1 {
		buffer = 1
	}
	return &Hub{clients: map[*sseClient]struct{}{}, ringMax: ring, buffer: buffer, WriteTimeout: StreamWriteTimeout}
}

// AlarmConsumer streams the alarm journal's transitions to the clients as "alarm" events. Its
// position is not kept across restarts: the clients it serves do not outlive the process.
func (h *Hub) AlarmConsumer() alarms.Consumer {
	return alarms.Consumer{Handle: func(_ context.Context, e alarms.Event) error {
		h.Publish("alarm", e)
		return nil
	}}
}

// Publish sends v, as JSON, to every client as an event of that type ("alarm", "patrol", ...).
func (h *Hub) Publish(eventType string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	ev := sseEvent{id: h.next, typ: eventType, data: data}
	if h.ringMax > 0 {
		if len(h.ring) == h.ringMax {
			copy(h.ring, h.ring[1:])
			h.ring = h.ring[:len(h.ring)-1]
		}
		h.ring = append(h.ring, ev)
	}
	for c := range h.clients {
		select {
		case c.ch <- ev:
		default:
			// Too slow: drop it; it may reconnect with Last-Event-ID.
			delete(h.clients, c)
			close(c.ch)
		}
	}
}

// Clients is the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Close ends every stream, so that the HTTP server can shut down: a stream never ends by
// itself. Clients that come later get an empty stream.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.clients {
		delete(h.clients, c)
		close(c.ch)
	}
}

func (h *Hub) subscribe(last uint64, resume bool) (*sseClient, []sseEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := &sseClient{ch: make(chan sseEvent, h.buffer)}
	if h.closed {
		close(c.ch)
		return c, nil
	}
	h.clients[c] = struct{}{}
	var replay []sseEvent
	if resume {
		for _, ev := range h.ring {
			if ev.id > last {
				replay = append(replay, ev)
			}
		}
	}
	return c, replay
}

func (h *Hub) unsubscribe(c *sseClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c.ch)
	}
}

// heartbeat keeps proxies from closing an idle stream.
const heartbeat = 15 * time.Second

// ServeHTTP streams events until the client goes or is dropped.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	var last uint64
	resume := false
	if s := r.Header.Get("Last-Event-ID"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "Last-Event-ID: "+quote(s)+" is not an event id")
			return
		}
		last, resume = n, true
	}
	c, replay := h.subscribe(last, resume)
	defer h.unsubscribe(c)
	// The server's write timeout does not suit a stream: each write gets its own deadline, so
	// a client that stops reading fails the write and frees this handler.
	_ = rc.SetWriteDeadline(time.Now().Add(h.WriteTimeout))
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": facilityd events\n\n")
	for _, ev := range replay {
		writeEvent(w, ev)
	}
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-c.ch:
			if !ok {
				return // dropped as too slow, or the hub closed
			}
			_ = rc.SetWriteDeadline(time.Now().Add(h.WriteTimeout))
			writeEvent(w, ev)
		case <-tick.C:
			_ = rc.SetWriteDeadline(time.Now().Add(h.WriteTimeout))
			fmt.Fprint(w, ": ping\n\n")
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

func writeEvent(w http.ResponseWriter, ev sseEvent) {
	fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.id, ev.typ, ev.data)
}
