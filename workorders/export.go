package workorders

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

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

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body under the shared
// secret, as GitHub's webhooks do, so the receiver can check the sender.
const SignatureHeader = "X-Facilityd-Signature"

// Sign returns the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Webhook posts order events as JSON to an external maintenance system, retrying with
// exponential backoff. It is a Sink: OrderEvent queues without blocking and Run delivers.
type Webhook struct {
	URL    string
	Secret string
	Client *http.Client
	// Attempts bounds the tries per event; Backoff is the first wait, doubled each retry.
	Attempts int
	Backoff  time.Duration
	Log      *slog.Logger
	queue    chan Event
}

// NewWebhook builds a webhook with a bounded queue.
func NewWebhook(url, secret string, log *slog.Logger) *Webhook {
	if log == nil {
		log = slog.Default()
	}
	return &Webhook{URL: url, Secret: secret, Client: &http.Client{Timeout: 10 * time.Second}, Attempts: 5, Backoff: time.Second, Log: log, queue: make(chan Event, 1000)}
}

// OrderEvent queues e; a full queue drops it with a warning.
func (w *Webhook) OrderEvent(e Event) {
	select {
	case w.queue <- e:
	default:
		w.Log.Warn("webhook queue full: order event dropped", "url", w.URL)
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
				w.Log.Error("webhook", "url", w.URL, "err", err)
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
	wait := w.Backoff
	var last error
	for attempt := 1; attempt <= w.Attempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		retry, err := w.post(ctx, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry || attempt == w.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
	return last
}

func (w *Webhook) post(ctx context.Context, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if w.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(w.Secret, body))
	}
	resp, err := w.Client.Do(req)
	if err != nil {
		return true, err
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("webhook %s: %s", w.URL, resp.Status)
	default:
		return false, fmt.Errorf("webhook %s: %s (not retried)", w.URL, resp.Status)
	}
}
