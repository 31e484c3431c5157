package workorders

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/webhook"
)

func TestLineProtocol(t *testing.T) {
	o := sample("P-1", "pump_trip")
	o.ID, o.Occurrences, o.Zone = "WO-7", 2, "north zone"
	o.AcceptedAt = o.CreatedAt.Add(6 * time.Minute)
	got := LineProtocol(Event{Type: EventTransition, Order: o, At: t0})
	want := `workorder,category=pump_trip,device=P-1,priority=high,site=estate,state=new,team=north-team,zone=north\ zone accept_breached=false,accept_minutes=6,complete_breached=false,event="transition",id="WO-7",occurrences=2i,rework=false ` + "1772445600000000000"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if LineProtocol(Event{Type: EventNotice, Notice: &Notice{}}) != "" {
		t.Fatal("a notice has no order line")
	}
}

// Order events reach the receiver through the one webhook sender: signed over timestamp and
// body, retried on 503.
func TestWebhookRetriesAndSigns(t *testing.T) {
	var calls atomic.Int32
	var sigOK atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := webhook.Verify([]byte("s3cret"), r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, time.Now(), time.Minute)
		sigOK.Store(err == nil && strings.Contains(string(body), `"WO-7"`))
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	sender, err := webhook.New(srv.URL, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	sender.BackoffMin = time.Millisecond
	wh := NewWebhook(sender, nil)
	o := sample("P-1", "pump_trip")
	o.ID = "WO-7"
	if err := wh.Deliver(context.Background(), Event{Type: EventCreated, Order: o, At: t0}); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 || !sigOK.Load() {
		t.Fatalf("calls %d, signature ok %v", calls.Load(), sigOK.Load())
	}
}
