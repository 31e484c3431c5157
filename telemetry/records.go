package telemetry

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// AlarmLine is an alarm transition as InfluxDB's measurement alarm (docs/operations.md, Telemetry in InfluxDB):
// tags site, device, rule, priority, state (and class, zone, and the event, so that two
// transitions of one alarm in the same instant, raised and chattering, are two points);
// fields the alarm id, whether it is active and notified, its message, who acted and why, and
// the journal seq. A transition journalled twice (delivered again after a crash) is the same
// point, so InfluxDB keeps it once.
func AlarmLine(e alarms.Event) string {
	a := e.Alarm
	return Line{
		Measurement: "alarm",
		Tags: map[string]string{"site": a.Site, "device": a.Device, "rule": a.Rule, "priority": string(a.Priority),
			"state": string(a.State), "class": string(a.Class), "zone": a.Zone, "event": string(e.Type)},
		Fields: map[string]any{"id": a.ID, "active": a.Active, "notify": e.Notify,
			"message": a.Message, "by": e.By, "reason": e.Reason, "seq": int64(e.Seq)},
		Time: e.At,
	}.String()
}

// AlarmConsumer writes the journal's transitions to the measurement alarm, each one before the
// journal moves the consumer's cursor past it: while InfluxDB is away the journal itself is
// the buffer, and nothing waits in memory.
func (w *Writer) AlarmConsumer() alarms.Consumer {
	return alarms.ConsumerFunc("influx-alarm", func(ctx context.Context, e alarms.Event) error {
		return w.WriteNow(ctx, AlarmLine(e))
	})
}

// WriteNow writes lines to InfluxDB at once, outside the queue, with the writer's deadline,
// for records whose durable copy is elsewhere (the alarm journal) and that may be written
// again until this succeeds. A line InfluxDB refuses (4xx) is counted as rejected and not
// returned as an error: writing it again would not help.
func (w *Writer) WriteNow(ctx context.Context, lines ...string) error {
	var b strings.Builder
	n := 0
	for _, l := range lines {
		l = strings.TrimRight(l, "\n")
		if l == "" || strings.ContainsRune(l, '\n') {
			w.m.dropInvalid.Inc()
			continue
		}
		b.WriteString(l)
		b.WriteByte('\n')
		n++
	}
	if n == 0 {
		return nil
	}
	err := w.write(ctx, &batch{body: b.String(), lines: n, oldest: time.Now().UnixNano()})
	if err == nil {
		return nil
	}
	if !retryable(err) && ctx.Err() == nil {
		w.m.dropRejected.Add(float64(n))
		w.log.Error("influx rejected a record; it is dropped", "error", err.Error(), "line", lines[0])
		return nil
	}
	return errors.Join(errors.New("influx"), err)
}
