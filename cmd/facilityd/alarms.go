package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/api"
)

// apiAddrFlag adds --addr, defaulting to FACILITYD_HTTP_ADDR, to an operator sub-command.
func apiAddrFlag(cmd *cobra.Command, addr *string) {
	def := os.Getenv("FACILITYD_HTTP_ADDR")
	if def == "" {
		def = "127.0.0.1:8080"
	}
	cmd.Flags().StringVar(addr, "addr", def, "address of the running facilityd's API (FACILITYD_HTTP_ADDR)")
}

func alarmsCommand() *cobra.Command {
	var addr, state, priority, class, device, zone string
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
			u := "http://" + addr + "/api/v1/alarms"
			if len(q) > 0 {
				u += "?" + q.Encode()
			}
			if err := getJSON(&http.Client{Timeout: 10 * time.Second}, u, &list); err != nil {
				return err
			}
			out := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			defer out.Flush()
			fmt.Fprintln(out, "ID\tPRIORITY\tCLASS\tSTATE\tFLAGS\tSINCE\tMESSAGE")
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
	apiAddrFlag(cmd, &addr)
	return cmd
}

func ackCommand() *cobra.Command {
	var addr, by, note string
	cmd := &cobra.Command{
		Use:   "ack ID --by NAME [--note TEXT]",
		Short: "Acknowledge an alarm on a running facilityd",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return alarmAction(cmd, addr, args[0], "ack", api.ActionRequest{By: by, Note: note})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who acknowledges (required)")
	cmd.Flags().StringVar(&note, "note", "", "note for the journal")
	_ = cmd.MarkFlagRequired("by")
	apiAddrFlag(cmd, &addr)
	return cmd
}

func shelveCommand() *cobra.Command {
	var addr, by, reason string
	var d time.Duration
	var oneShot bool
	cmd := &cobra.Command{
		Use:   "shelve ID --by NAME --reason TEXT (--for 2h | --one-shot)",
		Short: "Shelve an alarm on a running facilityd (life-safety alarms refuse)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.ActionRequest{By: by, Reason: reason, OneShot: oneShot}
			if d > 0 {
				req.Duration = d.String()
			}
			return alarmAction(cmd, addr, args[0], "shelve", req)
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who shelves (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().DurationVar(&d, "for", 0, "how long, at most alarms.shelve_max")
	cmd.Flags().BoolVar(&oneShot, "one-shot", false, "until the alarm clears (at most --for, or alarms.shelve_max)")
	_ = cmd.MarkFlagRequired("by")
	_ = cmd.MarkFlagRequired("reason")
	apiAddrFlag(cmd, &addr)
	return cmd
}

func unshelveCommand() *cobra.Command {
	var addr, by, reason string
	cmd := &cobra.Command{
		Use:   "unshelve ID --by NAME [--reason TEXT]",
		Short: "Lift an alarm's shelf on a running facilityd",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return alarmAction(cmd, addr, args[0], "unshelve", api.ActionRequest{By: by, Reason: reason})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who unshelves (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	_ = cmd.MarkFlagRequired("by")
	apiAddrFlag(cmd, &addr)
	return cmd
}

func alarmAction(cmd *cobra.Command, addr, id, action string, req api.ActionRequest) error {
	body, _ := json.Marshal(req)
	u := "http://" + addr + "/api/v1/alarms/" + id + "/" + action
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Post(u, "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("is facilityd running? %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s %s: %s", action, id, e.Error)
	}
	var a struct {
		ID      string `json:"id"`
		State   string `json:"state"`
		Shelved bool   `json:"shelved"`
		Until   string `json:"shelved_until"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&a)
	msg := fmt.Sprintf("%s: %s", a.ID, a.State)
	if a.Shelved {
		msg += ", shelved until " + a.Until
	}
	fmt.Fprintln(cmd.OutOrStdout(), msg)
	return nil
}
