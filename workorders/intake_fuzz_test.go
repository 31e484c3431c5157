package workorders

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// FuzzRaiseBody: a raise request as the API decodes it from the network either files (a
// home of building-unit-room, a known channel and kind, a category) or is refused as
// ErrInvalid, never a panic; priced lines never give a negative or non-finite charge.
func FuzzRaiseBody(f *testing.F) {
	f.Add([]byte(`{"title":"tap","by":"cs","channel":"phone","resident":"Z","home":"3-1-1802"}`))
	f.Add([]byte(`{"title":"x","by":"cs","channel":"hotline_12345","resident":"Z","home":"3-1-1802","hotline_case":"SZ","reply_by":"2030-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"title":"x","by":"cs","channel":"phone","kind":"paid","resident":"Z","home":"B-1-0301","visit":{"from":"2030-01-01T10:00:00Z","to":"2030-01-01T09:00:00Z"}}`))
	f.Add([]byte(`{"channel":"letter","kind":"internal","priority":"critical","lines":[{"item":"labour","qty":1e308}]}`))
	now := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	p := &Policy{Prices: []PriceItem{{Item: "labour", Unit: "hour", Price: 35.5}}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r struct {
			RaiseRequest
			Lines []Line `json:"lines"`
		}
		if json.Unmarshal(body, &r) != nil {
			return
		}
		cat, err := r.Intake.check(r.Category, alarms.Priority(r.Priority), now)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal %v is not ErrInvalid", err)
			}
		} else if cat == "" || (r.Home != "" && !homeForm.MatchString(r.Home)) {
			t.Fatalf("filed with category %q, home %q", cat, r.Home)
		}
		lines, total, err := p.price(r.Lines, "fuzz")
		if err == nil && (total < 0 || len(lines) != len(r.Lines)) {
			t.Fatalf("priced %+v to %d", r.Lines, total)
		}
		for _, l := range lines {
			if l.Amount < 0 || math.IsNaN(l.Qty) {
				t.Fatalf("line %+v", l)
			}
		}
	})
}
