package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/api"
)

// hashTokenCommand prints the SHA-256 that http.tokens[].sha256 holds for a token read from
// stdin, so the token itself never appears in a file, a command line or shell history.
func hashTokenCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "hash-token < TOKEN",
		Short: "Print the sha256 of an API token read from stdin, for http.tokens[].sha256",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && line == "" {
				return errors.New("hash-token: no token on stdin (e.g. openssl rand -hex 32 | tee token | facilityd hash-token)")
			}
			tok := strings.TrimSpace(line)
			if len(tok) < 16 {
				return errors.New("hash-token: a token must be at least 16 characters (openssl rand -hex 32 makes one)")
			}
			fmt.Fprintln(cmd.OutOrStdout(), api.HashToken(tok))
			return nil
		},
	}
}
