package workorders

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// TestPaidJob: a paid job is priced from the price list, quoted before the work (no start
// without it) and confirmed after; the parts drawn for it, and for any other order, are summed
// for the month's, quarter's and year's stock-take.
func TestPaidJob(t *testing.T) {
	ctx := context.Background()
	tue := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	r := newRig(t, tue, func(c *Config) {
		c.Prices = []PriceItem{{Item: "fan replacement", Unit: "each", Price: 60}, {Item: "labour", Unit: "hour", Price: 35.5}}
	})
	req := phoneCall("Replace the bathroom fan")
	req.Kind, req.Visit = KindPaid, &Window{From: tue.Add(4 * time.Hour), To: tue.Add(6 * time.Hour)}
	o, err := r.m.Raise(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r.do(t, o.ID, ActionAccept, Input{By: "tech-chen"})
	r.clock.Set(tue.Add(5 * time.Hour))
	r.do(t, o.ID, ActionArrive, Input{By: "tech-chen"})
	refusals := []struct {
		name string
		a    Action
		in   Input
		want string
	}{
		{"start before the quote", ActionStart, Input{}, "starts only after the charge is quoted to the resident (quote)"},
		{"an item off the list", ActionQuote, Input{Lines: []Line{{Item: "gold tap", Qty: 1}}}, `"gold tap" is not on the price list (workorders.prices: [fan replacement labour])`},
		{"no items", ActionQuote, Input{}, "give the items (lines: [{item, qty}])"},
		{"no quantity", ActionQuote, Input{Lines: []Line{{Item: "labour"}}}, "qty 0 must be more than 0 and at most 10000"},
		{"a quantity beyond any job", ActionQuote, Input{Lines: []Line{{Item: "labour", Qty: 1e308}}}, "qty 1e+308 must be more than 0 and at most 10000"},
		{"confirm before the work", ActionConfirmCharge, Input{}, "needs resolved or followed_up or closed"},
	}
	for _, tt := range refusals {
		tt.in.By = "tech-chen"
		if _, err := r.m.Transition(ctx, o.ID, tt.a, tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	// The quote is shown before the work, so it is given while the order is accepted.
	q := r.do(t, o.ID, ActionQuote, Input{By: "tech-chen", Lines: []Line{{Item: "fan replacement", Qty: 1}, {Item: "labour", Qty: 1}}})
	if c := q.Desk.Charge; c.Quoted != 9550 || c.QuotedBy != "tech-chen" || c.Quote[1].UnitPrice != 3550 {
		t.Fatalf("quote %+v: want ¥95.50 by tech-chen", c)
	}
	r.do(t, o.ID, ActionStart, Input{By: "tech-chen"})
	r.do(t, o.ID, ActionDraw, Input{By: "tech-chen", Parts: []Line{{Item: "fan 100mm", Qty: 1}, {Item: "screw M4", Qty: 4}}})
	if _, err := r.m.Transition(ctx, o.ID, ActionDraw, Input{By: "tech-chen", Parts: []Line{{Item: "", Qty: 1}}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a draw of no part: %v", err)
	}
	r.do(t, o.ID, ActionResolve, Input{By: "tech-chen"})
	done := r.do(t, o.ID, ActionConfirmCharge, Input{By: "tech-chen", Lines: []Line{{Item: "fan replacement", Qty: 1}, {Item: "labour", Qty: 1.5}}})
	if c := done.Desk.Charge; c.Confirmed != 11325 || c.Quoted != 9550 || c.ConfirmedAt.IsZero() {
		t.Fatalf("confirmed %+v: want ¥113.25 beside the ¥95.50 quoted", c)
	}
	if h := done.History[len(done.History)-1]; h.Note != "¥113.25" {
		t.Fatalf("history note %q", h.Note)
	}
	// A free repair is never charged; any order may draw parts.
	free, _ := r.m.Raise(ctx, phoneCall("Tap"))
	if _, err := r.m.Transition(ctx, free.ID, ActionQuote, Input{By: "tech-chen", Lines: []Line{{Item: "labour", Qty: 1}}}); err == nil || !strings.Contains(err.Error(), "only a paid request") {
		t.Fatalf("a routine repair quoted: %v", err)
	}
	pump, _ := r.m.HandleAlarm(ctx, raised("P-1", "pump", "north", "pump_trip", alarms.ClassEquipment, r.clock.Now()))
	r.do(t, pump.ID, ActionAccept, Input{By: "tech-wu"})
	r.do(t, pump.ID, ActionDraw, Input{By: "tech-wu", Parts: []Line{{Item: "screw M4", Qty: 2}}})
	r.clock.Set(time.Date(2026, 4, 2, 10, 0, 0, 0, shanghai))
	r.do(t, pump.ID, ActionDraw, Input{By: "tech-wu", Parts: []Line{{Item: "contactor", Qty: 1}}})

	periods := []struct {
		period    Period
		at        time.Time
		charges   []CategoryCharges
		materials []MaterialUse
	}{
		{PeriodMonth, tue, []CategoryCharges{{Category: CategoryHousehold, Orders: 1, Total: 11325}},
			[]MaterialUse{{Part: "fan 100mm", Qty: 1, Orders: 1}, {Part: "screw M4", Qty: 6, Orders: 2}}},
		{PeriodMonth, time.Date(2026, 4, 30, 0, 0, 0, 0, shanghai), []CategoryCharges{}, []MaterialUse{{Part: "contactor", Qty: 1, Orders: 1}}},
		{PeriodQuarter, tue, []CategoryCharges{{Category: CategoryHousehold, Orders: 1, Total: 11325}},
			[]MaterialUse{{Part: "fan 100mm", Qty: 1, Orders: 1}, {Part: "screw M4", Qty: 6, Orders: 2}}},
		{PeriodYear, tue, []CategoryCharges{{Category: CategoryHousehold, Orders: 1, Total: 11325}},
			[]MaterialUse{{Part: "fan 100mm", Qty: 1, Orders: 1}, {Part: "screw M4", Qty: 6, Orders: 2}, {Part: "contactor", Qty: 1, Orders: 1}}},
	}
	for _, p := range periods {
		t.Run(string(p.period)+" "+p.at.Format("2006-01"), func(t *testing.T) {
			st, err := r.m.Stocktake(ctx, p.period, p.at)
			if err != nil {
				t.Fatal(err)
			}
			if !equalJSON(st.Charges, p.charges) || !equalJSON(st.Materials, p.materials) {
				t.Fatalf("stock-take %s: charges %+v materials %+v; want %+v %+v", p.period, st.Charges, st.Materials, p.charges, p.materials)
			}
		})
	}
	if _, err := r.m.Stocktake(ctx, "week", tue); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a stock-take by the week: %v", err)
	}
}

func TestPriceListValidation(t *testing.T) {
	cfg, _ := estate()
	cfg.Prices = []PriceItem{{Item: "labour", Unit: "hour", Price: 35}, {Item: "labour", Unit: "", Price: -1}}
	err := Check(cfg)
	for _, want := range []string{"workorders.prices[1] (labour).item: missing or repeated", "workorders.prices[1] (labour).unit: missing", "workorders.prices[1] (labour).price: -1 must be 0 to 1000000 yuan"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
}

// equalJSON compares two values as the API would show them.
func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
