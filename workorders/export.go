package workorders

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/facilityd/facilityd/internal/webhook"
	"github.com/facilityd/facilityd/telemetry"
)

// LineProtocol renders an order event as one InfluxDB line of measurement workorder: tags
// site, device, zone, team, category, priority, state; fields id, event, occurrences, rework
// and breach flags, and the minutes to accept and to resolve once known. Events without an
// order (notices) render as "".
func LineProtocol(e Event) string {
	o := e.Order
	if o == nil {
		return ""
	}
	fields := map[string]any{
		"id": o.ID, "event": string(e.Type), "occurrences": o.Occurrences, "rework": o.Rework,
		"accept_breached": o.AcceptBreached, "complete_breached": o.CompleteBreached,
	}
	if !o.AcceptedAt.IsZero() {
		fields["accept_minutes"] = o.AcceptedAt.Sub(o.CreatedAt).Minutes()
	}
	if !o.ResolvedAt.IsZero() {
		fields["repair_minutes"] = o.ResolvedAt.Sub(o.CreatedAt).Minutes()
	}
	return telemetry.Line{
		Measurement: "workorder",
		Tags: map[string]string{"site": o.Site, "device": o.Device, "zone": o.Zone, "team": o.Team,
			"category": o.Category, "priority": string(o.Priority), "state": string(o.State)},
		Fields: fields,
		Time:   e.At,
	}.String()
}

// LineSink hands every order event's line to write (the InfluxDB writer's raw-line entry).
func LineSink(write func(line string)) Sink {
	return SinkFunc(func(e Event) {
		if l := LineProtocol(e); l != "" {
			write(l)
		}
	})
}

// Webhook posts order events as JSON to an external maintenance system through the one
// webhook sender (internal/webhook: signed over timestamp and body, retried with backoff). It
// is a Sink: OrderEvent queues without blocking and Run delivers.
type Webhook struct {
	Sender *webhook.Sender
	Log    *slog.Logger
	queue  chan Event
}

// NewWebhook builds a webhook with a bounded queue.
func NewWebhook(sender *webhook.Sender, log *slog.Logger) *Webhook {
	if log == nil {
		log = slog.Default()
	}
	return &Webhook{Sender: sender, Log: log, queue: make(chan Event, 1000)}
}

// OrderEvent queues e; a full queue drops it with a warning.
func (w *Webhook) OrderEvent(e Event) {
	select {
	case w.queue <- e:
	default:
		w.Log.Warn("webhook queue full: order event dropped", "url", w.Sender.String())
	}
}

// Run delivers queued events in order until ctx ends.
func (w *Webhook) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-w.queue:
			if err := w.Deliver(ctx, e); err != nil {
				w.Log.Error("webhook", "url", w.Sender.String(), "err", err)
			}
		}
	}
}

// Deliver posts one event, retrying server errors and network failures; a 4xx answer is not
// retried (the receiver refuses the event itself).
func (w *Webhook) Deliver(ctx context.Context, e Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return w.Sender.Send(ctx, body)
}
