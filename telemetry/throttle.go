package telemetry

import (
	"context"
	"log/slog"
	"time"
)

// logPeriod is the least time between two log lines of one kind of trouble.
const logPeriod = 30 * time.Second

// logThrottle lets one log line of each kind of trouble through per period and counts the
// events it holds back, so that an InfluxDB outage writes a line every 30 s rather than one per
// batch, and each line says how many were suppressed. It is a pure function of the times it is
// given and is used from one goroutine only.
type logThrottle struct {
	period time.Duration
	log    *slog.Logger
	kinds  map[string]*throttled
}

type throttled struct {
	last       time.Time // when a line of this kind was last logged
	suppressed int       // events held back since then
	// The latest event held back, for the summary line.
	level slog.Level
	msg   string
	attrs []slog.Attr
}

func newLogThrottle(log *slog.Logger, period time.Duration) *logThrottle {
	return &logThrottle{period: period, log: log, kinds: map[string]*throttled{}}
}

// record logs msg unless a line of the same kind went out less than a period before now; then
// it holds it back and counts n events (n is the number of snapshots for a queue overflow, 1
// for most kinds). A line that goes out carries the count held back before it as "suppressed".
func (t *logThrottle) record(now time.Time, kind string, level slog.Level, n int, msg string, attrs ...slog.Attr) {
	k := t.kinds[kind]
	if k == nil {
		k = &throttled{}
		t.kinds[kind] = k
	}
	if !k.last.IsZero() && now.Sub(k.last) < t.period {
		k.suppressed += n
		k.level, k.msg, k.attrs = level, msg, attrs
		return
	}
	attrs = append(attrs, slog.String("kind", kind), slog.Int("suppressed", k.suppressed))
	k.last, k.suppressed, k.attrs = now, 0, nil
	t.log.LogAttrs(context.Background(), level, msg, attrs...)
}

// flush logs one summary line for each kind whose period is over and that has held events
// back, so the last of a burst is not lost when the trouble stops.
func (t *logThrottle) flush(now time.Time) {
	for kind, k := range t.kinds {
		if k.suppressed == 0 || now.Sub(k.last) < t.period {
			continue
		}
		attrs := append(k.attrs, slog.String("kind", kind), slog.Int("suppressed", k.suppressed))
		t.log.LogAttrs(context.Background(), k.level, k.msg+" (repeated)", attrs...)
		k.last, k.suppressed, k.attrs = now, 0, nil
	}
}
