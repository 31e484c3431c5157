// Package examples holds the example configurations, embedded so that `facilityd demo` needs
// no file on disk.
package examples

import _ "embed"

// Demo is examples/demo.yaml: the demo estate.
//
//go:embed demo.yaml
var Demo []byte
