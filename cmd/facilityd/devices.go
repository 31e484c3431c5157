package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/api"
)

func devicesCommand() *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "devices [ID]",
		Short: "List devices and their status, or one device's readings, from a running facilityd",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client := &http.Client{Timeout: 10 * time.Second}
			base := "http://" + addr
			out := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			defer out.Flush()
			if len(args) == 1 {
				var d api.DeviceDetail
				if err := getJSON(client, base+"/api/v1/devices/"+args[0], &d); err != nil {
					return err
				}
				fmt.Fprintf(out, "%s\t%s\t%s %s\tcomm %s\n\n", d.ID, d.Kind, d.Building, d.Zone, d.Comm)
				fmt.Fprintln(out, "POINT\tVALUE\tUNIT\tQUALITY")
				for _, r := range d.Readings {
					v := fmt.Sprint(r.Value)
					if r.Label != "" {
						v = fmt.Sprintf("%v (%s)", r.Value, r.Label)
					}
					if r.Value == nil {
						v = "-"
					}
					fmt.Fprintf(out, "%s\t%s\t%s\t%s\n", r.Point, v, r.Unit, r.Quality)
				}
				return nil
			}
			var list struct{ Devices []api.DeviceSummary }
			if err := getJSON(client, base+"/api/v1/devices", &list); err != nil {
				return err
			}
			fmt.Fprintln(out, "ID\tKIND\tBUILDING\tZONE\tCOMM\tPOLLS\tFAILURES\tLAST ERROR")
			for _, d := range list.Devices {
				fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", d.ID, d.Kind, d.Building, d.Zone, d.Comm, d.Polls, d.Failures, d.LastError)
			}
			return nil
		},
	}
	apiAddrFlag(cmd, &addr)
	return cmd
}

// getJSON GETs url, sending the API token from FACILITYD_API_TOKEN if set (an environment
// variable, so the token stays out of the process list and shell history).
func getJSON(client *http.Client, url string, v any) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if tok := os.Getenv("FACILITYD_API_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("is facilityd running? %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s: %s: %s", url, resp.Status, e.Error)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
