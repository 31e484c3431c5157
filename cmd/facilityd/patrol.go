package main

import (
	"fmt"
	"github.com/facilityd/facilityd/locale"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/alarms/patrol"
)

func patrolCommand() *cobra.Command {
	var c *apiClient
	var zone, state, owner string
	cmd := &cobra.Command{
		Use:   "patrol",
		Short: "List patrol alerts, most urgent and newest first, from a running facilityd",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"zone": zone, "state": state, "owner": owner} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var list struct{ Alerts []patrol.Alert }
			if err := c.get(cmd.Context(), "/api/v1/patrol/alerts", q, &list); err != nil {
				return err
			}
			out := locale.NewTable(cmd.OutOrStdout())
			defer out.Flush()
			fmt.Fprintln(out, header("patrol"))
			for _, a := range list.Alerts {
				owner := a.Owner
				if owner == "" {
					owner = "-"
				}
				fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Priority, a.State, a.Zone, owner, a.CreatedAt.Local().Format("01-02 15:04:05"), a.Message)
			}
			return nil
		},
	}
	c = apiClientFlags(cmd, false)
	cmd.Flags().StringVar(&zone, "zone", "", "only alerts of this zone")
	cmd.Flags().StringVar(&state, "state", "", "only alerts in this state (open, escalated, claimed, acked, cleared)")
	cmd.Flags().StringVar(&owner, "owner", "", "only alerts this guard owns")
	return cmd
}

func claimCommand() *cobra.Command {
	var c *apiClient
	var by string
	cmd := &cobra.Command{
		Use:   "claim ID [--by GUARD]",
		Short: "Claim a patrol alert for a guard (the first claim owns it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if by == "" && os.Getenv("FACILITYD_API_TOKEN") == "" {
				return fmt.Errorf("--by GUARD is required: the id of the guard taking the alert (with FACILITYD_API_TOKEN, the token's guard claims)")
			}
			var a patrol.Alert
			if err := c.post(cmd.Context(), "/api/v1/patrol/alerts/"+url.PathEscape(args[0])+"/claim", map[string]string{"by": by}, &a); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s claimed by %s at %s: %s\n", a.ID, a.Owner, a.ClaimedAt.Local().Format(time.DateTime), a.Message)
			return nil
		},
	}
	c = apiClientFlags(cmd, false)
	cmd.Flags().StringVar(&by, "by", "", "id of the guard claiming the alert")
	return cmd
}
