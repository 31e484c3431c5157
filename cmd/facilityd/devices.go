package main

import (
	"fmt"
	"github.com/facilityd/facilityd/locale"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/api"
)

func devicesCommand() *cobra.Command {
	var c *apiClient
	cmd := &cobra.Command{
		Use:   "devices [ID]",
		Short: "List devices and their status, or one device's readings, from a running facilityd",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := locale.NewTable(cmd.OutOrStdout())
			defer out.Flush()
			if len(args) == 1 {
				var d api.DeviceDetail
				if err := c.get(cmd.Context(), "/api/v1/devices/"+url.PathEscape(args[0]), nil, &d); err != nil {
					return err
				}
				fmt.Fprintf(out, "%s\t%s\t%s %s\tcomm %s\n\n", d.ID, d.Kind, d.Building, d.Zone, d.Comm)
				fmt.Fprintln(out, header("readings"))
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
			if err := c.get(cmd.Context(), "/api/v1/devices", nil, &list); err != nil {
				return err
			}
			fmt.Fprintln(out, header("devices"))
			for _, d := range list.Devices {
				fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", d.ID, d.Kind, d.Building, d.Zone, d.Comm, d.Polls, d.Failures, d.LastError)
			}
			return nil
		},
	}
	c = apiClientFlags(cmd, false)
	return cmd
}
