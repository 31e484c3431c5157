package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/internal/daemon"
)

// apiClient is how every operator command reaches a running facilityd: one place that sends
// the role token (FACILITYD_API_TOKEN, an environment variable so it stays out of the process
// list and shell history), speaks HTTPS with the site's CA, sends bodies as JSON and turns
// the API's {"error": ...} into an error.
type apiClient struct {
	addr   string // --addr: host:port, http://host:port or https://host:port
	caFile string // --ca-file: PEM roots that sign the API's certificate
	// timeout bounds one call (default 10 s; a write waits for its read-back longer).
	timeout time.Duration
	http    *http.Client
}

// apiClientFlags adds --addr and --ca-file to an operator command, persistent ones when the
// command has sub-commands.
func apiClientFlags(cmd *cobra.Command, persistent bool) *apiClient {
	c := &apiClient{}
	def := os.Getenv("FACILITYD_HTTP_ADDR")
	if def == "" {
		def = "127.0.0.1:8080"
	}
	f := cmd.Flags()
	if persistent {
		f = cmd.PersistentFlags()
	}
	f.StringVar(&c.addr, "addr", def, "the running facilityd's API: host:port, http://host:port or https://host:port (FACILITYD_HTTP_ADDR)")
	f.StringVar(&c.caFile, "ca-file", os.Getenv("FACILITYD_API_CA_FILE"), "PEM file of the CA that signed the API's certificate, for https:// (FACILITYD_API_CA_FILE; default: the system's roots)")
	return c
}

// base is the API's URL without a path.
func (c *apiClient) base() (string, error) {
	a := strings.TrimRight(c.addr, "/")
	if !strings.Contains(a, "://") {
		a = "http://" + a
	}
	u, err := url.Parse(a)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--addr %q: want host:port, http://host:port or https://host:port", c.addr)
	}
	if c.caFile != "" && u.Scheme != "https" {
		return "", fmt.Errorf("--ca-file is for https:// addresses; --addr is %q", c.addr)
	}
	return u.Scheme + "://" + u.Host, nil
}

func (c *apiClient) client() (*http.Client, error) {
	if c.http != nil {
		return c.http, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if c.caFile != "" {
		roots, err := daemon.CAPool(c.caFile, "--ca-file")
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	timeout := c.timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	c.http = &http.Client{Timeout: timeout, Transport: tr}
	return c.http, nil
}

// get decodes GET path?query into out.
func (c *apiClient) get(ctx context.Context, path string, query url.Values, out any) error {
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	return c.call(ctx, http.MethodGet, path, nil, out)
}

// post sends body as JSON and decodes the answer into out.
func (c *apiClient) post(ctx context.Context, path string, body, out any) error {
	if body == nil {
		body = struct{}{}
	}
	return c.call(ctx, http.MethodPost, path, body, out)
}

func (c *apiClient) call(ctx context.Context, method, path string, body, out any) error {
	base, err := c.base()
	if err != nil {
		return err
	}
	hc, err := c.client()
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok := os.Getenv("FACILITYD_API_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("is facilityd running at %s? %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusBadGateway && out != nil && method == http.MethodPost {
		// A write the plant refused answers 502 with its journalled record.
		return json.NewDecoder(resp.Body).Decode(out)
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
		if resp.StatusCode == http.StatusUnauthorized && os.Getenv("FACILITYD_API_TOKEN") == "" {
			e.Error += " (set FACILITYD_API_TOKEN)"
		}
		return fmt.Errorf("%s: %s", resp.Status, e.Error)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
