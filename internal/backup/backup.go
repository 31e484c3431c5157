// Package backup copies facilityd's state while the daemon runs, and puts it back into an
// empty state directory: every SQLite store, the spool's closed segments and cursor, the MQTT
// session store, and (on request) the configuration with the TLS files it names, in one
// gzip'd tar archive whose manifest records each file's size, SHA-256 and schema version.
package backup

import (
	"errors"
	"time"

	"github.com/facilityd/facilityd/config"
)

// ManifestName is the archive entry that describes the others; it is written last, once every
// file's hash is known, and read before anything is put back.
const ManifestName = "manifest.json"

// FormatVersion is the layout of the archive. Restore refuses an archive of a later layout,
// as sqlitex refuses a newer schema.
const FormatVersion = 1

// Kinds of file in an archive; each says where Restore puts the file back.
const (
	KindSQLite = "sqlite" // a store, by its configuration key
	KindSpool  = "spool"  // a closed segment or the cursor of spool.dir
	KindMQTT   = "mqtt"   // a message of mqtt.store_dir
	KindConfig = "config" // the configuration file
	KindFile   = "file"   // a file the configuration names (TLS certificate, key, CA)
)

// PostgresNote is what the manifest and the command say of an order book on PostgreSQL: it is
// shared by several gateways and is not this gateway's to copy.
const PostgresNote = "workorders.store is on PostgreSQL: not copied, back it up with pg_dump"

// ErrNotEmpty is what a restore into a state directory that holds something matches.
var ErrNotEmpty = errors.New("state directory is not empty")

// ErrTampered is what a file whose bytes disagree with the manifest matches.
var ErrTampered = errors.New("file does not match the manifest")

// Manifest describes an archive: what facilityd made it, when, and every file in it.
type Manifest struct {
	Format    int       `json:"format"`
	Facilityd string    `json:"facilityd"`
	Created   time.Time `json:"created"`
	StateDir  string    `json:"state_dir"`
	Files     []File    `json:"files"`
	// NotCopied names what a restore will not find in the archive, and why.
	NotCopied []string `json:"not_copied,omitempty"`
}

// File is one entry of the archive. Consistent says what the copy is consistent with, since a
// copy taken while the daemon writes cannot be one instant for every file.
type File struct {
	Name       string `json:"name"`             // the entry in the archive
	Kind       string `json:"kind"`             // KindSQLite, KindSpool...
	Key        string `json:"key"`              // the configuration key that places it (alarms.journal)
	Source     string `json:"source"`           // where it was read from
	Schema     *int   `json:"schema,omitempty"` // sqlitex schema version, SQLite stores only
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
	Consistent string `json:"consistent"`
}

// store is one SQLite store of a configuration: its key, file and version table.
type store struct {
	key, path, table string
}

// stores lists cfg's SQLite stores (ResolveState has run); the order book only on SQLite.
func stores(cfg *config.Config) []store {
	s := []store{
		{"alarms.journal", cfg.Alarms.Journal, ""},
		{"patrol.store", cfg.Patrol.Store, ""},
		{"commands.store", cfg.Commands.Store, ""},
	}
	if cfg.WorkOrders.Store.Driver == "sqlite" {
		s = append(s, store{"workorders.store.path", cfg.WorkOrders.Store.Path, "workorder_schema"})
	}
	return s
}

// storePath is where cfg keeps the store of key, or "" when it has none by that key.
func storePath(cfg *config.Config, key string) string {
	for _, s := range stores(cfg) {
		if s.key == key {
			return s.path
		}
	}
	return ""
}

// namedFiles are the files cfg names that a restored daemon needs beside its state: the TLS
// certificates, keys and CA files, and the InfluxDB token file.
func namedFiles(cfg *config.Config) [][2]string {
	var out [][2]string
	for _, f := range [][2]string{
		{"http.tls_cert", cfg.HTTP.TLSCert}, {"http.tls_key", cfg.HTTP.TLSKey},
		{"mqtt.tls.ca_file", cfg.MQTT.TLS.CAFile}, {"mqtt.tls.cert_file", cfg.MQTT.TLS.CertFile},
		{"mqtt.tls.key_file", cfg.MQTT.TLS.KeyFile}, {"influx.token_file", cfg.Influx.TokenFile},
	} {
		if f[1] != "" {
			out = append(out, f)
		}
	}
	return out
}
