package main

import (
	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/internal/version"
)

// versionCommand prints the release, commit, build date and Go version, so an operator can
// tell which build runs without asking the package manager.
func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print facilityd's release, commit, build date and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write([]byte(version.Get().String()))
			return err
		},
	}
}
