package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms/patrol"
	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/config"
)

// writeTestCert writes a self-signed certificate for 127.0.0.1 (its own CA) and its key.
func writeTestCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "facilityd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestCLIWithTokensAndTLS runs every operator command against a daemon with role tokens and
// HTTPS, as a site runs it: the token comes from FACILITYD_API_TOKEN, the CA from --ca-file,
// and what the commands do is journalled in the token's name.
func TestCLIWithTokensAndTLS(t *testing.T) {
	cfg, estate := demoEstate(t, nil)
	secrets := map[string]string{"g-wang": "patrol-secret-0001", "tech-chen": "engineer-secret-01", "boss": "admin-secret-00001"}
	for name, role := range map[string]string{"g-wang": "patrol", "tech-chen": "engineer", "boss": "admin"} {
		cfg.HTTP.Tokens = append(cfg.HTTP.Tokens, config.Token{Name: name, Role: role, SHA256: api.HashToken(secrets[name])})
	}
	cfg.HTTP.TLSCert, cfg.HTTP.TLSKey = writeTestCert(t)
	d := startDaemon(t, cfg)
	addr := "https://" + strings.TrimPrefix(d.API, "http://")
	ca := cfg.HTTP.TLSCert

	run := func(token string, args ...string) (string, error) {
		t.Helper()
		t.Setenv("FACILITYD_API_TOKEN", token)
		var out bytes.Buffer
		cmd := rootCommand()
		cmd.SetOut(&out)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(append(args, "--addr", addr, "--ca-file", ca))
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	as := func(name string, args ...string) string {
		t.Helper()
		out, err := run(secrets[name], args...)
		if err != nil {
			t.Fatalf("%s: facilityd %s: %v", name, strings.Join(args, " "), err)
		}
		return out
	}

	if _, err := run("", "alarms"); err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "FACILITYD_API_TOKEN") {
		t.Errorf("alarms without a token: %v, want 401 naming FACILITYD_API_TOKEN", err)
	}
	t.Setenv("FACILITYD_API_TOKEN", secrets["g-wang"])
	var noCA bytes.Buffer
	cmd := rootCommand()
	cmd.SetOut(&noCA)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"alarms", "--addr", addr})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("https without --ca-file: %v, want a certificate error", err)
	}

	if out := as("g-wang", "devices"); !strings.Contains(out, "L1-1") {
		t.Errorf("devices:\n%s", out)
	}
	if err := estate.Inject("L1-1", "entrapment", nil); err != nil {
		t.Fatal(err)
	}
	const id = "L1-1/entrapment"
	waitFor(t, "the entrapment in `facilityd alarms`", 15*time.Second, func() bool {
		return strings.Contains(as("g-wang", "alarms", "--priority", "critical"), id)
	})
	var alerts struct{ Alerts []patrol.Alert }
	client := &apiClient{addr: addr, caFile: ca}
	waitFor(t, "a patrol alert for the entrapment", 10*time.Second, func() bool {
		if err := client.get(context.Background(), "/api/v1/patrol/alerts", nil, &alerts); err != nil {
			t.Fatal(err)
		}
		return len(alerts.Alerts) > 0
	})
	alert := alerts.Alerts[0].ID
	if out := as("g-wang", "patrol"); !strings.Contains(out, alert) {
		t.Errorf("patrol:\n%s", out)
	}
	if out := as("g-wang", "claim", alert); !strings.Contains(out, alert+" claimed by g-wang") {
		t.Errorf("claim with the guard's token: %s", out)
	}
	if _, err := run(secrets["g-wang"], "ack", id, "--by", "chief"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("a patrol token acknowledging as the chief: %v, want 403", err)
	}
	if out := as("g-wang", "ack", id, "--note", "on my way"); strings.TrimSpace(out) != id+": ACKED" {
		t.Errorf("ack: %q", out)
	}
	var detail api.AlarmDetail
	if err := client.get(context.Background(), "/api/v1/alarms/"+id, nil, &detail); err != nil {
		t.Fatal(err)
	}
	if last := detail.History[len(detail.History)-1]; last.By != "g-wang" {
		t.Errorf("journalled ack by %q, want the token's g-wang", last.By)
	}
	if _, err := run(secrets["g-wang"], "shelve", "P-1/pump_trip", "--reason", "noisy", "--for", "1h"); err == nil || !strings.Contains(err.Error(), "needs role engineer") {
		t.Errorf("shelve with a patrol token: %v, want 403 needs role engineer", err)
	}

	out := as("tech-chen", "wo", "raise", "--title", "Tap leaks in 3-1802", "--zone", "north")
	woID := strings.Fields(out)[0]
	if out := as("tech-chen", "wo", "list"); !strings.Contains(out, woID) {
		t.Errorf("wo list:\n%s", out)
	}
	if out := as("tech-chen", "wo", "accept", woID); out != woID+" is accepted\n" {
		t.Errorf("wo accept: %q", out)
	}
	as("boss", "wo", "start", woID, "--by", "tech-chen")
	if out := as("tech-chen", "wo", "show", woID); !regexp.MustCompile(`tech-chen +accept`).MatchString(out) || !regexp.MustCompile(`boss for tech-chen +start`).MatchString(out) {
		t.Errorf("wo show: the history names the tokens:\n%s", out)
	}
	var o struct {
		History []struct {
			By         string `json:"by"`
			OnBehalfOf string `json:"on_behalf_of"`
		}
	}
	if err := client.get(context.Background(), "/api/v1/workorders/"+woID, nil, &o); err != nil {
		t.Fatal(err)
	}
	if last := o.History[len(o.History)-1]; last.By != "boss" || last.OnBehalfOf != "tech-chen" {
		t.Errorf("an admin acting for tech-chen: journalled %+v, want by boss on behalf of tech-chen", last)
	}
}
