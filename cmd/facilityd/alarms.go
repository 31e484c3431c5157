package main

import (
	"fmt"
	"github.com/facilityd/facilityd/locale"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/api"
)

func alarmsCommand() *cobra.Command {
	var c *apiClient
	var state, priority, class, device, zone string
	var all bool
	cmd := &cobra.Command{
		Use:   "alarms [--state S] [--priority P] [--class C] [--device ID] [--zone Z] [--all]",
		Short: "List the alarms of a running facilityd, most urgent first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"state": state, "priority": priority, "class": class, "device": device, "zone": zone} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if all {
				q.Set("all", "true")
			}
			var list api.AlarmList
			if err := c.get(cmd.Context(), "/api/v1/alarms", q, &list); err != nil {
				return err
			}
			out := locale.NewTable(cmd.OutOrStdout())
			defer out.Flush()
			fmt.Fprintln(out, header("alarms"))
			for _, a := range list.Alarms {
				var flags []string
				if a.Shelved {
					flags = append(flags, "SHLVD")
				}
				if a.Suppressed {
					flags = append(flags, "DSUPR")
				}
				if a.OutOfService {
					flags = append(flags, "OOSRV")
				}
				if a.Chattering {
					flags = append(flags, "CHATTER")
				}
				since := "-"
				if !a.ActivatedAt.IsZero() {
					since = a.ActivatedAt.Local().Format("01-02 15:04:05")
				}
				fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Priority, a.Class, a.State, strings.Join(flags, ","), since, a.Message)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&state, "state", "", "NORM, UNACK, ACKED or RTNUN")
	f.StringVar(&priority, "priority", "", "critical, high, medium or low")
	f.StringVar(&class, "class", "", "life_safety, equipment, supervisory, trouble or communication")
	f.StringVar(&device, "device", "", "device id")
	f.StringVar(&zone, "zone", "", "zone")
	f.BoolVar(&all, "all", false, "include alarms in NORM")
	c = apiClientFlags(cmd, false)
	return cmd
}

func ackCommand() *cobra.Command {
	var c *apiClient
	var by, note string
	cmd := &cobra.Command{
		Use:   "ack ID [--by NAME] [--note TEXT]",
		Short: "Acknowledge an alarm on a running facilityd",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return alarmAction(cmd, c, args[0], "ack", api.ActionRequest{By: by, Note: note})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", byHelp)
	cmd.Flags().StringVar(&note, "note", "", "note for the journal")
	c = apiClientFlags(cmd, false)
	return cmd
}

func shelveCommand() *cobra.Command {
	var c *apiClient
	var by, reason string
	var d time.Duration
	var oneShot bool
	cmd := &cobra.Command{
		Use:   "shelve ID [--by NAME] --reason TEXT (--for 2h | --one-shot)",
		Short: "Shelve an alarm on a running facilityd (life-safety alarms refuse)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.ActionRequest{By: by, Reason: reason, OneShot: oneShot}
			if d > 0 {
				req.Duration = d.String()
			}
			return alarmAction(cmd, c, args[0], "shelve", req)
		},
	}
	cmd.Flags().StringVar(&by, "by", "", byHelp)
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().DurationVar(&d, "for", 0, "how long, at most alarms.shelve_max")
	cmd.Flags().BoolVar(&oneShot, "one-shot", false, "until the alarm clears (at most --for, or alarms.shelve_max)")
	_ = cmd.MarkFlagRequired("reason")
	c = apiClientFlags(cmd, false)
	return cmd
}

func unshelveCommand() *cobra.Command {
	var c *apiClient
	var by, reason string
	cmd := &cobra.Command{
		Use:   "unshelve ID [--by NAME] [--reason TEXT]",
		Short: "Lift an alarm's shelf on a running facilityd",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return alarmAction(cmd, c, args[0], "unshelve", api.ActionRequest{By: by, Reason: reason})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", byHelp)
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	c = apiClientFlags(cmd, false)
	return cmd
}

// byHelp is --by of every command that acts: the token's name acts when there is one.
const byHelp = "who acts: required without a token (a patrol guard, a work-order butler or supervisor, or one of http.operators); with FACILITYD_API_TOKEN the token's name acts, and only an admin token may name someone else"

func alarmAction(cmd *cobra.Command, c *apiClient, id, action string, req api.ActionRequest) error {
	var a struct {
		ID      string `json:"id"`
		State   string `json:"state"`
		Shelved bool   `json:"shelved"`
		Until   string `json:"shelved_until"`
	}
	if err := c.post(cmd.Context(), "/api/v1/alarms/"+id+"/"+action, req, &a); err != nil {
		return fmt.Errorf("%s %s: %w", action, id, err)
	}
	msg := fmt.Sprintf("%s: %s", a.ID, a.State)
	if a.Shelved {
		msg += ", shelved until " + a.Until
	}
	fmt.Fprintln(cmd.OutOrStdout(), msg)
	return nil
}
