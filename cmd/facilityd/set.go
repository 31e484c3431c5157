package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/devices/commands"
)

func setCommand() *cobra.Command {
	var c *apiClient
	var reason, by string
	cmd := &cobra.Command{
		Use:   "set DEVICE POINT VALUE --reason WHY",
		Short: "Write a value to a writable point of a device through a running facilityd, and show the read-back",
		Long: "Write VALUE (true/false/on/off, a number, an enum label, or JSON) to POINT of DEVICE. The write is journalled with\n" +
			"who (--by, or the token's name when FACILITYD_API_TOKEN is set) and why (--reason), read back by the next poll, and\n" +
			"its result printed; the exit status is non-zero unless the read-back confirms it.",
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if by == "" {
				by = os.Getenv("USER")
			}
			value := json.RawMessage(args[2])
			if !json.Valid(value) {
				value, _ = json.Marshal(args[2])
			}
			c.timeout = time.Minute // the write waits for its read-back
			path := "/api/v1/devices/" + url.PathEscape(args[0]) + "/points/" + url.PathEscape(args[1])
			var rec commands.Record
			if err := c.post(cmd.Context(), path, map[string]any{"value": value, "reason": reason, "by": by}, &rec); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %v -> %v, read back %v: %s", rec.Device, rec.Point, rec.Old, rec.New, rec.ReadBack, rec.Result)
			if rec.Error != "" {
				fmt.Fprintf(cmd.OutOrStdout(), " (%s)", rec.Error)
			}
			fmt.Fprintf(cmd.OutOrStdout(), " [command %d by %s]\n", rec.ID, rec.By)
			if rec.Result != commands.ResultConfirmed {
				return errors.New("write not confirmed: " + string(rec.Result))
			}
			return nil
		},
	}
	c = apiClientFlags(cmd, false)
	cmd.Flags().StringVar(&reason, "reason", "", "why the value is written (journalled; required)")
	cmd.Flags().StringVar(&by, "by", "", "who writes (default $USER; with a token, the token's name)")
	_ = cmd.MarkFlagRequired("reason")
	return cmd
}
