package main

import (
	"fmt"
	"github.com/facilityd/facilityd/locale"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/workorders"
)

// woCommand is `facilityd wo`: the work-order book of a running facilityd, over its API.
func woCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wo",
		Short: "List, raise and move work orders on a running facilityd",
	}
	client := apiClientFlags(cmd, true)

	var f struct {
		state, zone, team, device, category string
		overdue                             bool
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List work orders (filters: --state --zone --team --device --category --overdue)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"state": f.state, "zone": f.zone, "team": f.team, "device": f.device, "category": f.category} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if f.overdue {
				q.Set("overdue", "true")
			}
			var out api.OrderList
			if err := client.get(cmd.Context(), "/api/v1/workorders", q, &out); err != nil {
				return err
			}
			w := locale.NewTable(cmd.OutOrStdout())
			defer w.Flush()
			fmt.Fprintln(w, header("workorders"))
			for _, o := range out.Orders {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.ID, o.State, o.Category, o.Priority, o.Zone, o.Team, o.Assignee, o.Device, deadline(o), o.Title)
			}
			return nil
		},
	}
	list.Flags().StringVar(&f.state, "state", "", "new, accepted, in_progress, resolved, followed_up, closed or cancelled")
	list.Flags().StringVar(&f.zone, "zone", "", "zone")
	list.Flags().StringVar(&f.team, "team", "", "team")
	list.Flags().StringVar(&f.device, "device", "", "device id")
	list.Flags().StringVar(&f.category, "category", "", "category")
	list.Flags().BoolVar(&f.overdue, "overdue", false, "only orders past a deadline")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one work order and its history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var o api.OrderView
			if err := client.get(cmd.Context(), "/api/v1/workorders/"+url.PathEscape(args[0]), nil, &o); err != nil {
				return err
			}
			if o.Order == nil {
				return fmt.Errorf("order %s: the API answered without an order", args[0])
			}
			printOrder(cmd.OutOrStdout(), o.Order)
			printSinceRepair(cmd.OutOrStdout(), o.SinceRepair)
			return nil
		},
	}

	var raise workorders.RaiseRequest
	raiseCmd := &cobra.Command{
		Use:   "raise --title TEXT --by NAME [--zone Z] [--device ID] [--category C] [--priority P] [--reporter WHO] [--location HOME]",
		Short: "Raise a work order by hand, e.g. a resident's household repair",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var o workorders.Order
			if err := client.post(cmd.Context(), "/api/v1/workorders", raise, &o); err != nil {
				return err
			}
			printOrder(cmd.OutOrStdout(), &o)
			return nil
		},
	}
	raiseCmd.Flags().StringVar(&raise.Title, "title", "", "what is wrong and where (required)")
	raiseCmd.Flags().StringVar(&raise.By, "by", "", byHelp)
	raiseCmd.Flags().StringVar(&raise.Zone, "zone", "", "zone")
	raiseCmd.Flags().StringVar(&raise.Building, "building", "", "building")
	raiseCmd.Flags().StringVar(&raise.Device, "device", "", "device id")
	raiseCmd.Flags().StringVar(&raise.Category, "category", "", "category (default household_repair)")
	raiseCmd.Flags().StringVar((*string)(&raise.Priority), "priority", "", "critical, high, medium or low (default low)")
	raiseCmd.Flags().StringVar(&raise.Reporter, "reporter", "", "the resident and how to call back")
	raiseCmd.Flags().StringVar(&raise.Note, "note", "", "note")
	raiseCmd.Flags().StringVar(&raise.Location, "location", "", "the home or room (3-1802); a repair there again is rework")
	deskRaiseFlags(raiseCmd, &raise)

	cmd.AddCommand(list, show, raiseCmd, defectCommand(client), surveyCommand(client))
	for _, a := range workorders.Actions {
		cmd.AddCommand(transitionCommand(client, a))
	}
	return cmd
}

func transitionCommand(client *apiClient, a workorders.Action) *cobra.Command {
	var in workorders.Input
	var satisfied, points string
	name := strings.ReplaceAll(string(a), "_", "-")
	c := &cobra.Command{
		Use:   name + " ID --by NAME [--note TEXT]",
		Short: "Work order: " + name,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch satisfied {
			case "":
			case "yes", "true":
				t := true
				in.Satisfied = &t
			case "no", "false":
				f := false
				in.Satisfied = &f
			default:
				return fmt.Errorf("--satisfied %q: say yes or no", satisfied)
			}
			if points != "" {
				p, err := parsePoints(points)
				if err != nil {
					return err
				}
				in.Points = p
			}
			var o workorders.Order
			if err := client.post(cmd.Context(), "/api/v1/workorders/"+url.PathEscape(args[0])+"/"+string(a), in, &o); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is %s\n", o.ID, o.State)
			if d := o.Drill; a == workorders.ActionRelease && d != nil {
				fmt.Fprintln(cmd.OutOrStdout(), cliLang().T("cli.drill.released", "rescue", cliLang().Duration(d.RescueTime), "scenario", d.Scenario, "car", d.Car))
			}
			return nil
		},
	}
	c.Flags().StringVar(&in.By, "by", "", byHelp)
	c.Flags().StringVar(&in.Note, "note", "", "note kept in the history")
	if a == workorders.ActionFollowUp {
		c.Flags().StringVar(&satisfied, "satisfied", "", "yes or no: is the resident satisfied (a complaint's call; no reopens the order)")
		c.Flags().StringVar(&points, "points", "", "a repair's three answers, yes or no each: timeliness,quality,satisfaction (any no reopens the order)")
		c.Flags().StringVar(&in.Level, "level", "", "who calls: the first level (default), or a sampled level such as quality or management")
	}
	if a == workorders.ActionAssign {
		c.Use = name + " ID --by NAME --to TECHNICIAN [--override REASON]"
		c.Flags().StringVar(&in.To, "to", "", "the technician (workorders.technicians id)")
		c.Flags().StringVar(&in.Override, "override", "", "the supervisor's reason for a technician of another team")
	}
	if a == workorders.ActionVerify {
		c.Use = name + " ID --by SUPERVISOR [--note TEXT]"
		c.Short = "Work order: verify an alarm-raised repair (the supervisor; closes it; `wo show` gives the readings since the repair)"
	}
	if a == workorders.ActionPermit {
		permitFlags(c, &in)
	}
	if a == workorders.ActionRelease {
		c.Use = name + " ID --scenario TEXT --car ELEVATOR [--by NAME] [--note TEXT]"
		c.Short = "Work order: record a rescue drill's release (the passengers out); closes the drill with its rescue time from the start"
		c.Flags().StringVar(&in.Scenario, "scenario", "", "the scenario played, e.g. \"stopped between floors 5 and 6\"")
		c.Flags().StringVar(&in.Car, "car", "", "the car used: an elevator's device id")
		c.MarkFlagRequired("scenario")
		c.MarkFlagRequired("car")
	}
	deskActionFlags(c, a, &in)
	return c
}

// permitFlags gives `wo permit` the attendant and the four gas readings, all required: the
// person running the command (the token's holder, or --by) is the issuer.
func permitFlags(c *cobra.Command, in *workorders.Input) {
	p := &workorders.PermitInput{}
	c.Use = "permit ID --by ISSUER --attendant NAME --o2 PCT --lel PCT --h2s MG_M3 --co MG_M3"
	c.Short = "Work order: record the confined-space permit (gas test and attendant) that start needs"
	c.Flags().StringVar(&p.Attendant, "attendant", "", "the attendant (监护人) who stays at the entrance")
	reading := map[string]**float64{"o2": &p.Readings.O2, "lel": &p.Readings.LEL, "h2s": &p.Readings.H2S, "co": &p.Readings.CO}
	help := map[string]string{"o2": "oxygen, % by volume", "lel": "flammable gas, % of the lower explosive limit", "h2s": "hydrogen sulphide, mg/m³", "co": "carbon monoxide, mg/m³"}
	vals := map[string]*float64{}
	for _, k := range []string{"o2", "lel", "h2s", "co"} {
		vals[k] = c.Flags().Float64(k, 0, help[k])
		c.MarkFlagRequired(k)
	}
	c.MarkFlagRequired("attendant")
	run := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		for k, dst := range reading {
			*dst = vals[k]
		}
		in.Permit = p
		return run(cmd, args)
	}
}

// printSinceRepair prints the device's readings since the repair beside an order awaiting
// verification: per point the samples shown, the lowest, the highest and the latest.
func printSinceRepair(w io.Writer, s *api.SinceRepair) {
	if s == nil {
		return
	}
	l := cliLang()
	fmt.Fprintln(w, "\n"+l.T("cli.since_repair.title", "device", s.Device, "since", s.Since.Local().Format("2006-01-02 15:04")))
	if s.Note != "" {
		fmt.Fprintln(w, s.Note)
	}
	tw := locale.NewTable(w)
	defer tw.Flush()
	fmt.Fprintln(tw, header("since_repair"))
	for _, p := range s.Points {
		var lo, hi, last float64
		n := 0
		for _, v := range p.Values {
			x, ok := v[1].(float64)
			if !ok {
				continue
			}
			if n == 0 || x < lo {
				lo = x
			}
			if n == 0 || x > hi {
				hi = x
			}
			last, n = x, n+1
		}
		if n == 0 {
			fmt.Fprintf(tw, "%s\t%d\t-\t-\t-\t%s\n", p.Point, len(p.Values), p.Unit)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%g\t%g\t%g\t%s\n", p.Point, len(p.Values), lo, hi, last, p.Unit)
	}
}

func deadline(o *workorders.Order) string {
	switch o.State {
	case workorders.StateNew:
		return "accept by " + o.AcceptBy.Local().Format("01-02 15:04")
	case workorders.StateAccepted, workorders.StateInProgress:
		if o.ArrivedAt.IsZero() && !o.ArriveBy.IsZero() {
			return "on site by " + o.ArriveBy.Local().Format("01-02 15:04")
		}
		return "complete by " + o.CompleteBy.Local().Format("01-02 15:04")
	case workorders.StateResolved:
		if o.AwaitsVerification() {
			return "awaits the supervisor's verify"
		}
		return "call by " + o.FollowUpDue.Local().Format("01-02 15:04")
	}
	return "-"
}

func printOrder(w io.Writer, o *workorders.Order) {
	tw := locale.NewTable(w)
	fmt.Fprintf(tw, "%s\t%s\n", o.ID, o.Title)
	l := cliLang()
	fmt.Fprintf(tw, "%s\t%s (%s)\n", l.T("cli.order.state"), o.State, deadline(o))
	fmt.Fprintf(tw, "%s\t%s, %s\n", l.T("cli.order.category"), o.Category, o.Priority)
	fmt.Fprintf(tw, "%s\t%s %s %s\n", l.T("cli.order.where"), o.Device, o.Building, o.Zone)
	fmt.Fprintf(tw, "%s\t%s\n", l.T("cli.order.team"), l.T("cli.order.people", "team", o.Team, "assignee", o.Assignee, "butler", o.Butler, "contractor", o.Contractor))
	if o.Rework {
		fmt.Fprintf(tw, "%s\t%s\n", l.T("cli.order.rework_of"), o.ReworkOf)
	}
	fmt.Fprintf(tw, "%s\t%d\n", l.T("cli.order.occurrences"), o.Occurrences)
	printDesk(tw, l, o)
	tw.Flush()
	fmt.Fprintln(w, "\n"+header("history"))
	tw = locale.NewTable(w)
	for _, h := range o.History {
		by := h.By
		if h.OnBehalfOf != "" {
			by += " for " + h.OnBehalfOf
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s→%s\t%s\n", h.At.Local().Format("2006-01-02 15:04"), by, h.Action, h.From, h.To, h.Note)
	}
	tw.Flush()
}

// parsePoints reads --points yes,no,yes as a repair's three follow-up answers, in the order
// the plans list them: timeliness, quality of service, satisfaction.
func parsePoints(s string) (*workorders.Points, error) {
	parts := strings.Split(s, ",")
	if len(parts) != len(workorders.PointNames) {
		return nil, fmt.Errorf("--points %q: give three answers, yes or no each: %s", s, strings.Join(workorders.PointNames, ","))
	}
	var ans [3]*bool
	for i, p := range parts {
		var v bool
		switch strings.TrimSpace(p) {
		case "yes", "true":
			v = true
		case "no", "false":
		default:
			return nil, fmt.Errorf("--points %q: %s: say yes or no, not %q", s, workorders.PointNames[i], p)
		}
		ans[i] = &v
	}
	return &workorders.Points{Timeliness: ans[0], Quality: ans[1], Satisfaction: ans[2]}, nil
}
