package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/alarms/patrol"
)

// apiAddrFlag adds --addr, defaulting to FACILITYD_HTTP_ADDR or the API's default address.
func patrolCommand() *cobra.Command {
	var addr, zone, state, owner string
	cmd := &cobra.Command{
		Use:   "patrol",
		Short: "List patrol alerts, most urgent and newest first, from a running facilityd",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client := &http.Client{Timeout: 10 * time.Second}
			q := url.Values{}
			for k, v := range map[string]string{"zone": zone, "state": state, "owner": owner} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var list struct{ Alerts []patrol.Alert }
			if err := getJSON(client, "http://"+addr+"/api/v1/patrol/alerts?"+q.Encode(), &list); err != nil {
				return err
			}
			out := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			defer out.Flush()
			fmt.Fprintln(out, "ID\tPRIORITY\tSTATE\tZONE\tOWNER\tRAISED\tMESSAGE")
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
	apiAddrFlag(cmd, &addr)
	cmd.Flags().StringVar(&zone, "zone", "", "only alerts of this zone")
	cmd.Flags().StringVar(&state, "state", "", "only alerts in this state (open, escalated, claimed, acked, cleared)")
	cmd.Flags().StringVar(&owner, "owner", "", "only alerts this guard owns")
	return cmd
}

func claimCommand() *cobra.Command {
	var addr, by string
	cmd := &cobra.Command{
		Use:   "claim ID --by GUARD",
		Short: "Claim a patrol alert for a guard (the first claim owns it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if by == "" {
				return fmt.Errorf("--by GUARD is required: the id of the guard taking the alert")
			}
			client := &http.Client{Timeout: 10 * time.Second}
			var a patrol.Alert
			if err := postJSON(client, "http://"+addr+"/api/v1/patrol/alerts/"+url.PathEscape(args[0])+"/claim", map[string]string{"by": by}, &a); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s claimed by %s at %s: %s\n", a.ID, a.Owner, a.ClaimedAt.Local().Format(time.DateTime), a.Message)
			return nil
		},
	}
	apiAddrFlag(cmd, &addr)
	cmd.Flags().StringVar(&by, "by", "", "id of the guard claiming the alert")
	return cmd
}

func postJSON(client *http.Client, url string, body, v any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if tok := os.Getenv("FACILITYD_API_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("is facilityd running? %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusBadGateway && v != nil {
		// A write the plant refused: the body is its record.
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return fmt.Errorf("%s: %w", resp.Status, err)
		}
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s: %s", resp.Status, e.Error)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
