package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/locale"
	"github.com/facilityd/facilityd/workorders"
)

// deskRaiseFlags adds what the customer-service desk takes down to `wo raise`.
func deskRaiseFlags(c *cobra.Command, r *workorders.RaiseRequest) {
	var channel, kind, replyBy, from, to string
	f := c.Flags()
	f.StringVar(&channel, "channel", "", "how the request came: phone, walk_in, online, hotline_12345, patrol or letter")
	f.StringVar(&kind, "kind", "", "routine (default), paid, internal, complaint or suggestion")
	f.StringVar(&r.Resident, "resident", "", "the resident's name")
	f.StringVar(&r.Home, "home", "", "the home as building-unit-room (3-1-1802)")
	f.StringVar(&r.Contact, "contact", "", "how to call the resident back")
	f.StringVar(&r.HotlineCase, "hotline-case", "", "the 12345 hotline's case number")
	f.StringVar(&replyBy, "reply-by", "", "the 12345 hotline's reply deadline (RFC 3339: 2026-03-04T10:00:00+08:00)")
	f.StringVar(&from, "visit-from", "", "a paid visit's window start (RFC 3339)")
	f.StringVar(&to, "visit-to", "", "a paid visit's window end (RFC 3339)")
	c.PreRunE = func(*cobra.Command, []string) error {
		r.Channel, r.Kind = workorders.Channel(channel), workorders.RequestKind(kind)
		var err error
		if r.ReplyBy, err = optTime("--reply-by", replyBy); err != nil {
			return err
		}
		r.Visit, err = window(from, to)
		return err
	}
}

// deskActionFlags adds the flags of the desk's and the charges' actions.
func deskActionFlags(c *cobra.Command, a workorders.Action, in *workorders.Input) {
	name := strings.ReplaceAll(string(a), "_", "-")
	switch a {
	case workorders.ActionHandover:
		c.Use = name + " ID --by NAME --to PERSON [--note TEXT]"
		c.Flags().StringVar(&in.To, "to", "", "who takes over the answer to the resident")
	case workorders.ActionReschedule:
		var from, to string
		c.Use = name + " ID --by NAME --visit-from TIME --visit-to TIME"
		c.Flags().StringVar(&from, "visit-from", "", "the new window's start (RFC 3339)")
		c.Flags().StringVar(&to, "visit-to", "", "the new window's end (RFC 3339)")
		c.PreRunE = func(*cobra.Command, []string) (err error) {
			in.Visit, err = window(from, to)
			return err
		}
	case workorders.ActionQuote, workorders.ActionConfirmCharge, workorders.ActionDraw:
		var lines []string
		what := "an item of the price list and how many"
		if a == workorders.ActionDraw {
			what = "a part drawn from the store and how many"
		}
		c.Use = name + " ID --by NAME --line ITEM=QTY [--line ...]"
		c.Flags().StringArrayVar(&lines, "line", nil, what+", as ITEM=QTY (labour=1.5)")
		c.PreRunE = func(*cobra.Command, []string) error {
			parsed, err := parseLines(lines)
			if a == workorders.ActionDraw {
				in.Parts = parsed
			} else {
				in.Lines = parsed
			}
			return err
		}
	}
}

func parseLines(lines []string) ([]workorders.Line, error) {
	var out []workorders.Line
	for _, l := range lines {
		item, qty, ok := strings.Cut(l, "=")
		n, err := strconv.ParseFloat(strings.TrimSpace(qty), 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("--line %q: write ITEM=QTY, e.g. labour=1.5", l)
		}
		out = append(out, workorders.Line{Item: strings.TrimSpace(item), Qty: n})
	}
	return out, nil
}

func optTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: write the time as RFC 3339, 2026-03-04T10:00:00+08:00", flag, s)
	}
	return t, nil
}

func window(from, to string) (*workorders.Window, error) {
	if from == "" && to == "" {
		return nil, nil
	}
	f, err := optTime("--visit-from", from)
	if err != nil {
		return nil, err
	}
	t, err := optTime("--visit-to", to)
	if err != nil {
		return nil, err
	}
	return &workorders.Window{From: f, To: t}, nil
}

// printDesk adds a desk request's record to `wo show`.
func printDesk(w io.Writer, l locale.Locale, o *workorders.Order) {
	d := o.Desk
	if d == nil {
		return
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Local().Format("01-02 15:04")
	}
	fmt.Fprintf(w, "%s\t%s\n", l.T("cli.order.desk"), l.T("cli.order.desk_value", "channel", d.Channel, "kind", d.Kind, "resident", d.Resident, "home", d.Home, "contact", d.Contact))
	if d.Answer.Open() {
		fmt.Fprintf(w, "%s\t%s\n", l.T("cli.order.answer"), l.T("cli.order.answer_open", "owner", d.Answer.Owner, "by", at(d.Answer.DueBy)))
	} else {
		fmt.Fprintf(w, "%s\t%s\n", l.T("cli.order.answer"), l.T("cli.order.answer_done", "owner", d.Answer.Owner, "at", at(d.Answer.AnsweredAt)))
	}
	if h := d.Hotline; h != nil {
		fmt.Fprintf(w, "%s\t%s\n", l.T("cli.order.hotline"), l.T("cli.order.hotline_value", "case", h.Case, "by", at(h.ReplyBy), "replied", at(h.RepliedAt)))
	}
	if v := d.Visit; v != nil {
		fmt.Fprintf(w, "%s\t%s\n", l.T("cli.order.visit"), l.T("cli.order.visit_value", "from", at(v.Window.From), "to", at(v.Window.To), "arrival", v.Arrival))
	}
	if c := d.Charge; c != nil {
		money := func(f int64) string { return fmt.Sprintf("¥%d.%02d", f/100, f%100) }
		fmt.Fprintf(w, "%s\t%s\n", l.T("cli.order.charge"), l.T("cli.order.charge_value", "quoted", money(c.Quoted), "confirmed", money(c.Confirmed)))
	}
}
