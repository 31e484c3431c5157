package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/devices/opcua"
)

// opcuaCommand is `facilityd opcua`: the OPC UA tools that work on state_dir or on a server.
func opcuaCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "opcua",
		Short: "OPC UA: trust a server's certificate, browse a server",
	}
	cmd.AddCommand(opcuaTrustCommand(), opcuaBrowseCommand())
	return cmd
}

// opcuaTrustCommand moves a server certificate facilityd refused (and logged with its SHA-1
// thumbprint) into the trust list in state_dir/opcua/trusted. The running facilityd uses it at
// its next attempt to connect; no restart is needed.
func opcuaTrustCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "trust [THUMBPRINT]",
		Short: "Trust a refused OPC UA server certificate; without a thumbprint, list the refused ones",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := stateConfig(path)
			if err != nil {
				return err
			}
			pki, err := opcua.OpenPKI(cfg.StateDir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(args) == 0 {
				refused, err := pki.Untrusted()
				if err != nil {
					return err
				}
				if len(refused) == 0 {
					fmt.Fprintln(out, cliLang().T("cli.opcua.no_refused", "dir", pki.Dir()))
				}
				for _, tp := range refused {
					fmt.Fprintln(out, tp)
				}
				return nil
			}
			to, err := pki.Trust(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(out, cliLang().T("cli.opcua.trusted", "thumbprint", args[0], "file", to))
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "facilityd.yaml", "configuration file whose state_dir holds the trust list")
	return cmd
}

// opcuaBrowseCommand lists the variables below a browse path of a server and, with --out,
// writes a draft profile of them, every point by browse path.
func opcuaBrowseCommand() *cobra.Command {
	var path, out, name string
	var conn opcua.Connection
	cmd := &cobra.Command{
		Use:   "browse ENDPOINT [PATH]",
		Short: "List an OPC UA server's variables below PATH (default /Objects); --out writes a draft profile",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn.Endpoint = args[0]
			start := "/Objects"
			if len(args) == 2 {
				start = args[1]
			}
			if err := conn.Validate(); err != nil {
				return err
			}
			var pki *opcua.PKI
			if cfg, err := stateConfig(path); err == nil {
				if pki, err = opcua.OpenPKI(cfg.StateDir); err != nil {
					return err
				}
			} else if conn.Policy != "" && conn.Policy != "None" {
				return fmt.Errorf("a secure endpoint needs facilityd's certificate from state_dir: %w", err)
			}
			entries, err := opcua.Browse(cmd.Context(), conn, pki, start)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintln(w, header("opcua.browse"))
			for _, e := range entries {
				rw := "r"
				if e.Writable {
					rw = "rw"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.Path, e.DataType, rw, e.NodeID)
			}
			if out == "" {
				return nil
			}
			data, err := opcua.DraftProfile(name, start, entries)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, data, 0o644); err != nil {
				return err
			}
			fmt.Fprintln(w, cliLang().T("cli.opcua.draft", "points", strings.Count(string(data), "- name:"), "file", out))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "config", "facilityd.yaml", "configuration file whose state_dir holds facilityd's OPC UA certificate")
	f.StringVar(&out, "out", "", "write a draft profile of the variables found to this file")
	f.StringVar(&name, "name", "draft", "the draft profile's name")
	f.StringVar(&conn.Policy, "security-policy", "None", "None, Basic256Sha256, Aes128_Sha256_RsaOaep or Aes256_Sha256_RsaPss")
	f.StringVar(&conn.Mode, "security-mode", "", "None, Sign or SignAndEncrypt (default: SignAndEncrypt with a secure policy)")
	f.StringVar(&conn.Auth, "auth", "anonymous", "anonymous, username (password from FACILITYD_OPCUA_PASSWORD) or certificate")
	f.StringVar(&conn.Username, "username", "", "user name for --auth username")
	cmd.PreRun = func(*cobra.Command, []string) { conn.Password = os.Getenv("FACILITYD_OPCUA_PASSWORD") }
	return cmd
}
