package workorders

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Paid work (有偿服务) and the store's materials (领用单): the estate's price list
// (有偿服务收费标准) prices each item of a paid job; the charge is quoted to the resident before
// the work and confirmed after it; parts drawn from the store are recorded per order, and
// summed for the month's, quarter's and year's stock-take (月底、季度、年底盘点).

// PriceItem is one line of the price list: an item, its unit and its price in yuan.
type PriceItem struct {
	Item, Unit string
	Price      float64
}

// Line is an item or part and how many of it, as a person sends it.
type Line struct {
	Item string  `json:"item"`
	Qty  float64 `json:"qty"`
}

// ChargeLine is an item of a paid job priced from the list, in fen (0.01 yuan).
type ChargeLine struct {
	Item      string  `json:"item"`
	Unit      string  `json:"unit"`
	Qty       float64 `json:"qty"`
	UnitPrice int64   `json:"unit_price_fen"`
	Amount    int64   `json:"amount_fen"`
}

// Charge is what a paid job costs the resident: quoted before the work, confirmed after it
// (the confirmed lines may differ from the quote: the resident agrees the final bill).
type Charge struct {
	Quote       []ChargeLine `json:"quote"`
	Quoted      int64        `json:"quoted_fen"`
	QuotedAt    time.Time    `json:"quoted_at,omitzero"`
	QuotedBy    string       `json:"quoted_by,omitempty"`
	Final       []ChargeLine `json:"final,omitempty"`
	Confirmed   int64        `json:"confirmed_fen,omitempty"`
	ConfirmedAt time.Time    `json:"confirmed_at,omitzero"`
	ConfirmedBy string       `json:"confirmed_by,omitempty"`
}

// Requisition is one draw of parts from the store for an order (领用单): who drew what, when.
type Requisition struct {
	At    time.Time `json:"at"`
	By    string    `json:"by"`
	Parts []Line    `json:"parts"`
}

// Charge and material actions; each leaves the order's state as it is.
const (
	// ActionQuote records the charge shown to the resident before a paid job (lines).
	ActionQuote Action = "quote"
	// ActionConfirmCharge records the charge the resident confirmed after the job (lines;
	// none: the quote as it stands).
	ActionConfirmCharge Action = "confirm_charge"
	// ActionDraw records parts drawn from the store for the order (parts).
	ActionDraw Action = "draw"
)

// chargeNeeds is the states each charge action starts from.
var chargeNeeds = map[Action][]State{
	ActionQuote:         {StateNew, StateAccepted},
	ActionConfirmCharge: {StateResolved, StateFollowedUp, StateClosed},
	ActionDraw:          {StateAccepted, StateInProgress},
}

// MaxQty bounds the quantity of one line: no job uses more than ten thousand of anything, and
// a bound keeps every sum in range (ours).
const MaxQty = 10000

// MaxPrice bounds a price-list price, in yuan: a million is beyond any household job (ours).
const MaxPrice = 1000000

// validQty reports whether q is a quantity a line may carry.
func validQty(q float64) bool { return q > 0 && q <= MaxQty }

// fen is yuan in fen, rounded.
func fen(yuan float64) int64 { return int64(math.Round(yuan * 100)) }

// price prices lines from the price list; an item not on it is refused by name.
func (p *Policy) price(lines []Line, what string) ([]ChargeLine, int64, error) {
	if len(lines) == 0 {
		return nil, 0, fmt.Errorf("%w: %s: give the items (lines: [{item, qty}]) from the price list (workorders.prices)", ErrInvalid, what)
	}
	var out []ChargeLine
	var total int64
	for i, l := range lines {
		j := slices.IndexFunc(p.Prices, func(pi PriceItem) bool { return pi.Item == l.Item })
		if j < 0 {
			names := make([]string, len(p.Prices))
			for k, pi := range p.Prices {
				names[k] = pi.Item
			}
			return nil, 0, fmt.Errorf("%w: %s: lines[%d]: %q is not on the price list (workorders.prices: %v)", ErrInvalid, what, i, l.Item, names)
		}
		if !validQty(l.Qty) {
			return nil, 0, fmt.Errorf("%w: %s: lines[%d] (%s): qty %v must be more than 0 and at most %d", ErrInvalid, what, i, l.Item, l.Qty, MaxQty)
		}
		unit := fen(p.Prices[j].Price)
		amount := int64(math.Round(float64(unit) * l.Qty))
		out = append(out, ChargeLine{Item: l.Item, Unit: p.Prices[j].Unit, Qty: l.Qty, UnitPrice: unit, Amount: amount})
		total += amount
	}
	return out, total, nil
}

// applyCharge is a charge or material action as a pure function, as Apply is for the others.
func applyCharge(o Order, a Action, in Input, now time.Time, p *Policy) (Order, error) {
	if !slices.Contains(chargeNeeds[a], o.State) {
		return o, &TransitionError{ID: o.ID, State: o.State, Action: a, Needs: chargeNeeds[a]}
	}
	if strings.TrimSpace(in.By) == "" {
		return o, fmt.Errorf("%w: %s of %s: say who acts (by)", ErrInvalid, a, o.ID)
	}
	var note string
	switch a {
	case ActionDraw:
		if len(in.Parts) == 0 {
			return o, fmt.Errorf("%w: draw of %s: list the parts drawn (parts: [{item, qty}])", ErrInvalid, o.ID)
		}
		var names []string
		for i, l := range in.Parts {
			if strings.TrimSpace(l.Item) == "" || !validQty(l.Qty) {
				return o, fmt.Errorf("%w: draw of %s: parts[%d]: give the part (item) and a qty more than 0 and at most %d", ErrInvalid, o.ID, i, MaxQty)
			}
			names = append(names, fmt.Sprintf("%s × %g", l.Item, l.Qty))
		}
		o.Materials = append(append([]Requisition(nil), o.Materials...), Requisition{At: now, By: in.By, Parts: append([]Line(nil), in.Parts...)})
		note = strings.Join(names, ", ")
	case ActionQuote, ActionConfirmCharge:
		if o.Desk == nil || o.Desk.Kind != KindPaid {
			return o, fmt.Errorf("%w: %s of %s: only a paid request (kind paid) is charged", ErrInvalid, a, o.ID)
		}
		d := *o.Desk
		c := Charge{}
		if d.Charge != nil {
			c = *d.Charge
		}
		lines := in.Lines
		if a == ActionConfirmCharge {
			if c.QuotedAt.IsZero() {
				return o, fmt.Errorf("%w: confirm_charge of %s: nothing was quoted", ErrInvalid, o.ID)
			}
			if len(lines) == 0 {
				c.Final, c.Confirmed = c.Quote, c.Quoted
			} else {
				priced, total, err := p.price(lines, "confirm_charge of "+o.ID)
				if err != nil {
					return o, err
				}
				c.Final, c.Confirmed = priced, total
			}
			c.ConfirmedAt, c.ConfirmedBy = now, in.By
			note = yuan(c.Confirmed)
		} else {
			priced, total, err := p.price(lines, "quote of "+o.ID)
			if err != nil {
				return o, err
			}
			c.Quote, c.Quoted, c.QuotedAt, c.QuotedBy = priced, total, now, in.By
			note = yuan(c.Quoted)
		}
		d.Charge = &c
		o.Desk = &d
	}
	if in.Note != "" {
		note = strings.TrimSpace(note + ": " + in.Note)
	}
	o.History = append(append([]Change(nil), o.History...), Change{At: now, By: in.By, OnBehalfOf: in.OnBehalfOf, Action: string(a), From: o.State, To: o.State, Note: note})
	return o, nil
}

// yuan prints fen as yuan, "¥35.50".
func yuan(f int64) string { return fmt.Sprintf("¥%d.%02d", f/100, f%100) }

// validatePrices checks the price list: each item once, with a unit and a price.
func (c Config) validatePrices() []error {
	var errs []error
	seen := map[string]bool{}
	for i, p := range c.Prices {
		name := fmt.Sprintf("workorders.prices[%d] (%s)", i, p.Item)
		if strings.TrimSpace(p.Item) == "" || seen[p.Item] {
			errs = append(errs, fmt.Errorf("%s.item: missing or repeated", name))
		}
		seen[p.Item] = true
		if strings.TrimSpace(p.Unit) == "" {
			errs = append(errs, fmt.Errorf("%s.unit: missing (each, hour, metre...)", name))
		}
		if !(p.Price >= 0 && p.Price <= MaxPrice) {
			errs = append(errs, fmt.Errorf("%s.price: %v must be 0 to %d yuan", name, p.Price, MaxPrice))
		}
	}
	return errs
}

// Period is a stock-take period: month, quarter or year.
type Period string

// Stock-take periods (月底、季度、年底盘点).
const (
	PeriodMonth   Period = "month"
	PeriodQuarter Period = "quarter"
	PeriodYear    Period = "year"
)

// Bounds is the period holding t, in loc: [from, to).
func (p Period) Bounds(t time.Time, loc *time.Location) (from, to time.Time, err error) {
	t = t.In(loc)
	y, m, _ := t.Date()
	switch p {
	case PeriodMonth:
		from = time.Date(y, m, 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 1, 0), nil
	case PeriodQuarter:
		from = time.Date(y, (m-1)/3*3+1, 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 3, 0), nil
	case PeriodYear:
		from = time.Date(y, 1, 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(1, 0, 0), nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("%w: period %q is not month, quarter or year", ErrInvalid, p)
}

// CategoryCharges is the paid work of one category in a period: the orders confirmed and
// their total, in fen.
type CategoryCharges struct {
	Category string `json:"category"`
	Orders   int    `json:"orders"`
	Total    int64  `json:"total_fen"`
}

// MaterialUse is one part drawn from the store in a period: how much, for how many orders.
type MaterialUse struct {
	Part   string  `json:"part"`
	Qty    float64 `json:"qty"`
	Orders int     `json:"orders"`
}

// Stocktake is a period's charges by category and the materials drawn, for the report and
// the store's stock-take.
type Stocktake struct {
	Period    Period            `json:"period"`
	From      time.Time         `json:"from"`
	To        time.Time         `json:"to"`
	Charges   []CategoryCharges `json:"charges"`
	Materials []MaterialUse     `json:"materials"`
}

// Stocktake sums the period holding at: the charges confirmed in it by category, and the
// parts drawn in it, each in the order first drawn.
func (m *Manager) Stocktake(ctx context.Context, period Period, at time.Time) (*Stocktake, error) {
	from, to, err := period.Bounds(at, m.policy.Calendar.Location())
	if err != nil {
		return nil, err
	}
	// An order is charged and drawn for after it is created: those created later cannot count.
	list, err := m.store.List(ctx, Filter{To: to})
	if err != nil {
		return nil, err
	}
	st := &Stocktake{Period: period, From: from, To: to}
	st.Charges, st.Materials = stockOf(list, from, to)
	return st, nil
}

// stockOf sums the charges confirmed in [from, to) by category and the parts drawn in it,
// each in the order first met: the stock-take's figures and the report's.
func stockOf(list []*Order, from, to time.Time) ([]CategoryCharges, []MaterialUse) {
	charges, materials := []CategoryCharges{}, []MaterialUse{}
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	for _, o := range list {
		if o.Desk != nil && o.Desk.Charge != nil && in(o.Desk.Charge.ConfirmedAt) {
			i := slices.IndexFunc(charges, func(c CategoryCharges) bool { return c.Category == o.Category })
			if i < 0 {
				charges = append(charges, CategoryCharges{Category: o.Category})
				i = len(charges) - 1
			}
			charges[i].Orders++
			charges[i].Total += o.Desk.Charge.Confirmed
		}
		counted := map[string]bool{}
		for _, r := range o.Materials {
			if !in(r.At) {
				continue
			}
			for _, l := range r.Parts {
				i := slices.IndexFunc(materials, func(u MaterialUse) bool { return u.Part == l.Item })
				if i < 0 {
					materials = append(materials, MaterialUse{Part: l.Item})
					i = len(materials) - 1
				}
				materials[i].Qty += l.Qty
				if !counted[l.Item] {
					materials[i].Orders++
					counted[l.Item] = true
				}
			}
		}
	}
	return charges, materials
}

// Prices is the price list in force, in configuration order.
func (m *Manager) Prices() []PriceItem { return append([]PriceItem(nil), m.policy.Prices...) }
