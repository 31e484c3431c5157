package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
)

// Token is one API token as configured: only its SHA-256 is stored, so the file never holds a
// secret that opens the API. `facilityd hash-token` prints the hash of a token read from stdin.
type Token struct {
	// Name says whose token it is, for the log (never the token itself).
	Name string `mapstructure:"name" yaml:"name"`
	// Role is patrol, customer_service, engineer or admin: each can do what the roles before
	// it can, except that customer_service does not acknowledge alarms, claim or acknowledge
	// patrol alerts or tick off the night check. customer_service raises residents' requests,
	// records their answers and follow-ups, keeps the defect register and the surveys; writing
	// to the plant stays with engineer.
	Role string `mapstructure:"role" yaml:"role"`
	// SHA256 is the hex SHA-256 of the token.
	SHA256 string `mapstructure:"sha256" yaml:"sha256"`
}

// Roles lists the API roles from least to most trusted.
var Roles = []string{"patrol", "customer_service", "engineer", "admin"}

func (c *Config) validateSecurity() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	names := map[string]int{}
	hashes := map[string]int{}
	for i, t := range c.HTTP.Tokens {
		key := fmt.Sprintf("http.tokens[%d]", i)
		if t.Name == "" {
			add("%s.name: missing (whose token is it?)", key)
		} else if j, dup := names[t.Name]; dup {
			add("%s.name: %q is already used by http.tokens[%d]", key, t.Name, j)
		} else {
			names[t.Name] = i
		}
		ok := false
		for _, r := range Roles {
			ok = ok || t.Role == r
		}
		if !ok {
			add("%s (%s).role: %q is not one of %s", key, t.Name, t.Role, strings.Join(Roles, ", "))
		}
		h := strings.ToLower(t.SHA256)
		if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
			add("%s (%s).sha256: must be 64 hex digits, the SHA-256 of the token (facilityd hash-token prints it); never the token itself", key, t.Name)
		} else if j, dup := hashes[h]; dup {
			add("%s (%s).sha256: the same token as http.tokens[%d]", key, t.Name, j)
		} else {
			hashes[h] = i
		}
	}
	if len(c.HTTP.Hosts) > 0 && len(c.HTTP.Tokens) == 0 {
		add("http.hosts: names beyond loopback need http.tokens (an open API answers to its listen address, localhost and loopback only)")
	}
	for i, h := range c.HTTP.Hosts {
		if h == "" || strings.ContainsAny(h, ":/ ") {
			add("http.hosts[%d]: %q is not a host name (no port, no scheme)", i, h)
		}
	}
	if c.HTTP.MaxStreams < 0 {
		add("http.max_streams: %d is negative; at least 1 (default 64)", c.HTTP.MaxStreams)
	}
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		add("http.tls_cert, http.tls_key: set both or neither")
	}
	if c.Influx.TokenFile != "" {
		if c.Influx.Token != "" {
			add("influx.token, influx.token_file: set one, not both")
		} else if b, err := os.ReadFile(c.Influx.TokenFile); err != nil {
			add("influx.token_file: %v", err)
		} else {
			c.Influx.Token = Secret(strings.TrimSpace(string(b)))
		}
	}
	return errs
}

// SecurityWarnings lists what check-config and run warn about without refusing: an API that
// listens beyond loopback without TLS, or without tokens.
func (c *Config) SecurityWarnings() []string {
	if Loopback(c.HTTP.Addr) {
		return nil
	}
	var w []string
	if len(c.HTTP.Tokens) == 0 {
		w = append(w, fmt.Sprintf("http.addr %s is not loopback and http.tokens is empty: anyone who reaches it can use the API (facilityd run refuses this)", c.HTTP.Addr))
	}
	if c.HTTP.TLSCert == "" {
		w = append(w, fmt.Sprintf("http.addr %s is not loopback and http.tls_cert is not set: tokens and readings cross the network in clear text", c.HTTP.Addr))
	}
	return w
}

// Loopback reports whether addr (host:port) listens on loopback only.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Actors lists who may act through the API in open mode (no tokens): the patrol guards, the
// work-order supervisors, butlers and technicians, and http.operators. With tokens the token's name acts
// instead, so that nobody can sign for someone else.
func (c *Config) Actors() []string {
	seen := map[string]bool{}
	var out []string
	add := func(names ...string) {
		for _, n := range names {
			if n != "" && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	for _, g := range c.Patrol.Guards {
		add(g.ID)
	}
	add(c.WorkOrders.Supervisor)
	for _, z := range c.WorkOrders.Zones {
		add(z.Butler, z.Supervisor)
	}
	for _, t := range c.WorkOrders.Technicians {
		add(t.ID)
	}
	add(c.HTTP.Operators...)
	return out
}
