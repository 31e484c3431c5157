package daemon

import (
	"crypto/x509"
	"fmt"
	"os"
)

// CAPool reads the PEM certificates of path, named by the flag or key that gave it
// (mqtt.tls.ca_file here, --ca-file for the operator commands), so that a wrong file is
// reported under the name the operator wrote.
func CAPool(path, key string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s %s: no PEM certificate in it", key, path)
	}
	return pool, nil
}
