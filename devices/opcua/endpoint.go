package opcua

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/facilityd/facilityd/devices"
)

// Security policies (OPC UA Part 7, security policy profiles) by their short names.
var policies = map[string]string{
	"None":                  ua.SecurityPolicyURINone,
	"Basic256Sha256":        ua.SecurityPolicyURIBasic256Sha256,
	"Aes128_Sha256_RsaOaep": ua.SecurityPolicyURIAes128Sha256RsaOaep,
	"Aes256_Sha256_RsaPss":  ua.SecurityPolicyURIAes256Sha256RsaPss,
}

// Message security modes (Part 4, 7.15) by name.
var modes = map[string]ua.MessageSecurityMode{
	"None":           ua.MessageSecurityModeNone,
	"Sign":           ua.MessageSecurityModeSign,
	"SignAndEncrypt": ua.MessageSecurityModeSignAndEncrypt,
}

// Identities a session can be activated with (Part 4, 7.36).
const (
	AuthAnonymous   = "anonymous"
	AuthUsername    = "username"
	AuthCertificate = "certificate"
)

// Connection is how facilityd reaches one server: the endpoint, the security it asks for and
// who it says it is.
type Connection struct {
	// Endpoint is the server's opc.tcp:// URL.
	Endpoint string
	// Policy is None, Basic256Sha256, Aes128_Sha256_RsaOaep or Aes256_Sha256_RsaPss.
	Policy string
	// Mode is None (with policy None only), Sign or SignAndEncrypt.
	Mode string
	// Auth is anonymous, username (Username, Password) or certificate (CertFile, KeyFile;
	// empty: facilityd's application certificate).
	Auth     string
	Username string
	Password string
	CertFile string
	KeyFile  string
	// Timeout bounds each request.
	Timeout time.Duration
}

// withDefaults fills in the security facilityd asks for when the configuration says nothing:
// policy None over mode None; a secure policy alone means SignAndEncrypt.
func (c Connection) withDefaults() Connection {
	if c.Policy == "" {
		c.Policy = "None"
	}
	if c.Mode == "" {
		c.Mode = "None"
		if c.Policy != "None" {
			c.Mode = "SignAndEncrypt"
		}
	}
	if c.Auth == "" {
		c.Auth = AuthAnonymous
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	return c
}

// Validate names every setting at fault.
func (c Connection) Validate() error {
	c = c.withDefaults()
	var errs []error
	if !strings.HasPrefix(c.Endpoint, "opc.tcp://") {
		errs = append(errs, fmt.Errorf("endpoint: %q is not an opc.tcp:// URL", c.Endpoint))
	}
	if _, ok := policies[c.Policy]; !ok {
		errs = append(errs, fmt.Errorf("security_policy: %q is not one of %s", c.Policy, names(policies)))
	}
	mode, ok := modes[c.Mode]
	switch {
	case !ok:
		errs = append(errs, fmt.Errorf("security_mode: %q is not one of None, Sign, SignAndEncrypt", c.Mode))
	case (mode == ua.MessageSecurityModeNone) != (c.Policy == "None"):
		errs = append(errs, fmt.Errorf("security_mode: %s does not go with security_policy %s: policy None takes mode None, the others Sign or SignAndEncrypt", c.Mode, c.Policy))
	}
	switch c.Auth {
	case AuthAnonymous:
	case AuthUsername:
		if c.Username == "" {
			errs = append(errs, errors.New("username: auth username needs a username (and a password)"))
		}
	case AuthCertificate:
		if (c.CertFile == "") != (c.KeyFile == "") {
			errs = append(errs, errors.New("cert_file, key_file: give both, or neither to use facilityd's application certificate"))
		}
	default:
		errs = append(errs, fmt.Errorf("auth: %q is not one of anonymous, username, certificate", c.Auth))
	}
	return errors.Join(errs...)
}

// LogValue is the connection as logs show it: never the password.
// Transport is the connection as devices.Device carries it for the API: the endpoint, the
// security and the identity, with the defaults filled in, no username or password.
func (c Connection) Transport() *devices.OPCUATransport {
	c = c.withDefaults()
	return &devices.OPCUATransport{Endpoint: c.Endpoint, Security: c.Policy + "/" + c.Mode, Auth: c.Auth}
}

func (c Connection) LogValue() slog.Value {
	c = c.withDefaults()
	return slog.GroupValue(slog.String("endpoint", c.Endpoint), slog.String("security", c.Policy+"/"+c.Mode),
		slog.String("auth", c.Auth), slog.String("username", c.Username))
}

func names[V any](m map[string]V) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// tokenType is the user token type of an identity.
func tokenType(auth string) ua.UserTokenType {
	switch auth {
	case AuthUsername:
		return ua.UserTokenTypeUserName
	case AuthCertificate:
		return ua.UserTokenTypeCertificate
	}
	return ua.UserTokenTypeAnonymous
}

// selectEndpoint picks the server's endpoint with the policy and mode asked for that accepts
// the identity. The error lists what the server offers, so the fix is in view.
func selectEndpoint(eps []*ua.EndpointDescription, c Connection) (*ua.EndpointDescription, error) {
	want, mode := policies[c.Policy], modes[c.Mode]
	var offered []string
	var match *ua.EndpointDescription
	for _, ep := range eps {
		short := strings.TrimPrefix(ep.SecurityPolicyURI, ua.SecurityPolicyURIPrefix)
		offered = append(offered, short+"/"+strings.TrimPrefix(ep.SecurityMode.String(), "MessageSecurityMode"))
		if ep.SecurityPolicyURI != want || ep.SecurityMode != mode {
			continue
		}
		if match == nil || ep.SecurityLevel > match.SecurityLevel {
			match = ep
		}
	}
	if match == nil {
		return nil, fmt.Errorf("the server offers no endpoint with security_policy %s and security_mode %s; it offers %s: set one of those",
			c.Policy, c.Mode, strings.Join(offered, ", "))
	}
	tt := tokenType(c.Auth)
	for _, t := range match.UserIdentityTokens {
		if t.TokenType == tt {
			return match, nil
		}
	}
	var kinds []string
	for _, t := range match.UserIdentityTokens {
		kinds = append(kinds, strings.ToLower(strings.TrimPrefix(t.TokenType.String(), "UserTokenType")))
	}
	return nil, fmt.Errorf("the server's %s/%s endpoint does not accept auth %s; it accepts %s", c.Policy, c.Mode, c.Auth, strings.Join(kinds, ", "))
}

// clientOptions builds the options of a client for the chosen endpoint. gopcua's own
// reconnection is off: the driver replaces a broken session itself, one at a time, so that a
// restarted server is not met with a session per retry.
func clientOptions(ep *ua.EndpointDescription, c Connection, pki *PKI) ([]opcua.Option, error) {
	opts := []opcua.Option{
		opcua.AutoReconnect(false),
		opcua.ApplicationName("facilityd"),
		opcua.RequestTimeout(c.Timeout),
		opcua.DialTimeout(c.Timeout),
		opcua.SessionTimeout(time.Minute),
	}
	if pki != nil {
		opts = append(opts, opcua.Certificate(pki.Cert), opcua.PrivateKey(pki.Key), opcua.ApplicationURI(pki.AppURI))
	}
	switch c.Auth {
	case AuthUsername:
		opts = append(opts, opcua.AuthUsername(c.Username, c.Password))
	case AuthCertificate:
		cert, key := pki.Cert, pki.Key
		if c.CertFile != "" {
			var err error
			if cert, key, err = loadIdentity(c.CertFile, c.KeyFile); err != nil {
				return nil, err
			}
		}
		opts = append(opts, opcua.AuthCertificate(cert), opcua.AuthPrivateKey(key))
	default:
		opts = append(opts, opcua.AuthAnonymous())
	}
	return append(opts, opcua.SecurityFromEndpoint(ep, tokenType(c.Auth))), nil
}

// loadIdentity reads a user certificate (DER or PEM) and its RSA key (PEM, PKCS#1 or #8).
func loadIdentity(certFile, keyFile string) ([]byte, *rsa.PrivateKey, error) {
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("cert_file: %w", err)
	}
	if b, _ := pem.Decode(cert); b != nil {
		cert = b.Bytes
	}
	if _, err := x509.ParseCertificate(cert); err != nil {
		return nil, nil, fmt.Errorf("cert_file %s: %w", certFile, err)
	}
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("key_file: %w", err)
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		return nil, nil, fmt.Errorf("key_file %s: no PEM block", keyFile)
	}
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return cert, k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("key_file %s: %w", keyFile, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("key_file %s: not an RSA key (OPC UA's policies sign with RSA)", keyFile)
	}
	return cert, rk, nil
}

// dial chooses the endpoint, checks the server's certificate against the trust list, and opens
// a session. The client dials the configured URL, not the one the server advertises: servers
// behind NAT or on a machine with several names advertise a host name the gateway cannot reach.
func dial(ctx context.Context, c Connection, pki *PKI, logUntrusted func(thumbprint string)) (*opcua.Client, error) {
	c = c.withDefaults()
	gctx, cancel := context.WithTimeout(ctx, c.Timeout)
	eps, err := opcua.GetEndpoints(gctx, c.Endpoint, opcua.DialTimeout(c.Timeout))
	cancel()
	if err != nil {
		return nil, fmt.Errorf("get endpoints: %w", err)
	}
	ep, err := selectEndpoint(eps, c)
	if err != nil {
		return nil, err
	}
	if ep.SecurityPolicyURI != ua.SecurityPolicyURINone {
		if pki == nil {
			return nil, errors.New("a secure endpoint needs facilityd's certificate store: set state_dir")
		}
		ok, first, err := pki.Trusted(ep.ServerCertificate)
		if err != nil {
			return nil, err
		}
		if !ok {
			tp := Thumbprint(ep.ServerCertificate)
			if first && logUntrusted != nil {
				logUntrusted(tp)
			}
			return nil, fmt.Errorf("%w: thumbprint %s; if it is the server's, run `facilityd opcua trust %s`", ErrUntrusted, tp, tp)
		}
	}
	opts, err := clientOptions(ep, c, pki)
	if err != nil {
		return nil, err
	}
	cl, err := opcua.NewClient(c.Endpoint, opts...)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 2*c.Timeout)
	defer cancel()
	if err := cl.Connect(cctx); err != nil {
		cl.Close(context.Background())
		return nil, fmt.Errorf("connect %s/%s: %w", c.Policy, c.Mode, err)
	}
	return cl, nil
}
