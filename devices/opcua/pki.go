package opcua

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ErrUntrusted is returned when a server presents a certificate that is not in the trust list.
var ErrUntrusted = errors.New("server certificate is not trusted")

// ownKeyBits is the application key's size: OPC UA Part 7, Basic256Sha256 and the two Aes
// policies accept RSA keys of 2048 to 4096 bits; 2048 is what every server tested accepts.
const ownKeyBits = 2048

// ownValidity is how long the generated application certificate is valid: ours, ten years, so
// a gateway in a plant room is not cut off by an expiry nobody watches.
const ownValidity = 10 * 365 * 24 * time.Hour

// PKI is facilityd's OPC UA certificate store in state_dir/opcua: its own application
// certificate and key (own/), the server certificates it trusts (trusted/) and those it refused
// (rejected/), each named by its SHA-1 thumbprint, the OPC UA convention (Part 4, 7.19: the
// thumbprint is the SHA-1 of the DER certificate).
type PKI struct {
	dir string
	// AppURI is the application URI in the own certificate's subjectAltName; the server
	// matches it against the session's client description (Part 4, 5.6.2).
	AppURI string
	Cert   []byte // DER
	Key    *rsa.PrivateKey

	mu     sync.Mutex
	logged map[string]bool
}

// OpenPKI opens the store under stateDir, generating the application certificate on first use.
func OpenPKI(stateDir string) (*PKI, error) {
	if stateDir == "" {
		return nil, errors.New("opcua: state_dir is empty: facilityd keeps its OPC UA certificate and trust list there; set state_dir")
	}
	p := &PKI{dir: filepath.Join(stateDir, "opcua"), logged: map[string]bool{}}
	for _, sub := range []string{"own", "trusted", "rejected"} {
		if err := os.MkdirAll(filepath.Join(p.dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("opcua: certificate store: %w (state_dir must be writable by facilityd)", err)
		}
	}
	if err := p.loadOrCreate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Dir is the store's folder.
func (p *PKI) Dir() string { return p.dir }

func (p *PKI) certPath() string { return filepath.Join(p.dir, "own", "cert.der") }
func (p *PKI) keyPath() string  { return filepath.Join(p.dir, "own", "key.pem") }

func (p *PKI) loadOrCreate() error {
	certDER, errC := os.ReadFile(p.certPath())
	keyPEM, errK := os.ReadFile(p.keyPath())
	if errors.Is(errC, os.ErrNotExist) && errors.Is(errK, os.ErrNotExist) {
		return p.create()
	}
	if errC != nil || errK != nil {
		return fmt.Errorf("opcua: application certificate in %s: %w: restore both cert.der and key.pem, or remove both to make a new one (servers must then trust it again)",
			filepath.Join(p.dir, "own"), errors.Join(errC, errK))
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return fmt.Errorf("opcua: %s: %w: remove cert.der and key.pem to make a new one", p.certPath(), err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return fmt.Errorf("opcua: %s holds no PEM key: remove cert.der and key.pem to make a new one", p.keyPath())
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("opcua: %s: %w: remove cert.der and key.pem to make a new one", p.keyPath(), err)
	}
	if len(cert.URIs) == 0 {
		return fmt.Errorf("opcua: %s has no application URI: remove cert.der and key.pem to make a new one", p.certPath())
	}
	p.Cert, p.Key, p.AppURI = certDER, key, cert.URIs[0].String()
	return nil
}

func (p *PKI) create() error {
	key, err := rsa.GenerateKey(rand.Reader, ownKeyBits)
	if err != nil {
		return fmt.Errorf("opcua: application key: %w", err)
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	uri, _ := url.Parse("urn:" + host + ":facilityd")
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "facilityd@" + host, Organization: []string{"facilityd"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ownValidity),
		// Part 6, 6.2.2: an application instance certificate signs and encrypts, and is
		// used both as client and as server.
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{uri},
		DNSNames:              []string{host},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("opcua: application certificate: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := writeFile(p.keyPath(), keyPEM, 0o600); err != nil {
		return err
	}
	if err := writeFile(p.certPath(), der, 0o644); err != nil {
		return err
	}
	p.Cert, p.Key, p.AppURI = der, key, uri.String()
	return nil
}

// writeFile writes data to a temporary file beside path and renames it into place, so a crash
// leaves the old file or the new one.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("opcua: %w", err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("opcua: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("opcua: %w", err)
	}
	return nil
}

// Thumbprint is a certificate's SHA-1 thumbprint in upper-case hex, as OPC UA tools show it.
func Thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// Trusted reports whether the server certificate is in the trust list. An untrusted one is
// kept in rejected/ so that `facilityd opcua trust THUMBPRINT` can move it; first reports
// whether this is the first time this process refused it, so the caller logs it once.
func (p *PKI) Trusted(der []byte) (ok, first bool, err error) {
	tp := Thumbprint(der)
	if _, err := os.Stat(filepath.Join(p.dir, "trusted", tp+".der")); err == nil {
		return true, false, nil
	}
	rejected := filepath.Join(p.dir, "rejected", tp+".der")
	if _, err := os.Stat(rejected); err != nil {
		if err := writeFile(rejected, der, 0o644); err != nil {
			return false, false, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	first = !p.logged[tp]
	p.logged[tp] = true
	return false, first, nil
}

// Trust moves a refused server certificate, named by its thumbprint, into the trust list.
func (p *PKI) Trust(thumbprint string) (string, error) {
	tp := strings.ToUpper(strings.NewReplacer(":", "", " ", "").Replace(thumbprint))
	if len(tp) != 40 || strings.Trim(tp, "0123456789ABCDEF") != "" {
		return "", fmt.Errorf("%q is not a SHA-1 thumbprint (40 hex digits, as facilityd logged it)", thumbprint)
	}
	from := filepath.Join(p.dir, "rejected", tp+".der")
	to := filepath.Join(p.dir, "trusted", tp+".der")
	if _, err := os.Stat(to); err == nil {
		return to, nil
	}
	if err := os.Rename(from, to); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("no refused certificate %s in %s: facilityd keeps a server's certificate there once it has refused it; connect first, or copy the server's DER certificate into %s",
				tp, filepath.Dir(from), filepath.Dir(to))
		}
		return "", fmt.Errorf("trust %s: %w", tp, err)
	}
	return to, nil
}

// Untrusted lists the thumbprints of the refused certificates, for the trust command.
func (p *PKI) Untrusted() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(p.dir, "rejected"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".der"); ok {
			out = append(out, name)
		}
	}
	return out, nil
}
