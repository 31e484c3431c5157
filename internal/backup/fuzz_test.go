package backup

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzUnpack feeds arbitrary bytes to the archive reader: an archive may come from anywhere
// (a copy on a USB stick, a download), and whatever it holds must be refused with an error,
// never a panic, and never a file written outside the staging folder.
func FuzzUnpack(f *testing.F) {
	cfg, configPath := state(f)
	dir := f.TempDir()
	good := filepath.Join(dir, "good.tar.gz")
	if _, err := Create(context.Background(), cfg, configPath, good, Options{}); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte("not an archive"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		archive := filepath.Join(root, "a.tar.gz")
		if err := os.WriteFile(archive, data, 0o600); err != nil {
			t.Fatal(err)
		}
		stage := filepath.Join(root, "stage")
		if err := os.Mkdir(stage, 0o700); err != nil {
			t.Fatal(err)
		}
		unpack(archive, stage)
		entries, _ := os.ReadDir(root)
		if len(entries) != 2 {
			t.Fatalf("unpack wrote outside its staging folder: %v", entries)
		}
	})
}
