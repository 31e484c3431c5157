// Command facilityd is the estate's edge daemon: it polls pumps, elevators, fire panels and
// lighting, keeps the latest values, writes every reading to InfluxDB and serves the API.
//
//	facilityd run --config FILE      run against the configured devices
//	facilityd demo                   run a simulated estate in-process and poll it
//	facilityd check-config FILE      print every problem in a configuration
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "facilityd:", err)
		stop()
		os.Exit(1)
	}
}

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "facilityd",
		Short:         "Edge daemon for an estate's pumps, elevators, fire panels and lighting",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(runCommand(), demoCommand(), checkConfigCommand(), devicesCommand(), woCommand(), reportCommand())
	return root
}
