package northbound

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// LogInterval is how often one kind of broker refusal is logged at most: a client that
// retries a refused publish in a loop must not fill the disk (each refusal is still counted).
const LogInterval = time.Minute

// logBudget is how many refusal lines the broker logs per LogInterval in all, so that many
// clients (or client ids drawn at random) cannot amplify either.
const logBudget = 20

// limitedLog logs a line per key at most once per LogInterval, and logBudget lines per
// interval in all; what it held back is reported with the next line logged.
type limitedLog struct {
	log *slog.Logger
	now func() time.Time

	mu         sync.Mutex
	last       map[string]time.Time
	window     time.Time
	used       int
	suppressed int
}

func newLimitedLog(log *slog.Logger, now func() time.Time) *limitedLog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &limitedLog{log: log, now: now, last: map[string]time.Time{}}
}

// allow says whether a line under key may be logged now, and how many were held back.
func (l *limitedLog) allow(key string) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.window) >= LogInterval {
		l.window, l.used = now, 0
		for k, t := range l.last {
			if now.Sub(t) >= LogInterval {
				delete(l.last, k)
			}
		}
	}
	if t, ok := l.last[key]; (ok && now.Sub(t) < LogInterval) || l.used >= logBudget {
		l.suppressed++
		return false, 0
	}
	l.last[key] = now
	l.used++
	n := l.suppressed
	l.suppressed = 0
	return true, n
}

func (l *limitedLog) warn(key, msg string, args ...any) {
	ok, held := l.allow(key)
	if !ok {
		return
	}
	if held > 0 {
		args = append(args, "similar_lines_held_back", held)
	}
	l.log.Warn(msg, args...)
}

// brokerLogHandler stands between mochi and facilityd's log. mochi logs a refused or broken
// packet with the whole packet (its payload as decimal bytes) and a failed connection at
// WARN with no message: a client on loopback could fill the disk with either. This handler
// drops packet and will attributes, names what an empty message means, and lets each
// warning through once per LogInterval per message and client.
type brokerLogHandler struct {
	next  slog.Handler
	lim   *limitedLog
	attrs []slog.Attr
}

func newBrokerLogHandler(next slog.Handler, now func() time.Time) *brokerLogHandler {
	return &brokerLogHandler{next: next, lim: newLimitedLog(nil, now)}
}

// droppedAttrs are mochi's attributes that carry a client's bytes.
var droppedAttrs = map[string]bool{"pk": true, "packet": true, "will": true, "payload": true, "lwt": true}

// Enabled defers to the log facilityd writes to.
func (h *brokerLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle rewrites and limits a record of mochi's.
func (h *brokerLogHandler) Handle(ctx context.Context, r slog.Record) error {
	msg := r.Message
	if msg == "" {
		msg = "MQTT connection ended"
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	client := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "client" {
			client = a.Value.String()
		}
		if !droppedAttrs[a.Key] {
			out.AddAttrs(a)
		}
		return true
	})
	if r.Level >= slog.LevelWarn {
		ok, held := h.lim.allow(msg + "\x00" + client)
		if !ok {
			return nil
		}
		if held > 0 {
			out.AddAttrs(slog.Int("similar_lines_held_back", held))
		}
	}
	return h.next.Handle(ctx, out)
}

// WithAttrs keeps the filter on a logger with attributes.
func (h *brokerLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	kept := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if !droppedAttrs[a.Key] {
			kept = append(kept, a)
		}
	}
	return &brokerLogHandler{next: h.next.WithAttrs(kept), lim: h.lim}
}

// WithGroup keeps the filter on a logger with a group.
func (h *brokerLogHandler) WithGroup(name string) slog.Handler {
	return &brokerLogHandler{next: h.next.WithGroup(name), lim: h.lim}
}
